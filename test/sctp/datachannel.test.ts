/** Data channels (DCEP, RFC 8832) between two of our associations over an in-memory link. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildDcepOpen,
  ChannelType,
  type DataChannel,
  DataChannelManager,
  Ppid,
  parseDcepOpen,
} from '../../src/transport/sctp/index.js';
import { connectPair, createPair, type LinkOptions, waitFor } from './helpers.js';

async function managers(link: LinkOptions = {}) {
  const pair = createPair(link, { rtoInitial: 100, rtoMin: 30 }, { rtoInitial: 100, rtoMin: 30 });
  const client = new DataChannelManager(pair.a, { dtlsRole: 'client' });
  const server = new DataChannelManager(pair.b, { dtlsRole: 'server' });
  await connectPair(pair);
  return { pair, client, server };
}

function nextChannel(manager: DataChannelManager): Promise<DataChannel> {
  return new Promise((resolve) => manager.once('datachannel', resolve));
}

test('DCEP OPEN/ACK: label, protocol, type, priority and reliability travel; ids follow DTLS role parity', async () => {
  const { pair, client, server } = await managers();
  try {
    const cases = [
      { label: 'reliable', init: {} },
      { label: 'unordered', init: { ordered: false } },
      { label: 'rexmit', init: { maxRetransmits: 3, protocol: 'chat/1' } },
      { label: 'timed', init: { maxPacketLifeTime: 250, ordered: false, priority: 512 } },
      { label: 'ünïcode ✓', init: {} },
    ];
    for (const { label, init } of cases) {
      const incoming = nextChannel(server);
      const local = client.createDataChannel(label, init);
      await new Promise<void>((resolve) => local.once('open', resolve));
      const remote = await incoming;
      assert.equal(local.id % 2, 0, 'client: even');
      assert.equal(remote.id, local.id);
      assert.equal(remote.label, label);
      assert.equal(remote.protocol, local.protocol);
      assert.equal(remote.ordered, local.ordered);
      assert.equal(remote.maxRetransmits, local.maxRetransmits);
      assert.equal(remote.maxPacketLifeTime, local.maxPacketLifeTime);
      assert.equal(remote.priority, local.priority);
      assert.equal(remote.readyState, 'open');
    }
    const fromServer = nextChannel(client);
    const s = server.createDataChannel('back');
    assert.equal(s.id % 2, 1, 'server: odd');
    assert.equal((await fromServer).id, s.id);
  } finally {
    pair.close();
  }
});

test('messages: strings, binary and empty ones with their PPIDs, both ways', async () => {
  const { pair, client, server } = await managers();
  try {
    const incoming = nextChannel(server);
    const local = client.createDataChannel('x');
    const remote = await incoming;
    const got: [string | Buffer, number][] = [];
    remote.on('message', (data, ppid) => got.push([data, ppid]));
    assert.equal(local.readyState, 'open');
    local.send('héllo');
    local.send('');
    local.send(Buffer.from([1, 2, 3]));
    local.send(new Uint8Array(0));
    local.send(new Uint8Array([9, 8]).subarray(1));
    local.sendRaw(Buffer.from('raw'), 99);
    assert.ok(await waitFor(() => got.length === 6, 2000));
    assert.deepEqual(got, [
      ['héllo', Ppid.STRING],
      ['', Ppid.STRING_EMPTY],
      [Buffer.from([1, 2, 3]), Ppid.BINARY],
      [Buffer.alloc(0), Ppid.BINARY_EMPTY],
      [Buffer.from([8]), Ppid.BINARY],
      [Buffer.from('raw'), 99],
    ]);
    const back: (string | Buffer)[] = [];
    local.on('message', (d) => back.push(d));
    remote.send('reply');
    assert.ok(await waitFor(() => back.length === 1, 2000));
    assert.deepEqual(back, ['reply']);
    assert.throws(() => local.send(Buffer.alloc(pair.a.maxMessageSize + 1)), RangeError);
    // Raw delivery (an SFU relaying by PPID): Buffers whatever the PPID.
    remote.raw = true;
    got.length = 0;
    local.send('as bytes');
    local.send('');
    assert.ok(await waitFor(() => got.length === 2, 2000));
    assert.deepEqual(got, [
      [Buffer.from('as bytes'), Ppid.STRING],
      [Buffer.alloc(0), Ppid.STRING_EMPTY],
    ]);
  } finally {
    pair.close();
  }
});

test('negotiated channels: same id on both sides, no DCEP, open at once', async () => {
  const { pair, client, server } = await managers();
  try {
    let announced = false;
    server.on('datachannel', () => {
      announced = true;
    });
    const a = client.createDataChannel('neg', { negotiated: true, id: 7 });
    const b = server.createDataChannel('neg', { negotiated: true, id: 7 });
    const got: (string | Buffer)[] = [];
    b.on('message', (d) => got.push(d));
    a.send('over negotiated');
    assert.ok(await waitFor(() => got.length === 1, 2000));
    assert.deepEqual(got, ['over negotiated']);
    assert.equal(announced, false, 'no DCEP OPEN for negotiated channels');
    assert.throws(() => client.createDataChannel('dup', { negotiated: true, id: 7 }), /in use/);
    assert.throws(() => client.createDataChannel('bad', { negotiated: true }), TypeError);
  } finally {
    pair.close();
  }
});

test('close resets the stream: both sides see close, the id can be used again', async () => {
  const { pair, client, server } = await managers();
  try {
    const incoming = nextChannel(server);
    const local = client.createDataChannel('closing');
    const remote = await incoming;
    const closes: string[] = [];
    local.on('close', () => closes.push('local'));
    remote.on('close', () => closes.push('remote'));
    local.close();
    assert.equal(local.readyState, 'closing');
    assert.ok(await waitFor(() => closes.length === 2, 3000), `closes: ${closes}`);
    assert.equal(local.readyState, 'closed');
    assert.equal(remote.readyState, 'closed');
    assert.throws(() => local.send('late'), /closed/);
    // The same id again, negotiated this time.
    const again = client.createDataChannel('again', { negotiated: true, id: local.id });
    const peer = server.createDataChannel('again', { negotiated: true, id: local.id });
    const got: (string | Buffer)[] = [];
    peer.on('message', (d) => got.push(d));
    again.send('second life');
    assert.ok(await waitFor(() => got.length === 1, 2000));
  } finally {
    pair.close();
  }
});

test('bufferedAmount and bufferedamountlow', async () => {
  const { pair, client } = await managers();
  try {
    const channel = client.createDataChannel('bulk', { negotiated: true, id: 2 });
    channel.bufferedAmountLowThreshold = 50_000;
    let lows = 0;
    channel.on('bufferedamountlow', () => lows++);
    for (let i = 0; i < 200; i++) channel.send(Buffer.alloc(1000));
    assert.equal(channel.bufferedAmount, 200_000);
    assert.ok(await waitFor(() => channel.bufferedAmount === 0, 5000));
    assert.equal(lows, 1);
  } finally {
    pair.close();
  }
});

test('a DCEP OPEN on an id of the wrong parity or malformed is ignored', async () => {
  const { pair, client, server } = await managers();
  try {
    let opened = 0;
    server.on('datachannel', () => opened++);
    // Client side sends an OPEN on an odd id (the server's parity) and a truncated one.
    const open = buildDcepOpen({
      channelType: ChannelType.RELIABLE,
      priority: 256,
      reliabilityParameter: 0,
      label: 'x',
      protocol: '',
    });
    pair.a.send(3, Ppid.DCEP, open);
    pair.a.send(4, Ppid.DCEP, open.subarray(0, 12));
    pair.a.send(6, Ppid.DCEP, open);
    assert.ok(await waitFor(() => opened === 1, 2000));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(opened, 1);
    assert.equal(server.get(6)?.label, 'x');
    assert.equal(server.get(3), undefined);
    assert.equal(parseDcepOpen(open.subarray(0, 12)), undefined);
    void client;
  } finally {
    pair.close();
  }
});

test('partial reliability over a lossy link: maxRetransmits 0 channel loses some, reliable channel none', {
  timeout: 20_000,
}, async () => {
  const { pair, client, server } = await managers({ loss: 0.1, seed: 8 });
  try {
    const lossy = client.createDataChannel('lossy', {
      negotiated: true,
      id: 10,
      maxRetransmits: 0,
      ordered: false,
    });
    const reliable = client.createDataChannel('reliable', { negotiated: true, id: 12 });
    const lossyIn = server.createDataChannel('lossy', {
      negotiated: true,
      id: 10,
      maxRetransmits: 0,
      ordered: false,
    });
    const reliableIn = server.createDataChannel('reliable', { negotiated: true, id: 12 });
    let lossyGot = 0;
    const reliableGot: string[] = [];
    lossyIn.on('message', () => lossyGot++);
    reliableIn.on('message', (d) => reliableGot.push(String(d)));
    for (let i = 0; i < 300; i++) {
      lossy.send(Buffer.alloc(500));
      if (i % 10 === 0) reliable.send(`r${i}`);
      if (i % 30 === 29) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(await waitFor(() => reliableGot.length === 30, 15_000), `reliable ${reliableGot.length}`);
    assert.deepEqual(
      reliableGot,
      Array.from({ length: 30 }, (_, i) => `r${i * 10}`),
    );
    await waitFor(() => pair.a.congestion.flightSize === 0, 5000);
    assert.ok(lossyGot < 300 && lossyGot > 200, `lossy delivered ${lossyGot}/300`);
  } finally {
    pair.close();
  }
});
