// Bad input from one peer gets the documented error or close, while two other peers in the same
// room keep exchanging signals as if nothing happened.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SignJWT } from 'jose';
import type { SignalingServer } from '../../src/signaling/index.js';
import { eventually, SECRET, startServer, TestClient, token } from './helpers.js';

const ROOM = 'errors-room';
let server: SignalingServer;
let alice: TestClient;
let bob: TestClient;
let bobId = '';
let exchanged = 0;
const attackers: TestClient[] = [];

/** One signal alice → bob, checked end to end. */
async function bystandersExchange(): Promise<void> {
  const tag = `x${++exchanged}`;
  const response = await alice.request('signal', { to: bobId, candidate: { candidate: '', sdpMid: tag } });
  assert.equal(response.ok, true, 'bystander signal accepted');
  const got = await bob.waitFor(
    (m) => m.method === 'signal' && (m.data?.candidate as { sdpMid?: string } | undefined)?.sdpMid === tag,
    3000,
    `bystander signal ${tag}`,
  );
  assert.ok(got);
}

async function attacker(join = true): Promise<TestClient> {
  const c = await TestClient.connect(server.port);
  attackers.push(c);
  if (join) await c.join(await token(`attacker-${attackers.length}`, ROOM));
  return c;
}

before(async () => {
  server = await startServer({ maxMessageBytes: 16 * 1024, maxMessagesPerSecond: 50 });
  alice = await TestClient.connect(server.port);
  bob = await TestClient.connect(server.port);
  await alice.join(await token('alice', ROOM));
  bobId = (await bob.join(await token('bob', ROOM))).peerId;
});

after(async () => {
  await Promise.all([alice, bob, ...attackers].map((c) => c.terminate()));
  await server.close();
});

