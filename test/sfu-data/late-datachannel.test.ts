/**
 * mediasoup-client adds its data channel section only on the first produceData()/consumeData():
 * an app that sends media first may open its chat channel minutes later, on a DTLS session the SFU
 * has been sending SCTP INITs over all along (dropped by Chromium, which has no SCTP yet). The
 * SFU's association must still be there when Chromium's SCTP starts. Page A produces audio, waits
 * past the old INIT give-up point (8 retransmissions: about 65 s), then produces data that page B
 * consumes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Bridge, call, type DataHarness, openPage, sleep, startDataHarness, until } from './chromium-page.js';

let harness: DataHarness;

before(
  async () => {
    harness = await startDataHarness([
      { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
    ]);
  },
  { timeout: 60_000 },
);

after(async () => {
  await harness?.close();
});

test('a data channel opened 70 s after media started on the same transport works', {
  timeout: 180_000,
}, async () => {
  const bridge = new Bridge();
  const options = { listenInfos: [{ protocol: 'udp' as const, ip: '127.0.0.1' }], enableSctp: true };
  const sendTransport = await harness.router.createWebRtcTransport(options);
  const recvTransport = await harness.router.createWebRtcTransport(options);
  bridge.transports.set(sendTransport.id, sendTransport);
  bridge.transports.set(recvTransport.id, recvTransport);
  const pageA = await openPage(harness, bridge, sendTransport, 'send');
  const pageB = await openPage(harness, bridge, recvTransport, 'recv');
  try {
    await call(pageA, 'window.produceAudio()');
    await until(
      'DTLS connected',
      async () => sendTransport.dtlsState,
      (s) => s === 'connected',
      20_000,
    );
    assert.equal(
      sendTransport.sctpState,
      'connecting',
      'our INIT goes unanswered while the page has no SCTP',
    );
    await sleep(70_000);
    assert.equal(sendTransport.sctpState, 'connecting');

    const id = await call<string>(pageA, "window.produceData('chat', { ordered: true })");
    assert.equal(sendTransport.sctpState, 'connected');
    await call(pageB, `window.consumeData(${JSON.stringify(id)})`);
    await call(pageA, "window.sendIndices('chat', 100)");
    await until(
      'messages at B',
      () => call<number>(pageB, "window.logLength('chat')"),
      (n) => n >= 100,
      20_000,
    );
    assert.deepEqual(
      await call<string[]>(pageB, "window.getLog('chat')"),
      Array.from({ length: 100 }, (_, i) => String(i)),
    );
  } finally {
    await pageA.close();
    await pageB.close();
    sendTransport.close();
    recvTransport.close();
  }
});
