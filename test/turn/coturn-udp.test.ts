// Our TURN server over UDP against coturn's turnutils_stunclient, turnutils_uclient and turnutils_peer.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TurnServer } from '../../src/turn/index.js';
import { assertClean, run, startUclientFixture } from './uclient.js';

let server: TurnServer;
let uclient: Awaited<ReturnType<typeof startUclientFixture>>['uclient'];
let closeFixture: (() => Promise<void>) | undefined;

before(async () => {
  ({ server, uclient, close: closeFixture } = await startUclientFixture());
});

after(async () => {
  await closeFixture?.();
});

test('turnutils_stunclient gets our XOR-MAPPED-ADDRESS', { timeout: 10000 }, async () => {
  const { output } = await run('turnutils_stunclient', ['-p', String(server.ports.udp), '127.0.0.1'], 8000);
  assert.match(output, /UDP reflexive addr: 127\.0\.0\.1:\d+/);
});

test('uclient over UDP with channels: 10 clients x 100 messages, nothing lost', {
  timeout: 30000,
}, async () => {
  const before = server.stats().relayedPackets;
  assertClean(await uclient(['-u', 'alice', '-w', 'secret', '-c'], server.ports.udp, 10, 100), 1000);
  assert.ok(server.stats().relayedPackets - before >= 2000);
});

test('uclient over UDP with Send/Data indications', { timeout: 30000 }, async () => {
  assertClean(await uclient(['-u', 'alice', '-w', 'secret', '-c', '-s'], server.ports.udp), 500);
});

test('uclient with TURN REST credentials (-W)', { timeout: 30000 }, async () => {
  assertClean(await uclient(['-W', 'rest-secret', '-u', 'carol', '-c'], server.ports.udp, 4, 30), 120);
});

test('uclient with a wrong password is refused with 401s and relays nothing', {
  timeout: 30000,
}, async () => {
  const before = server.stats();
  const r = await uclient(['-u', 'alice', '-w', 'wrong', '-c'], server.ports.udp, 1, 5);
  assert.match(r.output, /Cannot complete Allocation/);
  const afterStats = server.stats();
  assert.ok((afterStats.rejects.unauthorized ?? 0) > (before.rejects.unauthorized ?? 0));
  assert.equal(afterStats.relayedPackets, before.relayedPackets);
  const restWrong = await uclient(['-W', 'not-the-secret', '-u', 'carol', '-c'], server.ports.udp, 1, 5);
  assert.match(restWrong.output, /Cannot complete Allocation/);
});
