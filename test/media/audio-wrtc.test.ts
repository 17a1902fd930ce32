/**
 * AudioLevelAccumulator on libwebrtc's RFC 6464 audio levels: a wrtc RTCAudioSource plays a
 * 440 Hz tone at 1/10 of full scale (RMS −23 dBov), then silence; our answer adds the
 * ssrc-audio-level extension so libwebrtc sends it with every Opus packet.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AudioLevelAccumulator } from '../../src/media/audio-level.js';
import { WebRtcEndpoint } from '../../src/transport/endpoint/index.js';
import { RtpError, RtpView } from '../../src/wire/rtp/rtp.js';
import { wrtc } from '../endpoint/helpers.js';
import { waitFor } from '../ice/helpers.js';

const LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';

test('audio levels from libwebrtc: a −23 dBov tone, then silence', { timeout: 40_000 }, async (t) => {
  const endpoint = await WebRtcEndpoint.create({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const pc = new wrtc.RTCPeerConnection();
  const source = new wrtc.nonstandard.RTCAudioSource();
  const track = source.createTrack();
  let timer: NodeJS.Timeout | undefined;
  try {
    pc.addTransceiver(track, { direction: 'sendonly' });
    let amplitude = 3277; // 0.1 × 32767
    let phase = 0;
    const samples = new Int16Array(480);
    timer = setInterval(() => {
      for (let i = 0; i < samples.length; i++, phase++)
        samples[i] = Math.round(amplitude * Math.sin((2 * Math.PI * 440 * phase) / 48000));
      source.onData({ samples, sampleRate: 48000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 });
    }, 10);
    const offer = (await pc.createOffer()).sdp as string;
    await pc.setLocalDescription({ type: 'offer', sdp: offer });
    const levelId = Number(new RegExp(`a=extmap:(\\d+) ${LEVEL_URI}`).exec(offer)![1]);
    const opus = Number(/a=rtpmap:(\d+) opus\/48000\/2/.exec(offer)![1]);
    const answer = endpoint
      .answer(offer)
      .replace(
        `a=rtpmap:${opus} opus/48000/2\r\n`,
        `a=rtpmap:${opus} opus/48000/2\r\na=extmap:${levelId} ${LEVEL_URI}\r\n`,
      );
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });

    const levels = new AudioLevelAccumulator();
    const view = new RtpView();
    let packets = 0;
    endpoint.onRtp = (packet) => {
      if (view.reset(packet) !== RtpError.Ok || view.payloadType !== opus) return;
      packets++;
      levels.record(view, levelId);
    };
    assert.ok(await waitFor(() => packets > 20, 15_000), 'Opus flows');
    levels.take();
    await new Promise((r) => setTimeout(r, 2000));
    const withLevel = levels.count;
    const tone = levels.take();
    // 50 packets/s when the machine is idle; far fewer when it is loaded.
    assert.ok(withLevel >= 10, `packets with a level: ${withLevel}`);
    assert.ok(tone > -26 && tone < -20, `tone level ${tone} dBov`);

    amplitude = 0;
    await new Promise((r) => setTimeout(r, 1500));
    levels.take();
    await new Promise((r) => setTimeout(r, 500));
    const silence = levels.take();
    assert.ok(silence < -90, `silence level ${silence} dBov`);
    t.diagnostic(
      `tone ${tone.toFixed(1)} dBov over ${withLevel} packets, silence ${silence.toFixed(1)} dBov`,
    );
  } finally {
    clearInterval(timer);
    track.stop();
    pc.close();
    endpoint.close();
  }
});

// libwebrtc (wrtc) segfaults in its teardown at natural process exit; exiting explicitly
// once the test runner has reported (its beforeExit handler was registered first) avoids it.
process.on('beforeExit', () => process.exit(process.exitCode ?? 0));
