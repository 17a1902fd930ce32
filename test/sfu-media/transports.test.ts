/**
 * The media plane on the other socket paths of a WebRtcTransport: a WebRtcServer's shared UDP
 * port (routed by ufrag) and ICE-TCP (RFC 4571 framing on the engine's TCP sockets). Chromium
 * with mediasoup-client on both sides, as in chromium.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  bridgedTransports,
  type Harness,
  openPeers,
  startHarness,
  transportInfo,
  waitFor,
} from './helpers.js';

let harness: Harness;

before(
  async () => {
    harness = await startHarness();
  },
  { timeout: 60_000 },
);

after(async () => {
  await harness?.close();
});

test('Through a WebRtcServer (one shared UDP port, routed by ufrag): both transports on the same port, video decoded', {
  timeout: 60_000,
}, async () => {
  const server = await harness.worker.createWebRtcServer({
    listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }],
  });
  const { bridge, sendTransport, recvTransport } = await bridgedTransports(harness, { webRtcServer: server });
  assert.equal(sendTransport.iceCandidates[0]!.port, recvTransport.iceCandidates[0]!.port);
  let pages: { pageA: Page; pageB: Page } | undefined;
  try {
    pages = await openPeers(harness, bridge, transportInfo(sendTransport), transportInfo(recvTransport));
    const { pageA, pageB } = pages;
    const ids = (await pageA.evaluate('window.produceVideo()')) as { video: string };
    await pageB.evaluate(`window.consume(${JSON.stringify(ids.video)})`);
    const s = await waitFor(pageB, (x) => x.framesDecoded >= 30, 25_000);
    assert.ok(s.framesDecoded >= 30, `B decoded ${s.framesDecoded} frames through the WebRtcServer`);
    assert.equal(sendTransport.dtlsState, 'connected');
    assert.equal(recvTransport.dtlsState, 'connected');
  } finally {
    await pages?.pageA.close();
    await pages?.pageB.close();
    sendTransport.close();
    recvTransport.close();
    server.close();
  }
});

test('ICE-TCP only (RFC 4571 framing on the engine sockets): video decoded', {
  timeout: 60_000,
}, async () => {
  const { bridge, sendTransport, recvTransport } = await bridgedTransports(harness, {
    listenInfos: [{ protocol: 'tcp', ip: '127.0.0.1' }],
  });
  assert.equal(sendTransport.iceCandidates[0]!.protocol, 'tcp');
  let pages: { pageA: Page; pageB: Page } | undefined;
  try {
    pages = await openPeers(harness, bridge, transportInfo(sendTransport), transportInfo(recvTransport));
    const { pageA, pageB } = pages;
    const ids = (await pageA.evaluate('window.produceVideo()')) as { video: string };
    await pageB.evaluate(`window.consume(${JSON.stringify(ids.video)})`);
    const s = await waitFor(pageB, (x) => x.framesDecoded >= 30, 25_000);
    assert.ok(s.framesDecoded >= 30, `B decoded ${s.framesDecoded} frames over ICE-TCP`);
    assert.equal(sendTransport.iceSelectedTuple?.protocol, 'tcp');
    assert.equal(recvTransport.iceSelectedTuple?.protocol, 'tcp');
  } finally {
    await pages?.pageA.close();
    await pages?.pageB.close();
    sendTransport.close();
    recvTransport.close();
  }
});
