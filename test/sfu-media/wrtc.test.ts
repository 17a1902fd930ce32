/**
 * libwebrtc in Node (@roamhq/wrtc) on both sides of tureen/sfu, with SDP written here for the
 * SFU's transports (what mediasoup-client's handlers do): a wrtc peer sends a synthetic video
 * track (nonstandard RTCVideoSource) to a send WebRtcTransport — its offer is answered as
 * ICE-lite, DTLS passive, recvonly VP8 with NACK, PLI and REMB (no transport-cc) — and another
 * wrtc peer receives the Consumer through a receive WebRtcTransport, from an offer with the
 * Consumer's SSRC and RTX. The receiver must decode frames; the server's getStats must show the
 * producer's stream and the consumer's packets.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as sfu from '../../src/sfu/index.js';
import type { Router, WebRtcTransport, Worker } from '../../src/sfu/public-types.js';
import { WrtcVideoSender, wrtc } from '../endpoint/helpers.js';
import { mediaCodecs, sleep } from './helpers.js';

let worker: Worker;
let router: Router;

before(async () => {
  worker = await sfu.createWorker({ logLevel: 'warn' });
  router = await worker.createRouter({ mediaCodecs });
});

after(() => worker?.close());

const listenInfos = [{ protocol: 'udp' as const, ip: '127.0.0.1' }];

/** The transport's ICE-lite, DTLS and candidate lines of an SDP media section. */
function transportLines(transport: WebRtcTransport, setup: 'passive' | 'actpass'): string[] {
  const fingerprint = transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256')!;
  const candidate = transport.iceCandidates[0]!;
  return [
    'c=IN IP4 127.0.0.1',
    `a=ice-ufrag:${transport.iceParameters.usernameFragment}`,
    `a=ice-pwd:${transport.iceParameters.password}`,
    `a=fingerprint:sha-256 ${fingerprint.value}`,
    `a=setup:${setup}`,
    `a=candidate:1 1 udp ${candidate.priority} ${candidate.address ?? candidate.ip} ${candidate.port} typ host`,
    'a=end-of-candidates',
    'a=rtcp-mux',
    'a=rtcp-rsize',
  ];
}

function sdp(lines: string[]): string {
  return `${lines.join('\r\n')}\r\n`;
}

/** The remote DTLS fingerprint of an SDP (session or media level). */
function fingerprintOf(description: string): { algorithm: string; value: string } {
  const match = /a=fingerprint:(\S+) (\S+)/.exec(description);
  assert.ok(match, 'the SDP has a fingerprint');
  return { algorithm: match[1]!.toLowerCase(), value: match[2]! };
}

// biome-ignore lint/suspicious/noExplicitAny: wrtc objects are untyped
async function inboundVideo(pc: any): Promise<Record<string, number>> {
  let out: Record<string, number> = {};
  // biome-ignore lint/suspicious/noExplicitAny: wrtc stats are untyped
  (await pc.getStats()).forEach((s: any) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') out = s;
  });
  return out;
}

