// SFU rooms over signaling with the `ws` client and mediasoup-client's fake handler: the flow
// produce → newConsumer → resume, ownership and permission errors, cleanup when peers leave.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Permissions } from '../../src/signaling/index.js';
import {
  eventually,
  FakePeer,
  ok,
  type SfuHarness,
  sfuToken,
  startSfuHarness,
  TestClient,
} from './helpers.js';

let h: SfuHarness;
const clients: TestClient[] = [];

before(async () => {
  h = await startSfuHarness();
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await h.close();
});

async function joined(sub: string, room: string, perms?: Partial<Permissions>) {
  const c = await TestClient.connect(h.signaling.port);
  clients.push(c);
  const data = await c.join(await sfuToken(sub, room, perms ? { perms } : {}));
  return { c, data };
}

test('produce reaches the other peer as a paused newConsumer; pause, close and leave are announced', {
  timeout: 30_000,
}, async () => {
  const a = await joined('alice', 'flow');
  assert.equal(a.data.mode, 'sfu');
  const b = await joined('bob', 'flow');
  const alice = new FakePeer(a.c);
  const bob = new FakePeer(b.c);
  await alice.load();
  await bob.load();
  assert.ok(alice.device.canProduce('video') && alice.device.canProduce('audio'));

  await alice.createSendTransport();
  const audio = await alice.produce('audio', { source: 'mic' });
  const video = await alice.produce('video', { source: 'camera' });
  await bob.createRecvTransport();

  const first = await b.c.notification('newConsumer', 5000);
  const second = await b.c.notification('newConsumer', 5000);
  const byProducer = new Map([first, second].map((n) => [n.data!.producerId as string, n.data!]));
  assert.deepEqual([...byProducer.keys()].sort(), [audio.id, video.id].sort());
  for (const n of byProducer.values()) {
    assert.equal(n.peerId, a.data.peerId);
    const consumer = await bob.recvTransport!.consume({
      id: n.id as string,
      producerId: n.producerId as string,
      kind: n.kind as 'audio' | 'video',
      rtpParameters: n.rtpParameters as never,
    });
    assert.equal(typeof consumer.rtpParameters.rtcp?.cname, 'string');
    await ok(b.c, 'resumeConsumer', { consumerId: n.id });
  }
  assert.equal((byProducer.get(video.id)!.appData as { source: string }).source, 'camera');
  const videoConsumerId = byProducer.get(video.id)!.id as string;

  // Capabilities sent again (what the client does after a signaling reconnect) announce bob's
  // live consumers once more, before the answer.
  const seen = b.c.notifications('newConsumer').length;
  await ok(b.c, 'setRtpCapabilities', { rtpCapabilities: bob.device.rtpCapabilities });
  const again = b.c.notifications('newConsumer').slice(seen);
  assert.deepEqual(again.map((n) => n.data!.id).sort(), [...byProducer.values()].map((n) => n.id).sort());
  // Move the notification cursor past the repeats.
  for (const _ of again) await b.c.notification('newConsumer');

  // A producer created after bob is ready reaches him without any request of his.
  const late = await alice.produce('video', { source: 'screen' });
  const third = await b.c.notification('newConsumer', 5000);
  assert.equal(third.data!.producerId, late.id);

  await ok(a.c, 'pauseProducer', { producerId: video.id });
  assert.equal((await b.c.notification('consumerPaused', 5000)).data!.consumerId, videoConsumerId);
  await ok(a.c, 'resumeProducer', { producerId: video.id });
  assert.equal((await b.c.notification('consumerResumed', 5000)).data!.consumerId, videoConsumerId);

  await ok(b.c, 'setPreferredLayers', { consumerId: videoConsumerId, spatialLayer: 0, temporalLayer: 0 });
  const stats = await ok<{ stats: unknown[] }>(b.c, 'getStats', { consumerId: videoConsumerId });
  assert.ok(Array.isArray(stats.stats));
  const ice = await ok<{ iceParameters: { iceLite: boolean } }>(a.c, 'restartIce', {
    transportId: alice.sendTransport!.id,
  });
  assert.equal(ice.iceParameters.iceLite, true);

  await ok(a.c, 'closeProducer', { producerId: video.id });
  assert.equal((await b.c.notification('consumerClosed', 5000)).data!.consumerId, videoConsumerId);

  // Alice leaves: bob's remaining consumers close, then peerLeft; the room keeps its router.
  const sfuRoom = h.rooms.room('flow')!;
  await ok(a.c, 'leave', {});
  await b.c.notification('peerLeft', 5000);
  await eventually(() => b.c.notifications('consumerClosed').length === 3, 5000, 'consumerClosed ×3');
  assert.equal(sfuRoom.router!.router.closed, false);
  await eventually(() => h.pool.load()[0]!.peers === 1, 3000, 'pool counts one peer');

  // The last peer leaves: the router is released.
  const router = sfuRoom.router!.router;
  await ok(b.c, 'leave', {});
  await eventually(() => router.closed, 3000, 'router closed');
  assert.equal(h.rooms.room('flow'), undefined);
  assert.deepEqual(
    h.pool.load().map((l) => [l.routers, l.peers]),
    [[0, 0]],
  );
});

