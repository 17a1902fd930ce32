// Join time: from the signaling WebSocket's `open` to the first decoded frame of a remote video
// (requestVideoFrameCallback on a <video>), in headless Chromium on loopback. One page publishes
// and stays; JOINS fresh pages (own browser context, fake camera, publishing too) join one after
// another, in an SFU room and in a P2P room. Prints p50/p95 and the median signaling timeline.
//
//   npx tsx bench/join-time.ts [joins=20] [modes=sfu,p2p]
import type { Page } from 'playwright-core';
import type * as TureenClientModule from '../src/client/index.js';
import {
  launchBrowser,
  openBenchPage,
  percentile,
  roomToken,
  sleep,
  startBenchServer,
} from './lib/browser.js';

declare global {
  interface Window {
    TureenClient: typeof TureenClientModule;
    benchRoom: TureenClientModule.Room | undefined;
  }
}

const JOINS = Number(process.argv[2] ?? 20);
const MODES = (process.argv[3] ?? 'sfu,p2p').split(',') as ('sfu' | 'p2p')[];
/** One join before the measured ones warms up the server, the worker and Chromium's codecs. */
const WARMUP_JOINS = 1;

interface JoinResult {
  /** ms from WebSocket open to the first decoded remote frame, or undefined on timeout. */
  firstFrameMs: number | undefined;
  /** ms from WebSocket open to the first time each step happened. */
  timeline: Record<string, number>;
}

/** Camera video at a fixed size, plus audio; what every page publishes. */
const MEDIA = { audio: true, video: { width: 640, height: 360, frameRate: 30 } };

async function publish(page: Page, wsUrl: string, token: string): Promise<void> {
  await page.evaluate(
    async ({ wsUrl, token, media }) => {
      const C = window.TureenClient;
      const stream = await navigator.mediaDevices.getUserMedia(media);
      window.benchRoom = await C.Room.connect(wsUrl, token, {
        stream,
        candidateFilter: C.loopbackCandidatesOnly,
        simulcast: false,
        statsIntervalMs: 0,
      });
    },
    { wsUrl, token, media: MEDIA },
  );
}

/** Joins in the page and waits for the first remote video frame; the page then leaves. */
function join(page: Page, wsUrl: string, token: string, timeoutMs: number): Promise<JoinResult> {
  return page.evaluate(
    async ({ wsUrl, token, media, timeoutMs }) => {
      const C = window.TureenClient;
      const stream = await navigator.mediaDevices.getUserMedia(media);
      let openAt: number | undefined;
      const timeline: Record<string, number> = {};
      // A step that happens again is numbered: '→ produce', '→ produce #2', … up to #4.
      const mark = (label: string) => {
        if (openAt === undefined) return;
        let numbered = label;
        for (let n = 2; numbered in timeline; n++) {
          if (n > 4) return;
          numbered = `${label} #${n}`;
        }
        timeline[numbered] = Math.round((performance.now() - openAt) * 10) / 10;
      };
      // Signaling timeline: requests and responses by method, notifications.
      const methodsById = new Map<number, string>();
      const createWebSocket = (url: string) => {
        const socket = new WebSocket(url);
        socket.addEventListener('open', () => {
          openAt ??= performance.now();
        });
        const send = socket.send.bind(socket);
        socket.send = (frame: string) => {
          const message = JSON.parse(frame) as { id?: number; method?: string };
          if (typeof message.id === 'number' && message.method) methodsById.set(message.id, message.method);
          mark(`→ ${message.method}`);
          send(frame);
        };
        socket.addEventListener('message', (event) => {
          const message = JSON.parse(String(event.data)) as { type: string; id?: number; method?: string };
          if (message.type === 'response') mark(`← ${methodsById.get(message.id ?? -1)} response`);
          else mark(`⇐ ${message.method}`);
        });
        return socket as unknown as TureenClientModule.WebSocketLike;
      };
      let resolveFrame: () => void = () => {};
      const firstFrame = new Promise<void>((resolve) => {
        resolveFrame = resolve;
      });
      const watch = (track: MediaStreamTrack) => {
        if (track.kind !== 'video') return;
        mark('track event');
        const video = document.createElement('video');
        video.muted = true;
        video.autoplay = true;
        video.playsInline = true;
        document.body.append(video);
        video.srcObject = new MediaStream([track]);
        video.requestVideoFrameCallback(() => {
          mark('first frame');
          resolveFrame();
        });
        void video.play().catch(() => {});
      };
      const room = await C.Room.connect(wsUrl, token, {
        stream,
        candidateFilter: C.loopbackCandidatesOnly,
        simulcast: false,
        statsIntervalMs: 0,
        signaling: { createWebSocket },
      });
      mark('Room.connect resolved');
      room.on('track', ({ track }) => watch(track));
      room.on('connectionStateChanged', ({ state }) => mark(`connection ${state}`));
      for (const participant of room.participants.values())
        participant.stream.getVideoTracks().forEach(watch);
      const timedOut = await Promise.race([
        firstFrame.then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), timeoutMs)),
      ]);
      await room.leave();
      for (const track of stream.getTracks()) track.stop();
      return { firstFrameMs: timedOut ? undefined : timeline['first frame'], timeline };
    },
    { wsUrl, token, media: MEDIA, timeoutMs },
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return percentile(sorted, 50);
}

