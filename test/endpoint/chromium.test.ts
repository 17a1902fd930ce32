/**
 * Headless Chromium (fake camera, page from http://127.0.0.1) offers VP8 to our endpoint. The
 * endpoint loops the browser's video back on the same transceiver under an SSRC declared in the
 * answer, re-protected with our outbound SRTP keys; PLI/FIR/NACK from the browser about that
 * SSRC are forwarded back with the browser's own SSRC. The browser must decode what we send.
 * Run over UDP and over ICE-TCP (passive candidate only).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type ListenInfo, WebRtcEndpoint } from '../../src/transport/endpoint/index.js';
import { RtpError, RtpView } from '../../src/wire/rtp/rtp.js';
import { launchChromium, type PageServer, servePage } from '../helpers/browser.js';
import { waitFor } from '../ice/helpers.js';
import { newRtpSummary, recordRtp } from './helpers.js';

const PAGE = `<!doctype html><html><body><video id="v" autoplay muted playsinline></video><script>
window.start = async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
  const pc = new RTCPeerConnection();
  window.pc = pc;
  pc.ontrack = (e) => { document.getElementById('v').srcObject = new MediaStream([e.track]); };
  pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendrecv', streams: [stream] });
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  return offer.sdp;
};
window.startFull = async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
  const pc = new RTCPeerConnection();
  window.pc = pc;
  pc.ontrack = (e) => { if (e.track.kind === 'video') document.getElementById('v').srcObject = new MediaStream([e.track]); };
  pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly', streams: [stream] });
  pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendrecv', streams: [stream] });
  pc.createDataChannel('chat');
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  return offer.sdp;
};
window.restart = async () => {
  window.pc.restartIce();
  const offer = await window.pc.createOffer();
  await window.pc.setLocalDescription(offer);
  return offer.sdp;
};
window.accept = async (sdp) => { await window.pc.setRemoteDescription({ type: 'answer', sdp }); };
window.report = async () => {
  const out = { framesDecoded: 0, framesSent: 0, pairState: '', localCandidateType: '', protocol: '',
    ice: window.pc.iceConnectionState, conn: window.pc.connectionState, pliCount: 0 };
  const stats = await window.pc.getStats();
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') { out.framesDecoded = s.framesDecoded || 0; }
    if (s.type === 'outbound-rtp' && s.kind === 'video') { out.framesSent = s.framesSent || 0; out.pliCount = s.pliCount || 0; }
    if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
      out.pairState = s.state;
      const local = stats.get(s.localCandidateId);
      out.localCandidateType = local ? local.candidateType : '';
      out.protocol = local ? local.protocol : '';
    }
  });
  return out;
};
</script></body></html>`;

let browser: Browser;
let pages: PageServer;
let origin: string;

before(async () => {
  pages = await servePage(PAGE);
  origin = pages.origin;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await pages?.close();
});

const LOOPBACK_SSRC = 0x7ee1f00d;

/** Rewrites the media SSRC of PLI/FIR/NACK aimed at our looped stream to the browser's own. */
function forwardFeedback(
  endpoint: WebRtcEndpoint,
  compound: Buffer,
  browserSsrc: number,
  counts: Map<string, number>,
) {
  let pos = 0;
  while (pos + 12 <= compound.length) {
    const first = compound[pos]!;
    const packetType = compound[pos + 1]!;
    const length = (compound.readUInt16BE(pos + 2) + 1) * 4;
    if (first >> 6 !== 2 || pos + length > compound.length) return;
    const fmt = first & 0x1f;
    const name =
      packetType === 206 && fmt === 1
        ? 'pli'
        : packetType === 206 && fmt === 4
          ? 'fir'
          : packetType === 205 && fmt === 1
            ? 'nack'
            : '';
    if (name && compound.readUInt32BE(pos + 8) === LOOPBACK_SSRC) {
      const feedback = Buffer.from(compound.subarray(pos, pos + length));
      feedback.writeUInt32BE(LOOPBACK_SSRC, 4);
      feedback.writeUInt32BE(browserSsrc, 8);
      if (name === 'fir' && length >= 20) feedback.writeUInt32BE(browserSsrc, 12);
      if (endpoint.sendRtcp(feedback)) counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    pos += length;
  }
}

/**
 * startLate: begin looping mid-stream (after the first keyframe went by), so the browser can only
 * decode once it asked for a keyframe with PLI/FIR and we forwarded that to its sender.
 */
async function loopbackSession(
  listenInfos: ListenInfo[],
  expectProtocol: 'udp' | 'tcp',
  startLate: boolean,
  dtlsRole: 'client' | 'server' = 'server',
) {
  const endpoint = await WebRtcEndpoint.create({ listenInfos });
  const page: Page = await browser.newPage();
  const received = newRtpSummary();
  const feedback = new Map<string, number>();
  let looped = 0;
  try {
    await page.goto(origin);
    const offer: string = await page.evaluate('window.start()');
    const answer = endpoint.answer(offer, {
      dtlsRole,
      sendStreams: new Map([
        ['0', { ssrc: LOOPBACK_SSRC, cname: 'tureen-loop', streamId: 'loop', trackId: 'loop-video' }],
      ]),
    });
    assert.match(answer, /a=sendrecv/);
    assert.match(answer, new RegExp(`a=ssrc:${LOOPBACK_SSRC} cname:tureen-loop`));
    if (expectProtocol === 'tcp') assert.match(answer, /tcptype passive/);
    const vp8 = endpoint.sections[0]!.codec!.payloadType;
    const view = new RtpView();
    let browserSsrc = -1;
    endpoint.onRtp = (packet) => {
      recordRtp(received, packet, vp8);
      if (view.reset(packet) !== RtpError.Ok || view.payloadType !== vp8) return;
      browserSsrc = view.ssrc;
      if (startLate && received.packets < 60) return;
      view.setSsrc(LOOPBACK_SSRC);
      if (endpoint.sendRtp(packet)) looped++;
    };
    endpoint.onRtcp = (packet) => {
      if (browserSsrc >= 0) forwardFeedback(endpoint, packet, browserSsrc, feedback);
    };
    await page.evaluate(`window.accept(${JSON.stringify(answer)})`);

    assert.ok(
      await waitFor(() => endpoint.dtlsState === 'connected', 15_000),
      `DTLS connected (${endpoint.dtlsState})`,
    );
    assert.ok(await waitFor(() => received.vp8Keyframes > 0, 10_000), 'a VP8 keyframe from Chromium');
    let report = {
      framesDecoded: 0,
      pairState: '',
      localCandidateType: '',
      protocol: '',
      ice: '',
      conn: '',
      pliCount: 0,
    };
    const deadline = Date.now() + 20_000;
    while (report.framesDecoded < 30 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      report = await page.evaluate('window.report()');
    }
    assert.ok(report.framesDecoded >= 30, `browser decoded our looped video: ${JSON.stringify(report)}`);
    const first = report.framesDecoded;
    await new Promise((r) => setTimeout(r, 1000));
    report = await page.evaluate('window.report()');
    assert.ok(report.framesDecoded > first, 'framesDecoded keeps growing');
    assert.equal(report.pairState, 'succeeded');
    // An active TCP candidate's port is ephemeral: Chromium learns it as peer-reflexive from our response.
    assert.ok(
      expectProtocol === 'udp'
        ? report.localCandidateType === 'host'
        : ['host', 'prflx'].includes(report.localCandidateType),
      `local candidate type ${report.localCandidateType}`,
    );
    assert.equal(report.protocol, expectProtocol);
    assert.equal(endpoint.iceSelectedTuple?.protocol, expectProtocol);
    assert.ok(looped > 30);
    assert.equal(endpoint.stats.srtpErrors, 0);
    if (startLate) {
      const forwarded = (feedback.get('pli') ?? 0) + (feedback.get('fir') ?? 0);
      assert.ok(forwarded > 0, 'a PLI or FIR from the receiving side was forwarded');
      assert.ok(report.pliCount > 0, "the browser's sender counted the forwarded PLI");
    }
    return { report, looped, feedback, profile: endpoint.srtpProfile };
  } finally {
    await page.close();
    endpoint.close();
  }
}

test('Chromium → endpoint over UDP: VP8 decrypted, looped back mid-stream, PLI forwarded, decoded by the browser', {
  timeout: 60_000,
}, async () => {
  const result = await loopbackSession([{ protocol: 'udp', ip: '127.0.0.1' }], 'udp', true);
  console.log(
    'chromium udp loopback',
    JSON.stringify({ ...result, feedback: Object.fromEntries(result.feedback) }),
  );
});

test('Chromium audio + video + data channel, then pc.restartIce(): opus received, data rejected, video decoded across the restart', {
  timeout: 60_000,
}, async () => {
  const endpoint = await WebRtcEndpoint.create({
    listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }],
    iceConsentTimeout: 5000,
  });
  const page: Page = await browser.newPage();
  const sendStreams = new Map([
    ['1', { ssrc: LOOPBACK_SSRC, cname: 'tureen-loop', streamId: 'loop', trackId: 'loop-video' }],
  ]);
  const usernames: string[] = [];
  const handleStun = endpoint.ice.handleStun.bind(endpoint.ice);
  endpoint.ice.handleStun = (message, tuple) => {
    const username = message.attributes.find((a) => a.type === 0x0006);
    if (username) usernames.push(username.value.toString('utf8'));
    handleStun(message, tuple);
  };
  try {
    await page.goto(origin);
    const offer: string = await page.evaluate('window.startFull()');
    const answer = endpoint.answer(offer, { sendStreams });
    const [audio, video, data] = endpoint.sections;
    assert.equal(audio?.codec?.encodingName.toLowerCase(), 'opus');
    assert.equal(video?.codec?.encodingName, 'VP8');
    assert.equal(data?.kind, 'application');
    assert.equal(data?.accepted, true, 'the data channel section is accepted');
    const opusPt = audio!.codec!.payloadType;
    const vp8 = video!.codec!.payloadType;
    let opusPackets = 0;
    const view = new RtpView();
    endpoint.onRtp = (packet) => {
      if (view.reset(packet) !== RtpError.Ok) return;
      if (view.payloadType === opusPt) opusPackets++;
      if (view.payloadType !== vp8) return;
      view.setSsrc(LOOPBACK_SSRC);
      endpoint.sendRtp(packet);
    };
    await page.evaluate(`window.accept(${JSON.stringify(answer)})`);
    const decoded = async (atLeast: number): Promise<number> => {
      const deadline = Date.now() + 20_000;
      let frames = 0;
      while (Date.now() < deadline) {
        frames = ((await page.evaluate('window.report()')) as { framesDecoded: number }).framesDecoded;
        if (frames >= atLeast) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      return frames;
    };
    const beforeRestart = await decoded(20);
    assert.ok(beforeRestart >= 20, `decoded before restart: ${beforeRestart}`);
    assert.ok(opusPackets > 0, 'opus RTP from the fake microphone');

    const oldUfrag = endpoint.iceParameters.usernameFragment;
    const reoffer: string = await page.evaluate('window.restart()');
    const reanswer = endpoint.answer(reoffer, { sendStreams });
    const newUfrag = endpoint.iceParameters.usernameFragment;
    assert.notEqual(newUfrag, oldUfrag, "our credentials renewed with the peer's");
    assert.match(reanswer, new RegExp(`a=ice-ufrag:${newUfrag.replace(/[+/]/g, '\\$&')}`));
    await page.evaluate(`window.accept(${JSON.stringify(reanswer)})`);
    // Past the consent timeout: only checks with the new password can have kept us connected.
    await new Promise((r) => setTimeout(r, 7000));
    assert.ok(
      usernames.some((u) => u.startsWith(`${newUfrag}:`)),
      'Chromium checks with the new ufrag',
    );
    assert.ok(['connected', 'completed'].includes(endpoint.iceState), `ICE ${endpoint.iceState}`);
    assert.equal(endpoint.dtlsState, 'connected', 'same DTLS association');
    const afterRestart = await decoded(beforeRestart + 60);
    assert.ok(afterRestart >= beforeRestart + 60, `decoding continued: ${beforeRestart} → ${afterRestart}`);
  } finally {
    await page.close();
    endpoint.close();
  }
});

test('Chromium → endpoint over ICE-TCP only (RFC 6544 passive, RFC 4571 framing): looped video decoded', {
  timeout: 60_000,
}, async () => {
  const result = await loopbackSession([{ protocol: 'tcp', ip: '127.0.0.1' }], 'tcp', false);
  console.log(
    'chromium tcp loopback',
    JSON.stringify({ ...result, feedback: Object.fromEntries(result.feedback) }),
  );
});

test('Chromium with our DTLS as client (a=setup:active): looped video decoded', {
  timeout: 60_000,
}, async () => {
  const result = await loopbackSession([{ protocol: 'udp', ip: '127.0.0.1' }], 'udp', false, 'client');
  console.log(
    'chromium dtls-client loopback',
    JSON.stringify({ ...result, feedback: Object.fromEntries(result.feedback) }),
  );
});
