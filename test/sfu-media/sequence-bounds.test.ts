// The Consumer's sequence rewriting after heavy loss and late retransmissions (what the
// meeting-load benchmark saw after an overload: forwarded streams jumping by > 3000). RTP goes
// over loopback UDP through the worker: PlainTransport (comedia) in, PlainTransport out. The
// payload carries the input sequence number, so each output packet is traced to its input.
import assert from 'node:assert/strict';
import type { Socket } from 'node:dgram';
import { after, before, test } from 'node:test';
import * as sfu from '../../src/sfu/index.js';
import type { Router, Worker } from '../../src/sfu/public-types.js';
import { delay, mediaCodecs, parseRtp, rtpPacket, udpSocket } from '../sfu/helpers.js';

let worker: Worker;
let router: Router;
const sockets: Socket[] = [];

before(async () => {
  worker = await sfu.createWorker({ logLevel: 'warn' });
  router = await worker.createRouter({ mediaCodecs });
});

after(() => {
  for (const socket of sockets) socket.close();
  worker.close();
});

const SSRC = 7777;

test('output sequence numbers stay bounded: stale packets are dropped, big input gaps are not passed on', {
  timeout: 30_000,
}, async () => {
  const inbound = await router.createPlainTransport({
    listenInfo: { protocol: 'udp', ip: '127.0.0.1', recvBufferSize: 1 << 20 },
    comedia: true,
  });
  const outbound = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' } });
  const sender = await udpSocket();
  const receiver = await udpSocket();
  receiver.setRecvBufferSize(1 << 20);
  sockets.push(sender, receiver);
  await outbound.connect({ ip: '127.0.0.1', port: receiver.address().port });
  const producer = await inbound.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }],
      encodings: [{ ssrc: SSRC }],
    },
  });
  await outbound.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });

  // Output sequence number → input sequence number, in arrival order.
  const received: { out: number; input: number }[] = [];
  receiver.on('message', (packet: Buffer) => {
    const rtp = parseRtp(packet);
    if (rtp.ssrc === SSRC || rtp.payload.length < 4) return;
    received.push({ out: rtp.sequenceNumber, input: rtp.payload.readUInt32BE(0) });
  });
  const target = inbound.tuple.localPort;
  const send = (seq: number) => {
    const payload = Buffer.alloc(200);
    payload.writeUInt32BE(seq, 0);
    sender.send(
      rtpPacket({ payloadType: 96, sequenceNumber: seq, timestamp: seq * 1500, ssrc: SSRC, payload }),
      target,
      '127.0.0.1',
    );
  };
  const sendRange = async (from: number, to: number) => {
    for (let seq = from; seq < to; seq++) {
      send(seq);
      if (seq % 40 === 39) await delay(2);
    }
  };
  const arrived = async (input: number) => {
    for (let waited = 0; waited < 10_000; waited += 20) {
      if (received.some((r) => r.input === input)) return;
      await delay(20);
    }
    assert.fail(`input ${input} was not forwarded in 10 s`);
  };

  // A stream, then late retransmissions of packets 750 behind (several in a row, as a sender
  // answering stale NACKs does), then the stream goes on, then its sequence jumps by 7000.
  await sendRange(1000, 1800);
  await arrived(1799);
  await sendRange(1000, 1050);
  await sendRange(1800, 1810);
  await arrived(1809);
  await sendRange(8810, 8830);
  await arrived(8829);

  assert.ok(received.length >= 800, `forwarded ${received.length}`);
  const outOf = new Map(received.map((r) => [r.input, r.out]));
  assert.equal(new Set(received.map((r) => r.input)).size, received.length, 'no input forwarded twice');
  const late = received.slice(received.findIndex((r) => r.input === 1799) + 1).filter((r) => r.input < 1800);
  assert.deepEqual(late, [], 'packets 750 behind the newest are dropped');
  // Consecutive forwarded packets: the output moves by the input gap, never by more than 1000.
  let maxOut = received[0]!.out;
  for (const r of received.slice(1)) {
    const step = ((r.out - maxOut) << 16) >> 16;
    assert.ok(step <= 1000, `output jumped by ${step} (input ${r.input})`);
    assert.ok(step > -500, `output went back by ${-step} (input ${r.input})`);
    if (step > 0) maxOut = r.out;
  }
  // Within the stream the output follows the input one for one.
  assert.equal((outOf.get(1809)! - outOf.get(1000)!) & 0xffff, 809);
  // After the 7000 jump the output goes on right after the last packet sent.
  assert.equal((outOf.get(8810)! - outOf.get(1809)!) & 0xffff, 1);
  assert.equal((outOf.get(8829)! - outOf.get(8810)!) & 0xffff, 19);
});
