// RTP and data forwarding through the worker with DirectTransports (no network crypto involved).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as sfu from '../../src/sfu/index.js';
import type { Router, Worker } from '../../src/sfu/public-types.js';
import { parseRtcp } from '../../src/wire/rtp/rtcp.js';
import { collect, delay, mediaCodecs, parseRtp, rtpPacket } from './helpers.js';

let worker: Worker;
let router: Router;

before(async () => {
  worker = await sfu.createWorker({ logLevel: 'warn' });
  router = await worker.createRouter({ mediaCodecs });
});

after(() => worker.close());

const audioParameters = (ssrc: number) => ({
  codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }],
  headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' as const, id: 7 }],
  encodings: [{ ssrc }],
});

test('a DirectTransport Producer reaches every Consumer, rewritten to each Consumer parameters', {
  timeout: 30_000,
}, async () => {
  const sender = await router.createDirectTransport();
  const receiver = await router.createDirectTransport();
  const producer = await sender.produce({ kind: 'audio', rtpParameters: audioParameters(1111) });
  const consumerA = await receiver.consume({
    producerId: producer.id,
    rtpCapabilities: router.rtpCapabilities,
  });
  const consumerB = await receiver.consume({
    producerId: producer.id,
    rtpCapabilities: router.rtpCapabilities,
  });
  const gotA = collect<Buffer>((l) => consumerA.on('rtp', l), 20);
  const gotB = collect<Buffer>((l) => consumerB.on('rtp', l), 20);
  for (let i = 0; i < 20; i++) {
    producer.send(
      rtpPacket({
        payloadType: 111,
        sequenceNumber: 65530 + i,
        timestamp: 1000 + i * 960,
        ssrc: 1111,
        payload: Buffer.from(`packet ${i}`),
        extensions: [{ id: 7, value: Buffer.from([0x80 | 30]) }],
      }),
    );
  }
  const routerOpusPt = router.rtpCapabilities.codecs!.find(
    (c) => c.mimeType === 'audio/opus',
  )!.preferredPayloadType;
  for (const [consumer, packets] of [
    [consumerA, await gotA],
    [consumerB, await gotB],
  ] as const) {
    const parsed = packets.map(parseRtp);
    assert.ok(parsed.every((p) => p.ssrc === consumer.rtpParameters.encodings![0]!.ssrc));
    assert.ok(parsed.every((p) => p.payloadType === routerOpusPt));
    assert.deepEqual(
      parsed.map((p) => p.payload.toString()),
      Array.from({ length: 20 }, (_, i) => `packet ${i}`),
    );
    // Sequence numbers stay consecutive across the 16-bit wrap.
    for (let i = 1; i < parsed.length; i++) {
      assert.equal(parsed[i]!.sequenceNumber, (parsed[i - 1]!.sequenceNumber + 1) & 0xffff);
      assert.equal(parsed[i]!.timestamp - parsed[i - 1]!.timestamp, 960);
    }
  }
  const [stats] = (await consumerA.getStats()) as { packetCount: number }[];
  assert.equal(stats!.packetCount, 20);
  const producerStats = (await producer.getStats()) as { packetCount: number; ssrc: number }[];
  assert.deepEqual(
    producerStats.map((s) => [s.ssrc, s.packetCount]),
    [[1111, 20]],
  );
  sender.close();
  receiver.close();
});

test('paused Consumers and Producers forward nothing; resuming restores the flow', {
  timeout: 30_000,
}, async () => {
  const sender = await router.createDirectTransport();
  const receiver = await router.createDirectTransport();
  const producer = await sender.produce({ kind: 'audio', rtpParameters: audioParameters(2222) });
  const consumer = await receiver.consume({
    producerId: producer.id,
    rtpCapabilities: router.rtpCapabilities,
  });
  const received: Buffer[] = [];
  consumer.on('rtp', (packet) => received.push(packet));
  const send = (seq: number) =>
    producer.send(
      rtpPacket({
        payloadType: 111,
        sequenceNumber: seq,
        timestamp: seq * 960,
        ssrc: 2222,
        payload: Buffer.from([seq]),
      }),
    );
  await consumer.pause();
  send(1);
  await producer.pause();
  await consumer.resume();
  send(2);
  await producer.resume();
  const next = collect<Buffer>((l) => consumer.on('rtp', l), 1);
  send(3);
  await next;
  assert.deepEqual(
    received.map((p) => parseRtp(p).payload[0]),
    [3],
  );
  sender.close();
  receiver.close();
});

