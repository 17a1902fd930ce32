// STUN over TCP framing (split and coalesced messages, garbage, stalled frames) and TURN over IPv6.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, test } from 'node:test';
import { TurnClient, TurnServer } from '../../src/turn/index.js';
import {
  channelDataFrameLength,
  decodeXorAddress,
  getAttribute,
  parseStun,
  StunAttr,
  StunBuilder,
  StunClass,
  StunMethod,
  StunParseError,
  stunFrameLength,
} from '../../src/wire/stun/index.js';
import { waitFor } from './helpers.js';

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

async function connect(
  port: number,
): Promise<{ socket: net.Socket; frames: Buffer[]; channelFrames: Buffer[]; closed: () => boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  cleanups.push(() => socket.destroy());
  const frames: Buffer[] = [];
  const channelFrames: Buffer[] = [];
  let pending = Buffer.alloc(0);
  let isClosed = false;
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const isChannel = pending.length > 0 && pending[0]! >= 0x40;
      const length = isChannel ? channelDataFrameLength(pending) : stunFrameLength(pending);
      if (length === 0 || pending.length < length) break;
      (isChannel ? channelFrames : frames).push(pending.subarray(0, length));
      pending = pending.subarray(length);
    }
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    isClosed = true;
  });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, frames, channelFrames, closed: () => isClosed };
}

test('TCP: requests split byte by byte and coalesced are each answered', { timeout: 10000 }, async () => {
  const server = await TurnServer.start({ udpPort: 0, tcpPort: 0 });
  cleanups.push(() => server.close());
  const { socket, frames } = await connect(server.ports.tcp);
  const requests = [0, 1, 2].map(() => new StunBuilder(StunMethod.Binding, StunClass.Request).build());
  for (const byte of requests[0]!) {
    socket.write(Buffer.from([byte]));
    await new Promise((r) => setImmediate(r));
  }
  socket.write(Buffer.concat([requests[1]!, requests[2]!]));
  await waitFor(() => frames.length === 3, 3000, 'three responses');
  for (let i = 0; i < 3; i++) {
    const res = parseStun(frames[i]!);
    if (res instanceof StunParseError) assert.fail(res.reason);
    assert.deepEqual(res.transactionId, requests[i]!.subarray(8, 20));
    const mapped = decodeXorAddress(getAttribute(res, StunAttr.XorMappedAddress)!, res.transactionId);
    assert.deepEqual(mapped, { family: 4, address: '127.0.0.1', port: socket.localPort });
  }
});

test('TCP: garbage closes the connection; a stalled partial frame stays bounded', {
  timeout: 10000,
}, async () => {
  const server = await TurnServer.start({ udpPort: 0, tcpPort: 0 });
  cleanups.push(() => server.close());
  const garbage = await connect(server.ports.tcp);
  garbage.socket.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  await waitFor(garbage.closed, 3000, 'garbage connection closed');
  assert.equal(server.stats().rejects.malformed, 1);

  const stalled = await connect(server.ports.tcp);
  // Header promising 65532 bytes, then only part of them: held, not answered, not crashing.
  stalled.socket.write(
    Buffer.concat([Buffer.from([0, 1, 0xff, 0xfc, 0x21, 0x12, 0xa4, 0x42]), Buffer.alloc(1000)]),
  );
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(stalled.closed(), false);
  assert.equal(server.stats().tcpConnections, 1);
  stalled.socket.destroy();
  await waitFor(() => server.stats().tcpConnections === 0, 3000, 'connection released');
});