test('bad tokens are unauthorized and create no peer', { timeout: 10_000 }, async () => {
  const c = await attacker(false);
  const key = new TextEncoder().encode(SECRET);
  const expired = await new SignJWT({ room: ROOM })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('mallory')
    .setExpirationTime(Math.floor(Date.now() / 1000) - 5)
    .sign(key);
  const wrongSecret = await token('mallory', ROOM, { secret: 'not-the-secret' });
  const good = await token('mallory', ROOM);
  const forged = good.replace(/\.[^.]+$/, '.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
  for (const [what, t] of [
    ['expired', expired],
    ['wrong secret', wrongSecret],
    ['forged signature', forged],
    ['garbage', 'not-a-jwt'],
    ['empty', ''],
  ] as const) {
    const response = await c.request('join', { token: t });
    assert.equal(response.ok, false, what);
    assert.equal(response.error?.code, 'unauthorized', what);
  }
  const announcedBefore = alice.notifications('peerJoined').length;
  const missing = await c.request('join', {});
  assert.equal(missing.error?.code, 'unauthorized');
  assert.equal(server.stats().peers, 2, 'no peer was created');
  await bystandersExchange();
  assert.equal(alice.notifications('peerJoined').length, announcedBefore, 'nobody was announced');
  await bystandersExchange();
});

test('garbage JSON → bad_json with id null; the fifth closes 1007', { timeout: 10_000 }, async () => {
  const c = await attacker();
  for (const frame of ['not json', '[1,2,3]', '42', 'null']) {
    c.send(frame);
  }
  await c.waitFor(
    () => c.received.filter((m) => m.error?.code === 'bad_json').length === 4,
    3000,
    '4 bad_json',
  );
  for (const m of c.received.filter((r) => r.error?.code === 'bad_json')) assert.equal(m.id, null);
  // Still usable after four.
  assert.equal((await c.request('leave', {})).ok, true);
  await bystandersExchange();
  c.send('{"unterminated');
  const closed = await c.closed;
  assert.equal(closed.code, 1007);
  await bystandersExchange();
});

test('wrong types → bad_request, with the id when it is readable', { timeout: 10_000 }, async () => {
  const c = await attacker();
  const cases: Array<[unknown, number | null]> = [
    [{ type: 'request', id: 'seven', method: 'signal', data: {} }, null],
    [{ type: 'request', id: -1, method: 'signal' }, null],
    [{ type: 'request', id: 1.5, method: 'signal' }, null],
    [{ type: 'request', id: 11, method: 7 }, 11],
    [{ type: 'request', id: 12, method: 'signal', data: { to: 123, candidate: null } }, 12],
    [
      {
        type: 'request',
        id: 13,
        method: 'signal',
        data: { to: bobId, description: { type: 'bogus', sdp: '' } },
      },
      13,
    ],
    [{ type: 'request', id: 14, method: 'signal', data: 'a string' }, 14],
    [{ type: 'request', id: 15, method: 'join', data: { token: 5 } }, 15],
    [{ type: 'launch', id: 16 }, 16],
    [{ id: 17 }, 17],
    [{ type: 'response', id: 18, ok: 'maybe' }, 18],
  ];
  for (const [frame] of cases) c.send(frame);
  await c.waitFor(
    () => c.received.filter((m) => m.error?.code === 'bad_request').length === cases.length,
    3000,
    'all bad_request answers',
  );
  const answers = c.received.filter((m) => m.error?.code === 'bad_request');
  assert.deepEqual(
    answers.map((m) => m.id),
    cases.map(([, id]) => id),
  );
  assert.ok(answers.every((m) => typeof m.error?.message === 'string' && m.error.message.length > 0));
  assert.equal(bob.notifications('signal').length, exchanged, 'nothing malformed reached bob');
  // A well-formed response or notification from a client is ignored, not answered.
  c.send({ type: 'response', id: 99, ok: true, data: {} });
  c.send({ type: 'notification', method: 'hello', data: {} });
  c.send({ type: 'request', id: 100, method: 'nope' });
  const last = await c.waitFor((m) => m.id === 100);
  assert.equal(last.error?.code, 'unknown_method');
  assert.equal(c.received.length, 1 + cases.length + 1, 'join answer, the bad_requests, unknown_method');
  await bystandersExchange();
});

test('binary frames → bad_json', { timeout: 10_000 }, async () => {
  const c = await attacker();
  c.ws.send(Buffer.from('{"type":"request","id":1,"method":"leave"}'), { binary: true });
  const answer = await c.waitFor((m) => m.error?.code === 'bad_json');
  assert.equal(answer.id, null);
  await bystandersExchange();
});

test('an oversize frame closes the socket 1009 and drops its peer after the grace period', {
  timeout: 20_000,
}, async () => {
  const c = await attacker();
  const peersBefore = server.stats().peers;
  c.send({
    type: 'request',
    id: 1,
    method: 'signal',
    data: { to: bobId, description: { type: 'offer', sdp: 'a'.repeat(17_000) } },
  });
  const closed = await c.closed;
  assert.equal(closed.code, 1009);
  assert.equal(server.stats().peers, peersBefore, 'in its grace period, still counted');
  await bystandersExchange();
  assert.ok(
    !bob.received.some((m) => (m.data?.description as { sdp?: string } | undefined)?.sdp?.length === 17_000),
  );
});

test('a flood gets rate_limited, then close 1008; bystanders are unaffected', {
  timeout: 20_000,
}, async () => {
  const c = await attacker();
  let sent = 0;
  const flood = async () => {
    // Bounded: 2000 frames at most, in bursts, stopping once the socket is gone.
    for (let burst = 0; burst < 20 && c.ws.readyState === c.ws.OPEN; burst++) {
      for (let i = 0; i < 100; i++) c.send({ type: 'request', id: ++sent, method: 'nope' });
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const bystanders = (async () => {
    for (let i = 0; i < 10; i++) await bystandersExchange();
  })();
  await Promise.all([flood(), bystanders]);
  const closed = await c.closed;
  assert.equal(closed.code, 1008);
  const limited = c.received.filter((m) => m.error?.code === 'rate_limited');
  const unknown = c.received.filter((m) => m.error?.code === 'unknown_method');
  assert.ok(limited.length > 0, 'some were rate_limited');
  // The burst allowance (2 × 50, one spent on join) and a little refill were served normally.
  assert.ok(unknown.length >= 99 && unknown.length < 150, `served ${unknown.length}`);
  await bystandersExchange();
});

test('a moderate sender within the limit is never limited', { timeout: 20_000 }, async () => {
  const c = await attacker();
  // 60 requests spread over 1.5 s: 40/s, under the 50/s limit.
  for (let i = 0; i < 60; i++) {
    c.send({ type: 'request', id: 1000 + i, method: 'nope' });
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await c.waitFor((m) => m.id === 1059);
  assert.equal(c.received.filter((m) => m.error?.code === 'rate_limited').length, 0);
  await bystandersExchange();
});

test('a peer that stops reading is dropped once its backlog passes maxBufferedBytes', {
  timeout: 20_000,
}, async (t) => {
  const local = await startServer({ maxBufferedBytes: 256 * 1024, maxMessagesPerSecond: 10_000 });
  const sender = await TestClient.connect(local.port);
  const reader = await TestClient.connect(local.port);
  const stalled = await TestClient.connect(local.port);
  t.after(async () => {
    await Promise.all([sender, reader, stalled].map((c) => c.terminate()));
    await local.close();
  });
  await sender.join(await token('sender', 'slow'));
  const readerId = (await reader.join(await token('reader', 'slow'))).peerId;
  const stalledId = (await stalled.join(await token('stalled', 'slow'))).peerId;
  // The stalled client stops reading its socket: the kernel buffers fill, then the server's.
  (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  const sdp = 'a'.repeat(30_000);
  let sent = 0;
  for (let i = 0; i < 600 && local.stats().sockets === 3; i++) {
    const response = await sender.request('signal', { to: stalledId, description: { type: 'offer', sdp } });
    assert.equal(response.ok, true);
    sent++;
  }
  await eventually(() => local.stats().sockets === 2, 5000, 'stalled socket dropped');
  assert.ok(sent < 600, `dropped after ${sent} offers of 30 KB`);
  // The others carry on.
  assert.equal((await sender.request('signal', { to: readerId, candidate: null })).ok, true);
  await reader.notification('signal');
});
