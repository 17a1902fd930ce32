// P2P mesh against SFU: for N = 2 … 8 headless Chromium pages (one browser, fake camera and
// microphone) in one room, each page's uplink and downlink (RTP payload + header bytes of every
// outbound-rtp / inbound-rtp over a 10 s window after warm-up, from getStats of all its
// RTCPeerConnections), connections per page and the frame rates it kept up. Writes
// docs/p2p-vs-sfu.md and docs/p2p-vs-sfu.svg.
//
//   npx tsx bench/p2p-vs-sfu.ts [maxN=8] [minN=2] [--merge]
//
// --merge keeps the rows of the existing doc for the other N, and for each point measured again
// the better run (on a shared machine some windows are starved of CPU).
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type * as TureenClientModule from '../src/client/index.js';
import { launchBrowser, openBenchPage, roomToken, sleep, startBenchServer } from './lib/browser.js';

declare global {
  interface Window {
    TureenClient: typeof TureenClientModule;
    benchRoom: TureenClientModule.Room | undefined;
    benchPeerConnections: RTCPeerConnection[];
  }
}

const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const MAX_N = Number(positional[0] ?? 8);
const MIN_N = Number(positional[1] ?? 2);
const MERGE = process.argv.includes('--merge');
const ROWS_MARKER = 'p2p-vs-sfu rows:';
const MODES = ['p2p', 'sfu'] as const;
type Mode = (typeof MODES)[number];
/** Every page sends the same video: small enough that 2 cores can encode a mesh of it. */
const VIDEO = { width: 320, height: 180, frameRate: 15 };
const VIDEO_MAX_BITRATE = 250_000;
const WINDOW_MS = 10_000;
/** After every page decodes every other, before the window: bandwidth estimates settle. */
const SETTLE_MS = 4000;
const WARMUP_TIMEOUT_MS = 45_000;
/** A point where the machine did not keep up is measured again, up to this many times in all. */
const MAX_ATTEMPTS = 3;

/**
 * Runs before the page's scripts: records every RTCPeerConnection (the mesh's and
 * mediasoup-client's) and caps every video sender at VIDEO_MAX_BITRATE, so P2P and SFU send the
 * same stream.
 */
const INIT_SCRIPT = `
(() => {
  const Native = window.RTCPeerConnection;
  window.benchPeerConnections = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      window.benchPeerConnections.push(this);
    }
  };
  setInterval(() => {
    for (const pc of window.benchPeerConnections) {
      if (pc.signalingState === 'closed') continue;
      for (const sender of pc.getSenders()) {
        if (sender.track?.kind !== 'video') continue;
        const params = sender.getParameters();
        const encoding = params.encodings?.[0];
        if (!encoding || encoding.maxBitrate === ${VIDEO_MAX_BITRATE}) continue;
        encoding.maxBitrate = ${VIDEO_MAX_BITRATE};
        sender.setParameters(params).catch(() => {});
      }
    }
  }, 250);
})();`;

interface Sample {
  at: number;
  bytesOut: number;
  bytesIn: number;
  connections: number;
  /** Frames per video stream, keyed by connection index and stats id. */
  framesEncoded: Record<string, number>;
  framesDecoded: Record<string, number>;
}

function sample(page: Page): Promise<Sample> {
  return page.evaluate(async () => {
    const result = {
      at: performance.now(),
      bytesOut: 0,
      bytesIn: 0,
      connections: 0,
      framesEncoded: {} as Record<string, number>,
      framesDecoded: {} as Record<string, number>,
    };
    for (const [i, pc] of window.benchPeerConnections.entries()) {
      if (pc.connectionState !== 'connected') continue;
      result.connections++;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'outbound-rtp') {
          result.bytesOut += (s.bytesSent ?? 0) + (s.headerBytesSent ?? 0);
          if (s.kind === 'video') result.framesEncoded[`${i}:${s.id}`] = s.framesEncoded ?? 0;
        } else if (s.type === 'inbound-rtp') {
          result.bytesIn += (s.bytesReceived ?? 0) + (s.headerBytesReceived ?? 0);
          if (s.kind === 'video') result.framesDecoded[`${i}:${s.id}`] = s.framesDecoded ?? 0;
        }
      });
    }
    return result;
  });
}

