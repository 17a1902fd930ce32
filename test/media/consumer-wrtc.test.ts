/**
 * The consumer path against a real receiver: libwebrtc sender → endpoint A → RtpRewriter,
 * Vp8DescriptorRewriter, RetransmissionBuffer (RTX), RtpStreamSend (SR) → endpoint B → libwebrtc
 * receiver, which must decode. Packets we "lose" on the way to B must come back through B's NACKs
 * and our RTX; a pause/resume must leave no sequence hole; our SRs must give us an RTT.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspectVp8, PayloadInfo, Vp8DescriptorRewriter } from '../../src/media/codecs.js';
import { KeyFrameRequestManager } from '../../src/media/keyframe-request-manager.js';
import { RetransmissionBuffer } from '../../src/media/retransmission-buffer.js';
import { RtpRewriter } from '../../src/media/rtp-rewriter.js';
import { RtpStreamSend } from '../../src/media/rtp-stream-send.js';
import { WebRtcEndpoint } from '../../src/transport/endpoint/index.js';
import {
  buildPli,
  PsfbFmt,
  parseRtcpPacket,
  RtcpReader,
  RtcpType,
  RtpfbFmt,
} from '../../src/wire/rtp/rtcp.js';
import { RtpError, RtpView } from '../../src/wire/rtp/rtp.js';
import { WrtcVideoSender, wrtc } from '../endpoint/helpers.js';
import { waitFor } from '../ice/helpers.js';

const OUR_SSRC = 0x51ed0001;
const CONSUMER_SSRC = 0x0c0c0c01;
const CONSUMER_RTX_SSRC = 0x0c0c0c02;
const RTX_PT = 97;

/** Declares RTX (PT, FID group, SSRC) for our send stream in B's answer. */
function addRtx(answer: string, vp8: number): string {
  return answer
    .replace(/^(m=video .*)$/m, `$1 ${RTX_PT}`)
    .replace(
      `a=rtpmap:${vp8} VP8/90000\r\n`,
      `a=rtpmap:${vp8} VP8/90000\r\na=rtpmap:${RTX_PT} rtx/90000\r\na=fmtp:${RTX_PT} apt=${vp8}\r\n`,
    )
    .replace(
      `a=ssrc:${CONSUMER_SSRC} cname:consumer\r\n`,
      `a=ssrc-group:FID ${CONSUMER_SSRC} ${CONSUMER_RTX_SSRC}\r\na=ssrc:${CONSUMER_SSRC} cname:consumer\r\na=ssrc:${CONSUMER_RTX_SSRC} cname:consumer\r\n`,
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

test('consumer path into a libwebrtc receiver: decodes, NACK served over RTX, pause/resume without holes, RTT from our SRs', {
  timeout: 55_000,
}, async (t) => {
  const a = await WebRtcEndpoint.create({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const b = await WebRtcEndpoint.create({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const sender = new WrtcVideoSender(320, 240);
  const receiver = new wrtc.RTCPeerConnection();
  const timers: NodeJS.Timeout[] = [];
  try {
    // Producer side.
    const offer = await sender.offer();
    await sender.accept(a.answer(offer));
    const producerSsrc = a.sections[0]!.remoteSsrcs[0]!;
    const producerVp8 = a.sections[0]!.codec!.payloadType;
    const keyFrames = new KeyFrameRequestManager({
      send: () => a.sendRtcp(buildPli(OUR_SSRC, producerSsrc)),
    });

    // Consumer side.
    receiver.addTransceiver('video', { direction: 'recvonly' });
    const receiverOffer = await receiver.createOffer();
    await receiver.setLocalDescription(receiverOffer);
    const mid = /a=mid:(\S+)/.exec(receiverOffer.sdp)![1]!;
    const answer = b.answer(receiverOffer.sdp, {
      sendStreams: new Map([[mid, { ssrc: CONSUMER_SSRC, cname: 'consumer', streamId: 's', trackId: 't' }]]),
    });
    const consumerVp8 = b.sections[0]!.codec!.payloadType;
    await receiver.setRemoteDescription({ type: 'answer', sdp: addRtx(answer, consumerVp8) });

    const rewriter = new RtpRewriter({
      ssrc: CONSUMER_SSRC,
      clockRate: 90000,
      payloadTypes: new Map([[producerVp8, consumerVp8]]),
      extensionIds: new Uint8Array(16), // the consumer negotiated no extensions: strip them
    });
    const vp8Rewriter = new Vp8DescriptorRewriter();
    const retransmissions = new RetransmissionBuffer({
      send: (buf, length) => b.sendRtp(buf.subarray(0, length)),
      rtx: { ssrc: CONSUMER_RTX_SSRC, payloadType: RTX_PT },
    });
    const sendStream = new RtpStreamSend({ ssrc: CONSUMER_SSRC, clockRate: 90000 });

    const view = new RtpView();
    const copy = new RtpView();
    const out = Buffer.alloc(1500);
    const info = new PayloadInfo();
    let forwarding = true;
    let resumePending = false;
    let forwarded = 0;
    const dropped: number[] = [];
    const gapLog: string[] = [];
    let lastOutSeq = -1;
    a.onRtp = (packet) => {
      if (
        view.reset(packet) !== RtpError.Ok ||
        view.ssrc !== producerSsrc ||
        view.payloadType !== producerVp8
      )
        return;
      const now = performance.now();
      if (!inspectVp8(view.buf, view.payloadOffset, view.payloadLength, info)) return;
      if (info.keyFrame) keyFrames.keyFrameReceived();
      if (!forwarding) return;
      if (resumePending) {
        // Resume: wait for the keyframe we asked for, then continue the output stream from it.
        if (!info.keyFrame) return;
        resumePending = false;
        rewriter.switchSource();
        vp8Rewriter.switchSource();
      }
      if (!rewriter.rewriteInto(view, out, copy, now)) return;
      vp8Rewriter.rewrite(copy.buf, info, -view.offset);
      retransmissions.store(copy, now);
      const ahead = lastOutSeq < 0 ? 1 : (copy.sequenceNumber - lastOutSeq) & 0xffff;
      if (ahead > 1 && ahead < 0x8000) gapLog.push(`${lastOutSeq}→${copy.sequenceNumber}`);
      if (ahead >= 1 && ahead < 0x8000) lastOutSeq = copy.sequenceNumber;
      sendStream.packetSent(copy.timestamp, copy.payloadLength, now);
      forwarded++;
      // Lose every 15th packet on the way (after the start), at most 10.
      if (forwarded > 60 && forwarded % 15 === 0 && dropped.length < 10) {
        dropped.push(copy.sequenceNumber);
        return;
      }
      b.sendRtp(out.subarray(0, copy.length));
    };

    const reader = new RtcpReader();
    let rtt = -1;
    let nacksFromReceiver = 0;
    const timesNacked = new Map<number, number>();
    b.onRtcp = (packet) => {
      const now = performance.now();
      reader.reset(packet);
      while (reader.next()) {
        const { packetType, fmt, offset, contentLength } = reader;
        if (packetType === RtcpType.RTPFB && fmt === RtpfbFmt.NACK) {
          nacksFromReceiver++;
          const nack = parseRtcpPacket(packet, offset, contentLength, packetType, fmt);
          if (typeof nack !== 'number' && nack.type === 'nack')
            for (const seq of nack.lost) timesNacked.set(seq, (timesNacked.get(seq) ?? 0) + 1);
          retransmissions.handleNack(packet, offset, contentLength, now);
        } else if (packetType === RtcpType.PSFB && (fmt === PsfbFmt.PLI || fmt === PsfbFmt.FIR)) {
          keyFrames.request(now);
        } else if (packetType === RtcpType.RR || packetType === RtcpType.SR) {
          const first = offset + (packetType === RtcpType.RR ? 8 : 28);
          for (let i = 0; i < fmt && first + (i + 1) * 24 <= offset + contentLength; i++) {
            const at = first + i * 24;
            if (packet.readUInt32BE(at) !== CONSUMER_SSRC) continue;
            const measured = sendStream.receiveReportBlock(packet, at);
            if (measured >= 0) {
              rtt = measured;
              retransmissions.rttMs = Math.max(10, measured);
            }
          }
        }
      }
    };
    timers.push(setInterval(() => keyFrames.tick(performance.now()), 100));
    timers.push(
      setInterval(() => {
        const sr = sendStream.buildSenderReport(performance.now());
        if (sr) b.sendRtcp(sr);
      }, 500),
    );

    let stats: Record<string, number> = {};
    const poll = async (ok: (s: Record<string, number>) => boolean, ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        stats = await inboundVideo(receiver);
        if (ok(stats)) return true;
        await new Promise((r) => setTimeout(r, 200));
      }
      return false;
    };

    assert.ok(
      await poll((s) => (s.framesDecoded ?? 0) > 30, 20_000),
      `receiver decodes (${JSON.stringify(stats)})`,
    );
    assert.equal(stats.frameWidth, 320);
    const pliBefore = stats.pliCount ?? 0;
    assert.ok(await waitFor(() => dropped.length >= 10, 20_000), `dropped ${dropped.length}`);
    assert.ok(
      await waitFor(() => retransmissions.retransmitted >= dropped.length, 5000),
      `retransmitted ${retransmissions.retransmitted}/${dropped.length}, NACKs ${nacksFromReceiver}`,
    );
    // libwebrtc NACKs a missing packet again every RTT (up to 10 times) until it arrives, then
    // asks for a keyframe: few NACKs per loss and no new PLI a second later mean every RTX was
    // accepted. (One retry happens when a loaded machine delays our answer past libwebrtc's RTT.)
    await new Promise((r) => setTimeout(r, 1000));
    stats = await inboundVideo(receiver);
    // (A loaded machine may also lose a packet on loopback; it is NACKed and served the same way.)
    for (const seq of dropped) {
      const times = timesNacked.get(seq) ?? 0;
      assert.ok(times >= 1 && times <= 3, `withheld ${seq} NACKed ${times} times`);
    }
    assert.equal(retransmissions.missing, 0, 'every NACKed packet was in the buffer');
    assert.equal(stats.nackCount, nacksFromReceiver);
    assert.equal(stats.pliCount ?? 0, pliBefore, 'no keyframe needed to repair the losses');
    // RTX-recovered packets are counted on the RTX stream, not back into the media SSRC's loss.
    assert.ok((stats.packetsLost ?? 0) >= dropped.length);
    const lostBeforePause = stats.packetsLost ?? 0;
    assert.ok(await waitFor(() => rtt >= 0, 5000), 'RTT from the receiver reports about our SRs');
    // Loopback, but both event loops may be busy encoding on a loaded machine.
    assert.ok(rtt < 1000, `loopback RTT ${rtt} ms`);

    // Pause 1 s, then resume on a fresh keyframe: the output sequence continues without a hole.
    forwarding = false;
    await new Promise((r) => setTimeout(r, 1000));
    const decodedBeforeResume = (await inboundVideo(receiver)).framesDecoded ?? 0;
    resumePending = true;
    forwarding = true;
    keyFrames.request(performance.now());
    assert.ok(
      await poll((s) => (s.framesDecoded ?? 0) > decodedBeforeResume + 20, 8000),
      `decoding resumes (${stats.framesDecoded} vs ${decodedBeforeResume})`,
    );
    assert.deepEqual(gapLog, [], 'our output continued across the pause without a hole');
    assert.equal(retransmissions.missing, 0, 'the receiver asked for no number we did not send');
    t.diagnostic(
      `receiver packetsLost ${stats.packetsLost} (withheld ${dropped.length}, before the pause ${lostBeforePause})`,
    );
  } finally {
    for (const timer of timers) clearInterval(timer);
    sender.close();
    receiver.close();
    a.close();
    b.close();
  }
});

// libwebrtc (wrtc) segfaults in its teardown at natural process exit; exiting explicitly
// once the test runner has reported (its beforeExit handler was registered first) avoids it.
process.on('beforeExit', () => process.exit(process.exitCode ?? 0));
