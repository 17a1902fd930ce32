/**
 * Bad input: wrong verification tags, bad checksums, forged and stale cookies, window abuse,
 * and bounded fuzzing of the parsers and of associations in each state with random and mutated
 * packets (checksums recomputed so they reach the chunk handlers). Nothing may throw, memory
 * stays bounded, and an unrelated association keeps working.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildDcepOpen,
  ChunkType,
  DATA_FLAG_BEGIN,
  DataChannelManager,
  PacketWriter,
  parseData,
  parseDcepOpen,
  parseForwardTsn,
  parseInit,
  parsePacket,
  parseReconfig,
  parseSack,
  SctpAssociation,
  sctpChecksum,
  writeData,
} from '../../src/transport/sctp/index.js';
import { connectPair, createPair, prng, waitFor } from './helpers.js';

function reseal(packet: Buffer): Buffer {
  packet.writeUInt32LE(sctpChecksum(packet), 8);
  return packet;
}

function withTag(packet: Buffer, tag: number): Buffer {
  const copy = Buffer.from(packet);
  copy.writeUInt32BE(tag >>> 0, 4);
  return reseal(copy);
}

/** Records every packet of a lossy session exercising most chunk types, as a fuzz corpus. */
async function recordCorpus(): Promise<{ ab: Buffer[]; ba: Buffer[] }> {
  const ab: Buffer[] = [];
  const ba: Buffer[] = [];
  const pair = createPair(
    {
      loss: 0.05,
      seed: 77,
      filter: (p, from) => {
        (from === 'a' ? ab : ba).push(Buffer.from(p));
        return false;
      },
    },
    { rtoInitial: 50, rtoMin: 20, heartbeatInterval: 30 },
    { rtoInitial: 50, rtoMin: 20 },
  );
  try {
    await connectPair(pair);
    for (let i = 0; i < 60; i++) {
      pair.a.send(i % 4, 53, Buffer.alloc(i % 7 === 0 ? 3000 : 40, i), {
        unordered: i % 3 === 0,
        maxRetransmits: i % 5 === 0 ? 0 : undefined,
      });
    }
    pair.a.resetStreams([1]);
    await waitFor(() => pair.a.congestion.flightSize === 0, 3000);
    await new Promise((r) => setTimeout(r, 60));
    pair.a.shutdown();
    await waitFor(() => pair.a.state === 'closed', 2000);
  } finally {
    pair.close();
  }
  return { ab, ba };
}

function mutate(random: () => number, source: Buffer): Buffer {
  const p = Buffer.from(source);
  const kind = Math.floor(random() * 6);
  if (kind === 0) {
    // Flip a few bytes after the common header.
    for (let i = 0, n = 1 + Math.floor(random() * 4); i < n && p.length > 12; i++) {
      p[12 + Math.floor(random() * (p.length - 12))] = Math.floor(random() * 256);
    }
  } else if (kind === 1 && p.length > 16) {
    // A different chunk type, known or not.
    const types = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 130, 192, 63, 127, 191, 255];
    p[12] = types[Math.floor(random() * types.length)]!;
    p[13] = Math.floor(random() * 256);
  } else if (kind === 2 && p.length > 16) {
    // A lying chunk length.
    p.writeUInt16BE(Math.floor(random() * 0x10000), 14);
  } else if (kind === 3) {
    return reseal(p.subarray(0, 12 + Math.floor(random() * (p.length - 11))));
  } else if (kind === 4 && p.length >= 24) {
    // Field values at the edges: TSNs, counts, window.
    const edges = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xffff];
    const at = 16 + 4 * Math.floor(random() * Math.floor((p.length - 16) / 4));
    p.writeUInt32BE(edges[Math.floor(random() * edges.length)]!, at);
  } else {
    const junk = Buffer.alloc(Math.floor(random() * 300));
    for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(random() * 256);
    return reseal(Buffer.concat([p.subarray(0, 12), junk]));
  }
  return reseal(p);
}

test('parsers are total: 20 000 random and mutated inputs', async () => {
  const random = prng(123);
  const { ab, ba } = await recordCorpus();
  const corpus = [...ab, ...ba];
  let parsed = 0;
  for (let n = 0; n < 20_000; n++) {
    let input: Buffer;
    if (n % 4 === 0) {
      input = Buffer.alloc(Math.floor(random() * 200));
      for (let i = 0; i < input.length; i++) input[i] = Math.floor(random() * 256);
    } else {
      input = mutate(random, corpus[Math.floor(random() * corpus.length)]!);
    }
    const packet = parsePacket(input, n % 2 === 0);
    if (packet instanceof Error) continue;
    parsed++;
    for (const chunk of packet.chunks) {
      parseData(input, chunk);
      parseInit(input, chunk);
      parseSack(input, chunk);
      parseForwardTsn(input, chunk);
      parseReconfig(input, chunk);
      parseDcepOpen(input.subarray(chunk.offset + 4, chunk.offset + chunk.length));
    }
  }
  assert.ok(parsed > 5000, `most mutants still frame as packets (${parsed})`);
});