test("ids of other peers' transports, producers and consumers are not_found", {
  timeout: 30_000,
}, async () => {
  const a = await joined('alice', 'owner');
  const b = await joined('bob', 'owner');
  const alice = new FakePeer(a.c);
  const bob = new FakePeer(b.c);
  await alice.load();
  await bob.load();
  const send = await alice.createSendTransport();
  const producer = await alice.produce('audio');
  const recv = await bob.createRecvTransport();
  const consumerId = (await b.c.notification('newConsumer', 5000)).data!.id as string;

  const attempts: Array<[TestClient, string, unknown]> = [
    [
      b.c,
      'connectWebRtcTransport',
      { transportId: send.id, dtlsParameters: { role: 'client', fingerprints: [] } },
    ],
    [b.c, 'restartIce', { transportId: send.id }],
    [b.c, 'produce', { transportId: send.id, kind: 'audio', rtpParameters: producer.rtpParameters }],
    [b.c, 'closeProducer', { producerId: producer.id }],
    [b.c, 'pauseProducer', { producerId: producer.id }],
    [b.c, 'resumeProducer', { producerId: producer.id }],
    [b.c, 'getStats', { producerId: producer.id }],
    [b.c, 'getStats', { transportId: send.id }],
    [a.c, 'resumeConsumer', { consumerId }],
    [a.c, 'pauseConsumer', { consumerId }],
    [a.c, 'setPreferredLayers', { consumerId, spatialLayer: 0 }],
    [a.c, 'getStats', { consumerId }],
    [a.c, 'restartIce', { transportId: recv.id }],
    [a.c, 'closeProducer', { producerId: 'no-such-producer' }],
  ];
  for (const [c, method, data] of attempts) {
    const response = await c.request(method, data);
    assert.equal(response.ok, false, `${method} ${JSON.stringify(data)} succeeded`);
    assert.equal(response.error!.code, 'not_found', `${method}: ${JSON.stringify(response.error)}`);
  }
  // Producing on one's own receive transport is refused too.
  const onRecv = await b.c.request('produce', {
    transportId: recv.id,
    kind: 'audio',
    rtpParameters: producer.rtpParameters,
  });
  assert.equal(onRecv.error?.code, 'bad_request');
  // And nothing changed: the producer is alive and bob's consumer still resumes.
  assert.equal(producer.closed, false);
  await ok(b.c, 'resumeConsumer', { consumerId });
  await ok(a.c, 'leave', {});
  await ok(b.c, 'leave', {});
});

