/**
 * Real media through tureen/sfu's WebRtcTransport: mediasoup-client 3.18.7 in headless Chromium
 * (its real Chrome handler) against the SFU API (src/sfu/index.ts), bridged by page functions
 * that call the API directly. Page A produces the fake camera (VP8) and microphone (opus);
 * page B consumes both (created paused, resumed once the client side is set up, as
 * mediasoup-demo does), decodes video and hears audio. Then producer pause/resume, consumer
 * pause/resume and producer close (producerclose reaches the app, which closes its consumer).
 */
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  bridgedTransports,
  type Harness,
  openPeers,
  sleep,
  startHarness,
  stats,
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

test('Chromium mediasoup-client → tureen/sfu → Chromium mediasoup-client: video decoded, audio heard, pause/resume, producer close', {
  timeout: 85_000,
}, async () => {
  const { bridge, sendTransport, recvTransport } = await bridgedTransports(harness);
  const dtlsStates: string[] = [];
  const iceStates: string[] = [];
  let selectedTuple: unknown;
  sendTransport.on('dtlsstatechange', (s) => dtlsStates.push(s));
  sendTransport.on('icestatechange', (s) => iceStates.push(s));
  sendTransport.on('iceselectedtuplechange', (t) => {
    selectedTuple = t;
  });
  let pages: { pageA: Page; pageB: Page } | undefined;
  try {
    pages = await openPeers(harness, bridge, transportInfo(sendTransport), transportInfo(recvTransport));
    const { pageA, pageB } = pages;
    const ids = (await pageA.evaluate('window.produceAll()')) as { video: string; audio: string };
    const videoConsumerId = (await pageB.evaluate(`window.consume(${JSON.stringify(ids.video)})`)) as string;
    await pageB.evaluate(`window.consume(${JSON.stringify(ids.audio)})`);

    // Media flows: B decodes the camera and hears the beep.
    let s = await waitFor(pageB, (x) => x.framesDecoded >= 30 && x.totalAudioEnergy > 0, 25_000);
    assert.ok(s.framesDecoded >= 30, `B decoded ${s.framesDecoded} frames`);
    assert.ok(s.totalAudioEnergy > 0, `B audio energy ${s.totalAudioEnergy}`);
    assert.equal(sendTransport.dtlsState, 'connected');
    assert.ok(dtlsStates.includes('connected'), `dtlsstatechange events ${dtlsStates}`);
    assert.ok(
      iceStates.includes('connected') || iceStates.includes('completed'),
      `icestatechange events ${iceStates}`,
    );
    // Chromium's host candidates are this machine's addresses; the packets never leave it.
    const localAddresses = Object.values(networkInterfaces()).flatMap((list) =>
      (list ?? []).map((i) => i.address),
    );
    const tuple = selectedTuple as { remoteIp?: string; localPort?: number } | undefined;
    assert.ok(localAddresses.includes(tuple?.remoteIp ?? ''), `selected tuple ${JSON.stringify(tuple)}`);
    assert.equal(tuple?.localPort, sendTransport.iceCandidates[0]!.port);
    const initial = s.framesDecoded;
    // The SFU sends Sender Reports for consumer streams (Chromium's remote-outbound-rtp).
    s = await waitFor(pageB, (x) => x.senderReports >= 2, 5_000);
    assert.ok(s.senderReports >= 2, `Sender Reports seen by B: ${s.senderReports}`);

    // Producer pause: B's frames stop; resume: they continue.
    const videoProducer = bridge.producers.get(ids.video)!;
    const videoConsumer = bridge.consumers.get(videoConsumerId)!;
    const producerPaused = new Promise<void>((resolve) =>
      videoConsumer.once('producerpause', () => resolve()),
    );
    await videoProducer.pause();
    await producerPaused;
    await sleep(700);
    const pausedAt = (await stats(pageB)).framesDecoded;
    await sleep(1500);
    const pausedLater = (await stats(pageB)).framesDecoded;
    assert.ok(pausedLater - pausedAt <= 2, `frames while producer paused: ${pausedAt} → ${pausedLater}`);
    await videoProducer.resume();
    s = await waitFor(pageB, (x) => x.framesDecoded >= pausedLater + 20, 10_000);
    assert.ok(
      s.framesDecoded >= pausedLater + 20,
      `after producer resume: ${pausedLater} → ${s.framesDecoded}`,
    );

    // Consumer pause/resume.
    await videoConsumer.pause();
    await sleep(700);
    const cPausedAt = (await stats(pageB)).framesDecoded;
    await sleep(1500);
    const cPausedLater = (await stats(pageB)).framesDecoded;
    assert.ok(cPausedLater - cPausedAt <= 2, `frames while consumer paused: ${cPausedAt} → ${cPausedLater}`);
    await videoConsumer.resume();
    s = await waitFor(pageB, (x) => x.framesDecoded >= cPausedLater + 20, 10_000);
    assert.ok(
      s.framesDecoded >= cPausedLater + 20,
      `after consumer resume: ${cPausedLater} → ${s.framesDecoded}`,
    );

    // Producer close: the server consumer emits producerclose; the app closes its client consumer.
    const producerClose = new Promise<void>((resolve) =>
      videoConsumer.once('producerclose', () => resolve()),
    );
    videoProducer.close();
    await producerClose;
    assert.equal(videoConsumer.closed, true);
    const clientClosed = await pageB.evaluate("window.producerClosed('video')");
    assert.equal(clientClosed, true);
    console.log(
      'sfu-media chromium',
      JSON.stringify({
        initial,
        final: s.framesDecoded,
        audioEnergy: s.totalAudioEnergy,
        pli: s.pliCount,
        nack: s.nackCount,
      }),
    );
  } finally {
    await pages?.pageA.close();
    await pages?.pageB.close();
    sendTransport.close();
    recvTransport.close();
  }
});