async function main(): Promise<void> {
  const bench = await startBenchServer({
    sfuWorkers: 1,
    roomMode: 'sfu',
    rtcMinPort: 50000,
    rtcMaxPort: 50499,
  });
  const browser = await launchBrowser();
  const { wsUrl, httpUrl } = bench.server;
  try {
    for (const mode of MODES) {
      const roomId = `join-${mode}`;
      const publisher = await openBenchPage(browser, httpUrl, `${mode} publisher`);
      await publish(publisher, wsUrl, await roomToken('publisher', roomId, mode));
      const results: JoinResult[] = [];
      for (let i = 0; i < WARMUP_JOINS + JOINS; i++) {
        const page = await openBenchPage(browser, httpUrl, `${mode} joiner ${i}`);
        const result = await join(page, wsUrl, await roomToken(`joiner-${i}`, roomId, mode), 15_000);
        await page.context().close();
        if (i >= WARMUP_JOINS) results.push(result);
        process.stdout.write(`${mode} join ${i}: ${result.firstFrameMs ?? 'timeout'} ms\n`);
        // Let the server drop the joiner's objects before the next one.
        await sleep(300);
      }
      await publisher.context().close();
      const times = results
        .map((r) => r.firstFrameMs)
        .filter((t): t is number => t !== undefined)
        .sort((a, b) => a - b);
      console.log(
        `\n${mode.toUpperCase()}: WebSocket open → first decoded remote frame over ${times.length}/${results.length} joins: ` +
          `p50 ${percentile(times, 50)} ms, p95 ${percentile(times, 95)} ms, min ${times[0]} ms, max ${times.at(-1)} ms`,
      );
      // Median time of each step (first occurrence per join), in order.
      const steps = new Map<string, number[]>();
      for (const r of results) {
        for (const [label, t] of Object.entries(r.timeline)) {
          if (!steps.has(label)) steps.set(label, []);
          steps.get(label)!.push(t);
        }
      }
      const rows = [...steps]
        .map(([label, values]) => ({ label, median: median(values), count: values.length }))
        .sort((a, b) => a.median - b.median);
      console.log('median timeline (ms after WebSocket open; #n: n-th occurrence):');
      for (const row of rows)
        console.log(`  ${row.median.toFixed(1).padStart(7)}  ${row.label} (${row.count}/${results.length})`);
    }
  } finally {
    await browser.close();
    await bench.close();
  }
}

await main();
process.exit(0);