test('a video Consumer only gets payload types it negotiated; bad packets are dropped, the worker survives', {
  timeout: 30_000,
}, async () => {
  const sender = await router.createDirectTransport();
  const receiver = await router.createDirectTransport();
  const producer = await sender.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [
        { mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 },
        { mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: { apt: 96 } },
      ],
      encodings: [{ ssrc: 3333, rtx: { ssrc: 3334 } }],
    },
  });
  const consumer = await receiver.consume({
    producerId: producer.id,
    rtpCapabilities: router.rtpCapabilities,
  });
  const received: Buffer[] = [];
  consumer.on('rtp', (packet) => received.push(packet));
  producer.send(Buffer.from('not an RTP packet at all'));
  producer.send(Buffer.alloc(3));
  producer.send(
    rtpPacket({
      payloadType: 55,
      sequenceNumber: 1,
      timestamp: 1,
      ssrc: 3333,
      payload: Buffer.from('unknown pt'),
    }),
  );
  producer.send(
    rtpPacket({
      payloadType: 96,
      sequenceNumber: 2,
      timestamp: 2,
      ssrc: 9999,
      payload: Buffer.from('unknown ssrc'),
    }),
  );
  const good = collect<Buffer>((l) => consumer.on('rtp', l), 1);
  producer.send(
    rtpPacket({ payloadType: 96, sequenceNumber: 3, timestamp: 3, ssrc: 3333, payload: Buffer.from('good') }),
  );
  await good;
  await delay(50);
  assert.deepEqual(
    received.map((p) => parseRtp(p).payload.toString()),
    ['good'],
  );
  assert.equal(parseRtp(received[0]!).ssrc, consumer.rtpParameters.encodings![0]!.ssrc);
  assert.equal(typeof ((await worker.dump()) as { pid: number }).pid, 'number');
  sender.close();
  receiver.close();
});

test('closing a Producer closes its Consumers with "producerclose"', { timeout: 30_000 }, async () => {
  const sender = await router.createDirectTransport();
  const receiver = await router.createDirectTransport();
  const producer = await sender.produce({ kind: 'audio', rtpParameters: audioParameters(4444) });
  const consumer = await receiver.consume({
    producerId: producer.id,
    rtpCapabilities: router.rtpCapabilities,
  });
  const closed = new Promise<void>((resolve) => consumer.once('producerclose', () => resolve()));
  producer.close();
  await closed;
  assert.equal(consumer.closed, true);
  const dump = (await receiver.dump()) as { consumerIds: string[] };
  assert.deepEqual(dump.consumerIds, []);
  sender.close();
  receiver.close();
});

test('DataProducer messages reach DataConsumers with their PPID, filtered by subchannels', {
  timeout: 30_000,
}, async () => {
  const transport = await router.createDirectTransport();
  const dataProducer = await transport.produceData({ label: 'chat' });
  const plain = await transport.consumeData({ dataProducerId: dataProducer.id });
  const news = await transport.consumeData({ dataProducerId: dataProducer.id, subchannels: [7] });
  const plainMessages: [Buffer, number][] = [];
  plain.on('message', (m, ppid) => plainMessages.push([m, ppid]));
  const newsMessages = collect<[Buffer, number]>((l) => news.on('message', (m, ppid) => l([m, ppid])), 2);
  dataProducer.send('hello everyone');
  // Only DataConsumers subscribed to one of the message's subchannels get it.
  dataProducer.send(Buffer.from([1, 2, 3]), undefined, [7]);
  const [text, binary] = await newsMessages;
  assert.equal(text![0].toString(), 'hello everyone');
  assert.equal(text![1], 51);
  assert.deepEqual([...binary![0]], [1, 2, 3]);
  assert.equal(binary![1], 53);
  assert.deepEqual(
    plainMessages.map(([m, ppid]) => [m.toString(), ppid]),
    [['hello everyone', 51]],
  );
  assert.equal(plain.label, 'chat');
  transport.close();
});