test('wrtc sender → tureen/sfu → wrtc receiver: VP8 decoded, SDP written for the SFU transports', {
  timeout: 60_000,
}, async () => {
  const sendTransport = await router.createWebRtcTransport({ listenInfos });
  const recvTransport = await router.createWebRtcTransport({ listenInfos });
  const sender = new WrtcVideoSender(320, 240);
  const receiver = new wrtc.RTCPeerConnection();
  try {
    // Send side: the wrtc peer offers; the SFU answers recvonly VP8.
    const offer = await sender.offer();
    const mid = /a=mid:(\S+)/.exec(offer)![1]!;
    const vp8 = Number(/a=rtpmap:(\d+) VP8\/90000/.exec(offer)![1]);
    const ssrc = Number(/a=ssrc:(\d+) /.exec(offer)![1]);
    await sendTransport.connect({
      dtlsParameters: { role: 'client', fingerprints: [fingerprintOf(offer) as never] },
    });
    await sender.accept(
      sdp([
        'v=0',
        'o=- 1 1 IN IP4 127.0.0.1',
        's=-',
        't=0 0',
        'a=ice-lite',
        `a=group:BUNDLE ${mid}`,
        `m=video 9 UDP/TLS/RTP/SAVPF ${vp8}`,
        ...transportLines(sendTransport, 'passive'),
        `a=mid:${mid}`,
        'a=recvonly',
        `a=rtpmap:${vp8} VP8/90000`,
        `a=rtcp-fb:${vp8} nack`,
        `a=rtcp-fb:${vp8} nack pli`,
        `a=rtcp-fb:${vp8} goog-remb`,
      ]),
    );
    const producer = await sendTransport.produce({
      kind: 'video',
      rtpParameters: {
        mid,
        codecs: [
          {
            mimeType: 'video/VP8',
            payloadType: vp8,
            clockRate: 90000,
            rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }],
          },
        ],
        headerExtensions: [],
        encodings: [{ ssrc }],
      },
    });

    // Receive side: the SFU offers the Consumer (sendonly, its SSRC and RTX); wrtc answers.
    // libwebrtc binds the SSRCs to the track only with their own msid lines.
    const consumer = await recvTransport.consume({
      producerId: producer.id,
      rtpCapabilities: router.rtpCapabilities,
    });
    const params = consumer.rtpParameters;
    const codec = params.codecs.find((c) => c.mimeType.toLowerCase() === 'video/vp8')!;
    const rtx = params.codecs.find((c) => c.mimeType.toLowerCase() === 'video/rtx');
    const encoding = params.encodings![0]!;
    const payloadTypes = [codec.payloadType, ...(rtx ? [rtx.payloadType] : [])];
    const lines = [
      'v=0',
      'o=- 2 2 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      'a=ice-lite',
      'a=group:BUNDLE 0',
      'a=msid-semantic: WMS sfu',
      `m=video 9 UDP/TLS/RTP/SAVPF ${payloadTypes.join(' ')}`,
      ...transportLines(recvTransport, 'actpass'),
      'a=mid:0',
      'a=sendonly',
      'a=msid:sfu video',
      `a=rtpmap:${codec.payloadType} VP8/90000`,
      `a=rtcp-fb:${codec.payloadType} nack`,
      `a=rtcp-fb:${codec.payloadType} nack pli`,
    ];
    if (rtx && encoding.rtx) {
      lines.push(
        `a=rtpmap:${rtx.payloadType} rtx/90000`,
        `a=fmtp:${rtx.payloadType} apt=${codec.payloadType}`,
        `a=ssrc-group:FID ${encoding.ssrc} ${encoding.rtx.ssrc}`,
      );
    }
    lines.push(`a=ssrc:${encoding.ssrc} cname:sfu`, `a=ssrc:${encoding.ssrc} msid:sfu video`);
    if (rtx && encoding.rtx)
      lines.push(`a=ssrc:${encoding.rtx.ssrc} cname:sfu`, `a=ssrc:${encoding.rtx.ssrc} msid:sfu video`);
    await receiver.setRemoteDescription({ type: 'offer', sdp: sdp(lines) });
    const answer = await receiver.createAnswer();
    await receiver.setLocalDescription(answer);
    const role = /a=setup:passive/.test(answer.sdp) ? 'server' : 'client';
    await recvTransport.connect({
      dtlsParameters: { role, fingerprints: [fingerprintOf(answer.sdp) as never] },
    });

    let inbound: Record<string, number> = {};
    for (let deadline = Date.now() + 30_000; Date.now() < deadline; ) {
      inbound = await inboundVideo(receiver);
      if ((inbound.framesDecoded ?? 0) >= 30) break;
      await sleep(250);
    }
    const [producerStats] = (await producer.getStats()) as unknown as Record<string, number>[];
    const [consumerStats] = (await consumer.getStats()) as unknown as Record<string, number>[];
    console.log(
      'sfu-media wrtc',
      JSON.stringify({
        framesDecoded: inbound.framesDecoded,
        frameWidth: inbound.frameWidth,
        producerPackets: producerStats?.packetCount,
        consumerPackets: consumerStats?.packetCount,
        producerScore: producerStats?.score,
      }),
    );
    assert.ok(
      (inbound.framesDecoded ?? 0) >= 30,
      `the wrtc receiver decoded ${inbound.framesDecoded} frames`,
    );
    assert.equal(inbound.frameWidth, 320);
    assert.equal(sendTransport.dtlsState, 'connected');
    assert.equal(recvTransport.dtlsState, 'connected');
    assert.ok((producerStats?.packetCount ?? 0) > 0 && (consumerStats?.packetCount ?? 0) > 0);
  } finally {
    sender.close();
    receiver.close();
    sendTransport.close();
    recvTransport.close();
  }
});

// libwebrtc (wrtc) segfaults in its teardown at natural process exit; exiting explicitly
// once the test runner has reported (its beforeExit handler was registered first) avoids it.
process.on('beforeExit', () => process.exit(process.exitCode ?? 0));
