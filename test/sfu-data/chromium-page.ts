/**
 * The page of the Chromium data tests: mediasoup-client 3.18.7 (bundled by esbuild, served from
 * 127.0.0.1) with one transport, talking to the SFU API through an exposed `bridge` function.
 * Consumers log every message compactly (the index for short strings, else kind:length:valid),
 * so the test checks order, loss and content without moving megabytes through playwright.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type {
  DataConsumer,
  DataProducer,
  Producer,
  RtpCodecCapability,
  WebRtcTransport,
} from '../../src/sfu/public-types.js';
import { type SfuPageHarness, startSfuPageHarness } from '../helpers/sfu-page.js';
import { sleep } from '../helpers/wait.js';

export const DATA_PAGE = `<!doctype html><html><body>
<script src="/mediasoup-client.js"></script><script>
// Deterministic content for sized messages, checked on arrival.
const stringOf = (len) => { let s = ''; for (let j = 0; j < len; j++) s += String.fromCharCode(97 + ((j * 7 + len) % 26)); return s; };
const bytesOf = (len) => { const b = new Uint8Array(len); for (let j = 0; j < len; j++) b[j] = (j * 31 + len) & 0xff; return b; };
const describe = (data) => {
  if (typeof data === 'string') {
    if (data.length <= 12 && /^[0-9]+$/.test(data)) return data;
    return 's:' + data.length + ':' + (data === stringOf(data.length));
  }
  const b = new Uint8Array(data);
  let ok = true;
  for (let j = 0; j < b.length; j++) if (b[j] !== ((j * 31 + b.length) & 0xff)) { ok = false; break; }
  return 'b:' + b.length + ':' + ok;
};
window.setup = async (caps, info, direction) => {
  const device = new mediasoupClient.Device();
  await device.load({ routerRtpCapabilities: caps });
  const t = direction === 'send' ? device.createSendTransport(info) : device.createRecvTransport(info);
  t.on('connect', ({ dtlsParameters }, ok, fail) =>
    window.bridge('connect', { transportId: info.id, dtlsParameters }).then(() => ok(), fail));
  t.on('produce', ({ kind, rtpParameters }, ok, fail) =>
    window.bridge('produce', { transportId: info.id, kind, rtpParameters }).then(ok, fail));
  t.on('producedata', ({ sctpStreamParameters, label, protocol }, ok, fail) =>
    window.bridge('produceData', { transportId: info.id, sctpStreamParameters, label, protocol }).then(ok, fail));
  window.device = device;
  window.transport = t;
  window.producers = {};
  window.consumers = {};
  window.log = {};
  window.closed = [];
  return device.sctpCapabilities;
};
window.produceData = async (label, options) => {
  const p = await window.transport.produceData({ label, protocol: 'test', ...options });
  p.bufferedAmountLowThreshold = 256 * 1024;
  p.on('close', () => window.closed.push('producer:' + label));
  window.producers[label] = p;
  if (p.readyState !== 'open') await new Promise((resolve) => p.on('open', resolve));
  return p.id;
};
/** Sends with backpressure: waits for bufferedamountlow above 2 MB queued. */
window.sendAll = async (label, messages) => {
  const p = window.producers[label];
  for (const m of messages) {
    if (p.bufferedAmount > 2 * 1024 * 1024) await new Promise((resolve) => p.once('bufferedamountlow', resolve));
    if (typeof m === 'number') p.send(String(m));
    else if (m.kind === 's') p.send(stringOf(m.len));
    else p.send(bytesOf(m.len));
  }
  return p.bufferedAmount;
};
window.sendIndices = (label, count) => window.sendAll(label, Array.from({ length: count }, (_, i) => i));
/** Partially reliable channels: 20 messages every 20 ms, so none waits long in Chromium's queue. */
window.sendPaced = async (label, count) => {
  for (let i = 0; i < count; i += 20) {
    await window.sendAll(label, Array.from({ length: Math.min(20, count - i) }, (_, k) => i + k));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};
window.closeProducer = (label) => { window.producers[label].close(); };
window.producerState = (label) => window.producers[label].readyState;
window.consumeData = async (dataProducerId) => {
  const d = await window.bridge('consumeData', { transportId: window.transport.id, dataProducerId });
  const c = await window.transport.consumeData(d);
  c.binaryType = 'arraybuffer';
  const log = [];
  window.log[c.label] = log;
  window.consumers[c.label] = c;
  c.on('message', (data) => log.push(describe(data)));
  c.on('close', () => window.closed.push('consumer:' + c.label));
  if (c.readyState !== 'open') await new Promise((resolve) => c.on('open', resolve));
  return { id: c.id, label: c.label, ordered: c.sctpStreamParameters.ordered,
    maxRetransmits: c.sctpStreamParameters.maxRetransmits, maxPacketLifeTime: c.sctpStreamParameters.maxPacketLifeTime };
};
window.produceAudio = async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const p = await window.transport.produce({ track: stream.getAudioTracks()[0] });
  return p.id;
};
window.logLength = (label) => (window.log[label] || []).length;
window.getLog = (label) => window.log[label] || [];
window.consumerState = (label) => window.consumers[label].readyState;
window.maxMessageSize = async () => {
  const pc = window.transport.handler._pc;
  return pc && pc.sctp ? pc.sctp.maxMessageSize : -1;
};
</script></body></html>`;

export type DataHarness = SfuPageHarness;

/** Chromium, the data page and one SFU worker with a router. */
export function startDataHarness(mediaCodecs: RtpCodecCapability[]): Promise<DataHarness> {
  return startSfuPageHarness(DATA_PAGE, mediaCodecs);
}

export { sleep };

/** Polls `read` every 200 ms until `ok`, failing with the last value after `ms`. */
export async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!ok(value)) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await sleep(200);
    value = await read();
  }
  return value;
}

/** The in-test signaling: page functions calling the SFU API directly. */
export class Bridge {
  readonly transports = new Map<string, WebRtcTransport>();
  readonly producers = new Map<string, Producer>();
  readonly dataProducers = new Map<string, DataProducer>();
  readonly dataConsumers = new Map<string, DataConsumer>();

  // biome-ignore lint/suspicious/noExplicitAny: JSON from the page.
  async handle(method: string, data: any): Promise<unknown> {
    const transport = this.transports.get(data.transportId)!;
    switch (method) {
      case 'connect':
        await transport.connect({ dtlsParameters: data.dtlsParameters });
        return undefined;
      case 'produce': {
        const producer = await transport.produce({ kind: data.kind, rtpParameters: data.rtpParameters });
        this.producers.set(producer.id, producer);
        return { id: producer.id };
      }
      case 'produceData': {
        const dataProducer = await transport.produceData({
          sctpStreamParameters: data.sctpStreamParameters,
          label: data.label,
          protocol: data.protocol,
        });
        this.dataProducers.set(dataProducer.label, dataProducer);
        return { id: dataProducer.id };
      }
      case 'consumeData': {
        const dataConsumer = await transport.consumeData({ dataProducerId: data.dataProducerId });
        this.dataConsumers.set(`${transport.id}/${dataConsumer.label}`, dataConsumer);
        return {
          id: dataConsumer.id,
          dataProducerId: dataConsumer.dataProducerId,
          sctpStreamParameters: dataConsumer.sctpStreamParameters,
          label: dataConsumer.label,
          protocol: dataConsumer.protocol,
        };
      }
      default:
        throw new Error(`unknown bridge method ${method}`);
    }
  }
}

/** A page with mediasoup-client's transport for this WebRtcTransport ('send' or 'recv'). */
export async function openPage(
  harness: DataHarness,
  bridge: Bridge,
  transport: WebRtcTransport,
  direction: 'send' | 'recv',
): Promise<Page> {
  const page = await harness.browser.newPage();
  page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
  await page.exposeFunction('bridge', (method: string, data: unknown) => bridge.handle(method, data));
  await page.goto(harness.origin);
  const info = {
    id: transport.id,
    iceParameters: transport.iceParameters,
    iceCandidates: transport.iceCandidates,
    dtlsParameters: transport.dtlsParameters,
    sctpParameters: transport.sctpParameters,
  };
  await page.evaluate(
    ([caps, i, d]) => (window as never as { setup: (...a: unknown[]) => Promise<unknown> }).setup(caps, i, d),
    [harness.router.rtpCapabilities, info, direction] as const,
  );
  return page;
}

export const call = <T>(page: Page, expression: string): Promise<T> =>
  page.evaluate(expression) as Promise<T>;
