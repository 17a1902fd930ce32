/**
 * Simulcast end to end: a libwebrtc sender with three VP8 encodings (rids l, m, h) → endpoint A
 * (answer extended with rid/simulcast, MID/RID and transport-cc extensions; our transport-cc
 * feedback lets libwebrtc raise its rate so the upper layers flow) → SimulcastSelector,
 * RtpRewriter, Vp8DescriptorRewriter → endpoint B → a libwebrtc receiver. Switching the preferred
 * spatial layer must change the decoded size with no sequence hole; dropping temporal layers must
 * lower the frame rate with no hole (the receiver never NACKs).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspectVp8, PayloadInfo, Vp8DescriptorRewriter } from '../../src/media/codecs.js';
import { KeyFrameRequestManager } from '../../src/media/keyframe-request-manager.js';
import { RetransmissionBuffer } from '../../src/media/retransmission-buffer.js';
import { RtpRewriter } from '../../src/media/rtp-rewriter.js';
import { LayerDecision, SimulcastSelector } from '../../src/media/simulcast-selector.js';
import { TransportCcGenerator } from '../../src/media/transport-cc.js';
import { WebRtcEndpoint } from '../../src/transport/endpoint/index.js';
import { buildPli, PsfbFmt, RtcpReader, RtcpType, RtpfbFmt } from '../../src/wire/rtp/rtcp.js';
import { RtpError, RtpView } from '../../src/wire/rtp/rtp.js';
import { wrtc } from '../endpoint/helpers.js';

const TWCC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const RID_URI = 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id';
const MID_URI = 'urn:ietf:params:rtp-hdrext:sdes:mid';
const RIDS = ['l', 'm', 'h'];
const OUR_SSRC = 0x5100c0de;
const CONSUMER_SSRC = 0x0c0c0c11;
const WIDTH = 640;
const HEIGHT = 360;

function extmapId(offer: string, uri: string): number {
  return Number(new RegExp(`a=extmap:(\\d+) ${uri}`).exec(offer)![1]);
}

/** A's answer plus simulcast receive, MID/RID/transport-cc extensions. */
function extendAnswer(answer: string, offer: string, vp8: number): string {
  const extra = [
    `a=rtcp-fb:${vp8} transport-cc`,
    `a=extmap:${extmapId(offer, TWCC_URI)} ${TWCC_URI}`,
    `a=extmap:${extmapId(offer, MID_URI)} ${MID_URI}`,
    `a=extmap:${extmapId(offer, RID_URI)} ${RID_URI}`,
    ...RIDS.map((r) => `a=rid:${r} recv`),
    `a=simulcast:recv ${RIDS.join(';')}`,
  ];
  return answer.replace(
    `a=rtpmap:${vp8} VP8/90000\r\n`,
    `a=rtpmap:${vp8} VP8/90000\r\n${extra.join('\r\n')}\r\n`,
  );
}

// biome-ignore lint/suspicious/noExplicitAny: wrtc objects are untyped
async function inboundVideo(pc: any): Promise<Record<string, number>> {
  const report = await pc.getStats();
  let out: Record<string, number> = {};
  // biome-ignore lint/suspicious/noExplicitAny: wrtc stats are untyped
  report.forEach((s: any) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') out = s;
  });
  return out;
}

