/**
 * libwebrtc in Node (@roamhq/wrtc) as two SFU clients, the way mediasoup-client drives a
 * browser: negotiated data channels (fixed ids, no DCEP), an SDP answer written from the
 * WebRtcTransport's parameters (ICE-lite, DTLS fingerprint, SCTP port and max-message-size).
 * Peer P produces on stream 1 (ordered) and stream 2 (unordered, maxRetransmits 0); peer Q
 * consumes both, through a WebRtcServer. Then close both ways (stream resets).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import * as sfu from '../../src/sfu/index.js';
import type { Router, WebRtcTransport, Worker } from '../../src/sfu/public-types.js';
import { sleep, waitFor } from '../helpers/wait.js';

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: @roamhq/wrtc ships no types
const wrtc: any = require('@roamhq/wrtc');

// biome-ignore lint/suspicious/noExplicitAny: wrtc objects
type Any = any;

let worker: Worker;
let router: Router;

before(async () => {
  worker = await sfu.createWorker({ logLevel: 'warn' });
  router = await worker.createRouter({ mediaCodecs: [] });
});

after(() => worker?.close());

/** The SDP answer mediasoup-client would build for a data-only transport. */
function answerFor(offer: string, transport: WebRtcTransport): string {
  const mid = /^a=mid:(.+)$/m.exec(offer)?.[1]?.trim() ?? '0';
  const fingerprint = transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256')!;
  const { usernameFragment, password } = transport.iceParameters;
  const lines = [
    'v=0',
    'o=tureen 1 1 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    `a=group:BUNDLE ${mid}`,
    'a=ice-lite',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 127.0.0.1',
    `a=mid:${mid}`,
    `a=ice-ufrag:${usernameFragment}`,
    `a=ice-pwd:${password}`,
    `a=fingerprint:${fingerprint.algorithm} ${fingerprint.value}`,
    'a=setup:passive',
    `a=sctp-port:${transport.sctpParameters!.port}`,
    `a=max-message-size:${transport.sctpParameters!.maxMessageSize}`,
    ...transport.iceCandidates.map(
      (c) => `a=candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${c.address} ${c.port} typ host`,
    ),
    'a=end-of-candidates',
  ];
  return `${lines.join('\r\n')}\r\n`;
}

/** A wrtc peer connected to a new WebRtcTransport; channels are created before the offer. */
async function connectPeer(
  channels: { label: string; id: number; ordered?: boolean; maxRetransmits?: number }[],
): Promise<{ pc: Any; transport: WebRtcTransport; dc: Map<string, Any> }> {
  const transport = await router.createWebRtcTransport({
    listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }],
    enableSctp: true,
  });
  const pc = new wrtc.RTCPeerConnection();
  const dc = new Map<string, Any>();
  for (const { label, ...options } of channels) {
    const channel = pc.createDataChannel(label, { negotiated: true, ...options });
    channel.binaryType = 'arraybuffer';
    dc.set(label, channel);
  }
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  const fingerprint = /^a=fingerprint:(\S+) (\S+)$/m.exec(offer.sdp)!;
  await transport.connect({
    dtlsParameters: {
      role: 'client',
      fingerprints: [{ algorithm: fingerprint[1]!, value: fingerprint[2]! } as never],
    },
  });
  await pc.setRemoteDescription({ type: 'answer', sdp: answerFor(offer.sdp, transport) });
  return { pc, transport, dc };
}

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

