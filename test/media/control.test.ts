import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RtcpPacketConverter, Vp8RtpPayload } from 'werift';
import { AudioLevelAccumulator } from '../../src/media/audio-level.js';
import { inspectVp8, PayloadInfo } from '../../src/media/codecs.js';
import { KeyFrameRequestManager } from '../../src/media/keyframe-request-manager.js';
import { LayerDecision, SimulcastSelector } from '../../src/media/simulcast-selector.js';
import { RembSender, TransportCcGenerator } from '../../src/media/transport-cc.js';
import { parseRtcp } from '../../src/wire/rtp/rtcp.js';
import { rtp, viewOf, vp8Payload } from './helpers.js';

test('keyframe requests: coalesced within the interval, deferred, retried until a keyframe', () => {
  const sent: number[] = [];
  const k = new KeyFrameRequestManager({ send: (seq) => sent.push(seq), minIntervalMs: 1000, retryMs: 500 });
  assert.equal(k.request(0), true);
  assert.equal(k.request(100), false, 'coalesced with the pending one');
  k.tick(400);
  assert.equal(sent.length, 1);
  k.keyFrameReceived();
  assert.equal(k.request(450), true, 'a keyframe lifts the throttle');
  k.keyFrameReceived();
  k.tick(2000);
  assert.equal(sent.length, 2, 'nothing pending: no retry');
  k.request(2000);
  k.tick(2600);
  assert.equal(sent.length, 3, 'retry waits for minIntervalMs too');
  k.tick(3000);
  assert.equal(sent.length, 4, 'retried: no keyframe arrived');
  assert.deepEqual(sent, [1, 2, 3, 4], 'FIR sequence numbers increase');
  // A wish just after a keyframe with nothing pending goes out; one right after it is deferred.
  k.keyFrameReceived();
  k.request(3100);
  k.keyFrameReceived();
  assert.equal(k.request(3150), true);
  assert.equal(k.wanted, 6);
});

function frame(spatial: number, key: boolean, tid: number, sync = false) {
  const info = new PayloadInfo();
  const p = vp8Payload({ start: true, keyFrame: key, tid, sync });
  inspectVp8(p, 0, p.length, info);
  return { spatial, info };
}

test('simulcast: starts on a keyframe of the target, switches only on keyframes, filters temporal layers', () => {
  const requests: number[] = [];
  const changes: string[] = [];
  const sel = new SimulcastSelector({
    spatialLayers: 3,
    temporalLayers: 3,
    requestKeyFrame: (s) => requests.push(s),
    onLayersChange: (s, t) => changes.push(`${s}/${t}`),
  });
  for (let s = 0; s < 3; s++) sel.setStreamActive(s, true);
  assert.deepEqual(requests, [0, 1, 2], 'each activation moves the target up');
  const run = (f: ReturnType<typeof frame>) => sel.process(f.spatial, f.info);
  assert.equal(run(frame(2, false, 0)), LayerDecision.Drop, 'no keyframe yet');
  assert.equal(
    run(frame(0, true, 0)),
    LayerDecision.ForwardSwitched,
    'a lower keyframe is better than nothing',
  );
  assert.equal(run(frame(2, true, 0)), LayerDecision.ForwardSwitched);
  assert.equal(run(frame(0, false, 0)), LayerDecision.Drop, 'other layers dropped');
  assert.equal(sel.currentSpatialLayer, 2);
  // Prefer spatial 1, temporal 0: keyframe requested on 1; until it comes, stay on 2.
  sel.setPreferredLayers(1, 0);
  assert.deepEqual(requests, [0, 1, 2, 1]);
  assert.equal(run(frame(2, false, 0)), LayerDecision.Forward);
  assert.equal(run(frame(2, false, 1)), LayerDecision.Drop, 'temporal layer above target dropped');
  assert.equal(run(frame(1, false, 0)), LayerDecision.Drop);
  assert.equal(run(frame(1, true, 0)), LayerDecision.ForwardSwitched);
  assert.equal(run(frame(1, false, 2)), LayerDecision.Drop);
  // Temporal up only at a layer-sync frame.
  sel.setPreferredLayers(1, 2);
  assert.equal(run(frame(1, false, 2)), LayerDecision.Drop, 'not a sync frame');
  assert.equal(run(frame(1, false, 1, true)), LayerDecision.Forward, 'sync to TL1');
  assert.equal(run(frame(1, false, 2, true)), LayerDecision.Forward, 'sync to TL2');
  // Bandwidth hook caps the layer; a dead stream falls back.
  sel.setMaxLayers(0);
  assert.deepEqual(requests, [0, 1, 2, 1, 0]);
  sel.setStreamActive(1, false);
  assert.equal(sel.currentSpatialLayer, -1);
  assert.equal(run(frame(0, true, 0)), LayerDecision.ForwardSwitched);
  assert.deepEqual(changes, ['0/2', '2/2', '2/0', '1/0', '1/1', '1/2', '-1/-1', '0/2']);
});