test('Chromium simulcast (3 RIDs) consumed at each spatial layer via setPreferredLayers; ICE restart keeps media flowing', {
  timeout: 85_000,
}, async () => {
  const { bridge, sendTransport, recvTransport } = await bridgedTransports(harness);
  let pages: { pageA: Page; pageB: Page } | undefined;
  try {
    pages = await openPeers(harness, bridge, transportInfo(sendTransport), transportInfo(recvTransport));
    const { pageA, pageB } = pages;
    const ids = (await pageA.evaluate('window.produceSimulcast()')) as { video: string };
    const consumerId = (await pageB.evaluate(`window.consume(${JSON.stringify(ids.video)})`)) as string;
    const consumer = bridge.consumers.get(consumerId)!;
    assert.equal(consumer.type, 'simulcast');
    const layers: number[] = [];
    consumer.on('layerschange', (l) => {
      if (l) layers.push(l.spatialLayer);
    });
    let s = await waitFor(pageB, (x) => x.framesDecoded >= 20, 20_000);
    assert.ok(s.framesDecoded >= 20, `B decoded ${s.framesDecoded} frames`);

    // Upper layers only arrive when Chrome's bandwidth estimate grows: our transport-cc feedback.
    const producer = bridge.producers.get(ids.video)!;
    const activeLayers = async () => {
      const stats = (await producer.getStats()) as { rid?: string; bitrate: number }[];
      return stats.filter((x) => x.bitrate > 0).length;
    };
    const deadline = Date.now() + 20_000;
    let active = await activeLayers();
    while (active < 3 && Date.now() < deadline) {
      await sleep(500);
      active = await activeLayers();
    }
    assert.equal(active, 3, 'all three simulcast encodings reach the SFU');

    const widths: number[] = [];
    for (const spatialLayer of [0, 1, 2]) {
      await consumer.setPreferredLayers({ spatialLayer });
      const expected = 960 / 2 ** (2 - spatialLayer);
      s = await waitFor(pageB, (x) => x.frameWidth === expected, 15_000);
      widths.push(s.frameWidth);
      assert.equal(s.frameWidth, expected, `layer ${spatialLayer}: frameWidth ${s.frameWidth}`);
      const before = s.framesDecoded;
      s = await waitFor(pageB, (x) => x.framesDecoded >= before + 10, 10_000);
      assert.ok(s.framesDecoded >= before + 10, `layer ${spatialLayer} keeps decoding`);
    }
    assert.ok(layers.includes(0) && layers.includes(2), `layerschange events ${layers}`);

    // ICE restart of the send transport: new credentials on both sides, media keeps flowing and
    // Chromium's connectivity checks (now with the new credentials) keep being answered.
    const iceParameters = await sendTransport.restartIce();
    await pageA.evaluate(
      (p) =>
        (
          window as never as { transport: { restartIce: (o: unknown) => Promise<void> } }
        ).transport.restartIce({ iceParameters: p }),
      iceParameters,
    );
    const iceBefore = (await pageA.evaluate('window.iceStats()')) as { responses: number; available: number };
    const framesBefore = (await stats(pageB)).framesDecoded;
    s = await waitFor(pageB, (x) => x.framesDecoded >= framesBefore + 40, 12_000);
    // Consent checks run every few seconds: give Chromium time for some with the new credentials.
    await sleep(6000);
    const iceAfter = (await pageA.evaluate('window.iceStats()')) as { responses: number; available: number };
    s = await stats(pageB);
    assert.ok(
      s.framesDecoded >= framesBefore + 60,
      `frames after ICE restart ${framesBefore} → ${s.framesDecoded}`,
    );
    assert.ok(
      iceAfter.responses > iceBefore.responses,
      `STUN responses ${iceBefore.responses} → ${iceAfter.responses}`,
    );
    console.log(
      'sfu-media simulcast',
      JSON.stringify({
        widths,
        layers,
        availableOutgoingBitrate: iceAfter.available,
        ice: [iceBefore.responses, iceAfter.responses],
      }),
    );
  } finally {
    await pages?.pageA.close();
    await pages?.pageB.close();
    sendTransport.close();
    recvTransport.close();
  }
});
