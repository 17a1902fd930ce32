/**
 * SCTP over UDP on PlainTransport and PipeTransport (as mediasoup: both ports 5000, no DTLS).
 * The clients are our own SCTP associations on loopback UDP sockets (the independent peer is
 * node-sctp in the conformance suite and libwebrtc in wrtc.test.ts). Covers pause/resume,
 * subchannels, bufferedAmount and bufferedamountlow, sctpsendbufferfull, pipeToRouter of data
 * producers to another worker, and bad input from the network.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, test } from 'node:test';
import * as sfu from '../../src/sfu/index.js';
import type { PlainTransport, Router, Worker } from '../../src/sfu/public-types.js';
import { ChunkType, SctpAssociation, sctpChecksum } from '../../src/transport/sctp/index.js';
import { sleep, waitFor } from '../helpers/wait.js';

let worker: Worker;
let worker2: Worker;
let router: Router;

before(async () => {
  worker = await sfu.createWorker({ logLevel: 'warn' });
  worker2 = await sfu.createWorker({ logLevel: 'warn' });
  router = await worker.createRouter({ mediaCodecs: [] });
});

after(() => {
  worker?.close();
  worker2?.close();
});

interface Client {
  socket: Socket;
  sctp: SctpAssociation;
  transport: PlainTransport;
  /** Messages received, per stream. */
  received: Map<number, { ppid: number; data: Buffer }[]>;
  /** The verification tag the SFU expects (seen on our packets). */
  sfuTag(): number;
  close(): void;
}

/** A PlainTransport with SCTP and one of our associations talking to it from a loopback socket. */
async function plainClient(r: Router, options: { sctpSendBufferSize?: number } = {}): Promise<Client> {
  const transport = await r.createPlainTransport({
    listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
    enableSctp: true,
    numSctpStreams: { OS: 256, MIS: 256 },
    ...options,
  });
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  let tag = 0;
  const sctp = new SctpAssociation({
    send: (packet) => {
      tag = packet.readUInt32BE(4) || tag;
      socket.send(packet, transport.tuple.localPort, '127.0.0.1');
    },
    outboundStreams: 256,
    inboundStreams: 256,
  });
  const received = new Map<number, { ppid: number; data: Buffer }[]>();
  sctp.onMessage = (streamId, ppid, data) => {
    const list = received.get(streamId) ?? [];
    received.set(streamId, list);
    list.push({ ppid, data: Buffer.from(data) });
  };
  socket.on('message', (packet) => sctp.handlePacket(packet));
  await transport.connect({ ip: '127.0.0.1', port: socket.address().port });
  sctp.connect();
  await waitFor('SCTP connected', () => sctp.state === 'connected' && transport.sctpState === 'connected', {
    timeoutMs: 10_000,
    intervalMs: 10,
  });
  return {
    socket,
    sctp,
    transport,
    received,
    sfuTag: () => tag,
    close: () => {
      sctp.close();
      socket.close();
      transport.close();
    },
  };
}

