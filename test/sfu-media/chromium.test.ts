/**
 * Real media through tureen/sfu's WebRtcTransport: mediasoup-client 3.18.7 in headless Chromium
 * (its real Chrome handler) against the SFU API (src/sfu/index.ts), bridged by page functions
 * that call the API directly. Page A produces the fake camera (VP8) and microphone (opus);
 * page B consumes both (created paused, resumed once the client side is set up, as
 * mediasoup-demo does), decodes video and hears audio. Then producer pause/resume, consumer
 * pause/resume and producer close (producerclose reaches the app, which closes its consumer).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, test } from 'node:test';
import { build } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';
import * as sfu from '../../src/sfu/index.js';
import type { Consumer, Producer, Router, WebRtcTransport, Worker } from '../../src/sfu/public-types.js';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
];

const PAGE = `<!doctype html><html><body><video id="v" autoplay muted playsinline></video>
<script src="/mediasoup-client.js"></script><script>
window.setup = async (caps, info, direction) => {
  const device = new mediasoupClient.Device();
  await device.load({ routerRtpCapabilities: caps });
  const t = direction === 'send' ? device.createSendTransport(info) : device.createRecvTransport(info);
  t.on('connect', ({ dtlsParameters }, ok, fail) =>
    window.bridge('connect', { transportId: info.id, dtlsParameters }).then(() => ok(), fail));
  t.on('produce', ({ kind, rtpParameters }, ok, fail) =>
    window.bridge('produce', { transportId: info.id, kind, rtpParameters }).then(ok, fail));
  window.device = device;
  window.transport = t;
  window.consumers = {};
  window.producers = {};
  window.closedConsumers = [];
  return device.rtpCapabilities;
};
window.produceAll = async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
  const video = await window.transport.produce({ track: stream.getVideoTracks()[0] });
  const audio = await window.transport.produce({ track: stream.getAudioTracks()[0] });
  window.producers = { video, audio };
  return { video: video.id, audio: audio.id };
};
window.produceSimulcast = async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 } });
  const video = await window.transport.produce({
    track: stream.getVideoTracks()[0],
    encodings: [
      { rid: 'r0', maxBitrate: 100000, scaleResolutionDownBy: 4 },
      { rid: 'r1', maxBitrate: 300000, scaleResolutionDownBy: 2 },
      { rid: 'r2', maxBitrate: 900000, scaleResolutionDownBy: 1 },
    ],
    codecOptions: { videoGoogleStartBitrate: 1000 },
  });
  window.producers = { video };
  return { video: video.id };
};
window.iceStats = async () => {
  let responses = 0; let available = 0;
  (await window.transport.getStats()).forEach((s) => {
    if (s.type === 'candidate-pair' && s.nominated) { responses += s.responsesReceived || 0; available = Math.max(available, s.availableOutgoingBitrate || 0); }
  });
  return { responses, available };
};
window.consume = async (producerId) => {
  const p = await window.bridge('consume', { transportId: window.transport.id, producerId, rtpCapabilities: window.device.rtpCapabilities });
  const c = await window.transport.consume({ id: p.id, producerId, kind: p.kind, rtpParameters: p.rtpParameters });
  c.on('transportclose', () => window.closedConsumers.push(c.id));
  window.consumers[c.kind] = c;
  if (c.kind === 'video') document.getElementById('v').srcObject = new MediaStream([c.track]);
  else { const a = new Audio(); a.srcObject = new MediaStream([c.track]); a.play().catch(() => {}); }
  await window.bridge('resume', { consumerId: p.id });
  return p.id;
};
window.producerClosed = (kind) => { const c = window.consumers[kind]; c.close(); window.closedConsumers.push(c.id); return c.closed; };
window.stats = async () => {
  const out = { framesDecoded: 0, totalAudioEnergy: 0, nackCount: 0, pliCount: 0, packetsLost: 0, frameWidth: 0 };
  for (const c of Object.values(window.consumers)) {
    if (c.closed) continue;
    (await c.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') { out.framesDecoded = s.framesDecoded || 0; out.nackCount = s.nackCount || 0; out.pliCount = s.pliCount || 0; out.packetsLost = s.packetsLost || 0; out.frameWidth = s.frameWidth || 0; }
      else out.totalAudioEnergy = s.totalAudioEnergy || 0;
    });
  }
  return out;
};
</script></body></html>`;

interface PageStats {
  framesDecoded: number;
  totalAudioEnergy: number;
  nackCount: number;
  pliCount: number;
  packetsLost: number;
  frameWidth: number;
}

const mediaCodecs = [
  { kind: 'audio' as const, mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video' as const, mimeType: 'video/VP8', clockRate: 90000 },
];

let browser: Browser;
let http: Server;
let origin: string;
let worker: Worker;
let router: Router;

before(
  async () => {
    const bundle = await build({
      stdin: {
        contents: "import * as m from 'mediasoup-client'; window.mediasoupClient = m;",
        resolveDir: process.cwd(),
      },
      bundle: true,
      format: 'iife',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
    });
    const script = bundle.outputFiles[0]!.text;
    http = createServer((req, res) => {
      if (req.url === '/mediasoup-client.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(script);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(PAGE);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
      timeout: 30_000,
    });
    worker = await sfu.createWorker({ logLevel: 'warn' });
    router = await worker.createRouter({ mediaCodecs });
  },
  { timeout: 60_000 },
);

after(async () => {
  worker?.close();
  await browser?.close();
  await new Promise<void>((resolve) => http?.close(() => resolve()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function transportInfo(transport: WebRtcTransport) {
  return {
    id: transport.id,
    iceParameters: transport.iceParameters,
    iceCandidates: transport.iceCandidates,
    dtlsParameters: transport.dtlsParameters,
  };
}

/** The in-test bridge: page functions calling the SFU API directly. */
class Bridge {
  readonly transports = new Map<string, WebRtcTransport>();
  readonly producers = new Map<string, Producer>();
  readonly consumers = new Map<string, Consumer>();

