/**
 * Loss between a producer and the SFU, repaired by the SFU: Chromium (mediasoup-client) sends
 * its camera through an in-test UDP relay that drops 5 % of the SRTP packets on their way to
 * the SFU's port (the relay's address is the candidate page A is given; it forwards both ways,
 * so ICE and DTLS run through it). The SFU NACKs the holes, Chromium retransmits over RTX, the
 * SFU decapsulates and forwards: the consumer on page B keeps decoding with few losses of its own.
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

test('5 % loss between Chromium producer and the SFU: NACK/RTX repairs it, the consumer keeps decoding', {
  timeout: 85_000,
}, async () => {
  const { bridge, sendTransport, recvTransport } = await bridgedTransports(harness);
  const sfuCandidate = sendTransport.iceCandidates[0]!;
  const relay = new LossyRelay(
    { address: sfuCandidate.address ?? sfuCandidate.ip, port: sfuCandidate.port },
    0.05,
  );
  const relayPort = await relay.start();
  const sendInfo = transportInfo(sendTransport);
  sendInfo.iceCandidates = [{ ...sfuCandidate, port: relayPort }];
  let pages: { pageA: Page; pageB: Page } | undefined;
  try {
    pages = await openPeers(harness, bridge, sendInfo, transportInfo(recvTransport));
    const { pageA, pageB } = pages;
    const ids = (await pageA.evaluate('window.produceVideo()')) as { video: string };
    await pageB.evaluate(`window.consume(${JSON.stringify(ids.video)})`);
    let s = await waitFor(pageB, (x) => x.framesDecoded >= 30, 25_000);
    assert.ok(s.framesDecoded >= 30, `B decoded ${s.framesDecoded} frames through the lossy relay`);
    const start = s;
    const droppedAtStart = relay.dropped;
    await sleep(10_000);
    s = await stats(pageB);
    const sender = (await pageA.evaluate('window.senderStats()')) as {
      nackCount: number;
      retransmittedPacketsSent: number;
      packetsSent: number;
    };
    const dropped = relay.dropped - droppedAtStart;
    const producer = [...bridge.producers.values()][0]!;
    const [producerStats] = (await producer.getStats()) as unknown as Record<string, number>[];
    const frames = s.framesDecoded - start.framesDecoded;
    const consumerLost = s.packetsLost - start.packetsLost;
    console.log(
      'sfu-media loss',
      JSON.stringify({
        dropped,
        forwarded: relay.forwarded,
        frames,
        consumerLost,
        consumerNacks: s.nackCount,
        sender,
        producerStats: {
          nackCount: producerStats?.nackCount,
          nackPacketCount: producerStats?.nackPacketCount,
          packetsRetransmitted: producerStats?.packetsRetransmitted,
          packetsRepaired: producerStats?.packetsRepaired,
          packetsLost: producerStats?.packetsLost,
          score: producerStats?.score,
        },
      }),
    );
    // Chromium's rate (and so the drop count) depends on its loss-based estimate: 400–1200 packets here.
    assert.ok(dropped >= 8, `the relay dropped ${dropped} packets`);
    assert.ok(sender.nackCount > 0, 'the SFU NACKed the producer');
    assert.ok(sender.retransmittedPacketsSent > 0, 'the producer retransmitted');
    // The Producer's getStats counts what the SFU asked for and got (mediasoup's fields).
    assert.ok(producerStats, 'producer stats');
    assert.ok(producerStats.nackCount! > 0 && producerStats.nackPacketCount! >= producerStats.nackCount!);
    // Chromium counts the NACK packets it received; ours counts those sent (a few may be in flight).
    assert.ok(
      Math.abs(producerStats.nackCount! - sender.nackCount) <= Math.max(3, sender.nackCount / 5),
      `producer nackCount ${producerStats.nackCount} vs Chromium's ${sender.nackCount}`,
    );
    assert.ok(producerStats.packetsRetransmitted! > 0 && producerStats.packetsRepaired! > 0);
    // Repaired before forwarding: the consumer sees at most a small fraction of the holes.
    assert.ok(
      consumerLost <= Math.max(1, dropped / 4),
      `consumer lost ${consumerLost} of ${dropped} dropped`,
    );
    // Decoding goes on under loss: 150 frames since the start of the window (about 10 s at
    // Chromium's rate; a loaded machine gets more time, bounded).
    const decoded = await waitFor(pageB, (x) => x.framesDecoded - start.framesDecoded >= 150, 15_000);
    assert.ok(
      decoded.framesDecoded - start.framesDecoded >= 150,
      `B decoded ${decoded.framesDecoded - start.framesDecoded} frames under loss (${frames} in the first 10 s)`,
    );
  } finally {
    await pages?.pageA.close();
    await pages?.pageB.close();
    sendTransport.close();
    recvTransport.close();
    relay.close();
  }
});
