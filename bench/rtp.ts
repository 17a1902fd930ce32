// RTP header parse + in-place rewrite (what an SFU does per forwarded packet) and RTCP compound
// parsing, side by side with werift@0.24.4 in the same run.
//
// The RTP rows run over a shuffled mix of the packet shapes an SFU receives (below, with their
// share): one- and two-byte header extensions, CSRCs, padding, no extension block, packets inside
// a larger receive buffer. Every read is summed into a checksum that is printed, and the rewrites
// are stores into the packets, so nothing can be dropped as dead code. ns/packet is the median
// batch (the fastest batch beside it); batches of every row are interleaved so load on the
// shared cores hits all rows alike.
// "in cache": the headers were touched just before the batch (untimed), as in the SFU, where
// the packet was written by recvmsg and SRTP decryption just before it is parsed. "not in cache":
// a 4 MiB sweep evicted them from L1/L2 first, so every packet costs a memory access.
// Then each shape runs alone (in cache, after the mix, so with the same warmed-up code).
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

const TWCC_ID = 5;
const ext = (id: number, ...bytes: number[]) => ({ id, value: Buffer.from(bytes) });
interface Shape {
  name: string;
  share: number;
  make(i: number): { packet: Buffer; offset: number; length: number };
}
function whole(packet: Buffer) {
  return { packet, offset: 0, length: packet.length };
}
const shapes: Shape[] = [
  {
    name: 'video, 1-byte ext (mid, abs-send-time, twcc), 1100 B',
    share: 40,
    make: (i) =>
      whole(
        buildRtpPacket(
          {
            payloadType: 96,
            sequenceNumber: i,
            timestamp: i * 3000,
            ssrc: 0x1234,
            marker: i % 30 === 0,
            extensions: [ext(1, 0x30), ext(3, 1, 2, 3), ext(TWCC_ID, i >> 8, i)],
          },
          randomBytes(1100),
        ),
      ),
  },
  {
    name: 'audio, 1-byte ext (audio level, twcc, mid), 120 B',
    share: 20,
    make: (i) =>
      whole(
        buildRtpPacket(
          {
            payloadType: 111,
            sequenceNumber: i,
            timestamp: i * 960,
            ssrc: 0x5678,
            extensions: [ext(10, 0x80 | 40), ext(TWCC_ID, i >> 8, i), ext(1, 0x31)],
          },
          randomBytes(120),
        ),
      ),
  },
  {
    name: 'video, 2-byte ext (twcc, 20-byte element), 1100 B',
    share: 10,
    make: (i) =>
      whole(
        buildRtpPacket(
          {
            payloadType: 96,
            sequenceNumber: i,
            timestamp: i * 3000,
            ssrc: 0x1235,
            extensions: [ext(TWCC_ID, i >> 8, i), { id: 20, value: randomBytes(20) }],
          },
          randomBytes(1100),
        ),
      ),
  },
  {
    name: 'audio from a mixer, 2 CSRCs + 1-byte ext, 160 B',
    share: 5,
    make: (i) =>
      whole(
        buildRtpPacket(
          {
            payloadType: 0,
            sequenceNumber: i,
            timestamp: i * 160,
            ssrc: 0x9abc,
            csrcs: [0x11111111, 0x22222222],
            extensions: [ext(10, 50), ext(TWCC_ID, i >> 8, i)],
          },
          randomBytes(160),
        ),
      ),
  },
  {
    name: 'padding-only probe (twcc, abs-send-time), 224 B padding',
    share: 5,
    make: (i) =>
      whole(
        buildRtpPacket(
          {
            payloadType: 97,
            sequenceNumber: i,
            timestamp: i * 3000,
            ssrc: 0x1236,
            padding: 224,
            extensions: [ext(TWCC_ID, i >> 8, i), ext(3, 4, 5, 6)],
          },
          Buffer.alloc(0),
        ),
      ),
  },
  {
    name: 'video, 1-byte ext + 3 B padding, 1000 B',
    share: 5,
    make: (i) =>
      whole(
        buildRtpPacket(
          {
            payloadType: 96,
            sequenceNumber: i,
            timestamp: i * 3000,
            ssrc: 0x1234,
            padding: 3,
            extensions: [ext(1, 0x30), ext(TWCC_ID, i >> 8, i)],
          },
          randomBytes(1000),
        ),
      ),
  },
  {
    name: 'no extension block (plain RTP), 160 B',
    share: 5,
    make: (i) =>
      whole(
        buildRtpPacket(
          { payloadType: 8, sequenceNumber: i, timestamp: i * 160, ssrc: 0xdef0 },
          randomBytes(160),
        ),
      ),
  },
  {
    name: 'video inside a larger receive buffer (offset 16), 1-byte ext, 1100 B',
    share: 10,
    make: (i) => {
      const p = buildRtpPacket(
        {
          payloadType: 96,
          sequenceNumber: i,
          timestamp: i * 3000,
          ssrc: 0x1234,
          extensions: [ext(1, 0x30), ext(3, 1, 2, 3), ext(TWCC_ID, i >> 8, i)],
        },
        randomBytes(1100),
      );
      const slab = Buffer.alloc(p.length + 64);
      p.copy(slab, 16);
      return { packet: slab, offset: 16, length: p.length };
    },
  },
];

