import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, test } from 'node:test';
import { TurnClient, TurnRequestError, TurnServer, turnRestCredentials } from '../../src/turn/index.js';
import {
  getAttribute,
  longTermKey,
  PasswordAlgorithm,
  StunAttr,
  StunBuilder,
  StunClass,
  StunMethod,
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
} from '../../src/wire/stun/index.js';
import { errorCodeOf, rawRequest, udpPeer, waitFor } from './helpers.js';

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

async function server(opts: Parameters<typeof TurnServer.start>[0] = {}): Promise<TurnServer> {
  const s = await TurnServer.start({
    udpPort: 0,
    tcpPort: 0,
    users: { alice: 'secret', bob: 'hunter2' },
    ...opts,
  });
  cleanups.push(() => s.close());
  return s;
}

async function client(s: TurnServer, username = 'alice', password = 'secret'): Promise<TurnClient> {
  const c = await TurnClient.connect({
    serverAddress: '127.0.0.1',
    serverPort: s.ports.udp,
    username,
    password,
  });
  cleanups.push(() => c.close());
  return c;
}

async function expectCode(p: Promise<unknown>, code: number): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof TurnRequestError && err.code === code);
}

test('allocate, permission, channel and indication relay both ways', { timeout: 10000 }, async () => {
  const s = await server({ allowLoopbackPeers: true });
  const peer = await udpPeer();
  cleanups.push(peer.close);
  const c = await client(s);
  const { relayed, mapped, lifetime } = await c.allocate();
  assert.equal(relayed.address, '127.0.0.1');
  assert.equal(mapped.port, c.localPort);
  assert.equal(lifetime, 600);
  const got: { data: string; channel: number; port: number | undefined }[] = [];
  c.onData = (data, from, channel) => got.push({ data: data.toString(), channel, port: from?.port });

  // Without a permission the relay neither sends out nor lets the peer in.
  c.sendIndication({ address: '127.0.0.1', port: peer.port }, Buffer.from('early'));
  peer.socket.send('sneak', relayed.port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(peer.received.length, 0);
  assert.equal(got.length, 0);
  assert.ok((s.stats().rejects['no-permission'] ?? 0) >= 2);

  await c.createPermission(['127.0.0.1']);
  c.sendIndication({ address: '127.0.0.1', port: peer.port }, Buffer.from('via-send'));
  await waitFor(() => peer.received.length === 1, 2000, 'indication at peer');
  assert.equal(peer.received[0]!.data.toString(), 'via-send');
  assert.equal(peer.received[0]!.port, relayed.port);
  peer.socket.send('back-as-data', relayed.port, '127.0.0.1');
  await waitFor(() => got.length === 1, 2000, 'data indication at client');
  assert.deepEqual(got[0], { data: 'back-as-data', channel: 0, port: peer.port });

  await c.channelBind(0x4001, { address: '127.0.0.1', port: peer.port });
  c.sendChannelData(0x4001, Buffer.from('via-channel'));
  await waitFor(() => peer.received.length === 2, 2000, 'channel data at peer');
  assert.equal(peer.received[1]!.data.toString(), 'via-channel');
  peer.socket.send('back-on-channel', relayed.port, '127.0.0.1');
  await waitFor(() => got.length === 2, 2000, 'channel data at client');
  assert.deepEqual(got[1], { data: 'back-on-channel', channel: 0x4001, port: peer.port });

  // Unbound channel: dropped.
  c.sendChannelData(0x4002, Buffer.from('nowhere'));
  await waitFor(() => (s.stats().rejects['no-channel'] ?? 0) === 1, 2000, 'no-channel reject');
  const stats = s.stats();
  assert.equal(stats.allocations, 1);
  assert.equal(stats.channels, 1);
  assert.equal(stats.relayedPackets, 4);
  assert.equal(stats.relayedBytes, 'via-send'.length + 'back-as-data'.length + 'via-channel'.length + 15);
});

test('forbidden peers get 403: loopback and private by default, each unlocked by its option', {
  timeout: 10000,
}, async () => {
  const strict = await server();
  const c = await client(strict);
  await c.allocate();
  for (const peer of [
    '127.0.0.1',
    '10.1.2.3',
    '192.168.1.1',
    '172.16.0.1',
    '169.254.1.1',
    '224.0.0.1',
    '0.0.0.0',
  ]) {
    await expectCode(c.createPermission([peer]), 403);
  }
  await c.createPermission(['198.51.100.7']);
  await expectCode(c.channelBind(0x4000, { address: '127.0.0.1', port: 9 }), 403);
  await expectCode(c.createPermission(['::1']), 443);
  assert.ok((strict.stats().rejects['forbidden-peer'] ?? 0) >= 8);

  const loopbackOnly = await server({ allowLoopbackPeers: true });
  const c2 = await client(loopbackOnly);
  await c2.allocate();
  await c2.createPermission(['127.0.0.1']);
  await expectCode(c2.createPermission(['10.0.0.1']), 403);

  const privateOnly = await server({ allowPrivatePeers: true });
  const c3 = await client(privateOnly);
  await c3.allocate();
  await c3.createPermission(['10.0.0.1', '169.254.0.1']);
  await expectCode(c3.createPermission(['127.0.0.1']), 403);
});

test('auth: wrong password 401, unknown user 401, REST credentials and their expiry', {
  timeout: 10000,
}, async () => {
  const s = await server({ authSecret: 'rest-secret' });
  await expectCode((await client(s, 'alice', 'nope')).allocate(), 401);
  await expectCode((await client(s, 'mallory', 'x')).allocate(), 401);
  assert.ok((s.stats().rejects.unauthorized ?? 0) >= 4);
  const fresh = turnRestCredentials('rest-secret', 'carol', 60);
  await (await client(s, fresh.username, fresh.credential)).allocate();
  const expired = turnRestCredentials('rest-secret', 'carol', -5);
  await expectCode((await client(s, expired.username, expired.credential)).allocate(), 401);
  const forged = turnRestCredentials('other-secret', 'carol', 60);
  await expectCode((await client(s, forged.username, forged.credential)).allocate(), 401);
  assert.equal(s.stats().allocations, 1);
});

test('allocate errors: 437 mismatch, 442 transport, 486 quota, 420 unknown attribute', {
  timeout: 10000,
}, async () => {
  const s = await server({ maxAllocationsPerUser: 2 });
  const c = await client(s);
  await c.allocate();
  await expectCode(c.allocate(), 437);
  await expectCode((await client(s)).allocate({ transport: 6 }), 442);
  await (await client(s)).allocate();
  await expectCode((await client(s)).allocate(), 486);
  // Another user is not affected by alice's quota.
  await (await client(s, 'bob', 'hunter2')).allocate();

  const socket = dgram.createSocket('udp4');
  cleanups.push(() => socket.close());
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const withUnknown = new StunBuilder(StunMethod.Allocate, StunClass.Request)
    .addRequestedTransport()
    .add(0x7777, Buffer.from('??'))
    .build();
  const answer = await rawRequest(socket, s.ports.udp, withUnknown);
  assert.equal(errorCodeOf(answer), 420);
  assert.deepEqual(getAttribute(answer, StunAttr.UnknownAttributes), Buffer.from([0x77, 0x77]));
});

test('508 when the relay port range is exhausted, and the port is reused after release', {
  timeout: 10000,
}, async () => {
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
  const port = probe.address().port;
  probe.close();
  const s = await server({ relayPortRange: [port, port] });
  const first = await client(s);
  const { relayed } = await first.allocate();
  assert.equal(relayed.port, port);
  await expectCode((await client(s)).allocate(), 508);
  assert.equal(s.stats().rejects['insufficient-capacity'], 1);
  // Permissions per allocation are capped at 1024 distinct peer IPs.
  for (let batch = 0; batch < 8; batch++) {
    await first.createPermission(Array.from({ length: 128 }, (_, i) => `198.51.${batch}.${i + 1}`));
  }
  await expectCode(first.createPermission(['203.0.113.1']), 508);
  await first.createPermission(['198.51.0.1']); // refreshing an existing one is fine
  assert.equal(s.stats().permissions, 1024);
  await first.refresh(0);
  assert.equal((await (await client(s)).allocate()).relayed.port, port);
});

test('dual-stack request on an IPv4 relay: IPv4 allocation with ADDRESS-ERROR-CODE 440', {
  timeout: 10000,
}, async () => {
  const s = await server();
  const socket = dgram.createSocket('udp4');
  cleanups.push(() => socket.close());
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const challenge = await rawRequest(
    socket,
    s.ports.udp,
    new StunBuilder(StunMethod.Allocate, StunClass.Request).addRequestedTransport().build(),
  );
  const realm = getAttribute(challenge, StunAttr.Realm)!.toString();
  const nonce = getAttribute(challenge, StunAttr.Nonce)!.toString();
  const key = longTermKey('alice', realm, 'secret');
  const allocate = (fill: (b: StunBuilder) => void): Buffer => {
    const b = new StunBuilder(StunMethod.Allocate, StunClass.Request).addRequestedTransport();
    fill(b);
    return b
      .add(StunAttr.Username, 'alice')
      .add(StunAttr.Realm, realm)
      .add(StunAttr.Nonce, nonce)
      .addMessageIntegrity(key)
      .build();
  };
  const both = await rawRequest(
    socket,
    s.ports.udp,
    allocate((b) =>
      b
        .addAddressFamily(StunAttr.RequestedAddressFamily, 4)
        .addAddressFamily(StunAttr.AdditionalAddressFamily, 6),
    ),
  );
  assert.equal(errorCodeOf(both), 400);
  const dual = await rawRequest(
    socket,
    s.ports.udp,
    allocate((b) => b.addAddressFamily(StunAttr.AdditionalAddressFamily, 6)),
  );
  assert.equal(dual.cls, StunClass.SuccessResponse);
  const addressError = getAttribute(dual, StunAttr.AddressErrorCode)!;
  assert.equal(addressError[0], 2);
  assert.equal(addressError[2]! * 100 + addressError[3]!, 440);
  assert.equal(getAttribute(dual, StunAttr.XorRelayedAddress)![1], 1, 'the relay is IPv4');
});

test('allocation churn leaks no relay ports or per-user counts', { timeout: 20000 }, async () => {
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
  const low = probe.address().port;
  probe.close();
  // Three ports and a quota of two: a leaked port or count shows up as 508 or 486 within rounds.
  const s = await server({ relayPortRange: [low, low + 2], maxAllocationsPerUser: 2 });
  for (let round = 0; round < 40; round++) {
    const c = await client(s);
    await c.allocate();
    assert.equal(await c.refresh(0), 0);
    c.close();
  }
  assert.equal(s.stats().allocations, 0);
  assert.equal(s.stats().rejects['insufficient-capacity'], undefined);
  assert.equal(s.stats().rejects.quota, undefined);
});

test('MESSAGE-INTEGRITY-SHA256 with a SHA-256 long-term key is accepted and answered in kind', {
  timeout: 10000,
}, async () => {
  const s = await server();
  const socket = dgram.createSocket('udp4');
  cleanups.push(() => socket.close());
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const challenge = await rawRequest(
    socket,
    s.ports.udp,
    new StunBuilder(StunMethod.Allocate, StunClass.Request).addRequestedTransport().build(),
  );
  const realm = getAttribute(challenge, StunAttr.Realm)!.toString();
  const nonce = getAttribute(challenge, StunAttr.Nonce)!.toString();
  const sha256Key = longTermKey('alice', realm, 'secret', PasswordAlgorithm.Sha256);
  const request = (key: Buffer) =>
    new StunBuilder(StunMethod.Allocate, StunClass.Request)
      .addRequestedTransport()
      .add(StunAttr.Username, 'alice')
      .add(StunAttr.Realm, realm)
      .add(StunAttr.Nonce, nonce)
      .addPasswordAlgorithm(PasswordAlgorithm.Sha256)
      .addMessageIntegritySha256(key)
      .build();
  const wrong = await rawRequest(socket, s.ports.udp, request(longTermKey('alice', realm, 'secret')));
  assert.equal(errorCodeOf(wrong), 401, 'an MD5 key does not verify a SHA-256 request');
  const ok = await rawRequest(socket, s.ports.udp, request(sha256Key));
  assert.equal(ok.cls, StunClass.SuccessResponse);
  assert.equal(verifyMessageIntegritySha256(ok, sha256Key), true);
  assert.equal(ok.integrityOffset, -1);
});

test('441: a request signed by another user on an existing allocation', { timeout: 10000 }, async () => {
  const s = await server();
  const socket = dgram.createSocket('udp4');
  cleanups.push(() => socket.close());
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const challenge = await rawRequest(
    socket,
    s.ports.udp,
    new StunBuilder(StunMethod.Allocate, StunClass.Request).addRequestedTransport().build(),
  );
  assert.equal(errorCodeOf(challenge), 401);
  const realm = getAttribute(challenge, StunAttr.Realm)!.toString();
  const nonce = getAttribute(challenge, StunAttr.Nonce)!.toString();
  const signed = (method: number, user: string, password: string, fill: (b: StunBuilder) => void): Buffer => {
    const b = new StunBuilder(method, StunClass.Request);
    fill(b);
    return b
      .add(StunAttr.Username, user)
      .add(StunAttr.Realm, realm)
      .add(StunAttr.Nonce, nonce)
      .addMessageIntegrity(longTermKey(user, realm, password))
      .build();
  };
  const allocateBytes = signed(StunMethod.Allocate, 'alice', 'secret', (b) => b.addRequestedTransport());
  const ok = await rawRequest(socket, s.ports.udp, allocateBytes);
  assert.equal(ok.cls, StunClass.SuccessResponse);
  assert.equal(verifyMessageIntegrity(ok, longTermKey('alice', realm, 'secret')), true);
  // A retransmitted Allocate gets the same answer, not 437.
  const again = await rawRequest(socket, s.ports.udp, allocateBytes);
  assert.deepEqual(again.raw, ok.raw);
  const wrongUser = await rawRequest(
    socket,
    s.ports.udp,
    signed(StunMethod.Refresh, 'bob', 'hunter2', (b) => b.addUint32(StunAttr.Lifetime, 0)),
  );
  assert.equal(errorCodeOf(wrongUser), 441);
  const badIntegrity = signed(StunMethod.Refresh, 'alice', 'secret', (b) =>
    b.addUint32(StunAttr.Lifetime, 0),
  );
  badIntegrity[27]! ^= 0x01; // inside the LIFETIME value
  assert.equal(errorCodeOf(await rawRequest(socket, s.ports.udp, badIntegrity)), 401);
  assert.equal(s.stats().allocations, 1);
});

test('channel bind rules: a channel keeps its peer and a peer its channel', { timeout: 10000 }, async () => {
  const s = await server({ allowLoopbackPeers: true });
  const c = await client(s);
  await c.allocate();
  await c.channelBind(0x4001, { address: '127.0.0.1', port: 5001 });
  await c.channelBind(0x4001, { address: '127.0.0.1', port: 5001 }); // refresh is fine
  await expectCode(c.channelBind(0x4001, { address: '127.0.0.1', port: 5002 }), 400);
  await expectCode(c.channelBind(0x4002, { address: '127.0.0.1', port: 5001 }), 400);
  await expectCode(c.channelBind(0x3fff, { address: '127.0.0.1', port: 5003 }), 400);
  await c.channelBind(0x4fff, { address: '127.0.0.1', port: 5003 });
  await expectCode(c.channelBind(0x4004, { address: '127.0.0.1', port: 0 }), 400);
  // Port 0 and the wrong family in a Send indication are dropped, not thrown at dgram.
  await c.createPermission(['127.0.0.1']);
  c.sendIndication({ address: '127.0.0.1', port: 0 }, Buffer.from('x'));
  c.sendIndication({ address: '::1', port: 9 }, Buffer.from('x'));
  await waitFor(() => (s.stats().rejects['address-family'] ?? 0) === 1, 2000, 'wrong family dropped');
  assert.equal(s.stats().relayedPackets, 0);
  assert.equal(s.stats().channels, 2);
  assert.equal(s.stats().permissions, 1);
});

test('refresh with lifetime 0 deletes; expiry of allocations, permissions and nonces', {
  timeout: 20000,
}, async () => {
  const s = await server({
    allowLoopbackPeers: true,
    // Generous margins: other work on the machine can stall this process for a second or two.
    defaultLifetime: 4,
    maxLifetime: 5,
    permissionLifetime: 1,
    nonceLifetimeSeconds: 1,
  });
  const c = await client(s);
  await c.allocate();
  assert.equal(await c.refresh(100), 5, 'lifetime clamped to maxLifetime');
  assert.equal(await c.refresh(0), 0);
  assert.equal(s.stats().allocations, 0);
  await expectCode(c.refresh(10), 437);

  const peer = await udpPeer();
  cleanups.push(peer.close);
  const c2 = await client(s);
  const { relayed } = await c2.allocate();
  await c2.createPermission(['127.0.0.1']);
  assert.equal(s.stats().permissions, 1);
  await waitFor(() => s.stats().permissions === 0, 4000, 'permission expiry');
  // The nonce is stale by now: the client is told 438 and retries with the new one.
  assert.equal(await c2.refresh(3), 3);
  assert.ok((s.stats().rejects['stale-nonce'] ?? 0) >= 1);
  const dropsBefore = s.stats().rejects['no-permission'] ?? 0;
  peer.socket.send('late', relayed.port, '127.0.0.1');
  await waitFor(() => (s.stats().rejects['no-permission'] ?? 0) > dropsBefore, 2000, 'drop after expiry');
  await c2.createPermission(['127.0.0.1']);
  await waitFor(() => s.stats().allocations === 0, 8000, 'allocation expiry');
  await expectCode(c2.createPermission(['127.0.0.1']), 437);
});

test('bandwidth cap drops what exceeds the per-allocation budget', { timeout: 10000 }, async () => {
  const s = await server({ allowLoopbackPeers: true, maxBitsPerSecondPerAllocation: 8 * 10_000 });
  const peer = await udpPeer();
  cleanups.push(peer.close);
  const c = await client(s);
  await c.allocate();
  await c.channelBind(0x4000, { address: '127.0.0.1', port: peer.port });
  const payload = Buffer.alloc(1000, 7);
  for (let i = 0; i < 30; i++) c.sendChannelData(0x4000, payload);
  await waitFor(
    () => peer.received.length + (s.stats().rejects.bandwidth ?? 0) === 30,
    3000,
    'all accounted',
  );
  assert.equal(peer.received.length, 10);
  assert.equal(s.stats().rejects.bandwidth, 20);
});

test('announcedIp is what clients see as the relayed address', { timeout: 5000 }, async () => {
  const s = await server({ announcedIp: '203.0.113.5' });
  const { relayed, mapped } = await (await client(s)).allocate();
  assert.equal(relayed.address, '203.0.113.5');
  assert.equal(mapped.address, '127.0.0.1');
});

test('binding request over UDP returns the reflexive address', { timeout: 5000 }, async () => {
  const s = await server();
  const socket = dgram.createSocket('udp4');
  cleanups.push(() => socket.close());
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const res = await rawRequest(
    socket,
    s.ports.udp,
    new StunBuilder(StunMethod.Binding, StunClass.Request).addFingerprint().build(),
  );
  assert.equal(res.cls, StunClass.SuccessResponse);
  const { decodeXorAddress, verifyFingerprint } = await import('../../src/wire/stun/index.js');
  assert.deepEqual(decodeXorAddress(getAttribute(res, StunAttr.XorMappedAddress)!, res.transactionId), {
    family: 4,
    address: '127.0.0.1',
    port: socket.address().port,
  });
  assert.equal(verifyFingerprint(res), true);
});
