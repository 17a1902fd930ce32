/**
 * Two of our associations over in-memory links: handshake (one side, both sides at once),
 * reliable ordered delivery through loss and reordering (retransmission, fast retransmit, T3),
 * partial reliability (FORWARD-TSN), stream reset, shutdown, abort, heartbeat; and over UDP.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { SctpAssociation } from '../../src/transport/sctp/index.js';
import { connectPair, createPair, waitFor } from './helpers.js';

const FAST = { rtoInitial: 100, rtoMin: 30, rtoMax: 1000 };

function numbered(i: number, size: number): Buffer {
  const b = Buffer.alloc(Math.max(4, size), i & 0xff);
  b.writeUInt32BE(i, 0);
  return b;
}

test('handshake: one side connects; stream counts are the minimum of OS and MIS', async () => {
  const pair = createPair(
    {},
    { outboundStreams: 10, inboundStreams: 300 },
    { outboundStreams: 200, inboundStreams: 7 },
  );
  try {
    await connectPair(pair, false);
    assert.deepEqual(pair.a.streams, { outbound: 7, inbound: 200 });
    assert.deepEqual(pair.b.streams, { outbound: 200, inbound: 7 });
  } finally {
    pair.close();
  }
});

test('handshake: INIT collision (both sides connect at once) ends with one association', async () => {
  for (let seed = 1; seed <= 5; seed++) {
    const pair = createPair({ seed, reorder: 0.3 }, FAST, FAST);
    try {
      await connectPair(pair, true);
      const got: number[] = [];
      pair.b.onMessage = (_s, _p, d) => got.push(d.readUInt32BE(0));
      pair.a.send(0, 53, numbered(7, 8));
      assert.ok(await waitFor(() => got.length === 1, 2000));
      assert.deepEqual(got, [7]);
    } finally {
      pair.close();
    }
  }
});

test('handshake: INIT lost several times is retransmitted with backoff', async () => {
  let drops = 3;
  const pair = createPair(
    { filter: (p, from) => from === 'a' && p[12] === 1 && drops-- > 0 },
    { rtoInitial: 40 },
    {},
  );
  try {
    await connectPair(pair, false, 3000);
    assert.equal(drops, -1, 'three INITs dropped, the fourth went through');
  } finally {
    pair.close();
  }
});

test('reliable ordered delivery through 5% loss and reordering: retransmissions, fast retransmit, all in order', {
  timeout: 30_000,
}, async () => {
  const pair = createPair({ loss: 0.05, reorder: 0.05, seed: 42 }, FAST, FAST);
  try {
    await connectPair(pair);
    const got: number[] = [];
    let sizesOk = true;
    pair.b.onMessage = (streamId, ppid, d) => {
      const i = d.readUInt32BE(0);
      if (streamId !== 1 || ppid !== 53 || d.length !== (i % 3 === 0 ? 3000 : 100)) sizesOk = false;
      got.push(i);
    };
    const count = 1500;
    for (let i = 0; i < count; i++) assert.ok(pair.a.send(1, 53, numbered(i, i % 3 === 0 ? 3000 : 100)));
    assert.ok(await waitFor(() => got.length === count, 25_000), `delivered ${got.length}/${count}`);
    assert.ok(
      got.every((v, i) => v === i),
      'in order, none missing, none duplicated',
    );
    assert.ok(sizesOk, 'fragmented messages reassembled intact');
    assert.ok(pair.counts.dropped > 0);
    assert.ok(pair.a.stats.retransmissions > 0, 'retransmitted');
    assert.ok(pair.a.stats.fastRetransmissions > 0, 'fast retransmit on 3 missing reports');
    assert.ok(await waitFor(() => pair.a.congestion.flightSize === 0, 5000), 'everything acknowledged');
  } finally {
    pair.close();
  }
});

test('unordered delivery: every message arrives once, out of order allowed', {
  timeout: 20_000,
}, async () => {
  const pair = createPair({ loss: 0.03, reorder: 0.2, seed: 9 }, FAST, FAST);
  try {
    await connectPair(pair);
    const got = new Set<number>();
    let duplicates = 0;
    pair.b.onMessage = (_s, _p, d) => {
      const i = d.readUInt32BE(0);
      if (got.has(i)) duplicates++;
      got.add(i);
    };
    for (let i = 0; i < 500; i++)
      pair.a.send(2, 53, numbered(i, i % 5 === 0 ? 2500 : 50), { unordered: true });
    assert.ok(await waitFor(() => got.size === 500, 15_000), `delivered ${got.size}`);
    assert.equal(duplicates, 0);
  } finally {
    pair.close();
  }
});

test('T3-rtx: a blackout triggers timeouts with RTO backoff and cwnd collapse, then recovery', {
  timeout: 20_000,
}, async () => {
  let blackout = false;
  const pair = createPair({ filter: () => blackout }, FAST, FAST);
  try {
    await connectPair(pair);
    const got: number[] = [];
    pair.b.onMessage = (_s, _p, d) => got.push(d.readUInt32BE(0));
    blackout = true;
    for (let i = 0; i < 20; i++) pair.a.send(0, 53, numbered(i, 1000));
    assert.ok(await waitFor(() => pair.a.stats.t3Expirations >= 2, 5000), 'T3 expired twice');
    assert.equal(pair.a.congestion.cwnd, pair.a.mtu, 'cwnd collapsed to one MTU');
    assert.ok(pair.a.congestion.rto > FAST.rtoMin, 'RTO backed off');
    blackout = false;
    assert.ok(await waitFor(() => got.length === 20, 10_000), `delivered ${got.length}`);
    assert.ok(got.every((v, i) => v === i));
    assert.equal(pair.a.state, 'connected');
  } finally {
    pair.close();
  }
});

test('association fails after too many retransmissions', { timeout: 20_000 }, async () => {
  let blackout = false;
  const pair = createPair({ filter: () => blackout }, { ...FAST, rtoMax: 60, maxRetransmissions: 3 }, FAST);
  try {
    await connectPair(pair);
    const closed = new Promise<string>((resolve) => pair.a.once('close', resolve));
    blackout = true;
    pair.a.send(0, 51, Buffer.from('lost'));
    assert.match(await closed, /too many retransmissions/);
    assert.equal(pair.a.state, 'failed');
  } finally {
    pair.close();
  }
});

test('partial reliability, maxRetransmits 0: lost messages are abandoned, FORWARD-TSN lets the receiver skip them', {
  timeout: 20_000,
}, async () => {
  const pair = createPair({ loss: 0.1, seed: 5 }, FAST, FAST);
  try {
    await connectPair(pair);
    const ordered: number[] = [];
    const reliable: number[] = [];
    pair.b.onMessage = (streamId, _p, d) => (streamId === 3 ? ordered : reliable).push(d.readUInt32BE(0));
    const count = 400;
    for (let i = 0; i < count; i++) {
      pair.a.send(3, 53, numbered(i, i % 4 === 0 ? 2500 : 200), { maxRetransmits: 0 });
      if (i % 10 === 0) pair.a.send(5, 53, numbered(i, 20));
      // Spread over time so losses hit individual messages, not the whole burst.
      if (i % 40 === 39) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(await waitFor(() => reliable.length === count / 10, 15_000), `reliable ${reliable.length}`);
    assert.ok(
      await waitFor(() => pair.a.congestion.flightSize === 0 && pair.b.receiveBufferedAmount === 0, 5000),
    );
    assert.ok(pair.a.stats.abandonedMessages > 0, 'some messages abandoned');
    assert.ok(ordered.length < count, `some skipped (${ordered.length}/${count})`);
    assert.ok(
      ordered.length + pair.a.stats.abandonedMessages >= count,
      'every message delivered or abandoned',
    );
    for (let i = 1; i < ordered.length; i++) assert.ok(ordered[i]! > ordered[i - 1]!, 'still in order');
    // The stream is not stuck: a later message on it arrives.
    pair.a.send(3, 53, numbered(10_000, 8));
    assert.ok(await waitFor(() => ordered.at(-1) === 10_000, 5000), 'stream 3 still delivers');
  } finally {
    pair.close();
  }
});

test('partial reliability, maxPacketLifeTime: messages that outlive it during a blackout are skipped', {
  timeout: 20_000,
}, async () => {
  let blackout = false;
  const pair = createPair({ filter: (_p, from) => blackout && from === 'a' }, FAST, FAST);
  try {
    await connectPair(pair);
    const got: number[] = [];
    pair.b.onMessage = (_s, _p, d) => got.push(d.readUInt32BE(0));
    blackout = true;
    for (let i = 0; i < 10; i++) pair.a.send(1, 53, numbered(i, 500), { maxPacketLifeTime: 100 });
    await new Promise((r) => setTimeout(r, 300));
    blackout = false;
    pair.a.send(1, 53, numbered(99, 10));
    assert.ok(await waitFor(() => got.includes(99), 5000), `got ${got}`);
    assert.deepEqual(got, [99], 'the expired ones were never delivered');
    assert.equal(pair.a.stats.abandonedMessages, 10);
  } finally {
    pair.close();
  }
});

test('stream reset (RFC 6525): both sides learn of it and SSNs restart at 0', async () => {
  const pair = createPair({}, FAST, FAST);
  try {
    await connectPair(pair);
    const got: string[] = [];
    pair.b.onMessage = (s, _p, d) => got.push(`${s}:${d}`);
    pair.a.send(4, 51, Buffer.from('before'));
    const incoming = new Promise<number[]>((resolve) => pair.b.once('incomingstreamreset', resolve));
    const outgoing = new Promise<number[]>((resolve) => pair.a.once('outgoingstreamreset', resolve));
    pair.a.resetStreams([4, 6]);
    assert.equal(pair.a.send(4, 51, Buffer.from('while resetting')), false, 'no sends while resetting');
    assert.deepEqual(await incoming, [4, 6]);
    assert.deepEqual(await outgoing, [4, 6]);
    pair.a.send(4, 51, Buffer.from('after'));
    assert.ok(await waitFor(() => got.length === 2, 2000));
    assert.deepEqual(got, ['4:before', '4:after']);
  } finally {
    pair.close();
  }
});

test('stream reset waits for data still in flight (senderLastTsn)', { timeout: 10_000 }, async () => {
  const pair = createPair({ loss: 0.2, seed: 11 }, FAST, FAST);
  try {
    await connectPair(pair);
    const got: number[] = [];
    let resetAt = -1;
    pair.b.onMessage = (_s, _p, d) => got.push(d.readUInt32BE(0));
    pair.b.on('incomingstreamreset', () => {
      resetAt = got.length;
    });
    for (let i = 0; i < 50; i++) pair.a.send(2, 53, numbered(i, 300));
    pair.a.resetStreams([2]);
    assert.ok(await waitFor(() => resetAt >= 0, 8000));
    assert.equal(resetAt, 50, 'every message before the reset was delivered first');
  } finally {
    pair.close();
  }
});

test('graceful shutdown delivers queued data, then both sides close', async () => {
  const pair = createPair({}, FAST, FAST);
  try {
    await connectPair(pair);
    let got = 0;
    pair.b.onMessage = () => got++;
    for (let i = 0; i < 30; i++) pair.a.send(0, 53, numbered(i, 2000));
    const closedA = new Promise<string>((resolve) => pair.a.once('close', resolve));
    const closedB = new Promise<string>((resolve) => pair.b.once('close', resolve));
    await new Promise((r) => setTimeout(r, 0));
    pair.a.shutdown();
    assert.equal(await closedA, 'shutdown');
    assert.equal(await closedB, 'shutdown');
    assert.equal(got, 30);
  } finally {
    pair.close();
  }
});

test('ABORT closes the peer at once', async () => {
  const pair = createPair({}, FAST, FAST);
  try {
    await connectPair(pair);
    const closed = new Promise<string>((resolve) => pair.b.once('close', resolve));
    pair.a.abort();
    assert.equal(await closed, 'peer aborted');
    assert.equal(pair.a.state, 'closed');
    assert.equal(pair.b.state, 'closed');
  } finally {
    pair.close();
  }
});

test('HEARTBEAT: answered, and its RTT feeds the RTO', async () => {
  const pair = createPair({ delay: 20 }, { heartbeatInterval: 50, rtoInitial: 3000, rtoMin: 10 }, {});
  try {
    await connectPair(pair, false);
    assert.ok(await waitFor(() => pair.a.congestion.rto < 3000, 3000), `rto ${pair.a.congestion.rto}`);
    assert.ok(pair.a.congestion.rto >= 40, 'at least the 40 ms round trip');
  } finally {
    pair.close();
  }
});

test('messages over maxMessageSize or empty are refused by send()', async () => {
  const pair = createPair({}, { maxMessageSize: 1000 }, {});
  try {
    await connectPair(pair);
    assert.equal(pair.a.send(0, 53, Buffer.alloc(1001)), false);
    assert.equal(pair.a.send(0, 53, Buffer.alloc(0)), false);
    assert.equal(pair.a.send(5000, 53, Buffer.alloc(1)), false, 'stream beyond the negotiated count');
    assert.equal(pair.a.send(0, 53, Buffer.alloc(1000)), true);
  } finally {
    pair.close();
  }
});

test('bufferedAmount falls as data is sent and the low callback fires', async () => {
  const pair = createPair({}, FAST, FAST);
  try {
    await connectPair(pair);
    const lows: number[] = [];
    pair.a.onBufferedAmountLow = (s) => lows.push(s);
    pair.a.setBufferedAmountLowThreshold(1, 10_000);
    for (let i = 0; i < 100; i++) pair.a.send(1, 53, Buffer.alloc(1000));
    assert.equal(pair.a.bufferedAmount(1), 100_000);
    assert.ok(await waitFor(() => pair.a.bufferedAmount(1) === 0, 5000));
    assert.deepEqual(lows, [1]);
  } finally {
    pair.close();
  }
});

test('over plain UDP on loopback (as a PlainTransport would carry it): 1 000 messages each way', async () => {
  const sockets = [createSocket('udp4'), createSocket('udp4')];
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve))));
  const [portA, portB] = sockets.map((s) => s.address().port);
  const a = new SctpAssociation({ send: (p) => sockets[0]!.send(p, portB!, '127.0.0.1') });
  const b = new SctpAssociation({ send: (p) => sockets[1]!.send(p, portA!, '127.0.0.1') });
  sockets[0]!.on('message', (m) => a.handlePacket(m));
  sockets[1]!.on('message', (m) => b.handlePacket(m));
  try {
    a.connect();
    assert.ok(await waitFor(() => a.state === 'connected' && b.state === 'connected', 5000));
    const toB: number[] = [];
    const toA: number[] = [];
    b.onMessage = (_s, _p, d) => toB.push(d.readUInt32BE(0));
    a.onMessage = (_s, _p, d) => toA.push(d.readUInt32BE(0));
    for (let i = 0; i < 1000; i++) {
      a.send(1, 53, numbered(i, i % 50 === 0 ? 20_000 : 500));
      b.send(2, 53, numbered(i, 300));
    }
    assert.ok(
      await waitFor(() => toB.length === 1000 && toA.length === 1000, 10_000),
      `${toB.length} ${toA.length}`,
    );
    assert.ok(toB.every((v, i) => v === i) && toA.every((v, i) => v === i));
  } finally {
    a.close();
    b.close();
    for (const s of sockets) s.close();
  }
});
