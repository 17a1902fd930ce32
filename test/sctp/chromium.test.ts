/**
 * Headless Chromium opens data channels towards our WebRtcEndpoint (SCTP over DTLS, DCEP): we
 * echo every message; strings and binary up to 256 KiB come back intact, 10 000 ordered messages
 * come back in order, a negotiated channel works, channels we open reach the page, and closing
 * from either side resets the stream so the other side sees `close`.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { WebRtcEndpoint } from '../../src/transport/endpoint/index.js';
import type { DataChannel } from '../../src/transport/sctp/index.js';
import { waitFor } from './helpers.js';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
];

const PAGE = `<!doctype html><html><body><script>
window.closedLabels = [];
window.received = {};
window.channels = {};
window.remote = {};
const track = (label, dc) => {
  dc.binaryType = 'arraybuffer';
  window.channels[label] = dc;
  window.received[label] = [];
  dc.onmessage = (e) => window.received[label].push(e.data);
  dc.onclose = () => window.closedLabels.push(label);
};
window.start = async (configs) => {
  const pc = new RTCPeerConnection();
  window.pc = pc;
  for (const [label, init] of configs) track(label, pc.createDataChannel(label, init));
  pc.ondatachannel = (e) => { track(e.channel.label, e.channel); window.remote[e.channel.label] = e.channel.id; };
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  return offer.sdp;
};
window.accept = async (sdp) => { await window.pc.setRemoteDescription({ type: 'answer', sdp }); };
window.allOpen = (labels) => labels.every((l) => window.channels[l] && window.channels[l].readyState === 'open');
const bytes = (n, seed) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff; return b; };
const text = (n, seed) => { let s = ''; const a = 'abcdefghijklmnopqrstuvwxyzé€'; while (s.length < n) s += a[(s.length + seed) % a.length]; return s.slice(0, n); };
// Sends a list of [kind, size] and returns when all echoes arrived (or time ran out): which matched.
window.roundTrip = async (label, items, timeoutMs) => {
  const dc = window.channels[label];
  window.received[label] = [];
  const sent = items.map(([kind, size], i) => kind === 'string' ? text(size, i) : bytes(size, i));
  for (const m of sent) dc.send(m);
  const deadline = Date.now() + timeoutMs;
  while (window.received[label].length < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const same = (m, got) => {
    if (typeof m === 'string') return got === m;
    if (!(got instanceof ArrayBuffer) || got.byteLength !== m.length) return false;
    const g = new Uint8Array(got);
    for (let k = 0; k < m.length; k++) if (g[k] !== m[k]) return false;
    return true;
  };
  const received = window.received[label];
  // An ordered channel returns the i-th message i-th; an unordered one may let a small message
  // overtake a fragmented big one, so each message only has to come back once.
  if (dc.ordered) return sent.map((m, i) => same(m, received[i]));
  const unused = received.slice();
  return sent.map((m) => {
    const at = unused.findIndex((got) => same(m, got));
    if (at < 0) return false;
    unused.splice(at, 1);
    return true;
  });
};
window.sendMany = (label, count) => { const dc = window.channels[label]; window.received[label] = []; for (let i = 0; i < count; i++) dc.send('m' + i); };
window.inOrder = (label, count) => { const r = window.received[label]; if (r.length !== count) return r.length; for (let i = 0; i < count; i++) if (r[i] !== 'm' + i) return -i - 1; return count; };
window.sendPartial = (label, count, size) => { const dc = window.channels[label]; for (let i = 0; i < count; i++) dc.send(bytes(size, i)); };
</script></body></html>`;

let browser: Browser;
let http: Server;
let origin: string;

before(async () => {
  http = createServer((_req, res) => {
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
});

after(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => http.close(() => resolve()));
});

const CONFIGS: [string, Record<string, unknown>][] = [
  ['reliable', {}],
  ['unordered', { ordered: false }],
  ['rexmit0', { maxRetransmits: 0 }],
  ['lifetime', { maxPacketLifeTime: 1000, ordered: false }],
  ['negotiated', { negotiated: true, id: 100 }],
];

async function session(dtlsRole: 'server' | 'client', run: (ctx: Ctx) => Promise<void>) {
  const endpoint = await WebRtcEndpoint.create({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const page: Page = await browser.newPage();
  const channels = new Map<string, DataChannel>();
  const echo = (channel: DataChannel) => {
    channels.set(channel.label, channel);
    channel.on('message', (data) => {
      if (channel.readyState === 'open') channel.send(data);
    });
  };
  endpoint.on('datachannel', echo);
  try {
    await page.goto(origin);
    const offer: string = await page.evaluate(`window.start(${JSON.stringify(CONFIGS)})`);
    assert.match(offer, /m=application \d+ UDP\/DTLS\/SCTP webrtc-datachannel/);
    const answer = endpoint.answer(offer, { dtlsRole });
    assert.match(answer, /m=application \d+ UDP\/DTLS\/SCTP webrtc-datachannel/);
    assert.match(answer, /a=sctp-port:5000/);
    assert.match(answer, /a=max-message-size:262144/);
    const section = endpoint.sections.find((s) => s.kind === 'application');
    assert.equal(section?.accepted, true);
    assert.equal(section?.sctp?.remotePort, 5000);
    echo(endpoint.createDataChannel('negotiated', { negotiated: true, id: 100 }));
    await page.evaluate(`window.accept(${JSON.stringify(answer)})`);
    assert.ok(
      await waitFor(() => endpoint.sctpState === 'connected', 15_000, 20),
      `SCTP: ${endpoint.sctpState}`,
    );
    const labels = CONFIGS.map(([l]) => l);
    assert.ok(
      await waitFor(() => channels.size === labels.length, 10_000, 20),
      `channels opened: ${[...channels.keys()]}`,
    );
    const deadline = Date.now() + 10_000;
    while (!(await page.evaluate(`window.allOpen(${JSON.stringify(labels)})`)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await run({ endpoint, page, channels });
  } finally {
    await page.close();
    endpoint.close();
  }
}

interface Ctx {
  endpoint: WebRtcEndpoint;
  page: Page;
  channels: Map<string, DataChannel>;
}

const SIZES: [string, number][] = [
  ['string', 0],
  ['string', 1],
  ['string', 1500],
  ['string', 65536],
  ['binary', 0],
  ['binary', 1],
  ['binary', 1171],
  ['binary', 1172],
  ['binary', 65536],
  ['binary', 262144],
];

test('Chromium data channels (we are DTLS server): DCEP types, echo up to 256 KiB, negotiated id, 10 000 in order, close both ways', {
  timeout: 60_000,
}, async () => {
  await session('server', async ({ endpoint, page, channels }) => {
    const reliable = channels.get('reliable')!;
    assert.equal(reliable.ordered, true);
    assert.equal(reliable.maxRetransmits, undefined);
    assert.equal(reliable.id % 2, 0, 'Chromium, the DTLS client, opens even stream ids');
    assert.equal(channels.get('unordered')!.ordered, false);
    assert.equal(channels.get('rexmit0')!.maxRetransmits, 0);
    assert.equal(channels.get('lifetime')!.maxPacketLifeTime, 1000);
    assert.equal(channels.get('lifetime')!.ordered, false);
    assert.equal(channels.get('negotiated')!.id, 100);

    for (const label of ['reliable', 'unordered', 'negotiated']) {
      const results: boolean[] = await page.evaluate(
        `window.roundTrip('${label}', ${JSON.stringify(SIZES)}, 15000)`,
      );
      assert.deepEqual(
        results,
        SIZES.map(() => true),
        `${label}: every size round-trips (${JSON.stringify(SIZES)})`,
      );
    }
    // Partial reliability on a lossless path still delivers; small messages only.
    for (const label of ['rexmit0', 'lifetime']) {
      const results: boolean[] = await page.evaluate(
        `window.roundTrip('${label}', [['string', 10], ['binary', 3000], ['string', 2]], 10000)`,
      );
      assert.deepEqual(results, [true, true, true], label);
    }

    // 10 000 ordered messages: the endpoint sees them in order, and the echoes come back in order.
    const seen: string[] = [];
    reliable.on('message', (data) => seen.push(String(data)));
    await page.evaluate(`window.sendMany('reliable', 10000)`);
    let order: number = 0;
    const until = Date.now() + 30_000;
    while (order !== 10_000 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      order = await page.evaluate(`window.inOrder('reliable', 10000)`);
    }
    assert.equal(seen.length, 10_000);
    assert.ok(
      seen.every((m, i) => m === `m${i}`),
      'the endpoint received 10 000 messages in order',
    );
    assert.equal(order, 10_000, 'the browser received the 10 000 echoes in order');

    // A channel we open in-band (odd id: we are the DTLS server).
    const ours = endpoint.createDataChannel('from-server', { protocol: 'tureen' });
    assert.equal(ours.id % 2, 1);
    await new Promise<void>((resolve) => ours.once('open', resolve));
    const fromPage: (string | Buffer)[] = [];
    ours.on('message', (data) => fromPage.push(data));
    const remoteId = await (async () => {
      const end = Date.now() + 5000;
      while (Date.now() < end) {
        const id = await page.evaluate(`window.remote['from-server']`);
        if (id !== undefined) return id;
        await new Promise((r) => setTimeout(r, 50));
      }
      return undefined;
    })();
    assert.equal(remoteId, ours.id, 'the page got our DCEP OPEN');
    ours.send('hello from tureen');
    const pageGot = async () => page.evaluate(`window.received['from-server']`) as Promise<unknown[]>;
    let got: unknown[] = [];
    for (let i = 0; i < 50 && got.length === 0; i++) {
      got = await pageGot();
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(got, ['hello from tureen']);

    // Close from the browser: our side sees close.
    const unordered = channels.get('unordered')!;
    const unorderedClosed = new Promise<void>((resolve) => unordered.once('close', resolve));
    await page.evaluate(`window.channels.unordered.close()`);
    await unorderedClosed;
    assert.equal(unordered.readyState, 'closed');
    // Close from our side: the browser sees close.
    reliable.close();
    const closedEnd = Date.now() + 10_000;
    let closed: string[] = [];
    while (Date.now() < closedEnd) {
      closed = await page.evaluate('window.closedLabels');
      if (closed.includes('reliable') && closed.includes('unordered')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(closed.includes('reliable'), `browser saw our close: ${closed}`);
    assert.ok(closed.includes('unordered'));
    assert.ok(await waitFor(() => reliable.readyState === 'closed', 5000), reliable.readyState);
    // The other channels keep working after the resets.
    const after: boolean[] = await page.evaluate(`window.roundTrip('negotiated', [['string', 5]], 5000)`);
    assert.deepEqual(after, [true]);
    assert.equal(endpoint.sctp!.stats.packetsDropped, 0);
    // The page closing its RTCPeerConnection ends the association and every channel.
    const negotiated = channels.get('negotiated')!;
    const negotiatedClosed = new Promise<void>((resolve) => negotiated.once('close', resolve));
    await page.evaluate('window.pc.close()');
    await negotiatedClosed;
    assert.ok(await waitFor(() => endpoint.sctpState === 'closed', 5000), `sctp ${endpoint.sctpState}`);
  });
});

test('Chromium data channels with our DTLS as client', { timeout: 40_000 }, async () => {
  await session('client', async ({ page, channels }) => {
    assert.equal(channels.get('reliable')!.id % 2, 1, 'Chromium, now the DTLS server, opens odd ids');
    const results: boolean[] = await page.evaluate(
      `window.roundTrip('reliable', ${JSON.stringify(SIZES)}, 15000)`,
    );
    assert.deepEqual(
      results,
      SIZES.map(() => true),
    );
  });
});