test('PlainTransport SCTP: produce/consume, PPIDs, pause/resume, subchannels, stats, sctpstatechange', async () => {
  const states: string[] = [];
  router.observer.once('newtransport', (t) =>
    (t as PlainTransport).observer.on('sctpstatechange', (s) => states.push(s)),
  );
  const a = await plainClient(router);
  const b = await plainClient(router);
  try {
    assert.ok(states.includes('connected'), `observer sctpstatechange: ${states}`);
    const producer = await a.transport.produceData({
      sctpStreamParameters: { streamId: 7 },
      label: 'l',
      protocol: 'p',
    });
    const consumer = await b.transport.consumeData({ dataProducerId: producer.id, subchannels: [1, 2] });
    const direct = await router.createDirectTransport();
    const directConsumer = await direct.consumeData({ dataProducerId: producer.id });
    const directGot: [string, number][] = [];
    directConsumer.on('message', (data, ppid) => directGot.push([data.toString(), ppid]));
    const sid = consumer.sctpStreamParameters!.streamId;

    a.sctp.send(7, 51, Buffer.from('text'));
    a.sctp.send(7, 53, Buffer.from([1, 2, 3]));
    a.sctp.send(7, 56, Buffer.alloc(1));
    a.sctp.send(7, 99, Buffer.from('custom ppid'));
    a.sctp.send(8, 51, Buffer.from('no DataProducer on stream 8: dropped'));
    await waitFor('4 messages at B', () => (b.received.get(sid)?.length ?? 0) >= 4, {
      timeoutMs: 10_000,
      intervalMs: 10,
    });
    assert.deepEqual(
      b.received.get(sid)!.map((m) => [m.ppid, m.data.toString('hex')]),
      [
        [51, Buffer.from('text').toString('hex')],
        [53, '010203'],
        [56, '00'],
        [99, Buffer.from('custom ppid').toString('hex')],
      ],
    );
    await waitFor('Direct consumer', () => directGot.length >= 4, { timeoutMs: 10_000, intervalMs: 10 });
    assert.deepEqual(directGot[0], ['text', 51]);

    // Pause the DataConsumer, then the DataProducer: nothing reaches B; resume: it flows again.
    await consumer.pause();
    a.sctp.send(7, 51, Buffer.from('while consumer paused'));
    await sleep(300);
    await consumer.resume();
    await producer.pause();
    a.sctp.send(7, 51, Buffer.from('while producer paused'));
    await sleep(300);
    await producer.resume();
    a.sctp.send(7, 51, Buffer.from('after'));
    await waitFor('after resume', () => b.received.get(sid)!.length >= 5, {
      timeoutMs: 10_000,
      intervalMs: 10,
    });
    assert.equal(b.received.get(sid)!.at(-1)!.data.toString(), 'after');
    assert.equal(b.received.get(sid)!.length, 5);

    // Subchannels apply to the application's own messages (DirectTransport DataProducer).
    const directProducer = await direct.produceData();
    const sub = await b.transport.consumeData({ dataProducerId: directProducer.id, subchannels: [1, 2] });
    const subId = sub.sctpStreamParameters!.streamId;
    directProducer.send('to 1', undefined, [1]);
    directProducer.send('to 3', undefined, [3]);
    directProducer.send('required 2', undefined, [1, 2, 3], 2);
    directProducer.send('required 5', undefined, [1], 5);
    await sub.setSubchannels([3]);
    directProducer.send('to 3 again', undefined, [3]);
    await waitFor('subchannel messages', () => (b.received.get(subId)?.length ?? 0) >= 3, {
      timeoutMs: 10_000,
      intervalMs: 10,
    });
    await sleep(200);
    assert.deepEqual(
      b.received.get(subId)!.map((m) => m.data.toString()),
      ['to 1', 'required 2', 'to 3 again'],
    );

    const [ps] = (await producer.getStats()) as { messagesReceived: number; bytesReceived: number }[];
    assert.equal(ps!.messagesReceived, 7);
    const [cs] = (await consumer.getStats()) as { messagesSent: number; bufferedAmount: number }[];
    assert.equal(cs!.messagesSent, 5);
    assert.equal(cs!.bufferedAmount, 0);
    const dump = (await a.transport.dump()) as {
      sctpState: string;
      sctpListener: { streamIdTable: unknown[] };
    };
    assert.equal(dump.sctpState, 'connected');
    assert.deepEqual(dump.sctpListener.streamIdTable, [{ key: 7, value: producer.id }]);
    const [stats] = (await a.transport.getStats()) as { sctpState: string }[];
    assert.equal(stats!.sctpState, 'connected');

    // Closing the DataConsumer resets its stream towards B (RFC 6525).
    const resets: number[][] = [];
    b.sctp.on('incomingstreamreset', (ids) => resets.push(ids));
    consumer.close();
    await waitFor('stream reset at B', () => resets.some((ids) => ids.includes(sid)), {
      timeoutMs: 10_000,
      intervalMs: 10,
    });
    direct.close();

    // The remote aborts: sctpState 'closed' on the API object, its event and the observer's.
    const events: string[] = [];
    a.transport.on('sctpstatechange', (s) => events.push(s));
    a.sctp.abort();
    await waitFor('sctpState closed', () => a.transport.sctpState === 'closed', {
      timeoutMs: 10_000,
      intervalMs: 10,
    });
    assert.deepEqual(events, ['closed']);
    assert.equal(states.at(-1), 'closed');
  } finally {
    a.close();
    b.close();
  }
});