test('permissions: publish, publishData and subscribe are enforced', { timeout: 30_000 }, async () => {
  const viewer = await joined('viewer', 'perms', { publish: false, publishData: false });
  const talker = await joined('talker', 'perms', { publishData: false, subscribe: false });
  const fake = new FakePeer(viewer.c);
  await fake.load();
  const sendRefused = await viewer.c.request('createWebRtcTransport', { direction: 'send' });
  assert.equal(sendRefused.error?.code, 'forbidden');
  // The viewer may receive.
  await fake.createRecvTransport();
  const produceRefused = await viewer.c.request('produce', {
    transportId: fake.recvTransport!.id,
    kind: 'audio',
    rtpParameters: {},
  });
  assert.equal(produceRefused.error?.code, 'forbidden');

  const talkerFake = new FakePeer(talker.c);
  await talkerFake.load();
  const recvRefused = await talker.c.request('createWebRtcTransport', { direction: 'recv' });
  assert.equal(recvRefused.error?.code, 'forbidden');
  const capsRefused = await talker.c.request('setRtpCapabilities', {
    rtpCapabilities: talkerFake.device.rtpCapabilities,
  });
  assert.equal(capsRefused.error?.code, 'forbidden');
  const send = await talkerFake.createSendTransport();
  const dataRefused = await talker.c.request('produceData', {
    transportId: send.id,
    sctpStreamParameters: { streamId: 1, ordered: true },
  });
  assert.equal(dataRefused.error?.code, 'forbidden');
  // The talker's audio reaches the viewer.
  const producer = await talkerFake.produce('audio');
  const n = await viewer.c.notification('newConsumer', 5000);
  assert.equal(n.data!.producerId, producer.id);
  await ok(viewer.c, 'leave', {});
  await ok(talker.c, 'leave', {});
});

test('a dropped socket (no grace) closes what the peer owned; the room empties and releases its router', {
  timeout: 30_000,
}, async () => {
  const a = await joined('alice', 'drop');
  const b = await joined('bob', 'drop');
  const alice = new FakePeer(a.c);
  const bob = new FakePeer(b.c);
  await alice.load();
  await bob.load();
  await alice.createSendTransport();
  await alice.produce('audio');
  await alice.produce('video');
  await bob.createRecvTransport();
  await b.c.notification('newConsumer', 5000);
  await b.c.notification('newConsumer', 5000);
  const sfuRoom = h.rooms.room('drop')!;
  const router = sfuRoom.router!.router;
  const dump = async () =>
    (await router.dump()) as { transportIds: string[]; mapProducerIdConsumerIds: unknown[] };
  assert.equal((await dump()).transportIds.length, 2);

  await a.c.terminate();
  await b.c.notification('peerLeft', 5000);
  await eventually(() => b.c.notifications('consumerClosed').length === 2, 5000, 'consumerClosed ×2');
  const after = await dump();
  assert.equal(after.transportIds.length, 1);
  assert.equal(after.mapProducerIdConsumerIds.length, 0);

  await b.c.terminate();
  await eventually(() => router.closed, 5000, 'router closed');
  assert.equal(h.rooms.room('drop'), undefined);
  assert.equal(h.signaling.stats().rooms, 0);
});

test("a token's mode claim picks the room's mode; p2p rooms have no SFU methods", {
  timeout: 15_000,
}, async () => {
  const c = await TestClient.connect(h.signaling.port);
  clients.push(c);
  const data = await c.join(await sfuToken('carol', 'mesh', { mode: 'p2p' }));
  assert.equal(data.mode, 'p2p');
  const response = await c.request('getRouterRtpCapabilities', {});
  assert.equal(response.error?.code, 'unknown_method');
  assert.equal(h.rooms.room('mesh'), undefined);
  await ok(c, 'leave', {});
});

