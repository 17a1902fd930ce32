/**
 * Loss between a producer and the SFU, repaired by the SFU: Chromium (mediasoup-client) sends
 * its camera through an in-test UDP relay that drops 5 % of the SRTP packets on their way to
 * the SFU's port (the relay's address is the candidate page A is given; it forwards both ways,
 * so ICE and DTLS run through it). The SFU NACKs the holes, Chromium retransmits over RTX, the
 * SFU decapsulates and forwards: the consumer on page B keeps decoding with few losses of its own.
 */
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  Bridge,
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

/** A UDP relay in front of one SFU port: one upstream socket per client address, seeded loss on SRTP. */
class LossyRelay {
  readonly socket: Socket = createSocket('udp4');
  readonly upstreams = new Map<string, Socket>();
  forwarded = 0;
  dropped = 0;
  #seed = 0x2545f491;

  constructor(
    readonly target: { address: string; port: number },
    readonly lossRate: number,
  ) {}

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    this.socket.on('message', (data, rinfo) => this.#fromClient(data, rinfo));
    return this.socket.address().port;
  }

  #random(): number {
    // xorshift32: a fixed seed makes the drop pattern the same on every run.
    let x = this.#seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#seed = x >>> 0;
    return this.#seed / 0x100000000;
  }

  #fromClient(data: Buffer, rinfo: RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    let upstream = this.upstreams.get(key);
    if (!upstream) {
      if (this.upstreams.size >= 16) return;
      const socket = createSocket('udp4');
      socket.bind(0, '127.0.0.1');
      socket.on('message', (reply) => this.socket.send(reply, rinfo.port, rinfo.address));
      this.upstreams.set(key, socket);
      upstream = socket;
    }
    // RFC 7983: 128..191 is RTP/RTCP. Only RTP (not RTCP, PT 192..223) is dropped.
    const b0 = data[0]!;
    const pt = data[1]! & 0x7f;
    if (b0 >= 128 && b0 <= 191 && !(pt >= 64 && pt <= 95) && this.#random() < this.lossRate) {
      this.dropped++;
      return;
    }
    this.forwarded++;
    upstream.send(data, this.target.port, this.target.address);
  }

  close(): void {
    this.socket.close();
    for (const socket of this.upstreams.values()) socket.close();
  }
}

test('5 % loss between Chromium producer and the SFU: NACK/RTX repairs it, the consumer keeps decoding', {
  timeout: 85_000,
}, async () => {
  const bridge = new Bridge();
  const listenInfos = [{ protocol: 'udp' as const, ip: '127.0.0.1' }];
  const sendTransport = await harness.router.createWebRtcTransport({ listenInfos });
  const recvTransport = await harness.router.createWebRtcTransport({ listenInfos });
  bridge.transports.set(sendTransport.id, sendTransport);
  bridge.transports.set(recvTransport.id, recvTransport);
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
      }),
    );
    // Chromium's rate (and so the drop count) depends on its loss-based estimate: 400–1200 packets here.
    assert.ok(dropped >= 8, `the relay dropped ${dropped} packets`);
    assert.ok(sender.nackCount > 0, 'the SFU NACKed the producer');
    assert.ok(sender.retransmittedPacketsSent > 0, 'the producer retransmitted');
    // Repaired before forwarding: the consumer sees at most a small fraction of the holes.
    assert.ok(
      consumerLost <= Math.max(1, dropped / 4),
      `consumer lost ${consumerLost} of ${dropped} dropped`,
    );
    assert.ok(frames >= 150, `B decoded ${frames} frames in 10 s under loss`);
  } finally {
    await pages?.pageA.close();
    await pages?.pageB.close();
    sendTransport.close();
    recvTransport.close();
    relay.close();
  }
});