test('PlainTransport SCTP: sctpsendbufferfull, bufferedAmount, bufferedamountlow', async () => {
  const a = await plainClient(router);
  const b = await plainClient(router, { sctpSendBufferSize: 200_000 });
  try {
    const producer = await a.transport.produceData({ sctpStreamParameters: { streamId: 1 } });
    const consumer = await b.transport.consumeData({ dataProducerId: producer.id });
    let full = 0;
    consumer.on('sctpsendbufferfull', () => full++);
    const lows: number[] = [];
    consumer.on('bufferedamountlow', (amount) => lows.push(amount));
    await consumer.setBufferedAmountLowThreshold(10_000);
    // 20 × 64 KiB at once: the SFU's send buffer (200 000 bytes) holds three of them.
    const big = randomBytes(65_536);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => consumer.send(big)));
    const refused = results.filter((r) => r.status === 'rejected').length;
    assert.ok(refused > 0, 'some sends refused');
    assert.ok(full >= refused, `sctpsendbufferfull events ${full} for ${refused} refusals`);
    assert.ok((await consumer.getBufferedAmount()) >= 0);
    const accepted = 20 - refused;
    await waitFor(
      'accepted messages at B',
      () => (b.received.get(consumer.sctpStreamParameters!.streamId)?.length ?? 0) >= accepted,
      { timeoutMs: 20_000, intervalMs: 10 },
    );
    await waitFor('bufferedamountlow', () => lows.length > 0, { timeoutMs: 10_000, intervalMs: 10 });
    assert.ok(lows[0]! <= 10_000);
    assert.equal(await consumer.getBufferedAmount(), 0);
    assert.ok(b.received.get(consumer.sctpStreamParameters!.streamId)!.every((m) => m.data.equals(big)));
  } finally {
    a.close();
    b.close();
  }
});

test('pipeToRouter of data producers to another worker: SCTP and Direct producers, SCTP and Direct consumers', async () => {
  // Producer and DataProducer ids are unique per worker (as in mediasoup's worker), so a piped
  // DataProducer, which keeps its id, lives in another worker's router.
  const routerC = await worker2.createRouter({ mediaCodecs: [] });
  const a = await plainClient(router);
  const c = await plainClient(routerC);
  try {
    const producer = await a.transport.produceData({
      sctpStreamParameters: { streamId: 3, ordered: true },
      label: 'piped',
    });
    const direct = await router.createDirectTransport();
    const directProducer = await direct.produceData({ label: 'direct-piped' });
    const piped = await router.pipeToRouter({ dataProducerId: producer.id, router: routerC });
    assert.equal(piped.pipeDataProducer?.id, producer.id);
    assert.equal(piped.pipeDataConsumer?.type, 'sctp');
    await router.pipeToRouter({ dataProducerId: directProducer.id, router: routerC });
    const got = new Map<string, string[]>();
    const sink = await routerC.createDirectTransport();
    for (const id of [producer.id, directProducer.id]) {
      const consumer = await sink.consumeData({ dataProducerId: id });
      got.set(consumer.label, []);
      consumer.on('message', (data) => got.get(consumer.label)!.push(data.toString()));
    }
    // And an SCTP client on the far router: SCTP → pipe (SCTP over UDP) → SCTP.
    const far = await c.transport.consumeData({ dataProducerId: producer.id });
    for (let i = 0; i < 500; i++) {
      a.sctp.send(3, 51, Buffer.from(`s${i}`));
      directProducer.send(`d${i}`);
    }
    const farId = far.sctpStreamParameters!.streamId;
    await waitFor(
      'piped messages',
      () => [...got.values()].every((l) => l.length >= 500) && (c.received.get(farId)?.length ?? 0) >= 500,
      { timeoutMs: 15_000, intervalMs: 10 },
    );
    const expect = (prefix: string) => Array.from({ length: 500 }, (_, i) => `${prefix}${i}`);
    assert.deepEqual(got.get('piped'), expect('s'));
    assert.deepEqual(got.get('direct-piped'), expect('d'));
    assert.deepEqual(
      c.received.get(farId)!.map((m) => m.data.toString()),
      expect('s'),
    );
  } finally {
    a.close();
    c.close();
    routerC.close();
  }
});

/** An SCTP packet (ports 5000) with a valid checksum. */
function packet(tag: number, chunks: Buffer[]): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(5000, 0);
  header.writeUInt16BE(5000, 2);
  header.writeUInt32BE(tag >>> 0, 4);
  const p = Buffer.concat([header, ...chunks]);
  p.writeUInt32LE(sctpChecksum(p), 8);
  return p;
}

function chunk(type: number, flags: number, body: Buffer, declaredLength?: number): Buffer {
  const c = Buffer.alloc(4 + body.length + ((4 - (body.length % 4)) % 4));
  c[0] = type;
  c[1] = flags;
  c.writeUInt16BE(declaredLength ?? 4 + body.length, 2);
  body.copy(c, 4);
  return c;
}

