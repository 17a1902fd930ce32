/**
 * libwebrtc (@roamhq/wrtc) offers a VP8 track to our endpoint: ICE-lite, DTLS (both roles) and
 * SRTP must interoperate, and the decrypted packets must be VP8 RTP with a keyframe.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebRtcEndpoint } from '../../src/transport/endpoint/index.js';
import { UdpIceListener } from '../../src/transport/ice/index.js';
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

test('shared port: two wrtc sessions on one UDP socket, consent expiry of one leaves the other flowing', {
  timeout: 40_000,
}, async () => {
  const listener = await UdpIceListener.listen({ address: '127.0.0.1' });
  const endpoints = [
    await WebRtcEndpoint.create({ listeners: [listener], iceConsentTimeout: 2000 }),
    await WebRtcEndpoint.create({ listeners: [listener], iceConsentTimeout: 2000 }),
  ];
  const senders = [new WrtcVideoSender(), new WrtcVideoSender()];
  const summaries = [newRtpSummary(), newRtpSummary()];
  try {
    assert.equal(endpoints[0]!.iceCandidates[0]!.port, endpoints[1]!.iceCandidates[0]!.port, 'one port');
    for (let i = 0; i < 2; i++) {
      const endpoint = endpoints[i]!;
      const answer = endpoint.answer(await senders[i]!.offer());
      await senders[i]!.accept(answer);
      const vp8 = endpoint.sections[0]!.codec!.payloadType;
      endpoint.onRtp = (packet) => recordRtp(summaries[i]!, packet, vp8);
    }
    assert.ok(
      await waitFor(() => summaries.every((s) => s.vp8Keyframes > 0 && s.packets > 20), 15_000),
      'both sessions deliver VP8 through the shared socket',
    );
    // Each endpoint sees only its own sender's SSRC.
    assert.deepEqual([...summaries[0]!.ssrcs], endpoints[0]!.sections[0]!.remoteSsrcs.slice(0, 1));
    assert.deepEqual([...summaries[1]!.ssrcs], endpoints[1]!.sections[0]!.remoteSsrcs.slice(0, 1));
    senders[0]!.close();
    assert.ok(await waitFor(() => endpoints[0]!.iceState === 'disconnected', 6000), 'consent expired');
    const before = summaries[1]!.packets;
    assert.ok(
      await waitFor(() => summaries[1]!.packets > before + 30, 5000),
      'the other session keeps flowing',
    );
    assert.ok(['connected', 'completed'].includes(endpoints[1]!.iceState));
  } finally {
    for (const sender of senders) sender.close();
    for (const endpoint of endpoints) endpoint.close();
    assert.equal(listener.closed, false, 'shared listeners outlive their endpoints');
    listener.close();
  }
});

// libwebrtc (wrtc) segfaults in its teardown at natural process exit; exiting explicitly
// once the test runner has reported (its beforeExit handler was registered first) avoids it.
process.on('beforeExit', () => process.exit(process.exitCode ?? 0));
