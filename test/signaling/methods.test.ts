// The method registry: server-wide and per-room methods plug in with their own schema,
// permission and handler (the way SFU requests will), and their failures map to error codes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { issueToken, MethodRegistry, SignalingError } from '../../src/signaling/index.js';
import { delay, SECRET, startServer, TestClient, token } from './helpers.js';

test('room methods, permissions and handler failures', { timeout: 10_000 }, async (t) => {
  const server = await startServer();
  const clients: TestClient[] = [];
  t.after(async () => {
    await Promise.all(clients.map((c) => c.terminate()));
    await server.close();
  });
  const produced: Array<{ peerId: string; kind: string }> = [];
  const closedRooms: string[] = [];
  server.on('roomCreated', (room) => {
    if (!room.id.startsWith('sfu-')) return;
    room.mode = 'sfu';
    room.appData.producers = produced;
    room.methods = new MethodRegistry()
      .register('produce', {
        scope: 'peer',
        permission: 'publish',
        schema: z.object({ kind: z.enum(['audio', 'video']) }),
        handle: async (ctx, data) => {
          await delay(5);
          produced.push({ peerId: ctx.peer.id, kind: data.kind });
          return { id: `prod-${produced.length}` };
        },
      })
      .register('explode', {
        scope: 'peer',
        schema: z.object({ how: z.enum(['signaling', 'bug']) }),
        handle: (_ctx, data) => {
          if (data.how === 'signaling') throw new SignalingError('not_found', 'no such producer');
          throw new Error('a bug');
        },
      });
  });
  server.on('roomClosed', (room) => closedRooms.push(room.id));
  // A throwing metrics listener must not break joins.
  server.on('peerJoined', () => {
    throw new Error('metrics broke');
  });
  server.methods.register('whoami', {
    scope: 'connection',
    schema: z.object({}),
    handle: (ctx) => ({ peerId: ctx.connection.peer?.id ?? null }),
  });

  const publisher = await TestClient.connect(server.port);
  const viewer = await TestClient.connect(server.port);
  const p2p = await TestClient.connect(server.port);
  clients.push(publisher, viewer, p2p);

  assert.deepEqual((await publisher.request('whoami', {})).data, { peerId: null });
  const pub = await publisher.join(await token('pub', 'sfu-1'));
  assert.equal(pub.mode, 'sfu');
  assert.deepEqual((await publisher.request('whoami')).data, { peerId: pub.peerId });
  const viewerToken = await issueToken(
    SECRET,
    { sub: 'viewer', room: 'sfu-1', perms: { publish: false } },
    60,
  );
  const view = await viewer.join(viewerToken);
  assert.deepEqual(view.permissions, { publish: false, subscribe: true, publishData: true });

  const ok = await publisher.request('produce', { kind: 'video' });
  assert.deepEqual(ok.data, { id: 'prod-1' });
  assert.deepEqual(produced, [{ peerId: pub.peerId, kind: 'video' }]);
  assert.equal((await viewer.request('produce', { kind: 'audio' })).error?.code, 'forbidden');
  assert.equal((await publisher.request('produce', { kind: 'smell' })).error?.code, 'bad_request');
  assert.equal((await publisher.request('explode', { how: 'signaling' })).error?.code, 'not_found');
  const bug = await publisher.request('explode', { how: 'bug' });
  assert.deepEqual(bug.error, { code: 'internal', message: 'internal error' });

  // Room methods exist only in their room.
  await p2p.join(await token('p2p', 'plain'));
  assert.equal((await p2p.request('produce', { kind: 'audio' })).error?.code, 'unknown_method');
  const outsider = await TestClient.connect(server.port);
  clients.push(outsider);
  assert.equal((await outsider.request('produce', { kind: 'audio' })).error?.code, 'unknown_method');

  // Duplicate registration is a programming error.
  assert.throws(() =>
    server.methods.register('join', { scope: 'connection', schema: z.object({}), handle: () => ({}) }),
  );

  await publisher.request('leave');
  await viewer.request('leave');
  assert.deepEqual(closedRooms, ['sfu-1']);
  assert.equal(server.room('sfu-1'), undefined);
  assert.equal(server.room('plain')?.mode, 'p2p');
});

test('a room whose setup throws is not left behind', { timeout: 10_000 }, async (t) => {
  const server = await startServer();
  const c = await TestClient.connect(server.port);
  t.after(async () => {
    await c.terminate();
    await server.close();
  });
  server.on('roomCreated', () => {
    throw new Error('router creation failed');
  });
  const response = await c.request('join', { token: await token('a', 'broken') });
  assert.equal(response.error?.code, 'internal');
  assert.deepEqual(server.stats(), { sockets: 1, peers: 0, rooms: 0 });
  assert.equal(server.room('broken'), undefined);
});

test('a handler returning what JSON cannot carry is answered internal, the socket lives on', {
  timeout: 10_000,
}, async (t) => {
  const server = await startServer();
  const c = await TestClient.connect(server.port);
  t.after(async () => {
    await c.terminate();
    await server.close();
  });
  server.methods
    .register('cyclic', {
      scope: 'connection',
      schema: z.object({}),
      handle: () => {
        const value: Record<string, unknown> = {};
        value.self = value;
        return value;
      },
    })
    .register('bigint', { scope: 'connection', schema: z.object({}), handle: async () => ({ n: 1n }) });
  assert.equal((await c.request('cyclic', {})).error?.code, 'internal');
  assert.equal((await c.request('bigint', {})).error?.code, 'internal');
  assert.equal((await c.request('nope', {})).error?.code, 'unknown_method', 'requests after it still run');
});
