import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { SignalingServer } from '../../src/signaling/index.js';
import { eventually, startServer, TestClient, token } from './helpers.js';

let server: SignalingServer;
const clients: TestClient[] = [];

async function client(): Promise<TestClient> {
  const c = await TestClient.connect(server.port);
  clients.push(c);
  return c;
}

before(async () => {
  server = await startServer();
});
after(async () => {
  await Promise.all(clients.map((c) => c.terminate()));
  await server.close();
});

test('two then three peers join one room and see each other', { timeout: 10_000 }, async () => {
  const alice = await client();
  const bob = await client();
  const carol = await client();
  const a = await alice.join(await token('alice', 'room-a', { name: 'Alice' }));
  assert.match(a.peerId, /^p-/);
  assert.match(a.sessionId, /^s-/);
  assert.equal(a.roomId, 'room-a');
  assert.equal(a.mode, 'p2p');
  assert.deepEqual(a.peers, []);
  assert.deepEqual(a.permissions, { publish: true, subscribe: true, publishData: true });
  assert.equal(a.iceServers.length, 2);
  assert.equal(a.iceServers[1]!.username, `86400:alice`);

  const b = await bob.join(await token('bob', 'room-a'), { displayName: 'Bobby' });
  assert.deepEqual(b.peers, [{ peerId: a.peerId, displayName: 'Alice' }]);
  const joinedB = await alice.notification('peerJoined');
  assert.deepEqual(joinedB.data, { peerId: b.peerId, displayName: 'Bobby' });

  const c = await carol.join(await token('carol', 'room-a'));
  assert.deepEqual(
    c.peers.map((p) => p.peerId).sort(),
    [a.peerId, b.peerId].sort(),
    'the third peer sees both earlier ones',
  );
  // Display name falls back to the token subject when neither join nor token names one.
  assert.deepEqual((await alice.notification('peerJoined')).data, { peerId: c.peerId, displayName: 'carol' });
  assert.deepEqual((await bob.notification('peerJoined')).data, { peerId: c.peerId, displayName: 'carol' });
  assert.deepEqual(server.stats(), { sockets: 3, peers: 3, rooms: 1 });

  // Offer / answer / candidates / end-of-candidates, relayed with the sender's peerId.
  const offer = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' };
  assert.equal((await alice.request('signal', { to: b.peerId, description: offer })).ok, true);
  const gotOffer = await bob.notification('signal');
  assert.deepEqual(gotOffer.data, { from: a.peerId, description: offer });

  const answer = { type: 'answer', sdp: 'v=0\r\n' };
  assert.equal((await bob.request('signal', { to: a.peerId, description: answer })).ok, true);
  assert.deepEqual((await alice.notification('signal')).data, { from: b.peerId, description: answer });

  const candidate = {
    candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host',
    sdpMid: '0',
    sdpMLineIndex: 0,
  };
  assert.equal((await alice.request('signal', { to: b.peerId, candidate })).ok, true);
  assert.deepEqual((await bob.notification('signal')).data, { from: a.peerId, candidate });
  assert.equal((await alice.request('signal', { to: b.peerId, candidate: null })).ok, true);
  assert.deepEqual((await bob.notification('signal')).data, { from: a.peerId, candidate: null });
  assert.equal(carol.notifications('signal').length, 0, 'signals go only to their target');

  // Exactly one of description / candidate.
  const both = await alice.request('signal', { to: b.peerId, description: offer, candidate });
  assert.equal(both.error?.code, 'bad_request');
  const neither = await alice.request('signal', { to: b.peerId });
  assert.equal(neither.error?.code, 'bad_request');
  const toSelf = await alice.request('signal', { to: a.peerId, candidate: null });
  assert.equal(toSelf.error?.code, 'not_found');

  // leave: others get peerLeft, the socket stays open and can join again.
  assert.deepEqual((await carol.request('leave', {})).data, {});
  assert.deepEqual((await alice.notification('peerLeft')).data, { peerId: c.peerId });
  assert.deepEqual((await bob.notification('peerLeft')).data, { peerId: c.peerId });
  const notJoined = await carol.request('signal', { to: a.peerId, candidate: null });
  assert.equal(notJoined.error?.code, 'not_joined');
  const again = await carol.join(await token('carol', 'room-a'));
  assert.notEqual(again.peerId, c.peerId);
  assert.equal(again.peers.length, 2);
});

