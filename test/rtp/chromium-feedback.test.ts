/**
 * Real RTCP feedback from Chromium about packets we send it: we loop its own VP8 back to it
 * (through our WebRtcEndpoint and SRTP) and parse what its receiver reports.
 * 1. transport-cc negotiated: every sequence number its RTPFB FMT 15 feedback reports as received
 *    must be one we sent, with plausible receive deltas.
 * 2. NACK and REMB negotiated, every 10th looped packet withheld: its generic NACKs must name
 *    exactly packets we withheld, and its REMB must carry a bitrate for our SSRC.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { WebRtcEndpoint } from '../../src/transport/endpoint/index.js';
import {
  type GenericNack,
  parseRtcp,
  type Remb,
  RtcpError,
  TccStatus,
  type TransportCcFeedback,
} from '../../src/wire/rtp/rtcp.js';
import { RtpError, RtpView } from '../../src/wire/rtp/rtp.js';

const TWCC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const PAGE = `<!doctype html><html><body><script>
window.start = async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
  const pc = new RTCPeerConnection();
  window.pc = pc;
  pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendrecv', streams: [stream] });
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  return offer.sdp;
};
window.accept = async (sdp) => { await window.pc.setRemoteDescription({ type: 'answer', sdp }); };
</script></body></html>`;

let browser: Browser;
let http: Server;
let origin: string;

before(async () => {
  http = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection',
    ],
    timeout: 30_000,
  });
});

after(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => http.close(() => resolve()));
});

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (predicate()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return predicate();
}

test('Chromium transport-cc feedback about our packets parses and matches what we sent', {
  timeout: 45_000,
}, async () => {
  const endpoint = await WebRtcEndpoint.create({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const page = await browser.newPage();
  try {
    await page.goto(origin);
    const offer: string = await page.evaluate('window.start()');
    const twccLine = offer.split('\r\n').find((l) => l.startsWith('a=extmap:') && l.endsWith(` ${TWCC_URI}`));
    assert.ok(twccLine, 'Chromium offers transport-cc');
    const twccId = Number(/a=extmap:(\d+)/.exec(twccLine)![1]);
    const loopSsrc = 0x7cc0ffee;
    let answer = endpoint.answer(offer, {
      sendStreams: new Map([
        ['0', { ssrc: loopSsrc, cname: 'twcc-loop', streamId: 'loop', trackId: 'loop-video' }],
      ]),
    });
    const vp8 = endpoint.sections[0]!.codec!.payloadType;
    // The endpoint's answer negotiates no header extensions or feedback; add transport-cc so that
    // Chromium stamps its packets and sends feedback about the ones we loop back.
    answer = answer.replace(/(a=mid:[^\r\n]*\r\n)/, `$1${twccLine}\r\na=rtcp-fb:${vp8} transport-cc\r\n`);
    const view = new RtpView();
    const sent = new Set<number>();
    const feedback: TransportCcFeedback[] = [];
    endpoint.onRtp = (packet) => {
      if (view.reset(packet) !== RtpError.Ok) return;
      const seq = view.readTransportWideSeq(twccId);
      view.setSsrc(loopSsrc);
      if (seq >= 0 && endpoint.sendRtp(packet)) sent.add(seq);
    };
    endpoint.onRtcp = (packet) => {
      const r = parseRtcp(packet);
      assert.equal(r.error, RtcpError.Ok, packet.toString('hex'));
      for (const p of r.packets) if (p.type === 'transport-cc') feedback.push(p);
    };
    await page.evaluate(`window.accept(${JSON.stringify(answer)})`);
    const received = () =>
      feedback.reduce((n, f) => n + f.packets.filter((p) => p.status !== TccStatus.NotReceived).length, 0);
    assert.ok(
      await waitFor(() => received() > 100, 20_000),
      `feedback on ${received()} packets, ${sent.size} sent`,
    );
    let checked = 0;
    for (const fb of feedback) {
      assert.equal(fb.packetStatusCount, fb.packets.length);
      let previous: number | undefined;
      for (const p of fb.packets) {
        if (p.status === TccStatus.NotReceived) continue;
        assert.ok(sent.has(p.sequenceNumber), `feedback for seq ${p.sequenceNumber} we never sent`);
        assert.ok(p.receivedUs !== undefined);
        // Loopback: consecutive receive times within a second of each other.
        if (previous !== undefined) assert.ok(Math.abs(p.receivedUs - previous) < 1_000_000);
        previous = p.receivedUs;
        checked++;
      }
    }
    assert.ok(checked > 100);
    // Feedback packet counts advance (mod 256) from one feedback to the next.
    const counts = feedback.map((f) => f.feedbackPacketCount);
    assert.ok(counts.some((c, i) => i > 0 && c === ((counts[i - 1]! + 1) & 0xff)));
  } finally {
    await page.close();
    endpoint.close();
  }
});

test('Chromium NACKs exactly the packets we withheld, and sends REMB for our stream', {
  timeout: 45_000,
}, async () => {
  const endpoint = await WebRtcEndpoint.create({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const page = await browser.newPage();
  try {
    await page.goto(origin);
    const offer: string = await page.evaluate('window.start()');
    const astLine = offer
      .split('\r\n')
      .find(
        (l) =>
          l.startsWith('a=extmap:') &&
          l.endsWith(' http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time'),
      );
    assert.ok(astLine, 'Chromium offers abs-send-time');
    const loopSsrc = 0x7ac0ffee;
    let answer = endpoint.answer(offer, {
      sendStreams: new Map([
        ['0', { ssrc: loopSsrc, cname: 'nack-loop', streamId: 'loop', trackId: 'loop-video' }],
      ]),
    });
    const vp8 = endpoint.sections[0]!.codec!.payloadType;
    assert.match(answer, new RegExp(`a=rtcp-fb:${vp8} nack\r\n`));
    // Receive-side bandwidth estimation (REMB) needs abs-send-time and goog-remb.
    answer = answer.replace(/(a=mid:[^\r\n]*\r\n)/, `$1${astLine}\r\na=rtcp-fb:${vp8} goog-remb\r\n`);
    const view = new RtpView();
    const withheld = new Set<number>();
    let looped = 0;
    const nacked: number[] = [];
    const rembs: Remb[] = [];
    endpoint.onRtp = (packet) => {
      if (view.reset(packet) !== RtpError.Ok || view.payloadType !== vp8) return;
      view.setSsrc(loopSsrc);
      // After the stream settles, withhold every 10th packet (never twice in a row).
      if (looped > 100 && looped % 10 === 0 && withheld.size < 40) {
        withheld.add(view.sequenceNumber);
        looped++;
        return;
      }
      if (endpoint.sendRtp(packet)) looped++;
    };
    endpoint.onRtcp = (packet) => {
      const r = parseRtcp(packet);
      assert.equal(r.error, RtcpError.Ok, packet.toString('hex'));
      for (const p of r.packets) {
        if (p.type === 'nack' && p.mediaSsrc === loopSsrc) nacked.push(...(p as GenericNack).lost);
        if (p.type === 'remb') rembs.push(p);
      }
    };
    await page.evaluate(`window.accept(${JSON.stringify(answer)})`);
    assert.ok(
      await waitFor(() => withheld.size >= 20 && new Set(nacked).size >= 10 && rembs.length > 0, 25_000),
      `withheld ${withheld.size}, NACKed ${new Set(nacked).size}, REMBs ${rembs.length}`,
    );
    for (const seq of nacked) assert.ok(withheld.has(seq), `NACK for ${seq}, which we sent`);
    const remb = rembs[rembs.length - 1]!;
    assert.ok(remb.bitrate > 10_000, `REMB bitrate ${remb.bitrate}`);
    assert.ok(remb.ssrcs.includes(loopSsrc), `REMB names our SSRC (${remb.ssrcs})`);
  } finally {
    await page.close();
    endpoint.close();
  }
});
