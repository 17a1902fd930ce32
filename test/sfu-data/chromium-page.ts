/**
 * The page of the Chromium data tests: mediasoup-client 3.18.7 (bundled by esbuild, served from
 * 127.0.0.1) with one transport, talking to the SFU API through an exposed `bridge` function.
 * Consumers log every message compactly (the index for short strings, else kind:length:valid),
 * so the test checks order, loss and content without moving megabytes through playwright.
 */
import { build } from 'esbuild';

export async function bundleMediasoupClient(): Promise<string> {
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
  return bundle.outputFiles[0]!.text;
}

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
window.logLength = (label) => (window.log[label] || []).length;
window.getLog = (label) => window.log[label] || [];
window.consumerState = (label) => window.consumers[label].readyState;
window.maxMessageSize = async () => {
  const pc = window.transport.handler._pc;
  return pc && pc.sctp ? pc.sctp.maxMessageSize : -1;
};
</script></body></html>`;