test('wrong verification tag, bad checksum and INIT with a tag are dropped', async () => {
  const captured: Buffer[] = [];
  const pair = createPair({
    filter: (p, from) => from === 'a' && p[12] === ChunkType.DATA && captured.push(p) > 0,
  });
  try {
    await connectPair(pair);
    pair.a.send(0, 51, Buffer.from('x'));
    assert.ok(await waitFor(() => captured.length === 1, 1000));
    const good = captured[0]!;
    let delivered = 0;
    pair.b.onMessage = () => delivered++;
    const dropped = pair.b.stats.packetsDropped;
    pair.b.handlePacket(withTag(good, good.readUInt32BE(4) ^ 1));
    const badCrc = Buffer.from(good);
    badCrc[8]! ^= 0xff;
    pair.b.handlePacket(badCrc);
    const init = Buffer.from(good);
    init[12] = ChunkType.INIT;
    pair.b.handlePacket(reseal(init));
    assert.equal(delivered, 0);
    assert.equal(pair.b.stats.packetsDropped, dropped + 3);
    pair.b.handlePacket(good);
    assert.equal(delivered, 1, 'the genuine packet is accepted');
  } finally {
    pair.close();
  }
});

test('forged and stale state cookies are dropped', async () => {
  const echoes: Buffer[] = [];
  let hold = true;
  const pair = createPair(
    { filter: (p, from) => hold && from === 'a' && p[12] === ChunkType.COOKIE_ECHO && echoes.push(p) > 0 },
    {},
    { cookieLifetime: 150 },
  );
  try {
    pair.a.connect();
    assert.ok(await waitFor(() => echoes.length === 1, 2000));
    const echo = echoes[0]!;
    for (const at of [16, 20, 30, 60]) {
      const forged = Buffer.from(echo);
      forged[at]! ^= 0x01;
      pair.b.handlePacket(reseal(forged));
    }
    assert.equal(pair.b.state, 'new', 'no association from a forged cookie');
    assert.equal(pair.b.stats.packetsDropped, 4);
    await new Promise((r) => setTimeout(r, 250));
    pair.b.handlePacket(echo);
    assert.equal(pair.b.state, 'new', 'a stale cookie is refused');
    hold = false;
    // The retransmitted COOKIE-ECHO carries the same (now stale) cookie: a's INIT must be redone.
    assert.equal(pair.b.stats.packetsDropped, 5);
  } finally {
    pair.close();
  }
});

test('window abuse: far-ahead TSNs and never-ending fragments stay within bounds', async () => {
  const fromA: Buffer[] = [];
  const pair = createPair(
    { filter: (p, from) => from === 'a' && fromA.push(p) < 0 },
    {},
    { receiveWindow: 64 * 1024, maxMessageSize: 1 << 30 },
  );
  try {
    await connectPair(pair);
    const got: Buffer[] = [];
    pair.b.onMessage = (_s, _p, d) => got.push(d);
    pair.a.send(0, 53, Buffer.from('real'));
    assert.ok(await waitFor(() => got.length === 1, 1000));
    const data = fromA.find((p) => p[12] === ChunkType.DATA)!;
    const tag = data.readUInt32BE(4);
    const nextTsn = (data.readUInt32BE(16) + 1) >>> 0;
    const w = new PacketWriter(1200, 5000, 5000);
    const payload = Buffer.alloc(1000, 7);
    // Far ahead of the cumulative TSN: never recorded.
    for (let i = 0; i < 200; i++) {
      writeData(w, DATA_FLAG_BEGIN, (nextTsn + 100_000 + i * 1000) >>> 0, 0, 0, 53, payload);
      pair.b.handlePacket(w.finish(tag));
    }
    assert.equal(pair.b.receiveBufferedAmount, 0);
    // Fragments right after the cumulative TSN of a message that never ends.
    for (let i = 0; i < 300; i++) {
      writeData(w, i === 0 ? DATA_FLAG_BEGIN : 0, (nextTsn + i) >>> 0, 1, 0, 53, payload);
      pair.b.handlePacket(w.finish(tag));
    }
    assert.ok(
      pair.b.receiveBufferedAmount <= 2 * 64 * 1024 + 1000,
      `bounded: ${pair.b.receiveBufferedAmount}`,
    );
    assert.ok(pair.b.stats.dataChunksDropped >= 200, `dropped ${pair.b.stats.dataChunksDropped}`);
  } finally {
    pair.close();
  }
});

