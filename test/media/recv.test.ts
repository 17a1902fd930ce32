import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NackGenerator } from '../../src/media/nack-generator.js';
import { RtpStreamRecv } from '../../src/media/rtp-stream-recv.js';
import { RtpStreamSend } from '../../src/media/rtp-stream-send.js';
import { compactNtp, ntpFromUnixMs, parseRtcp, type ReportBlock } from '../../src/wire/rtp/rtcp.js';
import { buildRtxPacket } from '../../src/wire/rtp/rtp.js';
import { rtp, viewOf } from './helpers.js';

function block(): ReportBlock {
  return {
    ssrc: 0,
    fractionLost: 0,
    packetsLost: 0,
    highestSeq: 0,
    jitter: 0,
    lastSr: 0,
    delaySinceLastSr: 0,
  };
}

test('extended highest seq across the wrap, loss, fraction lost per interval', () => {
  const s = new RtpStreamRecv({ ssrc: 0x1111, clockRate: 90000 });
  // 65500 .. 65535, 0 .. 99 with every 10th missing.
  let n = 0;
  for (let i = 0; i < 136; i++) {
    const seq = (65500 + i) & 0xffff;
    if (i % 10 === 4) continue;
    s.receive(viewOf(rtp(seq, i * 3000)), i * 33);
    n++;
  }
  assert.equal(s.extendedHighestSeq, 65536 + 99);
  assert.equal(s.expected, 136);
  assert.equal(s.packetsReceived, n);
  assert.equal(s.packetsLost, 136 - n);
  const b = block();
  assert.ok(s.fillReportBlock(b, 5000));
  assert.equal(b.highestSeq, 65536 + 99);
  assert.equal(b.packetsLost, 14);
  assert.equal(b.fractionLost, Math.floor((14 * 256) / 136));
  // Next interval without loss.
  for (let i = 136; i < 146; i++) s.receive(viewOf(rtp(65500 + i, i * 3000)), i * 33);
  assert.ok(s.fillReportBlock(b, 6000));
  assert.equal(b.fractionLost, 0);
});

test('jitter: zero for a perfectly paced stream, RFC 3550 A.8 value for alternating delay', () => {
  const steady = new RtpStreamRecv({ ssrc: 1, clockRate: 90000 });
  for (let i = 0; i < 50; i++) steady.receive(viewOf(rtp(i, i * 3000)), i * (1000 / 30));
  assert.ok(steady.jitter < 1e-6, `jitter ${steady.jitter}`);
  // Every packet alternately 10 ms late: |D| = 900 ticks each time; J → 900.
  const shaky = new RtpStreamRecv({ ssrc: 1, clockRate: 90000 });
  let expected = 0;
  for (let i = 0; i < 200; i++) {
    shaky.receive(viewOf(rtp(i, i * 3000)), i * (1000 / 30) + (i % 2) * 10);
    if (i > 0) expected += (900 - expected) / 16;
  }
  assert.ok(Math.abs(shaky.jitter - expected) < 1e-6);
  assert.ok(Math.abs(shaky.jitter - 900) < 1);
});

test('big jump needs confirmation (RFC 3550 A.1 probation); duplicates and reorders accepted', () => {
  const s = new RtpStreamRecv({ ssrc: 1, clockRate: 90000 });
  for (let i = 0; i < 10; i++) s.receive(viewOf(rtp(i, 0)), 0);
  assert.equal(s.receive(viewOf(rtp(20000, 0)), 0), -1);
  assert.equal(s.packetsDiscarded, 1);
  assert.equal(s.receive(viewOf(rtp(5, 0)), 0), 5, 'reordered');
  assert.equal(s.receive(viewOf(rtp(20000, 0)), 0), -1);
  assert.equal(s.receive(viewOf(rtp(20001, 0)), 0), 20001, 'confirmed: restart');
  assert.equal(s.expected, 1);
});

