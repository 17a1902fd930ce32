import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetransmissionBuffer } from '../../src/media/retransmission-buffer.js';
import { buildNack } from '../../src/wire/rtp/rtcp.js';
import { RtpError, RtpView, rtxToOriginal } from '../../src/wire/rtp/rtp.js';
import { rtp, viewOf } from './helpers.js';

function collect() {
  const sent: Buffer[] = [];
  return { sent, send: (buf: Buffer, length: number) => sent.push(Buffer.from(buf.subarray(0, length))) };
}

test('serves a NACK (PID+BLP) with the stored packets as they were', () => {
  const { sent, send } = collect();
  const rb = new RetransmissionBuffer({ send });
  const originals = new Map<number, Buffer>();
  for (let seq = 65530; seq < 65546; seq++) {
    const packet = rtp(seq, seq * 3000, { payload: Buffer.from(`payload ${seq & 0xffff}`) });
    originals.set(seq & 0xffff, packet);
    rb.store(viewOf(packet), 0);
  }
  const nack = buildNack(1, 0x1111, [65531, 65535, 0, 3, 100]);
  assert.equal(rb.handleNack(nack, 0, nack.length, 10), 4);
  assert.deepEqual(
    sent.map((p) => p.readUInt16BE(2)),
    [65531, 65535, 0, 3],
  );
  for (const p of sent) assert.deepEqual(p, originals.get(p.readUInt16BE(2)));
  assert.equal(rb.missing, 1, 'seq 100 was never stored');
});

test('RTX: RFC 4588 encapsulation that werift-compatible unwrap restores, own RTX sequence', () => {
  const { sent, send } = collect();
  const rb = new RetransmissionBuffer({
    send,
    rtx: { ssrc: 0x2222, payloadType: 97, initialSequenceNumber: 9 },
  });
  const original = rtp(777, 123456, {
    payload: Buffer.from('hello rtx'),
    extensions: [{ id: 4, value: Buffer.from([1, 2, 3]) }],
    marker: true,
  });
  rb.store(viewOf(original), 0);
  assert.equal(rb.resend(777, 5), true);
  const rtxPacket = sent[0]!;
  const view = viewOf(rtxPacket);
  assert.equal(view.ssrc, 0x2222);
  assert.equal(view.payloadType, 97);
  assert.equal(view.sequenceNumber, 10);
  assert.equal(view.marker, true);
  assert.equal(view.buf.readUInt16BE(view.payloadOffset), 777, 'OSN first');
  assert.ok(rtxToOriginal(view, 0x1111, 96));
  assert.deepEqual(Buffer.from(view.buf.subarray(view.offset, view.offset + view.length)), original);
});

test('resend throttled to once per RTT, refused after maxAge, ring overwritten by newer packets', () => {
  const { sent, send } = collect();
  const rb = new RetransmissionBuffer({ send, maxPackets: 16, maxAgeMs: 1000 });
  rb.rttMs = 50;
  for (let seq = 0; seq < 20; seq++) rb.store(viewOf(rtp(seq, 0)), seq);
  assert.equal(rb.capacity, 16);
  assert.equal(rb.resend(2, 30), false, 'overwritten by seq 18');
  assert.equal(rb.resend(10, 30), true);
  assert.equal(rb.resend(10, 60), false, 'within the RTT');
  assert.equal(rb.resend(10, 81), true);
  assert.equal(rb.resend(19, 1019), true);
  assert.equal(rb.resend(18, 1019), false, 'older than maxAgeMs');
  assert.equal(sent.length, 3);
  assert.equal(rb.throttled, 1);
});

test('NACK parsing is bounded and tolerant of garbage', () => {
  const { sent, send } = collect();
  const rb = new RetransmissionBuffer({ send });
  rb.store(viewOf(rtp(1000, 0)), 0);
  const junk = Buffer.alloc(40, 0xff);
  assert.equal(rb.handleNack(junk, 0, 40, 1), 0);
  assert.equal(rb.handleNack(junk, 30, 40, 1), 0, 'range beyond the buffer');
  assert.equal(rb.handleNack(junk, -1, 4, 1), 0);
  assert.equal(sent.length, 0);
  // Packets too large for a slot are not stored.
  const big = new RtpView();
  assert.equal(big.reset(rtp(6, 0, { payload: Buffer.alloc(1600) })), RtpError.Ok);
  rb.store(big, 0);
  assert.equal(rb.resend(6, 1), false);
});