  // biome-ignore lint/suspicious/noExplicitAny: JSON from the page.
  async handle(method: string, data: any): Promise<unknown> {
    switch (method) {
      case 'connect':
        await this.transports.get(data.transportId)!.connect({ dtlsParameters: data.dtlsParameters });
        return undefined;
      case 'produce': {
        const producer = await this.transports
          .get(data.transportId)!
          .produce({ kind: data.kind, rtpParameters: data.rtpParameters });
        this.producers.set(producer.id, producer);
        return { id: producer.id };
      }
      case 'consume': {
        const consumer = await this.transports.get(data.transportId)!.consume({
          producerId: data.producerId,
          rtpCapabilities: data.rtpCapabilities,
          paused: true,
        });
        this.consumers.set(consumer.id, consumer);
        return { id: consumer.id, kind: consumer.kind, rtpParameters: consumer.rtpParameters };
      }
      case 'resume':
        await this.consumers.get(data.consumerId)!.resume();
        return undefined;
      default:
        throw new Error(`unknown bridge method ${method}`);
    }
  }
}

async function stats(page: Page): Promise<PageStats> {
  return (await page.evaluate('window.stats()')) as PageStats;
}

/** Polls page stats until the predicate holds or the time is up; returns the last stats. */
async function waitFor(page: Page, predicate: (s: PageStats) => boolean, ms: number): Promise<PageStats> {
  const deadline = Date.now() + ms;
  let last = await stats(page);
  while (!predicate(last) && Date.now() < deadline) {
    await sleep(200);
    last = await stats(page);
  }
  return last;
}

