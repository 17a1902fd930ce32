/**
 * Real packets from libwebrtc (@roamhq/wrtc): a VP8 sender talks to our WebRtcEndpoint on
 * loopback; every decrypted RTP and RTCP packet it sends must parse with RtpView / parseRtcp and
 * agree with its SDP (SSRC, CNAME, MID, header extension ids). Then RTCP we build (PLI, FIR,
 * NACK) goes back, and libwebrtc's own counters must show it understood each one.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { WebRtcEndpoint } from '../../src/transport/endpoint/index.js';
import {
  buildFir,
  buildNack,
  buildPli,
  parseRtcp,
  RtcpError,
  type RtcpPacket,
} from '../../src/wire/rtp/rtcp.js';
import { RtpError, RtpView } from '../../src/wire/rtp/rtp.js';

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: @roamhq/wrtc ships no types
const wrtc: any = require('@roamhq/wrtc');

async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await predicate()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function extmapId(sdp: string, uri: string): number | undefined {
  const m = new RegExp(`a=extmap:(\\d+)(?:/\\w+)? ${uri.replace(/[.]/g, '\\.')}`).exec(sdp);
  return m ? Number(m[1]) : undefined;
}

test('libwebrtc RTP/RTCP parse, and libwebrtc acts on our PLI, FIR and NACK', {
  timeout: 45_000,
}, async (t) => {
  const endpoint = await WebRtcEndpoint.create({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const pc = new wrtc.RTCPeerConnection();
  const source = new wrtc.nonstandard.RTCVideoSource();
  const track = source.createTrack();
  pc.addTransceiver(track, { direction: 'sendonly' });
  const width = 320;
  const height = 240;
  const frame = new Uint8ClampedArray(width * height * 1.5);
  let n = 0;
  const timer = setInterval(() => {
    n++;
    for (let i = 0; i < width * height; i++) frame[i] = (i + n * 4) & 0xff;
    frame.fill(128, width * height);
    source.onFrame({ width, height, data: frame });
  }, 33);
  const rtp: Buffer[] = [];
  const rtcp: Buffer[] = [];
  endpoint.onRtp = (p) => {
    if (rtp.length < 400) rtp.push(Buffer.from(p));
  };
  endpoint.onRtcp = (p) => {
    if (rtcp.length < 50) rtcp.push(Buffer.from(p));
  };
  try {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const offerSdp = offer.sdp as string;
    // The endpoint's answer accepts no header extensions; echo three of the offer's so that
    // libwebrtc sends them (the endpoint forwards RTP untouched, so it need not know).
    const wanted = [
      'urn:ietf:params:rtp-hdrext:sdes:mid',
      'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
      'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
    ];
    const extmaps = offerSdp
      .split('\r\n')
      .filter((l) => l.startsWith('a=extmap:') && wanted.some((u) => l.endsWith(` ${u}`)));
    const answer = endpoint
      .answer(offerSdp)
      .replace(/(a=mid:[^\r\n]*\r\n)/, `$1${extmaps.map((l) => `${l}\r\n`).join('')}`);
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    const mediaSsrc = Number(/a=ssrc:(\d+) /.exec(offerSdp)![1]);
    const cname = /a=ssrc:\d+ cname:(\S+)/.exec(offerSdp)![1];
    const midId = extmapId(answer, 'urn:ietf:params:rtp-hdrext:sdes:mid');
    const twccId = extmapId(
      answer,
      'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
    );
    const astId = extmapId(answer, 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time');

    assert.ok(
      await waitFor(() => rtp.length >= 300 && rtcp.length >= 3, 20_000),
      `captured ${rtp.length} RTP, ${rtcp.length} RTCP`,
    );

    assert.ok(endpoint.srtpProfile, 'an SRTP profile was negotiated');
    t.diagnostic(`SRTP profile negotiated with libwebrtc: ${endpoint.srtpProfile}`);
    // RTP: every packet parses; SSRCs are those of the offer; extensions agree with the answer.
    const view = new RtpView();
    const offeredSsrcs = new Set([...offerSdp.matchAll(/a=ssrc:(\d+) /g)].map((m) => Number(m[1])));
    let mids = 0;
    let lastTwcc = -1;
    let twccSeen = 0;
    for (const p of rtp) {
      assert.equal(view.reset(p), RtpError.Ok);
      assert.ok(offeredSsrcs.has(view.ssrc), `SSRC ${view.ssrc} not in the offer`);
      if (midId !== undefined && view.readStringExtension(midId) !== undefined) {
        assert.equal(view.readStringExtension(midId), '0');
        mids++;
      }
      if (twccId !== undefined && view.ssrc === mediaSsrc) {
        const seq = view.readTransportWideSeq(twccId);
        if (seq >= 0) {
          if (lastTwcc >= 0) assert.notEqual(seq, lastTwcc);
          lastTwcc = seq;
          twccSeen++;
        }
      }
      if (astId !== undefined && view.findExtension(astId) >= 0) assert.equal(view.foundExtensionLength, 3);
      assert.ok(view.payloadLength > 0 || view.paddingLength > 0);
    }
    assert.ok(midId !== undefined && mids > 0, `MID extension (id ${midId}) seen`);
    assert.ok(twccId !== undefined && twccSeen > 100, `transport-wide sequence numbers (id ${twccId}) seen`);

    // RTCP: every compound parses completely; the SR and SDES describe the offered stream.
    const packets: RtcpPacket[] = [];
    for (const c of rtcp) {
      const r = parseRtcp(c);
      assert.equal(r.error, RtcpError.Ok, `compound ${c.toString('hex')}`);
      packets.push(...r.packets);
    }
    const sr = packets.find((p) => p.type === 'sr' && p.ssrc === mediaSsrc);
    assert.ok(sr && sr.type === 'sr', `an SR from ${mediaSsrc} (got ${packets.map((p) => p.type)})`);
    assert.ok(sr.packetCount > 0 && sr.octetCount > 0 && sr.ntpSeconds > 0);
    const sdes = packets.find((p) => p.type === 'sdes');
    assert.ok(sdes && sdes.type === 'sdes');
    assert.ok(
      sdes.chunks.some((c) => c.ssrc === mediaSsrc && c.items.some((i) => i.type === 1 && i.value === cname)),
    );

    // Our RTCP → libwebrtc: its outbound-rtp counters must move.
    const counters = async () => {
      const report = await pc.getStats();
      let out = { pli: 0, fir: 0, nack: 0 };
      report.forEach(
        (s: { type: string; ssrc?: number; pliCount?: number; firCount?: number; nackCount?: number }) => {
          if (s.type === 'outbound-rtp' && s.ssrc === mediaSsrc) {
            out = { pli: s.pliCount ?? 0, fir: s.firCount ?? 0, nack: s.nackCount ?? 0 };
          }
        },
      );
      return out;
    };
    const before = await counters();
    const lastSeq = (() => {
      for (let i = rtp.length - 1; i >= 0; i--) {
        view.reset(rtp[i]!);
        if (view.ssrc === mediaSsrc) return view.sequenceNumber;
      }
      return 0;
    })();
    const ourSsrc = 0x7e57;
    assert.ok(endpoint.sendRtcp(buildPli(ourSsrc, mediaSsrc)));
    assert.ok(endpoint.sendRtcp(buildFir(ourSsrc, [{ ssrc: mediaSsrc, seq: 1 }])));
    assert.ok(
      endpoint.sendRtcp(
        buildNack(ourSsrc, mediaSsrc, [lastSeq, (lastSeq - 1) & 0xffff, (lastSeq - 3) & 0xffff]),
      ),
    );
    assert.ok(
      await waitFor(async () => {
        const now = await counters();
        return now.pli > before.pli && now.fir > before.fir && now.nack > before.nack;
      }, 10_000),
      `libwebrtc counted our feedback: before ${JSON.stringify(before)} after ${JSON.stringify(await counters())}`,
    );
  } finally {
    clearInterval(timer);
    track.stop();
    pc.close();
    endpoint.close();
  }
});

// libwebrtc (wrtc) crashes in its native teardown at natural process exit; exiting explicitly
// once the event loop is empty skips that teardown (the test results are already reported).
process.on('beforeExit', () => process.exit(process.exitCode ?? 0));