test('transport-cc feedback: arrivals and losses as werift and our parser read them', () => {
  const gen = new TransportCcGenerator({ senderSsrc: 0x5555 });
  const arrivals = new Map<number, number>();
  for (let i = 0; i < 40; i++) {
    const seq = (65520 + i) & 0xffff;
    if (i % 7 === 3) continue;
    const t = 1000 + i * 5 + (i === 20 ? 300 : 0);
    gen.record(seq, t, 0x1111);
    arrivals.set(seq, t);
  }
  const packets = gen.buildFeedback();
  assert.equal(packets.length, 1);
  const parsed = parseRtcp(packets[0]!).packets[0]!;
  assert.equal(parsed.type, 'transport-cc');
  if (parsed.type !== 'transport-cc') return;
  assert.equal(parsed.baseSequenceNumber, 65520);
  assert.equal(parsed.packetStatusCount, 40);
  const refUs = parsed.referenceTime * 64000;
  for (const p of parsed.packets) {
    const t = arrivals.get(p.sequenceNumber);
    if (t === undefined) assert.equal(p.receivedUs, undefined);
    else assert.ok(Math.abs(refUs + p.receivedUs! - t * 1000) <= 250, `seq ${p.sequenceNumber}`);
  }
  // werift's own parser agrees on the received set.
  const [w] = RtcpPacketConverter.deSerialize(packets[0]!);
  // biome-ignore lint/suspicious/noExplicitAny: werift's feedback object is loosely typed
  const tcc: any = (w as any).feedback;
  assert.equal(tcc.baseSequenceNumber, 65520);
  assert.equal(tcc.packetStatusCount, 40);
  const received = tcc.recvDeltas.length;
  assert.equal(received, arrivals.size);
  // Nothing new: no feedback; late packets for reported seqs are refused.
  assert.deepEqual(gen.buildFeedback(), []);
  gen.record(65523, 2000, 0x1111);
  assert.equal(gen.refused, 1);
  gen.record(-1, 2000, 0x1111);
  assert.equal(gen.refused, 2, 'no extension: nothing recorded');
  gen.record(30, 2000, 0x1111);
  assert.equal(gen.buildFeedback().length, 1);
});

test('REMB: measures the incoming rate and grows above it while loss is low', () => {
  const r = new RembSender({ senderSsrc: 1, initialBitrate: 300_000 });
  for (let t = 0; t < 2000; t += 10) r.record(1250, t); // 1 Mbit/s
  const rate = r.incomingBitrate(2000);
  assert.ok(Math.abs(rate - 1_000_000) < 50_000, `rate ${rate}`);
  const remb = parseRtcp(r.maybeBuild(2000, [0x1111])!).packets[0]!;
  assert.equal(remb.type, 'remb');
  if (remb.type === 'remb') {
    assert.ok(remb.bitrate >= 1_400_000, `bitrate ${remb.bitrate}`);
    assert.deepEqual(remb.ssrcs, [0x1111]);
  }
  assert.equal(r.maybeBuild(2500, [0x1111]), undefined, 'not due yet');
  r.lossFraction = 0.3;
  r.maybeBuild(3000, [0x1111]);
  assert.ok(r.estimate < 1_000_000);
});

test('audio level accumulation', () => {
  const a = new AudioLevelAccumulator();
  const withLevel = (level: number, voice: boolean) =>
    viewOf(rtp(1, 0, { extensions: [{ id: 1, value: Buffer.from([(voice ? 0x80 : 0) | level]) }] }));
  assert.equal(a.record(withLevel(30, true), 1), -30);
  assert.equal(a.record(withLevel(50, false), 1), -50);
  assert.equal(a.record(viewOf(rtp(2, 0)), 1), 1, 'no extension');
  assert.equal(a.voiceCount, 1);
  assert.equal(a.maxDbov, -30);
  assert.equal(a.take(), -40);
  assert.equal(a.take(), -127);
});

test('VP8 inspection agrees with werift on constructed payloads', () => {
  const info = new PayloadInfo();
  for (let i = 0; i < 200; i++) {
    const p = vp8Payload({ start: i % 3 === 0, keyFrame: i % 6 === 0, pictureId: i * 97, tid: i % 3 });
    assert.ok(inspectVp8(p, 0, p.length, info));
    const w = Vp8RtpPayload.deSerialize(p);
    assert.equal(info.pictureId, w.pictureId);
    assert.equal(info.keyFrame, w.isKeyframe);
    assert.equal(info.startOfFrame, w.isPartitionHead);
  }
});