test('Chromium mediasoup-client → tureen/sfu → Chromium mediasoup-client: video decoded, audio heard, pause/resume, producer close', {
  timeout: 85_000,
}, async () => {
  const bridge = new Bridge();
  const listenInfos = [{ protocol: 'udp' as const, ip: '127.0.0.1' }];
  const sendTransport = await router.createWebRtcTransport({ listenInfos });
  const recvTransport = await router.createWebRtcTransport({ listenInfos });
  bridge.transports.set(sendTransport.id, sendTransport);
  bridge.transports.set(recvTransport.id, recvTransport);
  const dtlsStates: string[] = [];
  const iceStates: string[] = [];
  let selectedTuple: unknown;
  sendTransport.on('dtlsstatechange', (s) => dtlsStates.push(s));
  sendTransport.on('icestatechange', (s) => iceStates.push(s));
  sendTransport.on('iceselectedtuplechange', (t) => {
    selectedTuple = t;
  });
  const pageA = await browser.newPage();
  const pageB = await browser.newPage();
  try {
    for (const page of [pageA, pageB]) {
      await page.exposeFunction('bridge', (method: string, data: unknown) => bridge.handle(method, data));
      await page.goto(origin);
    }
    const caps = router.rtpCapabilities;
    await pageA.evaluate(
      ([c, info]) =>
        (window as never as { setup: (...a: unknown[]) => Promise<unknown> }).setup(c, info, 'send'),
      [caps, transportInfo(sendTransport)] as const,
    );
    await pageB.evaluate(
      ([c, info]) =>
        (window as never as { setup: (...a: unknown[]) => Promise<unknown> }).setup(c, info, 'recv'),
      [caps, transportInfo(recvTransport)] as const,
    );
    const ids = (await pageA.evaluate('window.produceAll()')) as { video: string; audio: string };
    const videoConsumerId = (await pageB.evaluate(`window.consume(${JSON.stringify(ids.video)})`)) as string;
    await pageB.evaluate(`window.consume(${JSON.stringify(ids.audio)})`);

    // Media flows: B decodes the camera and hears the beep.
    let s = await waitFor(pageB, (x) => x.framesDecoded >= 30 && x.totalAudioEnergy > 0, 25_000);
    assert.ok(s.framesDecoded >= 30, `B decoded ${s.framesDecoded} frames`);
    assert.ok(s.totalAudioEnergy > 0, `B audio energy ${s.totalAudioEnergy}`);
    assert.equal(sendTransport.dtlsState, 'connected');
    assert.ok(dtlsStates.includes('connected'), `dtlsstatechange events ${dtlsStates}`);
    assert.ok(
      iceStates.includes('connected') || iceStates.includes('completed'),
      `icestatechange events ${iceStates}`,
    );
    // Chromium's host candidates are this machine's addresses; the packets never leave it.
    const localAddresses = Object.values(networkInterfaces()).flatMap((list) =>
      (list ?? []).map((i) => i.address),
    );
    const tuple = selectedTuple as { remoteIp?: string; localPort?: number } | undefined;
    assert.ok(localAddresses.includes(tuple?.remoteIp ?? ''), `selected tuple ${JSON.stringify(tuple)}`);
    assert.equal(tuple?.localPort, sendTransport.iceCandidates[0]!.port);
    const initial = s.framesDecoded;

    // Producer pause: B's frames stop; resume: they continue.
    const videoProducer = bridge.producers.get(ids.video)!;
    const videoConsumer = bridge.consumers.get(videoConsumerId)!;
    const producerPaused = new Promise<void>((resolve) =>
      videoConsumer.once('producerpause', () => resolve()),
    );
    await videoProducer.pause();
    await producerPaused;
    await sleep(700);
    const pausedAt = (await stats(pageB)).framesDecoded;
    await sleep(1500);
    const pausedLater = (await stats(pageB)).framesDecoded;
    assert.ok(pausedLater - pausedAt <= 2, `frames while producer paused: ${pausedAt} → ${pausedLater}`);
    await videoProducer.resume();
    s = await waitFor(pageB, (x) => x.framesDecoded >= pausedLater + 20, 10_000);
    assert.ok(
      s.framesDecoded >= pausedLater + 20,
      `after producer resume: ${pausedLater} → ${s.framesDecoded}`,
    );

    // Consumer pause/resume.
    await videoConsumer.pause();
    await sleep(700);
    const cPausedAt = (await stats(pageB)).framesDecoded;
    await sleep(1500);
    const cPausedLater = (await stats(pageB)).framesDecoded;
    assert.ok(cPausedLater - cPausedAt <= 2, `frames while consumer paused: ${cPausedAt} → ${cPausedLater}`);
    await videoConsumer.resume();
    s = await waitFor(pageB, (x) => x.framesDecoded >= cPausedLater + 20, 10_000);
    assert.ok(
      s.framesDecoded >= cPausedLater + 20,
      `after consumer resume: ${cPausedLater} → ${s.framesDecoded}`,
    );

    // Producer close: the server consumer emits producerclose; the app closes its client consumer.
    const producerClose = new Promise<void>((resolve) =>
      videoConsumer.once('producerclose', () => resolve()),
    );
    videoProducer.close();
    await producerClose;
    assert.equal(videoConsumer.closed, true);
    const clientClosed = await pageB.evaluate("window.producerClosed('video')");
    assert.equal(clientClosed, true);
    console.log(
      'sfu-media chromium',
      JSON.stringify({
        initial,
        final: s.framesDecoded,
        audioEnergy: s.totalAudioEnergy,
        pli: s.pliCount,
        nack: s.nackCount,
      }),
    );
  } finally {
    await pageA.close();
    await pageB.close();
    sendTransport.close();
    recvTransport.close();
  }
});

