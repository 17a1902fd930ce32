/**
 * Shared-port mode (mediasoup's WebRtcServer): many ICE-lite servers on one UDP socket and one
 * ICE-TCP listener, routed by USERNAME's local ufrag for Binding requests and by 5-tuple for
 * everything else. Also the RFC 4571 framing and per-connection limits of the TCP listener.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import {
  classifyPacket,
  IceLiteServer,
  PacketKind,
  TcpIceListener,
  UdpIceListener,
} from '../../src/transport/ice/index.js';
import { bindingRequest, describeResponse, TcpStunClient, UdpStunClient, waitFor } from './helpers.js';

test('UDP shared port: requests routed by ufrag, media by tuple, to the right server', async () => {
  const listener = await UdpIceListener.listen({ address: '127.0.0.1' });
  const servers = Array.from({ length: 3 }, () => new IceLiteServer());
  const received = servers.map(() => [] as number[]);
  servers.forEach((server, i) => {
    listener.addServer(server);
    server.onPacket = (buf) => received[i]!.push(buf[0]!);
  });
  const clients = await Promise.all(servers.map(() => UdpStunClient.open()));
  try {
    for (let i = 0; i < servers.length; i++) {
      const server = servers[i]!;
      const result = await clients[i]!.check(listener.port, {
        username: `${server.usernameFragment}:c${i}`,
        password: server.password,
        useCandidate: true,
      });
      assert.equal(result?.message.cls, 2);
      assert.ok(result?.integrityOk, `server ${i} answered with its own password`);
      assert.equal(server.selectedTuple?.remotePort, clients[i]!.port);
    }
    // A client using server 0's ufrag with server 1's password is refused by server 0.
    const crossed = await clients[2]!.check(listener.port, {
      username: `${servers[0]!.usernameFragment}:x`,
      password: servers[1]!.password,
    });
    assert.equal(crossed?.errorCode, 401);
    // Unknown ufrag on a shared port: silently dropped.
    const unknown = await clients[2]!.check(
      listener.port,
      { username: 'nobody:x', password: 'z'.repeat(22) },
      200,
    );
    assert.equal(unknown, undefined);
    for (let i = 0; i < clients.length; i++) {
      clients[i]!.send(Buffer.from([128 + i, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, i]), listener.port);
    }
    assert.ok(await waitFor(() => received.every((r) => r.length === 1), 1000));
    assert.deepEqual(received, [[128], [129], [130]]);
    assert.equal(listener.tupleCount, 3);
    // ICE restart re-keys the server on the shared listener.
    const old = servers[0]!.usernameFragment;
    servers[0]!.on('usernamefragmentchange', (previous) => listener.renameServer(servers[0]!, previous));
    const fresh = servers[0]!.restart();
    assert.notEqual(fresh.usernameFragment, old);
    const again = await clients[0]!.check(listener.port, {
      username: `${fresh.usernameFragment}:c0`,
      password: fresh.password,
    });
    assert.equal(again?.message.cls, 2);
    servers[1]!.close();
    listener.removeServer(servers[1]!);
    assert.equal(listener.tupleCount, 2);
  } finally {
    for (const c of clients) c.close();
    for (const s of servers) s.close();
    listener.close();
  }
});

test('ICE-TCP: framed checks split byte by byte, then media on the connection', async () => {
  const listener = await TcpIceListener.listen({ address: '127.0.0.1' });
  const server = new IceLiteServer();
  listener.addServer(server);
  const media: Buffer[] = [];
  server.onPacket = (buf) => media.push(Buffer.from(buf));
  const client = await TcpStunClient.open(listener.port);
  try {
    const request = bindingRequest({
      username: `${server.usernameFragment}:tcp1`,
      password: server.password,
      useCandidate: true,
    });
    const framed = TcpStunClient.frame(request);
    for (const byte of framed) {
      client.socket.write(Buffer.from([byte]));
      await new Promise((r) => setImmediate(r));
    }
    const response = await client.next(1000);
    assert.ok(response, 'a framed response');
    const result = describeResponse(response, server.password);
    assert.equal(result.message.cls, 2);
    assert.ok(result.integrityOk);
    assert.equal(server.state, 'completed');
    assert.equal(server.selectedTuple?.protocol, 'tcp');
    // Two media frames and half a third in one write, the rest later.
    const rtp = (n: number): Buffer => Buffer.from([0x80, 96, 0, n, 0, 0, 0, 0, 0, 0, 0, 1, n, n]);
    const third = TcpStunClient.frame(rtp(3));
    client.socket.write(
      Buffer.concat([TcpStunClient.frame(rtp(1)), TcpStunClient.frame(rtp(2)), third.subarray(0, 5)]),
    );
    await new Promise((r) => setTimeout(r, 30));
    client.socket.write(third.subarray(5));
    assert.ok(await waitFor(() => media.length === 3, 1000));
    assert.deepEqual(
      media.map((m) => m[3]),
      [1, 2, 3],
    );
    assert.equal(classifyPacket(media[0]!), PacketKind.Rtp);
    server.selectedTuple!.send(rtp(9));
    const echoed = await client.next(1000);
    assert.deepEqual(echoed, rtp(9));
  } finally {
    client.close();
    server.close();
    listener.close();
  }
});

test('ICE-TCP limits: media before a check, bad STUN, idle connections and connection cap are cut', async () => {
  const listener = await TcpIceListener.listen({ address: '127.0.0.1', bindTimeout: 300, maxConnections: 3 });
  const server = new IceLiteServer();
  listener.addServer(server);
  const clients: TcpStunClient[] = [];
  try {
    const early = await TcpStunClient.open(listener.port);
    clients.push(early);
    early.socket.write(TcpStunClient.frame(Buffer.from([0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1])));
    assert.ok(await early.waitClosed(1000), 'media before validation closes the connection');

    const garbage = await TcpStunClient.open(listener.port);
    clients.push(garbage);
    garbage.socket.write(TcpStunClient.frame(Buffer.from([0, 1, 0, 4, 1, 2, 3, 4])));
    assert.ok(await garbage.waitClosed(1000), 'unparsable STUN closes an unvalidated connection');

    const idle = await TcpStunClient.open(listener.port);
    clients.push(idle);
    // Announce a 65 535-byte frame and never finish it.
    idle.socket.write(Buffer.from([0xff, 0xff, 0x80]));
    assert.ok(await idle.waitClosed(2000), 'idle unvalidated connection closed after bindTimeout');

    const wrong = await TcpStunClient.open(listener.port);
    clients.push(wrong);
    wrong.socket.write(
      TcpStunClient.frame(
        bindingRequest({ username: `${server.usernameFragment}:x`, password: 'q'.repeat(22) }),
      ),
    );
    const refused = await wrong.next(1000);
    assert.equal(refused && describeResponse(refused, undefined).errorCode, 401);
    assert.ok(
      await wrong.waitClosed(2000),
      'a connection with only failed checks is closed after bindTimeout',
    );

    const held = await Promise.all([1, 2, 3].map(() => TcpStunClient.open(listener.port)));
    clients.push(...held);
    await waitFor(() => listener.connectionCount === 3, 1000);
    const extra = await TcpStunClient.open(listener.port);
    clients.push(extra);
    assert.ok(await extra.waitClosed(1000), 'connection beyond maxConnections refused');
    assert.equal(server.state, 'new');
    assert.equal(server.tuples.length, 0);
  } finally {
    for (const c of clients) c.close();
    server.close();
    listener.close();
  }
});

test('port range: binds inside the range and fails cleanly when it is exhausted', async () => {
  const probe = await UdpIceListener.listen({ address: '127.0.0.1' });
  const base = probe.port;
  probe.close();
  const range = { min: base, max: base + 1 };
  const a = await UdpIceListener.listen({ address: '127.0.0.1', portRange: range });
  const b = await UdpIceListener.listen({ address: '127.0.0.1', portRange: range });
  try {
    assert.deepEqual([a.port, b.port].sort(), [base, base + 1]);
    await assert.rejects(UdpIceListener.listen({ address: '127.0.0.1', portRange: range }), /EADDRINUSE/);
  } finally {
    a.close();
    b.close();
  }
});

test('RFC 7983 classification by first byte', () => {
  const stun = bindingRequest({ username: 'a:b' });
  assert.equal(classifyPacket(stun), PacketKind.Stun);
  assert.equal(
    classifyPacket(Buffer.from([0, 1, 0, 0, 0, 0, 0, 0])),
    PacketKind.Unknown,
    'short / no cookie',
  );
  assert.equal(classifyPacket(Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])), PacketKind.Dtls);
  assert.equal(classifyPacket(Buffer.from([63, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])), PacketKind.Dtls);
  assert.equal(classifyPacket(Buffer.from([64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])), PacketKind.Unknown);
  const rtp = Buffer.alloc(12);
  rtp[0] = 0x80;
  for (const pt of [0, 96, 127, 96 | 0x80]) {
    rtp[1] = pt;
    assert.equal(classifyPacket(rtp), PacketKind.Rtp, `pt byte ${pt}`);
  }
  for (const pt of [192, 200, 201, 205, 206, 223]) {
    rtp[1] = pt;
    assert.equal(classifyPacket(rtp), PacketKind.Rtcp, `rtcp ${pt}`);
  }
  assert.equal(classifyPacket(Buffer.alloc(0)), PacketKind.Unknown);
  assert.equal(classifyPacket(Buffer.from([0xc0, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])), PacketKind.Unknown);
});

test('IPv6 loopback: XOR-MAPPED-ADDRESS carries the ::1 source', async () => {
  const listener = await UdpIceListener.listen({ address: '::1' });
  const server = new IceLiteServer();
  listener.addServer(server);
  const socket = createSocket('udp6');
  await new Promise<void>((resolve) => socket.bind(0, '::1', resolve));
  try {
    const request = bindingRequest({ username: `${server.usernameFragment}:v6`, password: server.password });
    const response = new Promise<Buffer>((resolve) => socket.once('message', resolve));
    socket.send(request, listener.port, '::1');
    const result = describeResponse(await response, server.password);
    assert.equal(result.message.cls, 2);
    assert.ok(result.integrityOk);
    assert.deepEqual(result.mapped, { family: 6, address: '::1', port: socket.address().port });
    assert.equal(server.selectedTuple?.remoteAddress, '::1');
  } finally {
    socket.close();
    server.close();
    listener.close();
  }
});

test('explicit port: a second exclusive bind fails; reuseAddr allows sharing the port', async () => {
  const first = await UdpIceListener.listen({ address: '127.0.0.1' });
  try {
    await assert.rejects(UdpIceListener.listen({ address: '127.0.0.1', port: first.port }), /EADDRINUSE/);
  } finally {
    first.close();
  }
  const tcp = await TcpIceListener.listen({ address: '127.0.0.1' });
  try {
    await assert.rejects(TcpIceListener.listen({ address: '127.0.0.1', port: tcp.port }), /EADDRINUSE/);
  } finally {
    tcp.close();
  }
  const a = await UdpIceListener.listen({ address: '127.0.0.1', reuseAddr: true });
  const b = await UdpIceListener.listen({ address: '127.0.0.1', port: a.port, reuseAddr: true });
  assert.equal(a.port, b.port);
  a.close();
  b.close();
});