// A VP8 payload that starts a 320x240 key frame (RFC 7741 descriptor, RFC 6386 frame header):
// a simulcast Consumer switches layers only on one.
const vp8KeyFrame = Buffer.from([0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]);

test('a simulcast Consumer forwards its preferred encoding and switches layers with continuous sequence numbers', {
  timeout: 30_000,
}, async () => {
  const sender = await router.createDirectTransport();
  const receiver = await router.createDirectTransport();
  const ssrcs = [7001, 7002, 7003];
  const producer = await sender.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }],
      encodings: ssrcs.map((ssrc) => ({ ssrc, scalabilityMode: 'L1T1' })),
    },
  });
  const consumer = await receiver.consume({
    producerId: producer.id,
    rtpCapabilities: router.rtpCapabilities,
  });
  assert.equal(consumer.type, 'simulcast');
  const received: Buffer[] = [];
  consumer.on('rtp', (packet) => received.push(packet));
  const layers: unknown[] = [];
  consumer.on('layerschange', (l) => layers.push(l));
  let seq = 0;
  const sendRound = () => {
    seq++;
    ssrcs.forEach((ssrc, layer) => {
      producer.send(
        rtpPacket({
          payloadType: 96,
          sequenceNumber: 1000 * layer + seq,
          timestamp: seq * 3000,
          ssrc,
          payload: Buffer.concat([vp8KeyFrame, Buffer.from(`L${layer}`)]),
        }),
      );
    });
  };
  // Layers become active as their first packets arrive: start counting once all three have.
  sendRound();
  await delay(100);
  received.length = 0;
  for (let i = 0; i < 5; i++) sendRound();
  await delay(100);
  await consumer.setPreferredLayers({ spatialLayer: 0 });
  for (let i = 0; i < 5; i++) sendRound();
  const done = collect<Buffer>((l) => consumer.on('rtp', l), 1);
  sendRound();
  await done;
  const parsed = received.map(parseRtp);
  const payloads = parsed.map((p) => p.payload.subarray(vp8KeyFrame.length).toString());
  // The highest layer until the switch, then only the lowest.
  const firstLow = payloads.indexOf('L0');
  assert.ok(firstLow > 0);
  assert.ok(payloads.slice(0, firstLow).every((p) => p === 'L2'));
  assert.ok(payloads.slice(firstLow).every((p) => p === 'L0'));
  for (let i = 1; i < parsed.length; i++) {
    assert.equal(parsed[i]!.sequenceNumber, (parsed[i - 1]!.sequenceNumber + 1) & 0xffff);
  }
  assert.ok(parsed.every((p) => p.ssrc === consumer.rtpParameters.encodings![0]!.ssrc));
  await delay(50);
  assert.deepEqual(layers.at(-1), { spatialLayer: 0, temporalLayer: 0 });
  sender.close();
  receiver.close();
});

test('requestKeyFrame() and resuming a video Consumer send a PLI to the Producer side', {
  timeout: 30_000,
}, async () => {
  const sender = await router.createDirectTransport();
  const receiver = await router.createDirectTransport();
  const producer = await sender.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }],
      encodings: [{ ssrc: 8888 }],
    },
  });
  const consumer = await receiver.consume({
    producerId: producer.id,
    rtpCapabilities: router.rtpCapabilities,
    paused: true,
  });
  const plis = collect<Buffer>((l) => sender.on('rtcp', l), 2);
  await consumer.requestKeyFrame();
  await delay(250);
  await consumer.resume();
  for (const packet of await plis) {
    const parsed = parseRtcp(packet);
    assert.equal(parsed.packets.length, 1);
    const pli = parsed.packets[0]!;
    assert.equal(pli.type, 'pli');
    assert.equal((pli as { mediaSsrc: number }).mediaSsrc, 8888);
  }
  sender.close();
  receiver.close();
});
