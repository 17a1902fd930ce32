// Per-packet cost of the media blocks (src/media): what an SFU does per forwarded packet on
// top of SRTP. Each row runs over the same PACKETS packets BATCHES times; ns/packet is the
// median batch. The "floor" row is view.reset alone, the part every row shares.
// Run: npx tsx bench/media.ts [packetsPerBatch=2000] [batches=40]
import { randomBytes } from 'node:crypto';
import { inspectVp8, PayloadInfo } from '../src/media/codecs.js';
import { NackGenerator } from '../src/media/nack-generator.js';
import { RetransmissionBuffer } from '../src/media/retransmission-buffer.js';
import { RtpRewriter } from '../src/media/rtp-rewriter.js';
import { RtpStreamRecv } from '../src/media/rtp-stream-recv.js';
import { LayerDecision, SimulcastSelector } from '../src/media/simulcast-selector.js';
import { TransportCcGenerator } from '../src/media/transport-cc.js';
import { buildNack } from '../src/wire/rtp/rtcp.js';
import { buildRtpPacket, RtpError, RtpView } from '../src/wire/rtp/rtp.js';

const PACKETS = Number(process.argv[2] ?? 2000);
const BATCHES = Number(process.argv[3] ?? 40);
const FIRST_SEQ = 1000;
const FIRST_TS = 90000;

const packets: Buffer[] = [];
for (let i = 0; i < PACKETS; i++) {
  const descriptor = Buffer.from([
    0x90 | (i % 8 === 0 ? 0x10 : 0),
    0xe0,
    0x80 | ((i >> 8) & 0x7f),
    i & 0xff,
    3,
    (i % 3) << 6,
  ]);
  packets.push(
    buildRtpPacket(
      {
        payloadType: 96,
        sequenceNumber: FIRST_SEQ + i,
        timestamp: FIRST_TS + Math.floor(i / 8) * 3000,
        ssrc: 0x1234,
        marker: i % 8 === 7,
        extensions: [
          { id: 1, value: Buffer.from('0') },
          { id: 3, value: Buffer.from([1, 2, 3]) },
          { id: 5, value: Buffer.from([i >> 8, i & 0xff]) },
        ],
      },
      Buffer.concat([descriptor, randomBytes(1100)]),
    ),
  );
}
// Ids map to themselves so every batch sees the same packets, yet each element is rewritten.
const extensionIds = Uint8Array.from([0, 1, 0, 3, 0, 5]);
const view = new RtpView();
let sink = 0;

function reset(p: Buffer): void {
  if (view.reset(p) !== RtpError.Ok) throw new Error('invalid packet');
}

const rows: { name: string; run: () => void }[] = [];

rows.push({
  name: 'floor: RtpView.reset',
  run: () => {
    for (let i = 0; i < PACKETS; i++) {
      reset(packets[i]!);
      sink += view.payloadLength;
    }
  },
});

rows.push({
  name: 'RtpRewriter.rewrite (seq/ts/ssrc/pt + ext remap)',
  run: () => {
    // Output = input (same first seq and timestamp, same SSRC/PT): batches stay identical.
    const w = new RtpRewriter({
      ssrc: 0x1234,
      clockRate: 90000,
      payloadTypes: new Map([[96, 96]]),
      extensionIds,
      initialSequenceNumber: FIRST_SEQ,
      initialTimestamp: FIRST_TS - 1,
    });
    for (let i = 0; i < PACKETS; i++) {
      reset(packets[i]!);
      if (!w.rewrite(view, 0)) throw new Error('refused');
    }
    if (view.sequenceNumber !== FIRST_SEQ + PACKETS - 1) throw new Error('not identity');
  },
});

const consumerOut = Buffer.alloc(1500);
const consumerView = new RtpView();
rows.push({
  name: 'RtpRewriter.rewriteInto (copy + rewrite)',
  run: () => {
    const w = new RtpRewriter({
      ssrc: 0x5678,
      clockRate: 90000,
      payloadTypes: new Map([[96, 101]]),
      extensionIds,
    });
    for (let i = 0; i < PACKETS; i++) {
      reset(packets[i]!);
      if (!w.rewriteInto(view, consumerOut, consumerView, 0)) throw new Error('refused');
    }
  },
});

const buffer = new RetransmissionBuffer({ send: () => sink++, maxPackets: 2500 });
rows.push({
  name: 'RetransmissionBuffer.store (copy into slot)',
  run: () => {
    for (let i = 0; i < PACKETS; i++) {
      reset(packets[i]!);
      buffer.store(view, i);
    }
  },
});

