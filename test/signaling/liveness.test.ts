// Reconnection within the grace period, expiry after it, and detection of silent peers by ping.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { delay, eventually, startServer, TestClient, token } from './helpers.js';

test('reconnect within grace keeps the peerId; others see nothing', { timeout: 10_000 }, async (t) => {
  const server = await startServer({ reconnectGraceMs: 1500 });
  const alice = await TestClient.connect(server.port);
  let bob = await TestClient.connect(server.port);
  t.after(async () => {
    await Promise.all([alice.terminate(), bob.terminate()]);
    await server.close();
  });
  const a = await alice.join(await token('alice', 'r'));
  const bobToken = await token('bob', 'r');
  const b = await bob.join(bobToken, { displayName: 'Bob' });
  await alice.notification('peerJoined');

  await bob.terminate();
  await delay(200);
  bob = await TestClient.connect(server.port);
  const resumed = await bob.join(bobToken, { sessionId: b.sessionId });
  assert.equal(resumed.peerId, b.peerId);
  assert.equal(resumed.sessionId, b.sessionId);
  assert.deepEqual(resumed.peers, [{ peerId: a.peerId, displayName: 'alice' }]);

  // The resumed peer signals and is signalled as before.
  assert.equal((await alice.request('signal', { to: b.peerId, candidate: null })).ok, true);
  assert.deepEqual((await bob.notification('signal')).data, { from: a.peerId, candidate: null });
  await delay(1700); // past the original grace period: the cancelled timer must not fire
  assert.equal(alice.notifications('peerLeft').length, 0);
  assert.equal(alice.notifications('peerJoined').length, 1);
  assert.deepEqual(server.stats(), { sockets: 2, peers: 2, rooms: 1 });
});

test('after the grace period peerLeft arrives and the session is gone', { timeout: 10_000 }, async (t) => {
  const server = await startServer({ reconnectGraceMs: 300 });
  const alice = await TestClient.connect(server.port);
  let bob = await TestClient.connect(server.port);
  t.after(async () => {
    await Promise.all([alice.terminate(), bob.terminate()]);
    await server.close();
  });
  const left: string[] = [];
  server.on('peerLeft', (e) => left.push(e.peerId));
  await alice.join(await token('alice', 'r'));
  const bobToken = await token('bob', 'r');
  const b = await bob.join(bobToken);
  const start = Date.now();
  await bob.terminate();
  const peerLeft = await alice.notification('peerLeft', 3000);
  assert.deepEqual(peerLeft.data, { peerId: b.peerId });
  assert.ok(Date.now() - start >= 250, 'not before the grace period');
  assert.deepEqual(left, [b.peerId]);

  // The old sessionId no longer resumes: a fresh peer, announced as new.
  bob = await TestClient.connect(server.port);
  const fresh = await bob.join(bobToken, { sessionId: b.sessionId });
  assert.notEqual(fresh.peerId, b.peerId);
  assert.deepEqual((await alice.notification('peerJoined')).data, {
    peerId: fresh.peerId,
    displayName: 'bob',
  });
});

test('a sessionId works only with a token of the same identity and room', { timeout: 10_000 }, async (t) => {
  const server = await startServer({ reconnectGraceMs: 2000 });
  const alice = await TestClient.connect(server.port);
  const bob = await TestClient.connect(server.port);
  const mallory = await TestClient.connect(server.port);
  t.after(async () => {
    await Promise.all([alice.terminate(), bob.terminate(), mallory.terminate()]);
    await server.close();
  });
  await alice.join(await token('alice', 'r'));
  const b = await bob.join(await token('bob', 'r'));
  await bob.terminate();
  // Mallory learned bob's sessionId but holds her own token: she becomes a new peer.
  const m = await mallory.join(await token('mallory', 'r'), { sessionId: b.sessionId });
  assert.notEqual(m.peerId, b.peerId);
  assert.equal(server.stats().peers, 3, 'bob is still in his grace period');
});

