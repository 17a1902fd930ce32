// RTP header parse + in-place rewrite (what an SFU does per forwarded packet) and RTCP compound
// parsing, side by side with werift@0.24.4 in the same run.
// Run: npx tsx bench/rtp.ts [packetsPerBatch=2000] [batches=30]
import { randomBytes } from 'node:crypto';
import { RtcpPacketConverter, RtpPacket } from 'werift';
import {
  buildNack,
  buildReceiverReport,
  buildSdes,
  buildSenderReport,
  buildTransportCc,
  parseRtcp,
  RtcpReader,
} from '../src/wire/rtp/rtcp.js';
import { buildRtpPacket, RtpError, RtpView } from '../src/wire/rtp/rtp.js';

const PACKETS = Number(process.argv[2] ?? 2000);
const BATCHES = Number(process.argv[3] ?? 30);

const packets: Buffer[] = [];
for (let i = 0; i < PACKETS; i++) {
  packets.push(
    buildRtpPacket(
      {
        payloadType: 96,
        sequenceNumber: i,
        timestamp: i * 3000,
        ssrc: 0x1234,
        marker: i % 30 === 0,
        extensions: [
          { id: 1, value: Buffer.from('0') },
          { id: 3, value: Buffer.from([1, 2, 3]) },
          { id: 5, value: Buffer.from([0, i & 0xff]) },
        ],
      },
      randomBytes(1100),
    ),
  );
}
const remap = new Uint8Array(256);
remap[1] = 1;
remap[3] = 4;
// Idempotent, so every batch sees the same packets (ids 1, 4, 5 after the first).
remap[4] = 4;
remap[5] = 5;

const view = new RtpView();
let sink = 0;
function oursRtp(): void {
  for (let i = 0; i < PACKETS; i++) {
    const p = packets[i]!;
    if (view.reset(p) !== RtpError.Ok) throw new Error('invalid');
    // Read what a forwarder reads, then rewrite SSRC, seq, timestamp, PT and one extension id.
    sink += view.sequenceNumber + view.payloadType + view.readTransportWideSeq(5);
    view.setSsrc(0xabcdef);
    view.setSequenceNumber(i + 7);
    view.setTimestamp(i * 3000 + 11);
    view.setPayloadType(101);
    view.remapExtensionIds(remap);
  }
}
/** Floor: the same reads and writes as direct byte stores at known offsets, no validation. */
function rawBytes(): void {
  for (let i = 0; i < PACKETS; i++) {
    const p = packets[i]!;
    sink += ((p[2]! << 8) | p[3]!) + (p[1]! & 0x7f) + ((p[23]! << 8) | p[24]!);
    p[8] = 0;
    p[9] = 0xab;
    p[10] = 0xcd;
    p[11] = 0xef;
    p[2] = (i + 7) >>> 8;
    p[3] = i + 7;
    const ts = i * 3000 + 11;
    p[4] = ts >>> 24;
    p[5] = ts >>> 16;
    p[6] = ts >>> 8;
    p[7] = ts;
    p[1] = (p[1]! & 0x80) | 101;
    p[18] = (4 << 4) | (p[18]! & 0x0f);
  }
}
function weriftRtp(): void {
  for (let i = 0; i < PACKETS; i++) {
    const p = RtpPacket.deSerialize(packets[i]!);
    sink += p.header.sequenceNumber;
    p.header.ssrc = 0xabcdef;
    p.header.sequenceNumber = (i + 7) & 0xffff;
    p.header.timestamp = i * 3000 + 11;
    p.header.payloadType = 101;
    for (const e of p.header.extensions) if (e.id === 3) e.id = 4;
    p.serialize();
  }
}

const report = {
  ssrc: 9,
  fractionLost: 0,
  packetsLost: 0,
  highestSeq: 1000,
  jitter: 3,
  lastSr: 0,
  delaySinceLastSr: 0,
};
const compound = Buffer.concat([
  buildSenderReport({
    ssrc: 1,
    ntpSeconds: 1,
    ntpFraction: 2,
    rtpTimestamp: 3,
    packetCount: 4,
    octetCount: 5,
    reports: [report],
  }),
  buildReceiverReport({ ssrc: 1, reports: [report, report] }),
  buildSdes([{ ssrc: 1, cname: 'bench-cname-0123456789' }]),
  buildNack(1, 2, [100, 101, 103, 140]),
  buildTransportCc({
    senderSsrc: 1,
    mediaSsrc: 2,
    feedbackPacketCount: 1,
    baseSequenceNumber: 1000,
    arrivalsUs: Array.from({ length: 40 }, (_, i) => (i % 9 === 4 ? undefined : 1_000_000 + i * 2500)),
  }).packet,
]);
// werift's SDES/NACK parsers read past their own packet, so its compound stops at SDES.
const weriftCompound = Buffer.concat([
  buildSenderReport({
    ssrc: 1,
    ntpSeconds: 1,
    ntpFraction: 2,
    rtpTimestamp: 3,
    packetCount: 4,
    octetCount: 5,
    reports: [report],
  }),
  buildReceiverReport({ ssrc: 1, reports: [report, report] }),
  buildSdes([{ ssrc: 1, cname: 'bench-cname-0123456789' }]),
]);
const reader = new RtcpReader();
function oursWalk(): void {
  for (let i = 0; i < PACKETS; i++) {
    reader.reset(compound);
    while (reader.next()) sink += reader.packetType;
  }
}
function oursParse(buf: Buffer): () => void {
  return () => {
    for (let i = 0; i < PACKETS; i++) sink += parseRtcp(buf).packets.length;
  };
}
function weriftParse(): void {
  for (let i = 0; i < PACKETS; i++) sink += RtcpPacketConverter.deSerialize(weriftCompound).length;
}

function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / PACKETS;
}
/** Fastest batch: the cost with the least interference from other load on the shared cores. */
const best = (xs: number[]) => Math.min(...xs);

const cases: [string, () => void][] = [
  ['RTP parse + rewrite (ssrc, seq, ts, pt, ext id): tureen', oursRtp],
  ['RTP same byte stores at fixed offsets (floor, no parsing)', rawBytes],
  ['RTP deSerialize + modify + serialize: werift', weriftRtp],
  ['RTCP walk 5-packet compound (RtcpReader): tureen', oursWalk],
  ['RTCP parse 5-packet compound SR+RR+SDES+NACK+TWCC: tureen', oursParse(compound)],
  ['RTCP parse 3-packet compound SR+RR+SDES: tureen', oursParse(weriftCompound)],
  ['RTCP parse 3-packet compound SR+RR+SDES: werift', weriftParse],
];
const samples = cases.map(() => [] as number[]);
for (let b = 0; b < BATCHES; b++) {
  for (let i = 0; i < cases.length; i++) samples[i]!.push(time(cases[i]![1]));
}
console.log(
  `ns per packet (RTP, 1100-byte payload, 3 one-byte extensions) / per compound; fastest of ${BATCHES} interleaved batches × ${PACKETS}`,
);
console.log('| case | ns |');
console.log('|---|---|');
for (let i = 0; i < cases.length; i++) console.log(`| ${cases[i]![0]} | ${best(samples[i]!).toFixed(0)} |`);
const r = (a: number, b: number) => (best(samples[b]!) / best(samples[a]!)).toFixed(1);
console.log(`tureen/floor RTP ${r(1, 0)}×; werift/tureen: RTP ${r(0, 2)}×, RTCP SR+RR+SDES ${r(5, 6)}×`);
if (sink === 0.5) console.log(sink);