test('simulcast from libwebrtc: spatial switch on keyframes and temporal filtering, no holes at the receiver', {
  timeout: 58_000,
}, async (t) => {
  const a = await WebRtcEndpoint.create({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const b = await WebRtcEndpoint.create({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const sender = new wrtc.RTCPeerConnection();
  const receiver = new wrtc.RTCPeerConnection();
  const source = new wrtc.nonstandard.RTCVideoSource();
  const track = source.createTrack();
  const timers: NodeJS.Timeout[] = [];
  try {
    sender.addTransceiver(track, {
      direction: 'sendonly',
      sendEncodings: [
        { rid: 'l', scaleResolutionDownBy: 4 },
        { rid: 'm', scaleResolutionDownBy: 2 },
        { rid: 'h', scaleResolutionDownBy: 1 },
      ],
    });
    const frame = new Uint8ClampedArray(WIDTH * HEIGHT * 1.5);
    let n = 0;
    timers.push(
      setInterval(() => {
        n++;
        // A moving pattern with some detail, so each layer has something to encode.
        for (let i = 0; i < WIDTH * HEIGHT; i += 4) frame[i] = ((i % WIDTH) + n * 8) ^ (i / WIDTH + n);
        frame.fill(128, WIDTH * HEIGHT);
        source.onFrame({ width: WIDTH, height: HEIGHT, data: frame });
      }, 33),
    );
    const offer = (await sender.createOffer()).sdp as string;
    await sender.setLocalDescription({ type: 'offer', sdp: offer });
    const producerVp8 = Number(/a=rtpmap:(\d+) VP8\/90000/.exec(offer)![1]);
    await sender.setRemoteDescription({
      type: 'answer',
      sdp: extendAnswer(a.answer(offer), offer, producerVp8),
    });
    const ridId = extmapId(offer, RID_URI);
    const twccId = extmapId(offer, TWCC_URI);

    receiver.addTransceiver('video', { direction: 'recvonly' });
    const receiverOffer = await receiver.createOffer();
    await receiver.setLocalDescription(receiverOffer);
    const mid = /a=mid:(\S+)/.exec(receiverOffer.sdp)![1]!;
    const answerB = b.answer(receiverOffer.sdp, {
      sendStreams: new Map([[mid, { ssrc: CONSUMER_SSRC, cname: 'consumer', streamId: 's', trackId: 't' }]]),
    });
    await receiver.setRemoteDescription({ type: 'answer', sdp: answerB });
    const consumerVp8 = b.sections[0]!.codec!.payloadType;

    // Per layer: SSRC (learnt from the RID extension), keyframe manager, keyframe width.
    const layerSsrc = [0, 0, 0];
    const layerWidth = [0, 0, 0];
    const lastPacketMs = [0, 0, 0];
    const ssrcLayer = new Map<number, number>();
    const keyFrameManagers = [0, 1, 2].map(
      (layer) =>
        new KeyFrameRequestManager({
          send: () => {
            if (layerSsrc[layer]) a.sendRtcp(buildPli(OUR_SSRC, layerSsrc[layer]!));
          },
        }),
    );
    const changes: string[] = [];
    const selector = new SimulcastSelector({
      spatialLayers: 3,
      temporalLayers: 3,
      requestKeyFrame: (layer) => keyFrameManagers[layer]!.request(performance.now()),
      onLayersChange: (s, tl) => changes.push(`${s}/${tl}`),
    });
    const rewriter = new RtpRewriter({
      ssrc: CONSUMER_SSRC,
      clockRate: 90000,
      payloadTypes: new Map([[producerVp8, consumerVp8]]),
      extensionIds: new Uint8Array(16),
    });
    const vp8Rewriter = new Vp8DescriptorRewriter();
    // Serves the receiver's NACKs (on the media SSRC): a packet the loaded machine really lost on
    // loopback comes back, while a NACK for a number we never sent would count as `missing`.
    const retransmissions = new RetransmissionBuffer({
      send: (buf, length) => b.sendRtp(buf.subarray(0, length)),
    });
    const twcc = new TransportCcGenerator({ senderSsrc: OUR_SSRC });
    const view = new RtpView();
    const copy = new RtpView();
    const out = Buffer.alloc(1500);
    const info = new PayloadInfo();
    let temporalSeen = false;
    let lastOutSeq = -1;
    const gapLog: string[] = [];
    // As an SFU does, forward to the consumer only once its transport is up.
    let consumerConnected = b.dtlsState === 'connected';
    b.on('connected', () => {
      consumerConnected = true;
    });
    let sendFailures = 0;
    let droppedByTemporal = 0;
    // Frames (first packets) on the forwarded layer, and of those forwarded.
    let layerFrames = 0;
    let forwardedFrames = 0;

    a.onRtp = (packet) => {
      if (view.reset(packet) !== RtpError.Ok) return;
      const now = performance.now();
      const tseq = view.readTransportWideSeq(twccId);
      if (tseq >= 0) twcc.record(tseq, now, view.ssrc);
      if (view.payloadType !== producerVp8 || !consumerConnected) return;
      let layer = ssrcLayer.get(view.ssrc);
      if (layer === undefined) {
        const rid = view.readStringExtension(ridId);
        layer = rid === undefined ? -1 : RIDS.indexOf(rid);
        if (layer < 0) return;
        ssrcLayer.set(view.ssrc, layer);
        layerSsrc[layer] = view.ssrc;
      }
      lastPacketMs[layer] = now;
      if (view.payloadLength === 0 || !inspectVp8(view.buf, view.payloadOffset, view.payloadLength, info)) {
        // Padding-only probes (libwebrtc probes bandwidth with them) are not forwarded: absorb them.
        if (layer === selector.currentSpatialLayer) rewriter.drop(view.sequenceNumber);
        return;
      }
      if (info.temporalLayerId > 0) temporalSeen = true;
      if (info.keyFrame) {
        keyFrameManagers[layer]!.keyFrameReceived();
        layerWidth[layer] = info.width;
      }
      const decision = selector.process(layer, info);
      if (info.startOfFrame && layer === selector.currentSpatialLayer) {
        layerFrames++;
        if (decision !== LayerDecision.Drop) forwardedFrames++;
      }
      if (decision === LayerDecision.Drop) {
        if (layer === selector.currentSpatialLayer) {
          droppedByTemporal++;
          rewriter.drop(view.sequenceNumber);
        }
        return;
      }
      if (decision === LayerDecision.ForwardSwitched) {
        rewriter.switchSource();
        vp8Rewriter.switchSource();
      }
      if (!rewriter.rewriteInto(view, out, copy, now)) return;
      vp8Rewriter.rewrite(copy.buf, info, -view.offset);
      const seq = copy.sequenceNumber;
      const ahead = lastOutSeq < 0 ? 1 : (seq - lastOutSeq) & 0xffff;
      if (ahead > 1 && ahead < 0x8000)
        gapLog.push(`${lastOutSeq}→${seq} in:${view.sequenceNumber} layer:${layer}`);
      if (ahead >= 1 && ahead < 0x8000) lastOutSeq = seq;
      retransmissions.store(copy, now);
      if (!b.sendRtp(out.subarray(0, copy.length))) sendFailures++;
    };
    const reader = new RtcpReader();
    b.onRtcp = (packet) => {
      reader.reset(packet);
      while (reader.next()) {
        if (reader.packetType === RtcpType.RTPFB && reader.fmt === RtpfbFmt.NACK)
          retransmissions.handleNack(packet, reader.offset, reader.contentLength, performance.now());
        if (
          reader.packetType === RtcpType.PSFB &&
          (reader.fmt === PsfbFmt.PLI || reader.fmt === PsfbFmt.FIR)
        ) {
          const current = selector.currentSpatialLayer;
          if (current >= 0) keyFrameManagers[current]!.request(performance.now());
        }
      }
    };
    timers.push(
      setInterval(() => {
        const now = performance.now();
        for (const k of keyFrameManagers) k.tick(now);
        // A layer silent for a second is gone (libwebrtc drops layers when its CPU or
        // bandwidth estimate says so): the engine's stream inactivity check does the same.
        for (const [, l] of ssrcLayer) if (now - lastPacketMs[l]! > 1000) selector.setStreamActive(l, false);
        for (const p of twcc.buildFeedback()) a.sendRtcp(p);
      }, 100),
    );

    let stats: Record<string, number> = {};
    const poll = async (ok: (s: Record<string, number>) => boolean, ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        stats = await inboundVideo(receiver);
        if (ok(stats)) return true;
        await new Promise((r) => setTimeout(r, 250));
      }
      return false;
    };

    // Wait until at least two layers flow, and we forward the highest of them.
    assert.ok(
      await poll(
        () => ssrcLayer.size >= 2 && selector.currentSpatialLayer === selector.targetSpatialLayer,
        25_000,
      ),
      `layers seen ${[...ssrcLayer.values()]}, current ${selector.currentSpatialLayer}`,
    );
    const top = selector.currentSpatialLayer;
    assert.ok(
      await poll((s) => s.frameWidth === layerWidth[top] && (s.framesDecoded ?? 0) > 10, 10_000),
      `decoding layer ${top}: ${JSON.stringify(stats)}`,
    );
    t.diagnostic(
      `layers seen ${[...ssrcLayer.entries()].map(([, l]) => `${RIDS[l]}:${layerWidth[l]}`).join(' ')}`,
    );

    // Spatial switch down.
    const lower = [...ssrcLayer.values()].filter((l) => l < top).sort()[0]!;
    selector.setPreferredLayers(lower);
    assert.ok(
      await poll((s) => s.frameWidth === layerWidth[lower], 10_000),
      `receiver decodes layer ${lower} (${layerWidth[lower]} wide): ${JSON.stringify(stats)}`,
    );
    const decodedAfterSwitch = stats.framesDecoded ?? 0;
    assert.ok(await poll((s) => (s.framesDecoded ?? 0) > decodedAfterSwitch + 15, 5000), 'keeps decoding');
    assert.deepEqual(gapLog, [], 'no sequence hole at the switch');

    // Temporal filtering down to the base layer.
    if (!temporalSeen) {
      t.diagnostic('libwebrtc sent no temporal layers: temporal filtering not exercised live');
    } else {
      selector.setPreferredLayers(lower, 0);
      const decodedBefore = (await inboundVideo(receiver)).framesDecoded ?? 0;
      layerFrames = 0;
      forwardedFrames = 0;
      await new Promise((r) => setTimeout(r, 3000));
      const forwarded = forwardedFrames;
      // Let the last forwarded frames reach the decoder.
      await poll((s) => (s.framesDecoded ?? 0) - decodedBefore >= forwarded, 2000);
      assert.ok(droppedByTemporal > 0, 'packets above TL0 dropped');
      assert.ok(
        forwarded > 0 && forwarded < layerFrames * 0.6,
        `TL0 only: forwarded ${forwarded} of ${layerFrames} frames`,
      );
      assert.ok(
        (stats.framesDecoded ?? 0) - decodedBefore >= forwarded - 2,
        `receiver decoded ${(stats.framesDecoded ?? 0) - decodedBefore} of ${forwarded} frames forwarded`,
      );
      assert.deepEqual(gapLog, [], 'dropped packets left no hole');
    }
    assert.ok(changes.length >= 2, `layer changes ${changes}`);
    assert.equal(sendFailures, 0);
    // The receiver's view: it never asked for a number we did not send. (Its packetsLost also
    // counts what a loaded machine drops on loopback; those we re-send from the buffer.)
    assert.equal(retransmissions.missing, 0, 'every NACKed number was one we sent');
    t.diagnostic(
      `layer changes ${changes.join(' ')}; dropped by temporal filter ${droppedByTemporal}; ` +
        `receiver packetsLost ${stats.packetsLost}, re-sent on its NACKs ${retransmissions.retransmitted}`,
    );
  } finally {
    for (const timer of timers) clearInterval(timer);
    track.stop();
    sender.close();
    receiver.close();
    a.close();
    b.close();
  }
});

// libwebrtc (wrtc) segfaults in its teardown at natural process exit; exiting explicitly
// once the test runner has reported (its beforeExit handler was registered first) avoids it.
process.on('beforeExit', () => process.exit(process.exitCode ?? 0));