test('signals never cross rooms', { timeout: 10_000 }, async () => {
  const x = await client();
  const y = await client();
  const px = await x.join(await token('x', 'room-x'));
  const py = await y.join(await token('y', 'room-y'));
  const response = await x.request('signal', { to: py.peerId, description: { type: 'offer', sdp: 'v=0' } });
  assert.equal(response.ok, false);
  assert.equal(response.error?.code, 'not_found');
  const unknown = await x.request('signal', { to: 'p-nobody', candidate: null });
  assert.equal(unknown.error?.code, 'not_found');
  // Give any stray delivery time to arrive, then check nothing did.
  const echo = await y.request('signal', { to: px.peerId, candidate: null });
  assert.equal(echo.error?.code, 'not_found');
  assert.equal(y.notifications('signal').length, 0);
  assert.equal(x.notifications('signal').length, 0);
  assert.equal(y.notifications('peerJoined').length, 0, 'a peer of another room is not announced');
});

test('protocol errors: second join, not_joined, unknown method', { timeout: 10_000 }, async () => {
  const c = await client();
  const early = await c.request('signal', { to: 'p-x', candidate: null });
  assert.equal(early.error?.code, 'not_joined');
  const leaveEarly = await c.request('leave', {});
  assert.equal(leaveEarly.error?.code, 'not_joined');
  const unknown = await c.request('teleport', {});
  assert.deepEqual(unknown.error?.code, 'unknown_method');
  await c.join(await token('z', 'room-z'));
  const second = await c.request('join', { token: await token('z', 'room-z') });
  assert.equal(second.error?.code, 'bad_request');
  assert.match(second.error?.message ?? '', /already joined/);
});

test('requests on one socket are answered in order, even behind an async join', {
  timeout: 10_000,
}, async () => {
  const a = await client();
  const b = await client();
  const pb = await b.join(await token('ord-b', 'room-order'));
  const t = await token('ord-a', 'room-order');
  // join (async token check) then signal immediately, without waiting for the join answer.
  a.send({ type: 'request', id: 1, method: 'join', data: { token: t } });
  a.send({ type: 'request', id: 2, method: 'signal', data: { to: pb.peerId, candidate: null } });
  const second = await a.waitFor((m) => m.type === 'response' && m.id === 2);
  assert.equal(second.ok, true, 'the signal ran after the join completed');
  const ids = a.received.filter((m) => m.type === 'response').map((m) => m.id);
  assert.deepEqual(ids, [1, 2]);
});

test('no leaks: many joins and leaves leave every map empty', { timeout: 30_000 }, async () => {
  await Promise.all(clients.splice(0).map((c) => c.terminate()));
  await server.close();
  server = await startServer({ reconnectGraceMs: 50 });
  const tokens = await Promise.all(
    Array.from({ length: 10 }, (_, i) => token(`leak-${i}`, `leak-room-${i % 3}`)),
  );
  for (let round = 0; round < 20; round++) {
    const batch = await Promise.all(tokens.map(() => TestClient.connect(server.port)));
    await Promise.all(batch.map((c, i) => c.join(tokens[i]!)));
    assert.equal(server.stats().peers, 10);
    assert.equal(server.stats().rooms, 3);
    // Half leave politely, half just drop (and expire after the grace period).
    await Promise.all(
      batch.map((c, i) => (i % 2 === 0 ? c.request('leave', {}).then(() => c.close()) : c.terminate())),
    );
    await eventually(() => server.stats().peers === 0, 3000, 'dropped peers expire');
  }
  await eventually(() => server.stats().sockets === 0 && server.stats().peers === 0, 5000, 'all peers gone');
  assert.deepEqual(server.debugSizes(), { connections: 0, rooms: 0, sessions: 0, peers: 0 });
  assert.deepEqual(server.stats(), { sockets: 0, peers: 0, rooms: 0 });
});