test('Chromium simulcast (3 RIDs) consumed at each spatial layer via setPreferredLayers; ICE restart keeps media flowing', {
  timeout: 85_000,
}, async () => {
  const bridge = new Bridge();
  const listenInfos = [{ protocol: 'udp' as const, ip: '127.0.0.1' }];
  const sendTransport = await router.createWebRtcTransport({ listenInfos });
  const recvTransport = await router.createWebRtcTransport({ listenInfos });
  bridge.transports.set(sendTransport.id, sendTransport);
  bridge.transports.set(recvTransport.id, recvTransport);
  const pageA = await browser.newPage();
  const pageB = await browser.newPage();
  try {
    for (const page of [pageA, pageB]) {
      await page.exposeFunction('bridge', (method: string, data: unknown) => bridge.handle(method, data));
      await page.goto(origin);
    }
    const caps = router.rtpCapabilities;
    await pageA.evaluate(
      ([c, info]) =>
        (window as never as { setup: (...a: unknown[]) => Promise<unknown> }).setup(c, info, 'send'),
      [caps, transportInfo(sendTransport)] as const,
    );
    await pageB.evaluate(
      ([c, info]) =>
        (window as never as { setup: (...a: unknown[]) => Promise<unknown> }).setup(c, info, 'recv'),
      [caps, transportInfo(recvTransport)] as const,
    );
    const ids = (await pageA.evaluate('window.produceSimulcast()')) as { video: string };
    const consumerId = (await pageB.evaluate(`window.consume(${JSON.stringify(ids.video)})`)) as string;
    const consumer = bridge.consumers.get(consumerId)!;
    assert.equal(consumer.type, 'simulcast');
    const layers: number[] = [];
    consumer.on('layerschange', (l) => {
      if (l) layers.push(l.spatialLayer);
    });
    let s = await waitFor(pageB, (x) => x.framesDecoded >= 20, 20_000);
    assert.ok(s.framesDecoded >= 20, `B decoded ${s.framesDecoded} frames`);

    // Upper layers only arrive when Chrome's bandwidth estimate grows: our transport-cc feedback.
    const producer = bridge.producers.get(ids.video)!;
    const activeLayers = async () => {
      const stats = (await producer.getStats()) as { rid?: string; bitrate: number }[];
      return stats.filter((x) => x.bitrate > 0).length;
    };
    const deadline = Date.now() + 20_000;
    let active = await activeLayers();
    while (active < 3 && Date.now() < deadline) {
      await sleep(500);
      active = await activeLayers();
    }
    assert.equal(active, 3, 'all three simulcast encodings reach the SFU');

    const widths: number[] = [];
    for (const spatialLayer of [0, 1, 2]) {
      await consumer.setPreferredLayers({ spatialLayer });
      const expected = 1280 / 2 ** (2 - spatialLayer);
      s = await waitFor(pageB, (x) => x.frameWidth === expected, 15_000);
      widths.push(s.frameWidth);
      assert.equal(s.frameWidth, expected, `layer ${spatialLayer}: frameWidth ${s.frameWidth}`);
      const before = s.framesDecoded;
      s = await waitFor(pageB, (x) => x.framesDecoded >= before + 10, 10_000);
      assert.ok(s.framesDecoded >= before + 10, `layer ${spatialLayer} keeps decoding`);
    }
    assert.ok(layers.includes(0) && layers.includes(2), `layerschange events ${layers}`);

    // ICE restart of the send transport: new credentials on both sides, media keeps flowing and
    // Chromium's connectivity checks (now with the new credentials) keep being answered.
    const iceParameters = await sendTransport.restartIce();
    await pageA.evaluate(
      (p) =>
        (
          window as never as { transport: { restartIce: (o: unknown) => Promise<void> } }
        ).transport.restartIce({ iceParameters: p }),
      iceParameters,
    );
    const iceBefore = (await pageA.evaluate('window.iceStats()')) as { responses: number; available: number };
    const framesBefore = (await stats(pageB)).framesDecoded;
    s = await waitFor(pageB, (x) => x.framesDecoded >= framesBefore + 40, 12_000);
    // Consent checks run every few seconds: give Chromium time for some with the new credentials.
    await sleep(6000);
    const iceAfter = (await pageA.evaluate('window.iceStats()')) as { responses: number; available: number };
    s = await stats(pageB);
    assert.ok(
      s.framesDecoded >= framesBefore + 60,
      `frames after ICE restart ${framesBefore} → ${s.framesDecoded}`,
    );
    assert.ok(
      iceAfter.responses > iceBefore.responses,
      `STUN responses ${iceBefore.responses} → ${iceAfter.responses}`,
    );
    console.log(
      'sfu-media simulcast',
      JSON.stringify({
        widths,
        layers,
        availableOutgoingBitrate: iceAfter.available,
        ice: [iceBefore.responses, iceAfter.responses],
      }),
    );
  } finally {
    await pageA.close();
    await pageB.close();
    sendTransport.close();
    recvTransport.close();
  }
});
