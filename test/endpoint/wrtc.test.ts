/**
 * libwebrtc (@roamhq/wrtc) offers a VP8 track to our endpoint: ICE-lite, DTLS (both roles) and
 * SRTP must interoperate, and the decrypted packets must be VP8 RTP with a keyframe.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebRtcEndpoint } from '../../src/transport/endpoint/index.js';
import { waitFor } from '../ice/helpers.js';
import { newRtpSummary, recordRtp, WrtcVideoSender } from './helpers.js';

async function runSession(dtlsRole: 'server' | 'client') {
  const endpoint = await WebRtcEndpoint.create({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const sender = new WrtcVideoSender();
  const dtlsStates: string[] = [];
  endpoint.on('dtlsstatechange', (s) => dtlsStates.push(s));
  try {
    const offer = await sender.offer();
    const answer = endpoint.answer(offer, { dtlsRole });
    assert.match(answer, /a=ice-lite/);
    assert.match(answer, new RegExp(`a=setup:${dtlsRole === 'server' ? 'passive' : 'active'}`));
    await sender.accept(answer);
    const section = endpoint.sections[0]!;
    assert.equal(section.codec?.encodingName, 'VP8');
    const vp8 = section.codec!.payloadType;
    const summary = newRtpSummary();
    endpoint.onRtp = (packet) => recordRtp(summary, packet, vp8);

    assert.ok(
      await waitFor(() => ['connected', 'completed'].includes(sender.iceConnectionState), 10_000),
      `wrtc ICE connected (is ${sender.iceConnectionState})`,
    );
    assert.ok(
      await waitFor(() => endpoint.dtlsState === 'connected', 10_000),
      `DTLS connected (${dtlsStates})`,
    );
    assert.ok(
      await waitFor(() => sender.connectionState === 'connected', 10_000),
      'wrtc sees DTLS connected',
    );
    assert.ok(
      await waitFor(() => summary.vp8Keyframes > 0 && summary.packets > 20, 10_000),
      'VP8 keyframe seen',
    );
    assert.ok(summary.payloadTypes.has(vp8), 'packets carry the negotiated VP8 payload type');
    assert.deepEqual([...summary.ssrcs], section.remoteSsrcs.slice(0, 1), 'the SSRC the offer declared');
    assert.equal(endpoint.stats.srtpErrors, 0);
    assert.ok(endpoint.iceState === 'completed' || endpoint.iceState === 'connected');
    return { endpoint, summary, profile: endpoint.srtpProfile };
  } finally {
    sender.close();
    endpoint.close();
  }
}

test('wrtc → endpoint, our DTLS as server (a=setup:passive): VP8 decrypted, keyframe seen', {
  timeout: 40_000,
}, async () => {
  const { summary, profile } = await runSession('server');
  assert.ok(profile, 'an SRTP profile was negotiated');
  assert.ok(summary.vp8Frames > 0);
});

test('wrtc → endpoint, our DTLS as client (a=setup:active): VP8 decrypted, keyframe seen', {
  timeout: 40_000,
}, async () => {
  const { summary } = await runSession('client');
  assert.ok(summary.vp8Frames > 0);
});

// libwebrtc (wrtc) segfaults in its teardown at natural process exit; exiting explicitly
// once the test runner has reported (its beforeExit handler was registered first) avoids it.
process.on('beforeExit', () => process.exit(process.exitCode ?? 0));