test('libwebrtc (wrtc) clients: data channels through the SFU, ordered and partially reliable, close both ways', {
  timeout: 90_000,
}, async () => {
  // P must know its stream ids before the offer: ids 1 and 2 carry its DataProducers.
  const p = await connectPeer([
    { label: 'chat', id: 1, ordered: true },
    { label: 'state', id: 2, ordered: false, maxRetransmits: 0 },
  ]);
  const producerStates: string[] = [];
  p.transport.on('sctpstatechange', (s) => producerStates.push(s));
  const chat = await p.transport.produceData({
    sctpStreamParameters: { streamId: 1, ordered: true },
    label: 'chat',
  });
  const state = await p.transport.produceData({
    sctpStreamParameters: { streamId: 2, ordered: false, maxRetransmits: 0 },
    label: 'state',
  });
  // Q: its server-side DataConsumers get stream ids from the SFU (0, 1), which Q's negotiated
  // channels then use — as mediasoup-client does on consumeData().
  // Q's transport lives on a WebRtcServer (one shared port, datagrams routed by ICE ufrag).
  const server = await worker.createWebRtcServer({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const transportQ = await router.createWebRtcTransport({ webRtcServer: server, enableSctp: true });
  const chatConsumer = await transportQ.consumeData({ dataProducerId: chat.id });
  const stateConsumer = await transportQ.consumeData({ dataProducerId: state.id });
  assert.equal(chatConsumer.sctpStreamParameters?.streamId, 0);
  assert.equal(stateConsumer.sctpStreamParameters?.streamId, 1);
  assert.equal(stateConsumer.sctpStreamParameters?.maxRetransmits, 0);
  assert.equal(stateConsumer.sctpStreamParameters?.ordered, false);

  const pcQ = new wrtc.RTCPeerConnection();
  const q = new Map<string, Any>();
  for (const c of [chatConsumer, stateConsumer]) {
    const s = c.sctpStreamParameters!;
    const channel = pcQ.createDataChannel(c.label, {
      negotiated: true,
      id: s.streamId,
      ordered: s.ordered,
      maxRetransmits: s.maxRetransmits,
    });
    channel.binaryType = 'arraybuffer';
    q.set(c.label, channel);
  }
  const received = new Map<string, unknown[]>([
    ['chat', []],
    ['state', []],
  ]);
  for (const [label, channel] of q)
    channel.onmessage = (e: { data: unknown }) => received.get(label)!.push(e.data);
  let qChatClosed = false;
  q.get('chat').onclose = () => {
    qChatClosed = true;
  };
  const offerQ = await pcQ.createOffer();
  await pcQ.setLocalDescription(offerQ);
  const fpQ = /^a=fingerprint:(\S+) (\S+)$/m.exec(offerQ.sdp)!;
  await transportQ.connect({
    dtlsParameters: { role: 'client', fingerprints: [{ algorithm: fpQ[1]!, value: fpQ[2]! } as never] },
  });
  await pcQ.setRemoteDescription({ type: 'answer', sdp: answerFor(offerQ.sdp, transportQ) });

  try {
    await waitFor(
      'channels open',
      () => [...p.dc.values(), ...q.values()].every((c) => c.readyState === 'open'),
      { timeoutMs: 20_000, intervalMs: 20 },
    );
    await waitFor(
      'SCTP connected on both transports',
      () => p.transport.sctpState === 'connected' && transportQ.sctpState === 'connected',
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    assert.ok(producerStates.includes('connected'), `sctpstatechange: ${producerStates}`);

    // Ordered: strings (empty, unicode), binary up to 64 KiB, then 1 000 numbered messages.
    const messages: (string | Buffer)[] = [
      'hello',
      '',
      'é€ unicode',
      pattern(1, 1),
      pattern(5000, 2),
      pattern(65_536, 3),
      Buffer.alloc(0),
    ];
    for (const m of messages) p.dc.get('chat').send(typeof m === 'string' ? m : new Uint8Array(m));
    for (let i = 0; i < 1000; i++) p.dc.get('chat').send(`#${i}`);
    const chatLog = received.get('chat')!;
    await waitFor('chat messages at Q', () => chatLog.length >= messages.length + 1000, {
      timeoutMs: 30_000,
      intervalMs: 20,
    });
    assert.equal(chatLog.length, messages.length + 1000);
    messages.forEach((m, i) => {
      const got = chatLog[i];
      if (typeof m === 'string') assert.equal(got, m, `string ${i}`);
      else assert.ok(got instanceof ArrayBuffer && Buffer.from(got).equals(m), `binary ${i} intact`);
    });
    for (let i = 0; i < 1000; i++) assert.equal(chatLog[messages.length + i], `#${i}`);

    // Unordered, maxRetransmits 0: no duplicates, nothing corrupted, loopback delivers nearly all.
    for (let i = 0; i < 300; i++) p.dc.get('state').send(`${i}`);
    const stateLog = received.get('state')!;
    await waitFor('state messages at Q', () => stateLog.length >= 270, { timeoutMs: 15_000, intervalMs: 20 });
    await sleep(300);
    assert.equal(new Set(stateLog).size, stateLog.length);
    assert.ok(stateLog.every((v) => typeof v === 'string' && Number(v) >= 0 && Number(v) < 300));

    const [producerStats] = (await chat.getStats()) as { messagesReceived: number }[];
    assert.equal(producerStats!.messagesReceived, messages.length + 1000);
    const [consumerStats] = (await chatConsumer.getStats()) as { messagesSent: number }[];
    assert.equal(consumerStats!.messagesSent, messages.length + 1000);

    // The SFU closes Q's chat consumer: its stream is reset and Q's channel closes.
    chatConsumer.close();
    await waitFor('Q chat channel closed', () => qChatClosed, { timeoutMs: 10_000, intervalMs: 20 });
    // P closes its state channel: libwebrtc resets stream 2, the SFU resets it back.
    p.dc.get('state').close();
    await waitFor('P state channel closed', () => p.dc.get('state').readyState === 'closed', {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    // The other channels stay open.
    assert.equal(p.dc.get('chat').readyState, 'open');
    assert.equal(q.get('state').readyState, 'open');
  } finally {
    p.pc.close();
    pcQ.close();
    p.transport.close();
    transportQ.close();
    server.close();
  }
});

// libwebrtc (wrtc) segfaults in its teardown at natural process exit; exiting explicitly
// once the test runner has reported (its beforeExit handler was registered first) avoids it.
process.on('beforeExit', () => process.exit(process.exitCode ?? 0));
