/**
 * RTCP feedback through the SFU with Chromium (mediasoup-client) on both sides:
 * - Consumer side: page B receives through an in-test relay that drops 8 % of the SFU's RTP to
 *   it, then everything for 1 s and the retransmissions for longer. Chromium NACKs (the SFU
 *   re-sends from the Producer's packet store, rebuilt for B's stream) and, when NACKs do not
 *   help, sends a PLI: the server Consumer's
 *   getStats counts them (nackCount, nackPacketCount, packetsRetransmitted, packetsRepaired,
 *   pliCount) as Chromium reports sending them, and B keeps decoding.
 * - Producer side with REMB only: page A loads capabilities without transport-cc, so its
 *   producer negotiates goog-remb; the SFU's REMB lets Chrome's estimate rise, and
 *   `transport.setMaxIncomingBitrate()` pulls it down again.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  bridgedTransports,
  type Harness,
  LossyRelay,
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

type Stats = Record<string, number>;

test('consumer feedback counters: NACKs answered from the producer store, PLI after a blackout', {
  timeout: 85_000,
}, async () => {
  const { bridge, sendTransport, recvTransport } = await bridgedTransports(harness);
  const sfuCandidate = recvTransport.iceCandidates[0]!;
  const relay = new LossyRelay(
    { address: sfuCandidate.address ?? sfuCandidate.ip, port: sfuCandidate.port },
    0,
    'toClient',
  );
  const relayPort = await relay.start();
  const recvInfo = transportInfo(recvTransport);
  recvInfo.iceCandidates = [{ ...sfuCandidate, port: relayPort }];
  let pages: { pageA: Page; pageB: Page } | undefined;
  try {
    pages = await openPeers(harness, bridge, transportInfo(sendTransport), recvInfo);
    const { pageA, pageB } = pages;
    const ids = (await pageA.evaluate('window.produceVideo()')) as { video: string };
    await pageB.evaluate(`window.consume(${JSON.stringify(ids.video)})`);
    let s = await waitFor(pageB, (x) => x.framesDecoded >= 30, 25_000);
    assert.ok(s.framesDecoded >= 30, `B decoded ${s.framesDecoded} frames`);
    const consumer = [...bridge.consumers.values()][0]!;
    const producer = [...bridge.producers.values()][0]!;
    const [before] = (await consumer.getStats()) as unknown as Stats[];

    // 8 % loss on the way to B: Chromium NACKs, the SFU re-sends.
    relay.lossRate = 0.08;
    await sleep(8000);
    relay.lossRate = 0;
    await sleep(1000);
    let [c] = (await consumer.getStats()) as unknown as Stats[];
    s = await stats(pageB);
    console.log(
      'sfu-media feedback: loss',
      JSON.stringify({ dropped: relay.dropped, browser: s, consumer: c }),
    );
    assert.ok(relay.dropped >= 3, `the relay dropped ${relay.dropped} packets`);
    assert.ok(s.nackCount > 0, 'Chromium NACKed');
    assert.ok(c!.nackCount! > before!.nackCount!, `consumer nackCount ${c!.nackCount}`);
    // Chromium counts the NACK packets it sent; the SFU those it received (none lost on the way back).
    assert.ok(Math.abs(c!.nackCount! - s.nackCount) <= 2, `SFU ${c!.nackCount} vs Chromium ${s.nackCount}`);
    assert.ok(c!.nackPacketCount! >= c!.nackCount!);
    assert.ok(c!.packetsRetransmitted! > 0, 'the SFU re-sent packets from the producer store');
    assert.ok(c!.packetsRepaired! > 0 && c!.packetsRepaired! <= c!.packetsRetransmitted!);
    // Chromium took the re-sent packets (RTX stream, rebuilt from the producer store for B).
    const rtxReceived = (await pageB.evaluate(`(async () => {
      let n = -1;
      (await window.consumers.video.getStats()).forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video') n = r.retransmittedPacketsReceived ?? -1;
      });
      return n;
    })()`)) as number;
    assert.ok(rtxReceived === -1 || rtxReceived > 0, `Chromium received ${rtxReceived} retransmissions`);

    // A blackout whose retransmissions are lost too: Chromium gives up on NACKs and asks for a
    // key frame.
    const pliBefore = s.pliCount;
    const producerPliBefore = ((await producer.getStats()) as unknown as Stats[])[0]!.pliCount!;
    relay.dropSsrc = consumer.rtpParameters.encodings![0]!.rtx!.ssrc;
    relay.lossRate = 1;
    await sleep(1000);
    relay.lossRate = 0;
    await waitFor(pageB, (x) => x.pliCount > pliBefore, 15_000);
    relay.dropSsrc = -1;
    const framesAfterBlackout = (await stats(pageB)).framesDecoded;
    s = await waitFor(
      pageB,
      (x) => x.pliCount > pliBefore && x.framesDecoded >= framesAfterBlackout + 30,
      20_000,
    );
    assert.ok(s.pliCount > pliBefore, `Chromium sent a PLI (${pliBefore} → ${s.pliCount})`);
    assert.ok(s.framesDecoded >= framesAfterBlackout + 30, 'B decodes again after the blackout');
    await sleep(500);
    [c] = (await consumer.getStats()) as unknown as Stats[];
    const [p] = (await producer.getStats()) as unknown as Stats[];
    console.log(
      'sfu-media feedback: blackout',
      JSON.stringify({ browserPli: s.pliCount, consumer: c, producer: p }),
    );
    assert.ok(
      c!.pliCount! >= 1 && Math.abs(c!.pliCount! + c!.firCount! - s.pliCount) <= 1,
      `consumer pliCount ${c!.pliCount}`,
    );
    // The PLI became a key frame request to A (throttled per stream, so at least one).
    assert.ok(p!.pliCount! > producerPliBefore, `producer pliCount ${producerPliBefore} → ${p!.pliCount}`);
    assert.ok(c!.score! >= 0 && c!.score! <= 10);
  } finally {
    await pages?.pageA.close();
    await pages?.pageB.close();
    sendTransport.close();
    recvTransport.close();
    relay.close();
  }
});

test('REMB only: the producer negotiates goog-remb, Chrome follows the SFU estimate up and down', {
  timeout: 85_000,
}, async () => {
  const { bridge, sendTransport, recvTransport } = await bridgedTransports(harness);
  // The router's capabilities without transport-cc: mediasoup-client offers REMB + abs-send-time.
  const caps = structuredClone(harness.router.rtpCapabilities);
  caps.headerExtensions = (caps.headerExtensions ?? []).filter((e) => !e.uri.includes('transport-wide-cc'));
  for (const codec of caps.codecs ?? [])
    codec.rtcpFeedback = (codec.rtcpFeedback ?? []).filter((f) => f.type !== 'transport-cc');
  let pages: { pageA: Page; pageB: Page } | undefined;
  try {
    pages = await openPeers(
      harness,
      bridge,
      transportInfo(sendTransport),
      transportInfo(recvTransport),
      caps,
    );
    const { pageA, pageB } = pages;
    const ids = (await pageA.evaluate('window.produceVideo()')) as { video: string };
    await pageB.evaluate(`window.consume(${JSON.stringify(ids.video)})`);
    const producer = bridge.producers.get(ids.video)!;
    const params = producer.rtpParameters;
    assert.ok(!params.headerExtensions?.some((e) => e.uri.includes('transport-wide-cc')), 'no transport-cc');
    assert.ok(
      params.codecs[0]!.rtcpFeedback?.some((f) => f.type === 'goog-remb'),
      'the producer negotiated goog-remb',
    );
    const available = async () =>
      ((await pageA.evaluate('window.iceStats()')) as { available: number }).available;
    // Up: the REMB offers 1.5× what arrives (and +8 % per report while loss is low).
    const start = await available();
    let peak = start;
    for (let deadline = Date.now() + 25_000; Date.now() < deadline && peak < 1_000_000; ) {
      await sleep(500);
      peak = Math.max(peak, await available());
    }
    // Down: the estimate is capped at the transport's max incoming bitrate.
    await sendTransport.setMaxIncomingBitrate(200_000);
    let capped = await available();
    for (let deadline = Date.now() + 15_000; Date.now() < deadline && capped > 250_000; ) {
      await sleep(500);
      capped = await available();
    }
    const s = await stats(pageB);
    console.log('sfu-media REMB', JSON.stringify({ start, peak, capped, framesDecoded: s.framesDecoded }));
    assert.ok(peak >= 1_000_000, `Chrome's availableOutgoingBitrate rose from ${start} to ${peak}`);
    assert.ok(capped <= 250_000, `capped by REMB at 200 kbps: ${capped}`);
    assert.ok(s.framesDecoded > 0, 'B decodes');
  } finally {
    await pages?.pageA.close();
    await pages?.pageB.close();
    sendTransport.close();
    recvTransport.close();
  }
});
