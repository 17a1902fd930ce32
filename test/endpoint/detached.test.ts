/**
 * A detached endpoint: the test owns the UDP socket (as an SFU engine owning its sockets would)
 * and hands each datagram to endpoint.receive() with a mediasoup-shaped tuple and a reply
 * function. libwebrtc (wrtc) must connect and deliver VP8 as with the endpoint's own sockets;
 * strangers' media must not get through.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { WebRtcEndpoint } from '../../src/transport/endpoint/index.js';
import { generateIceParameters } from '../../src/transport/ice/index.js';
import { UdpStunClient, waitFor } from '../ice/helpers.js';
import { newRtpSummary, recordRtp, WrtcVideoSender } from './helpers.js';

test('detached endpoint fed by a socket it does not own: wrtc VP8 arrives, strangers do not', {
  timeout: 40_000,
}, async () => {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  const iceParameters = generateIceParameters();
  const endpoint = WebRtcEndpoint.createDetached({
    iceParameters,
    candidates: [
      {
        foundation: 'udpcandidate',
        priority: 2130706431,
        address: '127.0.0.1',
        ip: '127.0.0.1',
        protocol: 'udp',
        port,
        type: 'host',
      },
    ],
  });
  socket.on('message', (data, rinfo) => {
    const tuple = {
      localIp: '127.0.0.1',
      localAddress: '127.0.0.1',
      localPort: port,
      remoteIp: rinfo.address,
      remotePort: rinfo.port,
      protocol: 'udp' as const,
    };
    endpoint.receive(data, tuple, (reply) => socket.send(reply, rinfo.port, rinfo.address));
  });
  const sender = new WrtcVideoSender();
  const stranger = await UdpStunClient.open();
  try {
    assert.equal(endpoint.iceParameters.usernameFragment, iceParameters.usernameFragment);
    const answer = endpoint.answer(await sender.offer());
    assert.match(answer, new RegExp(`a=candidate:udpcandidate 1 udp 2130706431 127.0.0.1 ${port} typ host`));
    await sender.accept(answer);
    const vp8 = endpoint.sections[0]!.codec!.payloadType;
    const summary = newRtpSummary();
    endpoint.onRtp = (packet) => recordRtp(summary, packet, vp8);
    assert.ok(await waitFor(() => summary.vp8Keyframes > 0 && summary.packets > 20, 15_000), 'VP8 keyframe');
    const before = endpoint.stats.bytesReceived;
    for (let i = 0; i < 50; i++)
      stranger.send(Buffer.from([0x80, 96, 0, i, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9]), port);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(endpoint.stats.srtpErrors, 0, 'stranger packets never reach SRTP');
    assert.ok(endpoint.stats.bytesReceived > before, 'wrtc media still counted');
    assert.ok(endpoint.ice.tuples.every((t) => t.remotePort !== stranger.port));
    // The owner's own restartIce() credentials are adopted as given.
    const fresh = generateIceParameters();
    assert.equal(endpoint.restartIce(fresh).usernameFragment, fresh.usernameFragment);
  } finally {
    stranger.close();
    sender.close();
    endpoint.close();
    socket.close();
  }
});

// libwebrtc (wrtc) segfaults in its teardown at natural process exit; exiting explicitly
// once the test runner has reported (its beforeExit handler was registered first) avoids it.
process.on('beforeExit', () => process.exit(process.exitCode ?? 0));