async function joinRoom(page: Page, wsUrl: string, token: string): Promise<void> {
  await page.evaluate(
    async ({ wsUrl, token, video }) => {
      const C = window.TureenClient;
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video });
      window.benchRoom = await C.Room.connect(wsUrl, token, {
        stream,
        candidateFilter: C.loopbackCandidatesOnly,
        simulcast: false,
        statsIntervalMs: 0,
      });
    },
    { wsUrl, token, video: VIDEO },
  );
}

interface Row {
  n: number;
  mode: Mode;
  /** Means over the pages. */
  uplinkKbps: number;
  downlinkKbps: number;
  connections: number;
  /** Mean frame rate of the page's encoders / of the remote videos it decodes; minimum over pages. */
  sendFps: number;
  receiveFps: number;
  minReceiveFps: number;
  /** Pages that decoded every other page's video before the warm-up timeout. */
  warmedUp: number;
  load: number;
  attempts: number;
}

function rate(before: Record<string, number>, after: Record<string, number>, seconds: number): number[] {
  return Object.keys(after)
    .filter((key) => key in before)
    .map((key) => (after[key]! - before[key]!) / seconds);
}

/** The machine did not keep up: some page never decoded everyone, or a remote video ran slow. */
const keptUp = (r: Row) => r.warmedUp === r.n && r.minReceiveFps >= 0.8 * VIDEO.frameRate;

const mean = (values: number[]) =>
  values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;

async function measure(
  browser: Browser,
  httpUrl: string,
  wsUrl: string,
  n: number,
  mode: Mode,
): Promise<Row> {
  const roomId = `cmp-${mode}-${n}`;
  const pages: Page[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const page = await openBenchPage(browser, httpUrl, `${mode}${n} page ${i}`, INIT_SCRIPT);
      await joinRoom(page, wsUrl, await roomToken(`p${i}`, roomId, mode));
      pages.push(page);
    }
    // Warm-up: every page decodes video from all the others.
    const deadline = Date.now() + WARMUP_TIMEOUT_MS;
    let warmedUp = 0;
    while (Date.now() < deadline) {
      const samples = await Promise.all(pages.map(sample));
      warmedUp = samples.filter(
        (s) => Object.values(s.framesDecoded).filter((frames) => frames > 0).length >= n - 1,
      ).length;
      if (warmedUp === n) break;
      await sleep(500);
    }
    await sleep(SETTLE_MS);
    const load = loadavg()[0]!;
    const first = await Promise.all(pages.map(sample));
    await sleep(WINDOW_MS);
    const last = await Promise.all(pages.map(sample));
    const perPage = pages.map((_, i) => {
      const a = first[i]!;
      const b = last[i]!;
      const seconds = (b.at - a.at) / 1000;
      const receive = rate(a.framesDecoded, b.framesDecoded, seconds);
      return {
        uplink: ((b.bytesOut - a.bytesOut) * 8) / seconds / 1000,
        downlink: ((b.bytesIn - a.bytesIn) * 8) / seconds / 1000,
        connections: b.connections,
        sendFps: mean(rate(a.framesEncoded, b.framesEncoded, seconds)),
        receiveFps: mean(receive),
        minReceiveFps: receive.length === 0 ? 0 : Math.min(...receive),
      };
    });
    return {
      n,
      mode,
      uplinkKbps: mean(perPage.map((p) => p.uplink)),
      downlinkKbps: mean(perPage.map((p) => p.downlink)),
      connections: mean(perPage.map((p) => p.connections)),
      sendFps: mean(perPage.map((p) => p.sendFps)),
      receiveFps: mean(perPage.map((p) => p.receiveFps)),
      minReceiveFps: Math.min(...perPage.map((p) => p.minReceiveFps)),
      warmedUp,
      load,
      attempts: 1,
    };
  } finally {
    await Promise.all(
      pages.map((page) =>
        page
          .context()
          .close()
          .catch(() => {}),
      ),
    );
  }
}

