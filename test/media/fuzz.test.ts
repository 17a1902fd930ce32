/**
 * Every per-packet function on random and mutated input (bounded counts, seeded PRNG): none
 * throws, and each keeps its invariants.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AudioLevelAccumulator } from '../../src/media/audio-level.js';
import { inspectH264, inspectVp8, inspectVp9, PayloadInfo } from '../../src/media/codecs.js';
import { NackGenerator } from '../../src/media/nack-generator.js';
import { RetransmissionBuffer } from '../../src/media/retransmission-buffer.js';
import { RtpRewriter } from '../../src/media/rtp-rewriter.js';
import { RtpStreamRecv } from '../../src/media/rtp-stream-recv.js';
import { RtpStreamSend } from '../../src/media/rtp-stream-send.js';
import { LayerDecision, SimulcastSelector } from '../../src/media/simulcast-selector.js';
import { TransportCcGenerator } from '../../src/media/transport-cc.js';
import { parseRtcp } from '../../src/wire/rtp/rtcp.js';
import { RtpError, RtpView } from '../../src/wire/rtp/rtp.js';
import { rtp, vp8Payload } from './helpers.js';

/** xorshift32: reproducible runs. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

function randomBuffer(rand: () => number, maxLength: number): Buffer {
  const b = Buffer.alloc(Math.floor(rand() * maxLength));
  for (let i = 0; i < b.length; i++) b[i] = rand() * 256;
  return b;
}

/** A valid RTP packet with a VP8 payload and extensions, then a few random byte flips. */
function mutatedPacket(rand: () => number, seq: number): Buffer {
  const p = rtp(seq, seq * 3000, {
    payload: vp8Payload({ start: rand() < 0.5, keyFrame: rand() < 0.3, pictureId: seq, tid: seq % 3 }),
    extensions: [
      { id: 1, value: Buffer.from([rand() * 256]) },
      { id: 5, value: Buffer.from([seq >> 8, seq]) },
    ],
  });
  const flips = Math.floor(rand() * 4);
  for (let i = 0; i < flips; i++) p[Math.floor(rand() * p.length)] = rand() * 256;
  return rand() < 0.1 ? p.subarray(0, Math.floor(rand() * p.length)) : p;
}

const ROUNDS = 20_000;

test('codec inspection: total on random and truncated payloads, fields in range', () => {
  const rand = prng(1);
  const info = new PayloadInfo();
  for (let i = 0; i < ROUNDS; i++) {
    const b =
      i % 2
        ? randomBuffer(rand, 40)
        : vp8Payload({ start: true, keyFrame: true }).subarray(0, Math.floor(rand() * 18));
    const offset = Math.floor(rand() * (b.length + 3)) - 1;
    const length = Math.floor(rand() * (b.length + 3)) - 1;
    for (const inspect of [inspectVp8, inspectH264, inspectVp9]) {
      const ok = inspect(b, offset, length, info);
      if (ok) {
        assert.ok(info.descriptorEnd >= offset && info.descriptorEnd <= offset + length);
        assert.ok(info.pictureId < 0x8000 && info.temporalLayerId < 8 && info.width < 0x10000);
      }
    }
    // Fractional and NaN ranges are refused.
    assert.equal(inspectVp8(b, 0.5, b.length, info), false);
    assert.equal(inspectH264(b, Number.NaN, 1, info), false);
  }
});

test('rewriter, retransmission buffer, receive stats, NACK generator, twcc, audio level: total on mutated packets', () => {
  const rand = prng(2);
  const view = new RtpView();
  const rewriter = new RtpRewriter({
    ssrc: 5,
    clockRate: 90000,
    extensionIds: Uint8Array.from([0, 3, 0, 0, 0, 9]),
  });
  let resent = 0;
  const buffer = new RetransmissionBuffer({
    send: () => resent++,
    maxPackets: 256,
    rtx: { ssrc: 6, payloadType: 97 },
  });
  const recv = new RtpStreamRecv({ ssrc: 0x1111, clockRate: 90000 });
  const send = new RtpStreamSend({ ssrc: 5, clockRate: 90000 });
  const nack = new NackGenerator({ sendNack: () => {}, requestKeyFrame: () => {}, maxPackets: 100 });
  const twcc = new TransportCcGenerator({ senderSsrc: 1, window: 512 });
  const audio = new AudioLevelAccumulator();
  const info = new PayloadInfo();
  let seq = 0;
  let valid = 0;
  for (let i = 0; i < ROUNDS; i++) {
    seq = (seq + (rand() < 0.05 ? Math.floor(rand() * 70000) : 1)) & 0xffff;
    const packet = i % 5 === 0 ? randomBuffer(rand, 60) : mutatedPacket(rand, seq);
    const now = i * 3;
    const code = view.reset(packet);
    if (code !== RtpError.Ok) continue;
    valid++;
    inspectVp8(view.buf, view.payloadOffset, view.payloadLength, info);
    recv.receive(view, now, rand() < 0.1);
    nack.received(view.sequenceNumber, now);
    if (i % 7 === 0) nack.tick(now);
    twcc.record(view.readTransportWideSeq(5), now, view.ssrc);
    audio.record(view, 1);
    if (rand() < 0.1) rewriter.drop(view.sequenceNumber);
    else if (rewriter.rewrite(view, now)) {
      assert.equal(view.ssrc, 5);
      buffer.store(view, now);
      send.packetSent(view.timestamp, view.payloadLength, now);
    }
    if (i % 50 === 0) {
      const rtxView = new RtpView();
      if (rtxView.reset(mutatedPacket(rand, seq)) === RtpError.Ok) recv.receiveRtx(rtxView, 96, now);
      const junk = randomBuffer(rand, 80);
      buffer.handleNack(junk, Math.floor(rand() * 10), Math.floor(rand() * 80), now);
      send.receiveReportBlock(junk, Math.floor(rand() * 80) - 2, now);
    }
    if (i % 40 === 0) for (const p of twcc.buildFeedback()) assert.equal(parseRtcp(p).error, 0);
  }
  assert.ok(valid > ROUNDS / 2);
  assert.ok(nack.pending <= 100);
  assert.ok(rewriter.rewritten > 0);
  assert.ok(buffer.stored <= rewriter.rewritten, 'stored only what was rewritten (oversized refused)');
  assert.ok(recv.packetsReceived + recv.packetsDiscarded > 0);
  assert.ok(Number.isFinite(recv.jitter) && recv.jitter >= 0);
  assert.equal(buffer.retransmitted, resent);
});

test('simulcast selector: random layers and payload info never forward two layers at once', () => {
  const rand = prng(3);
  const sel = new SimulcastSelector({ spatialLayers: 3, temporalLayers: 3, requestKeyFrame: () => {} });
  const info = new PayloadInfo();
  for (let i = 0; i < ROUNDS; i++) {
    const spatial = Math.floor(rand() * 5) - 1;
    const p = randomBuffer(rand, 16);
    inspectVp8(p, 0, p.length, info);
    if (rand() < 0.01) sel.setPreferredLayers(Math.floor(rand() * 3), Math.floor(rand() * 3));
    if (rand() < 0.005) sel.setStreamActive(Math.floor(rand() * 3), rand() < 0.7);
    const decision = sel.process(spatial, info);
    if (decision !== LayerDecision.Drop) {
      assert.equal(spatial, sel.currentSpatialLayer);
      if (info.temporalLayerId >= 0) assert.ok(info.temporalLayerId <= sel.currentTemporalLayer);
    }
  }
});