/** Deterministic shuffle (xorshift32), so runs are comparable and the order is unpredictable. */
let seed = 0x2545f491;
function random(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x100000000;
}
interface PacketSet {
  packets: Buffer[];
  offsets: Int32Array;
  lengths: Int32Array;
}
function packetSet(pick: (i: number) => Shape): PacketSet {
  const set: PacketSet = { packets: [], offsets: new Int32Array(PACKETS), lengths: new Int32Array(PACKETS) };
  for (let i = 0; i < PACKETS; i++) {
    const { packet, offset, length } = pick(i).make(i);
    set.packets.push(packet);
    set.offsets[i] = offset;
    set.lengths[i] = length;
  }
  return set;
}
const totalShare = shapes.reduce((s, x) => s + x.share, 0);
const mixed = packetSet(() => {
  let r = random() * totalShare;
  for (const s of shapes) {
    r -= s.share;
    if (r < 0) return s;
  }
  return shapes[0]!;
});
const alone = shapes.map((s) => packetSet(() => s));

const remap = new Uint8Array(256);
remap[1] = 1;
remap[3] = 4;
// Idempotent, so every batch sees the same packets (3 becomes 4 in the first batch).
remap[4] = 4;
remap[TWCC_ID] = TWCC_ID;
remap[10] = 10;
remap[20] = 20;

const view = new RtpView();
let sink = 0;
function oursRtp(set: PacketSet): () => void {
  const { packets, offsets, lengths } = set;
  return () => {
    // A local sum (folded into `sink` per batch): a module-level double would box per packet.
    let sum = 0;
    for (let i = 0; i < PACKETS; i++) {
      if (view.reset(packets[i]!, offsets[i]!, lengths[i]!) !== RtpError.Ok) throw new Error('invalid');
      // Read what a forwarder reads, then rewrite SSRC, seq, timestamp, PT and the extension ids.
      sum += view.sequenceNumber + view.payloadType + view.payloadLength + view.readTransportWideSeq(TWCC_ID);
      view.setSsrc(0xabcdef);
      view.setSequenceNumber(i + 7);
      view.setTimestamp(i * 3000 + 11);
      view.setPayloadType(101);
      view.remapExtensionIds(remap);
    }
    sink += sum;
  };
}
/** Floor: the fixed-header reads and writes as byte stores at known offsets, no parsing. */
function rawBytes(): void {
  const { packets, offsets } = mixed;
  let sum = 0;
  for (let i = 0; i < PACKETS; i++) {
    const p = packets[i]!;
    const o = offsets[i]!;
    sum += ((p[o + 2]! << 8) | p[o + 3]!) + (p[o + 1]! & 0x7f);
    p[o + 8] = 0;
    p[o + 9] = 0xab;
    p[o + 10] = 0xcd;
    p[o + 11] = 0xef;
    p[o + 2] = (i + 7) >>> 8;
    p[o + 3] = i + 7;
    const ts = i * 3000 + 11;
    p[o + 4] = ts >>> 24;
    p[o + 5] = ts >>> 16;
    p[o + 6] = ts >>> 8;
    p[o + 7] = ts;
    p[o + 1] = (p[o + 1]! & 0x80) | 101;
  }
  sink += sum;
}

