/**
 * Live SRTP interop with headless Chromium, one session per profile Chromium offers
 * (AEAD_AES_256_GCM, AEAD_AES_128_GCM, AES_CM_128_HMAC_SHA1_80): Chromium sends VP8 that our
 * SrtpSession must unprotect (a keyframe arrives), we loop it back protected with our outbound
 * keys and Chromium must decode it, and its SRTCP must verify too.
 * The endpoint picks the DTLS-SRTP profile from the DTLS module's preference list; to choose one
 * per session this test reorders that list for the session and restores it afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { SRTP_PROFILES as DTLS_SRTP_PROFILES, type SrtpProfile } from '../../src/transport/dtls/index.js';
import { WebRtcEndpoint } from '../../src/transport/endpoint/index.js';
import { parseRtcp, RtcpError } from '../../src/wire/rtp/rtcp.js';
import { RtpError, RtpView } from '../../src/wire/rtp/rtp.js';
import { launchChromium, type PageServer, servePage } from '../helpers/browser.js';

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
window.accept = async (sdp) => { await window.pc.setRemoteDescription({ type: 'answer', sdp }); };
window.framesDecoded = async () => {
  let n = 0;
  (await window.pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') n = s.framesDecoded || 0; });
  return n;
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

async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await predicate()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const LOOPBACK_SSRC = 0x5e1f5e1f;

for (const profileName of ['SRTP_AEAD_AES_256_GCM', 'SRTP_AEAD_AES_128_GCM', 'SRTP_AES128_CM_HMAC_SHA1_80']) {
  test(`Chromium ⇄ our SRTP with ${profileName}: its video unprotected, ours decoded by it`, {
    timeout: 45_000,
  }, async () => {
    const preference = DTLS_SRTP_PROFILES as SrtpProfile[];
    const saved = [...preference];
    const chosen = preference.findIndex((p) => p.name === profileName);
    assert.ok(chosen >= 0);
    preference.unshift(...preference.splice(chosen, 1));
    const endpoint = await WebRtcEndpoint.create({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
    const page = await browser.newPage();
    try {
      await page.goto(origin);
      const offer: string = await page.evaluate('window.start()');
      const answer = endpoint.answer(offer, {
        sendStreams: new Map([
          ['0', { ssrc: LOOPBACK_SSRC, cname: 'srtp-loop', streamId: 'loop', trackId: 'loop-video' }],
        ]),
      });
      const view = new RtpView();
      let received = 0;
      let looped = 0;
      let rtcpCompounds = 0;
      endpoint.onRtp = (packet) => {
        if (view.reset(packet) !== RtpError.Ok) return;
        received++;
        view.setSsrc(LOOPBACK_SSRC);
        if (endpoint.sendRtp(packet)) looped++;
      };
      endpoint.onRtcp = (packet) => {
        if (parseRtcp(packet).error === RtcpError.Ok) rtcpCompounds++;
      };
      await page.evaluate(`window.accept(${JSON.stringify(answer)})`);
      assert.ok(
        await waitFor(() => endpoint.dtlsState === 'connected', 15_000),
        `DTLS connected (${endpoint.dtlsState})`,
      );
      assert.equal(endpoint.srtpProfile, profileName);
      assert.ok(
        await waitFor(() => received > 50 && rtcpCompounds > 0, 15_000),
        `received ${received} RTP, ${rtcpCompounds} RTCP`,
      );
      assert.ok(
        await waitFor(async () => ((await page.evaluate('window.framesDecoded()')) as number) >= 10, 20_000),
        'Chromium decoded the video we protected',
      );
      assert.ok(looped > 50);
      assert.equal(endpoint.stats.srtpErrors, 0);
    } finally {
      preference.splice(0, preference.length, ...saved);
      await page.close();
      endpoint.close();
    }
  });
}