test('RTX decapsulation restores OSN, SSRC and PT and counts a retransmission', () => {
  const s = new RtpStreamRecv({ ssrc: 0x1111, clockRate: 90000 });
  s.receive(viewOf(rtp(100, 0)), 0);
  s.receive(viewOf(rtp(102, 6000)), 66);
  const original = viewOf(rtp(101, 3000, { payload: Buffer.from('recovered') }));
  const rtxView = viewOf(buildRtxPacket(original, 0x2222, 97, 1));
  assert.equal(s.receiveRtx(rtxView, 96, 100), 101);
  assert.equal(rtxView.ssrc, 0x1111);
  assert.equal(rtxView.payloadType, 96);
  assert.equal(rtxView.payload().toString(), 'recovered');
  assert.equal(s.packetsRetransmitted, 1);
  assert.equal(s.packetsLost, 0);
  // Padding-only RTX (probe): refused, nothing counted.
  const probe = viewOf(rtp(2, 0, { ssrc: 0x2222, pt: 97, payload: Buffer.alloc(0) }));
  assert.equal(s.receiveRtx(probe, 96, 100), -1);
});

test('LSR/DLSR in our report give the sender its RTT (RtpStreamSend ⇄ RtpStreamRecv)', () => {
  const sender = new RtpStreamSend({ ssrc: 0x1111, clockRate: 90000 });
  const receiver = new RtpStreamRecv({ ssrc: 0x1111, clockRate: 90000 });
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < 10; i++) {
    const v = viewOf(rtp(i, i * 3000));
    sender.packetSent(v.timestamp, v.payloadLength, i * 33);
    receiver.receive(v, i * 33 + 20);
  }
  const srBuf = sender.buildSenderReport(330, t0)!;
  const sr = parseRtcp(srBuf).packets[0]!;
  assert.equal(sr.type, 'sr');
  if (sr.type !== 'sr') return;
  assert.equal(sr.packetCount, 10);
  assert.equal(sr.octetCount, 40);
  assert.equal(sr.rtpTimestamp, 9 * 3000 + Math.round(((330 - 9 * 33) * 90000) / 1000));
  assert.equal(
    compactNtp(sr.ntpSeconds, sr.ntpFraction),
    compactNtp(ntpFromUnixMs(t0).ntpSeconds, ntpFromUnixMs(t0).ntpFraction),
  );
  // One-way 20 ms, the receiver holds the SR 500 ms, 20 ms back: RTT 40 ms.
  receiver.receiveSenderReport(sr.ntpSeconds, sr.ntpFraction, 1000);
  const b = block();
  receiver.fillReportBlock(b, 1500);
  const raw = Buffer.alloc(24);
  raw.writeUInt32BE(b.ssrc, 0);
  raw[4] = b.fractionLost;
  raw.writeUInt32BE(b.highestSeq, 8);
  raw.writeUInt32BE(b.jitter, 12);
  raw.writeUInt32BE(b.lastSr, 16);
  raw.writeUInt32BE(b.delaySinceLastSr, 20);
  const rtt = sender.receiveReportBlock(raw, 0, t0 + 20 + 500 + 20);
  assert.ok(Math.abs(rtt - 40) < 0.1, `rtt ${rtt}`);
  assert.equal(sender.rttMs, rtt);
});

test('NACK generator: immediate NACK on a gap, retries every RTT, recovery, give-up with keyframe', () => {
  const nacks: number[][] = [];
  let keyFrames = 0;
  const g = new NackGenerator({
    sendNack: (seqs) => nacks.push([...seqs]),
    requestKeyFrame: () => keyFrames++,
    maxPackets: 50,
    maxRetries: 3,
    rttMs: 100,
  });
  g.received(65533, 0);
  g.received(65534, 10);
  g.received(1, 20); // 65535 and 0 missing
  assert.deepEqual(nacks, [[65535, 0]]);
  g.tick(60);
  assert.equal(nacks.length, 1, 'not before an RTT');
  g.received(65535, 70); // recovered
  assert.equal(g.recovered, 1);
  g.tick(130);
  assert.deepEqual(nacks[1], [0]);
  g.tick(240);
  assert.deepEqual(nacks[2], [0]);
  g.tick(350); // third retry would exceed maxRetries
  assert.equal(nacks.length, 3);
  assert.equal(g.abandoned, 1);
  assert.equal(g.pending, 0);
  // A gap larger than the list: cleared and a keyframe asked for.
  g.received(200, 400);
  assert.equal(keyFrames, 1);
  assert.equal(g.pending, 0);
  // Keyframe at 210 makes the losses before it moot.
  g.received(205, 410);
  assert.equal(g.pending, 4);
  g.keyFrameReceived(205);
  assert.equal(g.pending, 0);
});