test('associations in each state survive 3 000 mutated packets each; a bystander is unaffected', {
  timeout: 40_000,
}, async () => {
  const random = prng(2024);
  const { ab, ba } = await recordCorpus();
  const bystander = createPair({}, {}, {});
  await connectPair(bystander);
  let bystanderGot = 0;
  let bystanderSent = 0;
  bystander.b.onMessage = () => bystanderGot++;

  /** Feeds mutants (tag set to the victim's) and checks nothing throws and memory stays bounded. */
  const attack = (victim: SctpAssociation, tag: number, corpus: Buffer[], count: number) => {
    for (let n = 0; n < count; n++) {
      const source = corpus[Math.floor(random() * corpus.length)]!;
      let packet = mutate(random, source);
      // Most mutants carry the right tag so they reach the chunk handlers.
      if (n % 8 !== 0 && packet.length >= 12)
        packet = withTag(packet, packet[12] === ChunkType.INIT ? 0 : tag);
      victim.handlePacket(packet);
      assert.ok(victim.receiveBufferedAmount <= 2 * 1024 * 1024 + 70_000);
      if (n % 500 === 0 && bystander.a.send(0, 53, Buffer.alloc(100))) bystanderSent++;
    }
  };

  // A fresh, passive association ('new'): tags are 0 for INIT, unknown otherwise.
  const idle = new SctpAssociation({ send: () => {} });
  attack(idle, random() * 2 ** 32, [...ab, ...ba], 3000);
  idle.close();

  // COOKIE-WAIT and COOKIE-ECHOED: a's own INIT is outstanding.
  for (const stage of ['cookie-wait', 'cookie-echoed'] as const) {
    const sent: Buffer[] = [];
    const victim = new SctpAssociation({ send: (p) => sent.push(p) });
    victim.connect();
    const ownTag = sent[0]!.readUInt32BE(16);
    if (stage === 'cookie-echoed') {
      // Answer its INIT with a genuine INIT-ACK from another association.
      const responder = new SctpAssociation({ send: (p) => victim.handlePacket(p) });
      responder.handlePacket(sent[0]!);
      responder.close();
    }
    attack(victim, ownTag, [...ab, ...ba], 3000);
    victim.close();
  }

  // Established, on both sides of a live pair, which must go on working (or have been aborted or
  // shut down by a mutant that happened to be a valid ABORT or SHUTDOWN, which is legitimate).
  const tags = { a: 0, b: 0 };
  const pair = createPair(
    {
      seed: 3,
      filter: (p, from) => {
        // A packet's tag is its receiver's (INIT aside).
        if (p[12] !== ChunkType.INIT) tags[from === 'a' ? 'b' : 'a'] = p.readUInt32BE(4);
        return false;
      },
    },
    { rtoInitial: 50, rtoMin: 20 },
    { rtoInitial: 50, rtoMin: 20 },
  );
  try {
    await connectPair(pair);
    const got: number[] = [];
    pair.b.onMessage = () => got.push(1);
    pair.a.send(0, 53, Buffer.from('x'));
    await waitFor(() => got.length === 1, 1000);
    attack(pair.b, tags.b, ab, 3000);
    attack(pair.a, tags.a, ba, 3000);
    for (const side of [pair.a, pair.b]) {
      assert.ok(['connected', 'closed', 'failed'].includes(side.state), side.state);
    }
  } finally {
    pair.close();
  }
  assert.ok(bystanderSent >= 30);
  assert.ok(
    await waitFor(() => bystanderGot === bystanderSent, 3000),
    `bystander ${bystanderGot}/${bystanderSent}`,
  );
  bystander.close();
});

test('data channel layer: 5 000 random and mutated DCEP messages on random streams', async () => {
  const random = prng(99);
  const pair = createPair();
  try {
    const server = new DataChannelManager(pair.b, { dtlsRole: 'server' });
    new DataChannelManager(pair.a, { dtlsRole: 'client' });
    await connectPair(pair);
    let opened = 0;
    server.on('datachannel', (channel) => {
      opened++;
      channel.on('message', () => {});
    });
    const open = buildDcepOpen({
      channelType: 0x81,
      priority: 1,
      reliabilityParameter: 3,
      label: 'l',
      protocol: 'p',
    });
    for (let n = 0; n < 5000; n++) {
      const message = Buffer.from(n % 2 === 0 ? open : Buffer.alloc(1 + Math.floor(random() * 40)));
      for (let i = 0, k = Math.floor(random() * 4); i < k; i++) {
        message[Math.floor(random() * message.length)] = Math.floor(random() * 256);
      }
      const ppid = [50, 50, 50, 51, 53, 56, 57, 99][Math.floor(random() * 8)]!;
      pair.a.send(Math.floor(random() * 1024), ppid, message);
      if (n % 500 === 499) await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(
      await waitFor(() => pair.a.congestion.flightSize === 0 && pair.a.bufferedAmount(0) === 0, 5000),
    );
    assert.ok(opened > 0 && opened <= 512, `channels opened on even ids only: ${opened}`);
    assert.ok([...Array(1024).keys()].every((id) => id % 2 === 0 || server.get(id) === undefined));
    assert.equal(pair.b.state, 'connected');
  } finally {
    pair.close();
  }
});