test('bad SCTP input on an SFU transport is dropped without harming it or another association', async () => {
  const a = await plainClient(router);
  const b = await plainClient(router);
  const stranger = createSocket('udp4');
  await new Promise<void>((resolve) => stranger.bind(0, '127.0.0.1', resolve));
  try {
    const producer = await a.transport.produceData({ sctpStreamParameters: { streamId: 5 } });
    const consumer = await b.transport.consumeData({ dataProducerId: producer.id });
    const sid = consumer.sctpStreamParameters!.streamId;
    const tag = a.sfuTag();
    assert.notEqual(tag, 0);
    const wrongTag = (tag ^ 0x5a5a5a5a) >>> 0;
    const dataBody = Buffer.alloc(16);
    dataBody.writeUInt32BE(a.sctp.stats.messagesSent + 12345, 0);
    dataBody.writeUInt16BE(5, 4);
    dataBody.writeUInt32BE(51, 8);
    dataBody.write('evil', 12);
    const forgedCookie = chunk(ChunkType.COOKIE_ECHO, 0, randomBytes(68));
    const initBody = Buffer.alloc(16);
    initBody.writeUInt32BE(0x11111111, 0);
    initBody.writeUInt32BE(1 << 20, 4);
    initBody.writeUInt16BE(10, 8);
    initBody.writeUInt16BE(10, 10);
    const bad: Buffer[] = [
      packet(wrongTag, [chunk(ChunkType.DATA, 3, dataBody)]), // DATA, wrong tag
      packet(wrongTag, [chunk(ChunkType.ABORT, 0, Buffer.alloc(0))]), // ABORT, wrong tag
      packet(tag, [chunk(ChunkType.ABORT, 1, Buffer.alloc(0))]), // ABORT with T bit but our tag
      packet(tag, [forgedCookie]), // forged state cookie
      packet(0, [forgedCookie]),
      packet(0, [chunk(ChunkType.INIT, 0, initBody)]), // INIT: restart attempt, ignored
      packet(tag, [chunk(ChunkType.DATA, 3, dataBody, 400)]), // chunk length past the packet
      packet(tag, [chunk(ChunkType.SACK, 0, Buffer.alloc(3))]), // truncated SACK
      packet(tag, [chunk(0x3f, 0, randomBytes(8))]), // unknown chunk type, "stop and report"
      Buffer.concat([packet(tag, [chunk(ChunkType.DATA, 3, dataBody)]).subarray(0, 12), randomBytes(40)]), // bad checksum
    ];
    for (let i = 0; i < 200; i++) {
      // Random bytes behind SCTP ports; and random chunks with a valid tag and checksum whose
      // length runs past the packet (a valid chunk with the right tag would be the peer's own).
      const garbage = randomBytes(12 + (i % 60));
      garbage.writeUInt16BE(5000, 0);
      garbage.writeUInt16BE(5000, 2);
      bad.push(i % 2 ? packet(tag, [chunk(i % 16, 0, randomBytes(i % 40), 0xfff0)]) : garbage);
    }
    for (let i = 0; i < 1000; i++) {
      a.sctp.send(5, 51, Buffer.from(String(i)));
      if (i % 5 === 0) {
        // From A's own 5-tuple (reaches the SCTP stack), from a stranger (dropped by the transport).
        const p = bad[i % bad.length]!;
        a.socket.send(p, a.transport.tuple.localPort, '127.0.0.1');
        b.socket.send(p, b.transport.tuple.localPort, '127.0.0.1');
        stranger.send(p, a.transport.tuple.localPort, '127.0.0.1');
      }
      if (i % 100 === 99) await sleep(5);
    }
    await waitFor('1000 messages at B', () => (b.received.get(sid)?.length ?? 0) >= 1000, {
      timeoutMs: 20_000,
      intervalMs: 10,
    });
    await sleep(200);
    assert.deepEqual(
      b.received.get(sid)!.map((m) => m.data.toString()),
      Array.from({ length: 1000 }, (_, i) => String(i)),
    );
    assert.equal(a.transport.sctpState, 'connected');
    assert.equal(b.transport.sctpState, 'connected');
    assert.equal(a.sctp.state, 'connected');
    // The worker is alive and answers.
    assert.ok(await router.dump());
  } finally {
    stranger.close();
    a.close();
    b.close();
  }
});
