// The browser SDK's SignalingClient, run in Node (the `ws` package as its WebSocket) against
// the real signaling server: requests, notifications, errors, timeouts, pacing and resume.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import {
  SignalingClient,
  type SignalingClientOptions,
  SignalingError,
  type SignalingNotificationEvent,
  type WebSocketLike,
} from '../../src/client/index.js';
import { issueToken, SignalingServer } from '../../src/signaling/index.js';
import { waitFor } from './helpers.js';

const secret = 'signaling-client-test-secret-0123456789';
const createWebSocket = (url: string) => new WebSocket(url) as unknown as WebSocketLike;

describe('SignalingClient against the signaling server', { timeout: 60_000 }, () => {
  let server: SignalingServer;
  let url: string;
  const clients: SignalingClient[] = [];

  before(async () => {
    server = await SignalingServer.start({ port: 0, secret, iceServers: () => [], reconnectGraceMs: 5000 });
    url = `ws://127.0.0.1:${server.port}/ws`;
  });
  after(async () => {
    for (const client of clients) client.close();
    await server.close();
  });

  async function connected(options: SignalingClientOptions = {}) {
    const client = new SignalingClient(url, { createWebSocket, ...options });
    clients.push(client);
    const notifications: SignalingNotificationEvent[] = [];
    client.on('notification', (n) => notifications.push(n));
    await client.connect();
    return { client, notifications };
  }

  const token = (sub: string, room: string) => issueToken(secret, { sub, room, name: sub }, 600);

  test('join, peerJoined and a relayed signal', async () => {
    const a = await connected();
    const b = await connected();
    const joinedA = await a.client.request('join', { token: await token('ann', 'r1') });
    assert.equal(joinedA.roomId, 'r1');
    assert.deepEqual(joinedA.peers, []);
    const joinedB = await b.client.request('join', { token: await token('bob', 'r1'), displayName: 'Bobby' });
    assert.deepEqual(joinedB.peers, [{ peerId: joinedA.peerId, displayName: 'ann' }]);

    await waitFor('peerJoined at Ann', () => a.notifications.find((n) => n.method === 'peerJoined'));
    const joinedNote = a.notifications.find((n) => n.method === 'peerJoined')!;
    assert.deepEqual(joinedNote.data, { peerId: joinedB.peerId, displayName: 'Bobby' });

    await b.client.request('signal', { to: joinedA.peerId, description: { type: 'offer', sdp: 'v=0\r\n' } });
    const signal = await waitFor('signal at Ann', () => a.notifications.find((n) => n.method === 'signal'));
    assert.deepEqual(signal.data, { from: joinedB.peerId, description: { type: 'offer', sdp: 'v=0\r\n' } });

    await b.client.request('leave', {});
    const left = await waitFor('peerLeft at Ann', () => a.notifications.find((n) => n.method === 'peerLeft'));
    assert.deepEqual(left.data, { peerId: joinedB.peerId });
  });

  test('server errors become SignalingError with the protocol code', async () => {
    const { client } = await connected();
    await assert.rejects(client.request('join', { token: 'not-a-jwt' }), (err: SignalingError) => {
      assert.ok(err instanceof SignalingError);
      assert.equal(err.code, 'unauthorized');
      return true;
    });
    await assert.rejects(client.request('signal', { to: 'p-nobody', candidate: null }), {
      code: 'not_joined',
    });
    await client.request('join', { token: await token('cid', 'r2') });
    await assert.rejects(client.request('signal', { to: 'p-nobody', candidate: null }), {
      code: 'not_found',
    });
  });

  test('a request nobody answers times out', async () => {
    // A WebSocket server that accepts and never replies.
    const http: Server = createServer();
    const silent = new WebSocketServer({ server: http });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const port = (http.address() as AddressInfo).port;
      const client = new SignalingClient(`ws://127.0.0.1:${port}`, {
        createWebSocket,
        requestTimeoutMs: 300,
      });
      clients.push(client);
      await client.connect();
      const started = Date.now();
      await assert.rejects(client.request('leave', {}), { code: 'timeout' });
      assert.ok(Date.now() - started >= 290);
      client.close();
      await assert.rejects(client.request('leave', {}), { code: 'closed' });
    } finally {
      for (const ws of silent.clients) ws.terminate();
      silent.close();
      http.close();
    }
  });

  test('pacing keeps a burst of signals under the server rate limit', async () => {
    const a = await connected();
    const b = await connected({ maxMessagesPerSecond: 40, messageBurst: 80 });
    const joinedA = await a.client.request('join', { token: await token('dan', 'r3') });
    await b.client.request('join', { token: await token('eve', 'r3') });
    // The server allows 50/s with bursts of 100: 160 unpaced requests would see ~60 refused.
    const count = 160;
    const started = Date.now();
    const results = await Promise.allSettled(
      Array.from({ length: count }, (_, i) =>
        b.client.request('signal', {
          to: joinedA.peerId,
          candidate: { candidate: `candidate:${i} 1 udp 1 127.0.0.1 ${1000 + i} typ host`, sdpMLineIndex: 0 },
        }),
      ),
    );
    const elapsedMs = Date.now() - started;
    const failed = results.filter((r) => r.status === 'rejected');
    assert.equal(
      failed.length,
      0,
      `refused: ${failed.map((f) => (f as PromiseRejectedResult).reason).join(', ')}`,
    );
    // 80 at once, then 40/s: the last one leaves after about 2 s.
    assert.ok(elapsedMs >= 1800, `paced over ${elapsedMs} ms`);
    await waitFor(
      'all signals at Dan',
      () => a.notifications.filter((n) => n.method === 'signal').length === count,
    );
    console.log(`pacing: ${count} signals in ${elapsedMs} ms, none refused`);
  });

  test('when the server stays away it gives up after its reconnect attempts', async () => {
    const http: Server = createServer();
    const wss = new WebSocketServer({ server: http });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const port = (http.address() as AddressInfo).port;
    const client = new SignalingClient(`ws://127.0.0.1:${port}`, {
      createWebSocket,
      reconnectDelaysMs: [50, 100, 150],
      connectTimeoutMs: 500,
    });
    clients.push(client);
    const states: string[] = [];
    client.on('state', (state) => states.push(state));
    await client.connect();
    // The server goes away for good: its sockets die and its port stops listening.
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await waitFor('the client to notice', () => states.includes('reconnecting'));
    // Made while reconnecting: queued, and failed when the client gives up.
    const queued = client.request('leave', {});
    await assert.rejects(queued, { code: 'closed' });
    assert.deepEqual(states, ['open', 'reconnecting', 'closed']);
  });

  test('after a dropped socket it reconnects and resumes the same peer', async () => {
    const a = await connected();
    const b = await connected({ reconnectDelaysMs: [100, 200, 400] });
    const joinedA = await a.client.request('join', { token: await token('fay', 'r4') });
    const bToken = await token('gus', 'r4');
    const joinedB = await b.client.request('join', { token: bToken });
    let resumedAs = '';
    b.client.resume = async () => {
      const again = await b.client.request(
        'join',
        { token: bToken, sessionId: joinedB.sessionId },
        { immediate: true },
      );
      resumedAs = again.peerId;
    };
    const states: string[] = [];
    b.client.on('state', (state) => states.push(state));

    await waitFor('peerJoined at Fay', () => a.notifications.some((n) => n.method === 'peerJoined'));
    const seenBeforeDrop = a.notifications.length;
    b.client.dropConnection();
    await waitFor('reconnecting', () => states.includes('reconnecting'));
    // Sent while reconnecting: queued, delivered after the resume.
    const queued = b.client.request('signal', { to: joinedA.peerId, candidate: null });
    await queued;
    assert.deepEqual(states, ['reconnecting', 'open']);
    assert.equal(resumedAs, joinedB.peerId, 'same peerId after resume');
    await waitFor('the queued signal at Fay', () => a.notifications.find((n) => n.method === 'signal'));
    assert.equal(
      a.notifications.slice(seenBeforeDrop).some((n) => n.method === 'peerLeft' || n.method === 'peerJoined'),
      false,
      'the room saw nothing of the reconnect',
    );
  });
});