test('resuming while the old socket still looks open replaces it', { timeout: 10_000 }, async (t) => {
  const server = await startServer();
  const alice = await TestClient.connect(server.port);
  const bobOld = await TestClient.connect(server.port);
  const bobNew = await TestClient.connect(server.port);
  t.after(async () => {
    await Promise.all([alice.terminate(), bobOld.terminate(), bobNew.terminate()]);
    await server.close();
  });
  const a = await alice.join(await token('alice', 'r'));
  const bobToken = await token('bob', 'r');
  const b = await bobOld.join(bobToken);
  const resumed = await bobNew.join(bobToken, { sessionId: b.sessionId });
  assert.equal(resumed.peerId, b.peerId);
  await bobOld.closed; // the server dropped the stale socket
  await alice.request('signal', { to: b.peerId, candidate: null });
  assert.deepEqual((await bobNew.notification('signal')).data, { from: a.peerId, candidate: null });
  await delay(100);
  assert.equal(alice.notifications('peerLeft').length, 0);
  assert.deepEqual(server.stats(), { sockets: 2, peers: 2, rooms: 1 });
});

test('a silent raw TCP client that completed the upgrade is terminated', { timeout: 10_000 }, async (t) => {
  const server = await startServer({ pingIntervalMs: 100 });
  const socket = net.connect(server.port, '127.0.0.1');
  t.after(async () => {
    socket.destroy();
    await server.close();
  });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const key = randomBytes(16).toString('base64');
  socket.write(
    `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk.toString('latin1');
  });
  await eventually(() => received.startsWith('HTTP/1.1 101'), 2000, 'upgrade');
  assert.equal(server.stats().sockets, 1);
  const start = Date.now();
  // Never answers the pings it is sent.
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const elapsed = Date.now() - start;
  assert.ok(elapsed >= 150 && elapsed < 1500, `terminated after ${elapsed} ms`);
  assert.ok(received.includes('\x89'), 'pings (opcode 0x9) were sent');
  await eventually(() => server.stats().sockets === 0, 1000, 'socket forgotten');
});

test('a joined ws client with pong disabled is dropped; its peer leaves after grace', {
  timeout: 10_000,
}, async (t) => {
  const server = await startServer({ pingIntervalMs: 100, reconnectGraceMs: 200 });
  const alice = await TestClient.connect(server.port);
  const silent = await TestClient.connect(server.port, { autoPong: false });
  t.after(async () => {
    await Promise.all([alice.terminate(), silent.terminate()]);
    await server.close();
  });
  await alice.join(await token('alice', 'r'));
  const s = await silent.join(await token('silent', 'r'));
  const closed = await silent.closed;
  assert.equal(closed.code, 1006, 'terminated without a close frame');
  assert.deepEqual((await alice.notification('peerLeft', 3000)).data, { peerId: s.peerId });
  // Alice answers pings (ws does by default) and stays.
  await delay(400);
  assert.equal(alice.ws.readyState, alice.ws.OPEN);
  assert.deepEqual(server.stats(), { sockets: 1, peers: 1, rooms: 1 });
});

test('close() ends sockets and grace timers; the process can exit', { timeout: 10_000 }, async () => {
  const server = await startServer({ reconnectGraceMs: 60_000 });
  const a = await TestClient.connect(server.port);
  const b = await TestClient.connect(server.port);
  await a.join(await token('a', 'r'));
  await b.join(await token('b', 'r'));
  await b.terminate(); // b enters a 60 s grace period
  await eventually(() => server.stats().sockets === 1);
  await server.close();
  assert.equal((await a.closed).code, 1006);
  assert.deepEqual(server.stats(), { sockets: 0, peers: 0, rooms: 0 });
  await assert.rejects(TestClient.connect(server.port));
});

test('wrong path is refused; plain HTTP gets 426', { timeout: 10_000 }, async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  await assert.rejects(TestClient.connect(server.port, {}, '/other'));
  const response = await fetch(`http://127.0.0.1:${server.port}/ws`);
  assert.equal(response.status, 426);
  await response.text();
});

test('a socket that never joins is closed 1008; one that joined and left stays', {
  timeout: 10_000,
}, async (t) => {
  const server = await startServer({ pingIntervalMs: 50, joinTimeoutMs: 300 });
  const idle = await TestClient.connect(server.port);
  const member = await TestClient.connect(server.port);
  t.after(async () => {
    await Promise.all([idle.terminate(), member.terminate()]);
    await server.close();
  });
  await member.join(await token('member', 'r'));
  await member.request('leave', {});
  const closed = await idle.closed;
  assert.equal(closed.code, 1008);
  assert.equal(closed.reason, 'join timeout');
  await delay(300);
  assert.equal(member.ws.readyState, member.ws.OPEN);
  assert.equal(server.stats().sockets, 1);
});

test('upgrades beyond maxSockets are refused with 503 until one closes', { timeout: 10_000 }, async (t) => {
  const server = await startServer({ maxSockets: 2 });
  const first = await TestClient.connect(server.port);
  const second = await TestClient.connect(server.port);
  const later: TestClient[] = [];
  t.after(async () => {
    await Promise.all([first, second, ...later].map((c) => c.terminate()));
    await server.close();
  });
  await assert.rejects(TestClient.connect(server.port), /503/);
  await first.close();
  await eventually(() => server.stats().sockets === 1);
  later.push(await TestClient.connect(server.port));
  await later[0]!.join(await token('third', 'r'));
  assert.equal(server.stats().sockets, 2);
});

test('attached to an existing HTTP server: upgrades on the path only', { timeout: 10_000 }, async (t) => {
  const http = createServer((_req, res) => res.end('app'));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  const port = (http.address() as AddressInfo).port;
  const server = await startServer({ server: http, port: undefined, path: '/signal' });
  const clients: TestClient[] = [];
  t.after(async () => {
    await Promise.all(clients.map((c) => c.terminate()));
    await server.close();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
  assert.equal(server.port, 0, 'no port of its own');
  clients.push(await TestClient.connect(port, {}, '/signal'));
  await clients[0]!.join(await token('a', 'attached'));
  assert.equal(
    await (await fetch(`http://127.0.0.1:${port}/`)).text(),
    'app',
    'plain HTTP still reaches the app',
  );
  // With no other upgrade listener, another path is refused rather than left hanging.
  await assert.rejects(TestClient.connect(port, {}, '/elsewhere'), /404/);
  assert.equal(server.stats().peers, 1);
});

test('a resumed join lists who arrived while the peer was away', { timeout: 10_000 }, async (t) => {
  const server = await startServer({ reconnectGraceMs: 3000 });
  const alice = await TestClient.connect(server.port);
  let bob = await TestClient.connect(server.port);
  const carol = await TestClient.connect(server.port);
  t.after(async () => {
    await Promise.all([alice.terminate(), bob.terminate(), carol.terminate()]);
    await server.close();
  });
  const a = await alice.join(await token('alice', 'r'));
  const bobToken = await token('bob', 'r');
  const b = await bob.join(bobToken);
  await bob.terminate();
  const c = await carol.join(await token('carol', 'r'));
  assert.deepEqual(
    c.peers.map((p) => p.peerId).sort(),
    [a.peerId, b.peerId].sort(),
    'a peer in its grace period is still listed',
  );
  bob = await TestClient.connect(server.port);
  const resumed = await bob.join(bobToken, { sessionId: b.sessionId });
  assert.equal(resumed.peerId, b.peerId);
  assert.deepEqual(resumed.peers.map((p) => p.peerId).sort(), [a.peerId, c.peerId].sort());
  assert.equal(bob.notifications('peerJoined').length, 0, 'missed notifications are not replayed');
});