// The same packets inside larger buffers (as when a packet is a view into a receive buffer):
// copyPacket must use Buffer#copy instead of TypedArray#set.
const embedded = packets.map((p) => {
  const big = Buffer.alloc(p.length + 64);
  p.copy(big, 16);
  return big;
});
rows.push({
  name: 'RetransmissionBuffer.store, packet inside a larger buffer',
  run: () => {
    for (let i = 0; i < PACKETS; i++) {
      const big = embedded[i]!;
      if (view.reset(big, 16, packets[i]!.length) !== RtpError.Ok) throw new Error('invalid packet');
      buffer.store(view, i);
    }
  },
});

const rtxBuffer = new RetransmissionBuffer({
  send: () => sink++,
  maxPackets: 2500,
  rtx: { ssrc: 9, payloadType: 97 },
});
rtxBuffer.rttMs = 0;
for (let i = 0; i < PACKETS; i++) {
  reset(packets[i]!);
  rtxBuffer.store(view, 0);
}
// NACKs of 17 packets each (PID + full BLP), covering all packets.
const nacks: Buffer[] = [];
for (let i = 0; i < PACKETS; i += 17) {
  const lost: number[] = [];
  for (let k = i; k < Math.min(PACKETS, i + 17); k++) lost.push(FIRST_SEQ + k);
  nacks.push(buildNack(1, 0x1234, lost));
}
rows.push({
  name: 'RetransmissionBuffer NACK → RTX resend',
  run: () => {
    for (const n of nacks) rtxBuffer.handleNack(n, 0, n.length, 1);
  },
});

const info = new PayloadInfo();
rows.push({
  name: 'inspectVp8 (descriptor)',
  run: () => {
    for (let i = 0; i < PACKETS; i++) {
      reset(packets[i]!);
      inspectVp8(view.buf, view.payloadOffset, view.payloadLength, info);
      sink += info.pictureId;
    }
  },
});

rows.push({
  name: 'RtpStreamRecv.receive + NackGenerator.received',
  run: () => {
    const recv = new RtpStreamRecv({ ssrc: 0x1234, clockRate: 90000 });
    const nack = new NackGenerator({ sendNack: () => sink++, requestKeyFrame: () => sink++ });
    for (let i = 0; i < PACKETS; i++) {
      reset(packets[i]!);
      recv.receive(view, i * 0.5);
      nack.received(view.sequenceNumber, i * 0.5);
    }
    sink += recv.jitter;
  },
});

rows.push({
  name: 'TransportCcGenerator.record (+ feedback every 100)',
  run: () => {
    const twcc = new TransportCcGenerator({ senderSsrc: 1 });
    for (let i = 0; i < PACKETS; i++) {
      reset(packets[i]!);
      twcc.record(view.readTransportWideSeq(5), i * 0.5, 0x1234);
      if (i % 100 === 99) sink += twcc.buildFeedback().length;
    }
  },
});

rows.push({
  name: 'inspectVp8 + SimulcastSelector.process',
  run: () => {
    const sel = new SimulcastSelector({ spatialLayers: 1, temporalLayers: 3, requestKeyFrame: () => {} });
    sel.setStreamActive(0, true);
    sel.setPreferredLayers(0, 1);
    for (let i = 0; i < PACKETS; i++) {
      reset(packets[i]!);
      inspectVp8(view.buf, view.payloadOffset, view.payloadLength, info);
      // The first packet stands in for a keyframe so the stream is forwarded.
      if (i === 0) info.keyFrame = true;
      if (sel.process(0, info) !== LayerDecision.Drop) sink++;
    }
  },
});

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

console.log(
  `media blocks, ${PACKETS} packets × ${BATCHES} batches (1100-byte VP8 payloads), median ns/packet`,
);
const results: { name: string; ns: number }[] = [];
for (const row of rows) {
  for (let w = 0; w < 5; w++) row.run();
  const times: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const t0 = process.hrtime.bigint();
    row.run();
    times.push(Number(process.hrtime.bigint() - t0) / PACKETS);
  }
  results.push({ name: row.name, ns: median(times) });
}
const width = Math.max(...results.map((r) => r.name.length));
for (const r of results) console.log(`${r.name.padEnd(width)}  ${r.ns.toFixed(1).padStart(8)} ns`);
if (sink === -1) console.log('unreachable');