/** Bring a set's headers (and padding counts) into cache, as a just-received packet is. */
function touch(set: PacketSet): void {
  const { packets, offsets, lengths } = set;
  let sum = 0;
  for (let i = 0; i < PACKETS; i++) {
    const p = packets[i]!;
    sum += p[offsets[i]!]! + p[offsets[i]! + 20]! + p[offsets[i]! + lengths[i]! - 1]!;
  }
  sink += sum;
}
const evictionBuffer = new Int32Array(1 << 20);
/** Push the packets out of L1/L2 (1 MiB per core here) by reading 4 MiB. */
function evict(): void {
  let sum = 0;
  for (let i = 0; i < evictionBuffer.length; i += 16) sum += evictionBuffer[i]!;
  sink += sum;
}
const weriftPackets = alone[0]!.packets;
function weriftRtp(): void {
  for (let i = 0; i < PACKETS; i++) {
    const p = RtpPacket.deSerialize(weriftPackets[i]!);
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

function time(fn: () => void, before?: () => void): number {
  before?.();
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / PACKETS;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const best = (xs: number[]) => Math.min(...xs);

const inCache = (set: PacketSet) => () => touch(set);
const cases: [string, () => void, (() => void)?][] = [
  ['RTP parse + rewrite, shuffled mix, packets in cache: tureen', oursRtp(mixed), inCache(mixed)],
  ['RTP parse + rewrite, shuffled mix, packets not in cache: tureen', oursRtp(mixed), evict],
  ['RTP fixed-header byte stores, same mix in cache (floor, no parsing)', rawBytes, inCache(mixed)],
  ['RTP fixed-header byte stores, same mix not in cache (floor, no parsing)', rawBytes, evict],
  [`RTP deSerialize + modify + serialize, ${shapes[0]!.name}: werift`, weriftRtp, inCache(alone[0]!)],
  ['RTCP walk 5-packet compound (RtcpReader): tureen', oursWalk],
  ['RTCP parse 5-packet compound SR+RR+SDES+NACK+TWCC: tureen', oursParse(compound)],
  ['RTCP parse 3-packet compound SR+RR+SDES: tureen', oursParse(weriftCompound)],
  ['RTCP parse 3-packet compound SR+RR+SDES: werift', weriftParse],
  ...shapes.map((s, i): [string, () => void, () => void] => [
    `RTP parse + rewrite alone, in cache: ${s.name} (${s.share} %)`,
    oursRtp(alone[i]!),
    inCache(alone[i]!),
  ]),
];
const samples = cases.map(() => [] as number[]);
for (let b = 0; b < BATCHES; b++) {
  for (let i = 0; i < cases.length; i++) samples[i]!.push(time(cases[i]![1], cases[i]![2]));
}
console.log(`ns per packet / per compound: median (fastest) of ${BATCHES} interleaved batches × ${PACKETS}`);
console.log('| case | ns median | ns fastest |');
console.log('|---|---|---|');
for (let i = 0; i < cases.length; i++)
  console.log(`| ${cases[i]![0]} | ${median(samples[i]!).toFixed(0)} | ${best(samples[i]!).toFixed(0)} |`);
const r = (a: number, b: number) => (median(samples[b]!) / median(samples[a]!)).toFixed(1);
console.log(`werift/tureen (medians): RTP ${r(9, 4)}× (same shape), RTCP SR+RR+SDES ${r(7, 8)}×`);
console.log(`checksum of everything read: ${sink}`);