test('an auto room is P2P with two peers, switches to the SFU at three and back at two', {
  timeout: 30_000,
}, async () => {
  const connect = async (sub: string) => {
    const c = await TestClient.connect(h.signaling.port);
    clients.push(c);
    return { c, data: await c.join(await sfuToken(sub, 'auto', { mode: 'auto' })) };
  };
  const a = await connect('alice');
  const b = await connect('bob');
  assert.equal(a.data.mode, 'p2p');
  assert.equal(b.data.mode, 'p2p');
  assert.equal(a.c.notifications('modeChanged').length, 0);

  const c = await connect('carol');
  assert.equal(c.data.mode, 'sfu');
  assert.deepEqual((await a.c.notification('modeChanged')).data, { mode: 'sfu' });
  assert.deepEqual((await b.c.notification('modeChanged')).data, { mode: 'sfu' });
  // The SFU works for all three.
  const alice = new FakePeer(a.c);
  const carol = new FakePeer(c.c);
  await alice.load();
  await carol.load();
  await alice.createSendTransport();
  const producer = await alice.produce('audio');
  await carol.createRecvTransport();
  assert.equal((await c.c.notification('newConsumer', 5000)).data!.producerId, producer.id);
  const sfuRoom = h.rooms.room('auto')!;
  assert.equal(sfuRoom.peers.size, 2);

  // Carol leaves: back to P2P, and the SFU objects of the two left are closed.
  await ok(c.c, 'leave', {});
  assert.deepEqual((await a.c.notification('modeChanged')).data, { mode: 'p2p' });
  assert.deepEqual((await b.c.notification('modeChanged')).data, { mode: 'p2p' });
  await eventually(() => producer.closed || sfuRoom.peers.size === 0, 3000, 'SFU state closed');
  assert.equal(sfuRoom.peers.size, 0);
  const dump = (await sfuRoom.router!.router.dump()) as { transportIds: string[] };
  assert.deepEqual(dump.transportIds, []);
  // P2P signalling works again.
  const relayed = await a.c.request('signal', {
    to: b.data.peerId,
    description: { type: 'offer', sdp: 'v=0' },
  });
  assert.equal(relayed.ok, true);
  await ok(a.c, 'leave', {});
  await ok(b.c, 'leave', {});
});

test('a worker that dies moves its rooms to a live worker and tells their peers sfuRestart', {
  timeout: 30_000,
}, async () => {
  const h2 = await startSfuHarness({ workers: 2 });
  const local: TestClient[] = [];
  try {
    const connect = async (sub: string) => {
      const c = await TestClient.connect(h2.signaling.port);
      local.push(c);
      await c.join(await sfuToken(sub, 'phoenix'));
      return c;
    };
    const a = await connect('alice');
    const b = await connect('bob');
    const alice = new FakePeer(a);
    await alice.load();
    await alice.createSendTransport();
    await alice.produce('audio');
    const before = h2.rooms.room('phoenix')!;
    const deadPid = before.router!.workerPid;
    process.kill(deadPid, 'SIGKILL');
    await a.notification('sfuRestart', 5000);
    await b.notification('sfuRestart', 5000);
    const after = h2.rooms.room('phoenix')!;
    assert.notEqual(after, before);
    // The room works again on the surviving worker: a fresh session produces and consumes.
    const alice2 = new FakePeer(a);
    const bob2 = new FakePeer(b);
    await alice2.load();
    await bob2.load();
    assert.notEqual(after.router!.workerPid, deadPid);
    await alice2.createSendTransport();
    const producer = await alice2.produce('video');
    await bob2.createRecvTransport();
    assert.equal((await b.notification('newConsumer', 5000)).data!.producerId, producer.id);
    // The pool replaces the dead worker.
    await eventually(() => h2.pool.size === 2, 10_000, 'a replacement worker');
    assert.ok(h2.pool.workers.every((w) => w.pid !== deadPid && !w.closed));
  } finally {
    await Promise.all(local.map((c) => c.close()));
    await h2.close();
  }
});
