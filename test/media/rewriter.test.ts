import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RtpRewriter } from '../../src/media/rtp-rewriter.js';
import { RtpView } from '../../src/wire/rtp/rtp.js';
import { rtp, viewOf } from './helpers.js';

function newRewriter(): RtpRewriter {
  return new RtpRewriter({
    ssrc: 0xabcdef01,
    clockRate: 90000,
    payloadTypes: new Map([[96, 101]]),
    extensionIds: Uint8Array.from([0, 0, 0, 7]),
    initialSequenceNumber: 1000,
    initialTimestamp: 50000,
  });
}

test('rewrites seq/ts/ssrc/pt and extension ids in place, continuously', () => {
  const w = newRewriter();
  const out: number[] = [];
  let firstTs = 0;
  for (let i = 0; i < 5; i++) {
    const v = viewOf(
      rtp(30000 + i, 900000 + i * 3000, { extensions: [{ id: 3, value: Buffer.from([9, 9]) }] }),
    );
    assert.ok(w.rewrite(v, i * 33));
    out.push(v.sequenceNumber);
    if (i === 0) firstTs = v.timestamp;
    else assert.equal(v.timestamp, firstTs + i * 3000);
    assert.equal(v.ssrc, 0xabcdef01);
    assert.equal(v.payloadType, 101);
    assert.ok(v.findExtension(7) >= 0);
    assert.equal(v.findExtension(3), -1);
  }
  assert.deepEqual(out, [1000, 1001, 1002, 1003, 1004]);
  assert.equal(firstTs, 50001);
});

test('dropped packets leave no hole; reordered packets keep the mapping in force for them', () => {
  const w = newRewriter();
  const seqOut = (seq: number) => {
    const v = viewOf(rtp(seq, seq * 10));
    return w.rewrite(v, 0) ? v.sequenceNumber : -1;
  };
  assert.equal(seqOut(10), 1000);
  assert.equal(seqOut(11), 1001);
  w.drop(12);
  assert.equal(seqOut(14), 1003, 'seq 13 is not yet seen: it keeps 1002');
  assert.equal(seqOut(13), 1002, 'reordered packet maps to the slot reserved for it');
  w.drop(15);
  w.drop(16);
  assert.equal(seqOut(17), 1004);
  assert.equal(seqOut(11), 1001, 'an old retransmission maps as before');
  assert.equal(w.dropped, 3);
});

test('wraps at 2^16 on input and output', () => {
  const w = new RtpRewriter({
    ssrc: 1,
    clockRate: 90000,
    initialSequenceNumber: 65534,
    initialTimestamp: 0xfffffff0,
  });
  const got: number[] = [];
  for (let i = 0; i < 4; i++) {
    const v = viewOf(rtp(65533 + i, 0xffffff00 + i * 100));
    assert.ok(w.rewrite(v, i));
    got.push(v.sequenceNumber);
  }
  assert.deepEqual(got, [65534, 65535, 0, 1]);
});

test('switchSource: next seq = last + 1, timestamp placed after the last by the elapsed wall clock', () => {
  const w = newRewriter();
  let last = viewOf(rtp(500, 1_000_000, { ssrc: 1 }));
  for (let i = 0; i < 3; i++) {
    last = viewOf(rtp(500 + i, 1_000_000 + i * 3000, { ssrc: 1 }));
    w.rewrite(last, 1000 + i * 33);
  }
  const lastSeq = last.sequenceNumber;
  const lastTs = last.timestamp;
  w.switchSource();
  // New source: unrelated seq and timestamp, 100 ms after the last packet.
  const next = viewOf(rtp(40000, 7, { ssrc: 2 }));
  assert.ok(w.rewrite(next, 1066 + 100));
  assert.equal(next.sequenceNumber, (lastSeq + 1) & 0xffff);
  assert.equal(next.timestamp, lastTs + 9000);
  assert.equal(next.ssrc, 0xabcdef01);
  const after = viewOf(rtp(40001, 3007, { ssrc: 2 }));
  assert.ok(w.rewrite(after, 1200));
  assert.equal(after.sequenceNumber, (lastSeq + 2) & 0xffff);
  assert.equal(after.timestamp, lastTs + 9000 + 3000);
  // A packet from before the switch point is refused: its mapping was dropped at the switch.
  assert.equal(w.rewrite(viewOf(rtp(39990, 0, { ssrc: 2 })), 1200), false);
});

test('pause/resume keeps output continuous', () => {
  const w = newRewriter();
  const v1 = viewOf(rtp(1, 1000));
  w.rewrite(v1, 0);
  // Paused: source packets 2..99 are not forwarded at all; on resume the engine switches source.
  w.switchSource();
  const v2 = viewOf(rtp(100, 1000 + 99 * 3000));
  w.rewrite(v2, 3300);
  assert.equal(v2.sequenceNumber, v1.sequenceNumber + 1);
  assert.equal(v2.timestamp, v1.timestamp + 3300 * 90);
});

test('rewriteInto leaves the producer packet untouched for other consumers', () => {
  const w = newRewriter();
  const original = rtp(42, 4200, { extensions: [{ id: 3, value: Buffer.from([1]) }] });
  const pristine = Buffer.from(original);
  const out = Buffer.alloc(1500);
  const outView = new RtpView();
  assert.ok(w.rewriteInto(viewOf(original), out, outView, 0));
  assert.deepEqual(original, pristine);
  assert.equal(outView.sequenceNumber, 1000);
  assert.equal(outView.ssrc, 0xabcdef01);
  assert.equal(outView.length, original.length);
  assert.equal(w.rewriteInto(viewOf(original), Buffer.alloc(10), outView, 0), false, 'too small');
});