// --- chart ---------------------------------------------------------------------------------------

function svgChart(rows: Row[]): string {
  const width = 720;
  const height = 420;
  const margin = { left: 70, right: 170, top: 40, bottom: 50 };
  const ns = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  const maxValue = Math.max(1, ...rows.flatMap((r) => [r.uplinkKbps, r.downlinkKbps]));
  const step = niceStep(maxValue / 5);
  const top = Math.ceil(maxValue / step) * step;
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const x = (n: number) =>
    margin.left + (ns.length === 1 ? plotW / 2 : ((n - ns[0]!) / (ns.at(-1)! - ns[0]!)) * plotW);
  const y = (v: number) => margin.top + plotH - (v / top) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    '<title>Uplink and downlink bitrate per participant against the number of participants, P2P mesh and SFU</title>',
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${margin.left}" y="22" font-size="14" font-weight="bold">Bitrate per participant (kbit/s), P2P mesh vs SFU</text>`,
  ];
  for (let v = 0; v <= top + step / 2; v += step) {
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${margin.left - 8}" y="${y(v) + 4}" text-anchor="end">${v}</text>`,
    );
  }
  for (const n of ns) {
    parts.push(
      `<line x1="${x(n)}" x2="${x(n)}" y1="${margin.top + plotH}" y2="${margin.top + plotH + 5}" stroke="#333"/>`,
      `<text x="${x(n)}" y="${margin.top + plotH + 20}" text-anchor="middle">${n}</text>`,
    );
  }
  parts.push(
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#333"/>`,
    `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${margin.top + plotH}" y2="${margin.top + plotH}" stroke="#333"/>`,
    `<text x="${margin.left + plotW / 2}" y="${height - 10}" text-anchor="middle">participants (N)</text>`,
  );
  const series: {
    label: string;
    mode: Mode;
    key: 'uplinkKbps' | 'downlinkKbps';
    color: string;
    dash: string;
  }[] = [
    { label: 'P2P uplink', mode: 'p2p', key: 'uplinkKbps', color: '#d62728', dash: '' },
    { label: 'P2P downlink', mode: 'p2p', key: 'downlinkKbps', color: '#d62728', dash: '6 4' },
    { label: 'SFU uplink', mode: 'sfu', key: 'uplinkKbps', color: '#1f77b4', dash: '' },
    { label: 'SFU downlink', mode: 'sfu', key: 'downlinkKbps', color: '#1f77b4', dash: '6 4' },
  ];
  for (const [i, s] of series.entries()) {
    const modeRows = rows.filter((r) => r.mode === s.mode).sort((a, b) => a.n - b.n);
    const points = modeRows.map((r) => [x(r.n), y(r[s.key])] as const);
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    parts.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')}"/>`,
    );
    for (const [j, [px, py]] of points.entries()) {
      if (!keptUp(modeRows[j]!))
        parts.push(
          `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="8" fill="none" stroke="#999" stroke-width="1.5"/>`,
        );
      parts.push(
        s.key === 'uplinkKbps'
          ? `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3.5" fill="${s.color}"/>`
          : `<rect x="${(px - 3.5).toFixed(1)}" y="${(py - 3.5).toFixed(1)}" width="7" height="7" fill="white" stroke="${s.color}" stroke-width="1.5"/>`,
      );
    }
    const ly = margin.top + 10 + i * 22;
    const lx = margin.left + plotW + 20;
    parts.push(
      `<line x1="${lx}" x2="${lx + 30}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 38}" y="${ly + 4}">${s.label}</text>`,
    );
  }
  const ly = margin.top + 10 + series.length * 22;
  const lx = margin.left + plotW + 20;
  parts.push(
    `<circle cx="${lx + 15}" cy="${ly}" r="8" fill="none" stroke="#999" stroke-width="1.5"/>`,
    `<text x="${lx + 38}" y="${ly + 4}">machine did not</text>`,
    `<text x="${lx + 38}" y="${ly + 18}">keep up (see table)</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

function niceStep(raw: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * magnitude >= raw) return m * magnitude;
  return 10 * magnitude;
}

// --- doc -----------------------------------------------------------------------------------------

/** The better of two runs of one point: the one where the machine kept up, else the faster. */
function better(a: Row, b: Row): Row {
  if (keptUp(a) !== keptUp(b)) return keptUp(a) ? a : b;
  if (a.warmedUp !== b.warmedUp) return a.warmedUp > b.warmedUp ? a : b;
  return a.minReceiveFps >= b.minReceiveFps ? a : b;
}

/** Rows of an earlier run, kept in the doc as JSON inside an HTML comment. */
function rowsOf(doc: string): Row[] {
  const start = doc.indexOf(`<!-- ${ROWS_MARKER}`);
  const end = doc.indexOf('-->', start);
  if (start === -1 || end === -1) return [];
  try {
    return JSON.parse(doc.slice(start + ROWS_MARKER.length + 5, end)) as Row[];
  } catch {
    return [];
  }
}

function merge(earlier: Row[], now: Row[]): Row[] {
  const byPoint = new Map<string, Row>();
  for (const row of [...earlier, ...now]) {
    const key = `${row.n} ${row.mode}`;
    const seen = byPoint.get(key);
    byPoint.set(key, seen === undefined ? row : better(seen, row));
  }
  return [...byPoint.values()].sort((a, b) => a.n - b.n || a.mode.localeCompare(b.mode));
}

function markdown(rows: Row[], command: string, merged: boolean): string {
  const fmt = (v: number) => Math.round(v).toLocaleString('en-US').replace(/,/g, ' ');
  const lines = [
    '# P2P mesh vs SFU: bitrate and connections per participant',
    '',
    `Generated by \`${command}\` (bench/p2p-vs-sfu.ts), ${new Date().toISOString().slice(0, 10)}` +
      (merged ? ', merged with the rows of earlier runs (the better run of each point).' : '.'),
    '',
    'N headless Chromium pages (one browser, one browser context per page, Chromium fake camera and',
    `microphone) join one room of a local Tureen server, on loopback. Every page sends audio and one`,
    `${VIDEO.width}×${VIDEO.height} video at ${VIDEO.frameRate} fps capped at ${VIDEO_MAX_BITRATE / 1000} kbit/s (\`maxBitrate\` on every video sender; simulcast`,
    'off) so that both modes send the same stream. Once every page decodes video from all others and',
    `${SETTLE_MS / 1000} s more, each page's RTCPeerConnections are read with \`getStats()\` twice, ${WINDOW_MS / 1000} s apart:`,
    '',
    '- **uplink / downlink**: bytes of all `outbound-rtp` / `inbound-rtp` streams (RTP payload plus',
    '  headers; no SRTP tag, UDP/IP, RTCP or ICE), in kbit/s, averaged over the pages;',
    "- **connections**: the page's RTCPeerConnections in state `connected` (P2P: one per other peer;",
    '  SFU: a send and a receive transport);',
    '- **send / receive fps**: frames encoded per outgoing video stream and decoded per incoming one,',
    '  mean over the pages (receive min: the slowest remote video of any page) — they show whether the',
    '  machine kept up. A point where some page did not decode every other page, or some remote video',
    `  ran below 80 % of ${VIDEO.frameRate} fps, is measured again (at most ${MAX_ATTEMPTS} runs; the table keeps the best run);`,
    '- **load avg**: the 1-minute load average when the window started (2 cores).',
    '',
    '![uplink and downlink per participant vs N](p2p-vs-sfu.svg)',
    '',
    '| N | mode | uplink kbit/s | downlink kbit/s | connections | send fps | receive fps (min) | pages warmed up | load avg | runs |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.n} | ${r.mode.toUpperCase()} | ${fmt(r.uplinkKbps)} | ${fmt(r.downlinkKbps)} | ${r.connections.toFixed(1)} | ` +
        `${r.sendFps.toFixed(1)} | ${r.receiveFps.toFixed(1)} (${r.minReceiveFps.toFixed(1)}) | ${r.warmedUp}/${r.n} | ${r.load.toFixed(1)} | ${r.attempts} |`,
    ),
    '',
    `<!-- ${ROWS_MARKER} ${JSON.stringify(rows)} -->`,
    '',
    '## Reading the figures',
    '',
    'In the mesh every page encodes and sends its video once per other peer, so its uplink and its',
    'connections grow with N − 1; through the SFU it sends one stream over one send transport',
    'whatever N is, and the SFU forwards it N − 1 times. Downlink is N − 1 streams either way.',
    '',
  ];
  const slow = rows.filter((r) => !keptUp(r));
  if (slow.length > 0) {
    lines.push(
      'Where the machine did not keep up (a page never decoded every other page within the warm-up,',
      `or some remote video ran below 80 % of ${VIDEO.frameRate} fps), bitrates there are lower than the streams' own:`,
      '',
      ...slow.map(
        (r) =>
          `- N = ${r.n}, ${r.mode.toUpperCase()}: ${r.warmedUp}/${r.n} pages warmed up, send ${r.sendFps.toFixed(1)} fps, ` +
          `receive ${r.receiveFps.toFixed(1)} fps (slowest ${r.minReceiveFps.toFixed(1)}), load average ${r.load.toFixed(1)}.`,
      ),
      '',
      'All pages, their encoders and decoders, the server and the SFU worker share one 2-core machine',
      '(with other work running on it): a mesh of N pages runs N × (N − 1) encoders.',
      '',
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const bench = await startBenchServer({
    sfuWorkers: 1,
    roomMode: 'sfu',
    rtcMinPort: 50500,
    rtcMaxPort: 50999,
  });
  const browser = await launchBrowser();
  const rows: Row[] = [];
  try {
    for (let n = MIN_N; n <= MAX_N; n++) {
      for (const mode of MODES) {
        let row: Row = await measure(browser, bench.server.httpUrl, bench.server.wsUrl, n, mode);
        for (let attempt = 2; attempt <= MAX_ATTEMPTS && !keptUp(row); attempt++) {
          console.log(
            `N=${n} ${mode}: the machine did not keep up (min ${row.minReceiveFps.toFixed(1)} fps), again`,
          );
          await sleep(5000);
          const again = await measure(browser, bench.server.httpUrl, bench.server.wsUrl, n, mode);
          row = { ...better(row, again), attempts: attempt };
        }
        rows.push(row);
        console.log(
          `N=${n} ${mode}: up ${row.uplinkKbps.toFixed(0)} kbit/s, down ${row.downlinkKbps.toFixed(0)} kbit/s, ` +
            `${row.connections.toFixed(1)} connections, send ${row.sendFps.toFixed(1)} fps, ` +
            `receive ${row.receiveFps.toFixed(1)} fps (min ${row.minReceiveFps.toFixed(1)}), ` +
            `warmed up ${row.warmedUp}/${n}, load ${row.load.toFixed(1)}`,
        );
        await sleep(1000);
      }
    }
  } finally {
    await browser.close();
    await bench.close();
  }
  const docs = fileURLToPath(new URL('../docs/', import.meta.url));
  const args = process.argv.slice(2).join(' ');
  const earlier = MERGE ? rowsOf(await readFile(`${docs}p2p-vs-sfu.md`, 'utf8').catch(() => '')) : [];
  const all = merge(earlier, rows);
  const command = `npx tsx bench/p2p-vs-sfu.ts${args ? ` ${args}` : ''}`;
  await writeFile(`${docs}p2p-vs-sfu.svg`, svgChart(all));
  await writeFile(`${docs}p2p-vs-sfu.md`, markdown(all, command, earlier.length > 0));
  console.log('wrote docs/p2p-vs-sfu.md and docs/p2p-vs-sfu.svg');
}

await main();
process.exit(0);