test('TCP allocation: ChannelData framed with padding both ways, released on disconnect', {
  timeout: 10000,
}, async () => {
  const server = await TurnServer.start({
    udpPort: 0,
    tcpPort: 0,
    users: { a: 'b' },
    allowLoopbackPeers: true,
  });
  cleanups.push(() => server.close());
  const peer = dgram.createSocket('udp4');
  cleanups.push(() => peer.close());
  const atPeer: Buffer[] = [];
  peer.on('message', (m, rinfo) => {
    atPeer.push(m);
    peer.send(Buffer.from('pong!'), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', r));

  // Long-term auth over TCP by hand: the challenge, then signed requests on the same connection.
  const { socket, frames, channelFrames } = await connect(server.ports.tcp);
  const next = async (bytes: Buffer) => {
    const count = frames.length;
    socket.write(bytes);
    await waitFor(() => frames.length > count, 3000, 'response');
    const res = parseStun(frames[count]!);
    if (res instanceof StunParseError) assert.fail(res.reason);
    return res;
  };
  const challenge = await next(
    new StunBuilder(StunMethod.Allocate, StunClass.Request).addRequestedTransport().build(),
  );
  const realm = getAttribute(challenge, StunAttr.Realm)!.toString();
  const nonce = getAttribute(challenge, StunAttr.Nonce)!.toString();
  const { longTermKey } = await import('../../src/wire/stun/index.js');
  const key = longTermKey('a', realm, 'b');
  const signed = (b: StunBuilder) =>
    b
      .add(StunAttr.Username, 'a')
      .add(StunAttr.Realm, realm)
      .add(StunAttr.Nonce, nonce)
      .addMessageIntegrity(key)
      .build();
  const allocated = await next(
    signed(new StunBuilder(StunMethod.Allocate, StunClass.Request).addRequestedTransport()),
  );
  assert.equal(allocated.cls, StunClass.SuccessResponse);
  const relayed = decodeXorAddress(
    getAttribute(allocated, StunAttr.XorRelayedAddress)!,
    allocated.transactionId,
  );
  if (relayed instanceof StunParseError) assert.fail(relayed.reason);
  const bound = await next(
    signed(
      new StunBuilder(StunMethod.ChannelBind, StunClass.Request)
        .addChannelNumber(0x4123)
        .addXorAddress(StunAttr.XorPeerAddress, '127.0.0.1', peer.address().port),
    ),
  );
  assert.equal(bound.cls, StunClass.SuccessResponse);

  // 3-byte payload: padded to 4 on the stream, and a second frame right behind it.
  const channelData = Buffer.from([
    0x41, 0x23, 0x00, 0x03, 0x61, 0x62, 0x63, 0x00, 0x41, 0x23, 0x00, 0x01, 0x7a, 0, 0, 0,
  ]);
  socket.write(channelData);
  await waitFor(() => atPeer.length === 2, 3000, 'both frames at the peer');
  assert.equal(atPeer[0]!.toString(), 'abc');
  assert.equal(atPeer[1]!.toString(), 'z');
  await waitFor(() => channelFrames.length === 2, 3000, 'pong frames');
  for (const frame of channelFrames) {
    assert.deepEqual(frame, Buffer.from([0x41, 0x23, 0, 5, ...Buffer.from('pong!'), 0, 0, 0]));
  }
  assert.equal(server.stats().allocations, 1);
  // Refresh to 0 deletes it; the same connection may then allocate again.
  const refreshed = await next(
    signed(new StunBuilder(StunMethod.Refresh, StunClass.Request).addUint32(StunAttr.Lifetime, 0)),
  );
  assert.equal(refreshed.cls, StunClass.SuccessResponse);
  assert.equal(server.stats().allocations, 0);
  const again = await next(
    signed(new StunBuilder(StunMethod.Allocate, StunClass.Request).addRequestedTransport()),
  );
  assert.equal(again.cls, StunClass.SuccessResponse);
  assert.equal(server.stats().allocations, 1);
  socket.destroy();
  await waitFor(() => server.stats().allocations === 0, 3000, 'allocation released with its connection');
});

test('IPv6: allocate on ::1 and relay to an IPv6 peer', { timeout: 10000 }, async () => {
  const server = await TurnServer.start({
    listenIp: '::1',
    udpPort: 0,
    tcpPort: 0,
    users: { a: 'b' },
    allowLoopbackPeers: true,
  });
  cleanups.push(() => server.close());
  const peer = dgram.createSocket('udp6');
  cleanups.push(() => peer.close());
  const atPeer: Buffer[] = [];
  peer.on('message', (m, rinfo) => {
    atPeer.push(m);
    peer.send(m, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => peer.bind(0, '::1', r));
  const client = await TurnClient.connect({
    serverAddress: '::1',
    serverPort: server.ports.udp,
    localAddress: '::1',
    username: 'a',
    password: 'b',
  });
  cleanups.push(() => client.close());
  const { relayed, mapped } = await client.allocate();
  assert.equal(relayed.address, '::1');
  assert.equal(relayed.family, 6);
  assert.deepEqual(mapped, { family: 6, address: '::1', port: client.localPort });
  const back: Buffer[] = [];
  client.onData = (data) => back.push(Buffer.from(data));
  await client.channelBind(0x4000, { address: '::1', port: peer.address().port });
  client.sendChannelData(0x4000, Buffer.from('over v6'));
  await waitFor(() => back.length === 1, 3000, 'echo over IPv6');
  assert.equal(atPeer[0]!.toString(), 'over v6');
  assert.equal(back[0]!.toString(), 'over v6');
  await assert.rejects(client.createPermission(['127.0.0.1']), /443/);
});
