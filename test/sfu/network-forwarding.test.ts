// RTP over loopback UDP: PlainTransport in and out, and pipeToRouter between two workers.
import assert from 'node:assert/strict';
import type { Socket } from 'node:dgram';
import { after, before, test } from 'node:test';
import * as sfu from '../../src/sfu/index.js';
import type { Router, Worker } from '../../src/sfu/public-types.js';
import { collect, mediaCodecs, parseRtp, rtpPacket, udpSocket } from './helpers.js';

let worker1: Worker;
let worker2: Worker;
let router1: Router;
let router2: Router;
const sockets: Socket[] = [];

before(async () => {
  [worker1, worker2] = await Promise.all([
    sfu.createWorker({ logLevel: 'warn' }),
    sfu.createWorker({ logLevel: 'warn' }),
  ]);
  router1 = await worker1.createRouter({ mediaCodecs });
  router2 = await worker2.createRouter({ mediaCodecs });
});

after(() => {
  for (const socket of sockets) socket.close();
  worker1.close();
  worker2.close();
});

const videoParameters = {
  mid: 'v',
  codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }],
  headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' as const, id: 9 }],
  encodings: [{ ssrc: 5555 }],
};

test('PlainTransport (comedia) in, PlainTransport out: RTP crosses the SFU over loopback UDP', {
  timeout: 30_000,
}, async () => {
  const inbound = await router1.createPlainTransport({
    listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
    comedia: true,
  });
  const outbound = await router1.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' } });
  const sender = await udpSocket();
  const receiver = await udpSocket();
  sockets.push(sender, receiver);
  await outbound.connect({ ip: '127.0.0.1', port: receiver.address().port });
  const producer = await inbound.produce({ kind: 'video', rtpParameters: videoParameters });
  const consumer = await outbound.consume({
    producerId: producer.id,
    rtpCapabilities: router1.rtpCapabilities,
  });
  const received = collect<Buffer>((l) => receiver.on('message', l), 10);
  const tuple = new Promise<void>((resolve) => inbound.once('tuple', () => resolve()));
  for (let i = 0; i < 10; i++) {
    const packet = rtpPacket({
      payloadType: 96,
      sequenceNumber: 100 + i,
      timestamp: i * 3000,
      ssrc: 5555,
      payload: Buffer.from(`frame ${i}`),
    });
    sender.send(packet, inbound.tuple.localPort, '127.0.0.1');
  }
  const packets = (await received).map(parseRtp);
  assert.deepEqual(
    packets.map((p) => p.payload.toString()),
    Array.from({ length: 10 }, (_, i) => `frame ${i}`),
  );
  assert.ok(packets.every((p) => p.ssrc === consumer.rtpParameters.encodings![0]!.ssrc));
  // comedia: the transport learnt where the media came from.
  await tuple;
  assert.equal(inbound.tuple.remotePort, sender.address().port);
  const [stats] = (await outbound.getStats()) as { rtpBytesSent: number }[];
  assert.ok(stats!.rtpBytesSent > 0);
  inbound.close();
  outbound.close();
});

test('pipeToRouter carries RTP from a router of one worker to a Consumer in another worker', {
  timeout: 30_000,
}, async () => {
  const sender = await router1.createDirectTransport();
  const producer = await sender.produce({ kind: 'video', rtpParameters: videoParameters });
  const { pipeConsumer } = await router1.pipeToRouter({ producerId: producer.id, router: router2 });
  assert.equal(pipeConsumer!.type, 'pipe');
  const receiver = await router2.createDirectTransport();
  const consumer = await receiver.consume({
    producerId: producer.id,
    rtpCapabilities: router2.rtpCapabilities,
  });
  const received = collect<Buffer>((l) => consumer.on('rtp', l), 5);
  for (let i = 0; i < 5; i++) {
    producer.send(
      rtpPacket({
        payloadType: 96,
        sequenceNumber: i,
        timestamp: i * 3000,
        ssrc: 5555,
        payload: Buffer.from(`piped ${i}`),
      }),
    );
  }
  const packets = (await received).map(parseRtp);
  assert.deepEqual(
    packets.map((p) => p.payload.toString()),
    Array.from({ length: 5 }, (_, i) => `piped ${i}`),
  );
  assert.ok(packets.every((p) => p.ssrc === consumer.rtpParameters.encodings![0]!.ssrc));
  const closed = new Promise<void>((resolve) => consumer.once('producerclose', () => resolve()));
  producer.close();
  await closed;
  sender.close();
  receiver.close();
});
