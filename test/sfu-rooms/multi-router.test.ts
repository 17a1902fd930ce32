// A room that outgrows one router (capacity 2 peers, 2 workers) over signaling, with the `ws`
// client and mediasoup-client's fake handler: the third peer opens a router on the other worker,
// producers are piped both ways so everyone gets a consumer of everyone, pause and close cross
// the pipe, and the routers close as the room empties.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Consumer, Worker } from '../../src/sfu/public-types.js';
import {
  delay,
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
  h = await startSfuHarness({ workers: 2, routerCapacity: { peers: 2 } });
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await h.close();
});

async function routerIdsOf(worker: Worker): Promise<string[]> {
  return ((await worker.dump()) as { routerIds: string[] }).routerIds;
}

test('peers beyond the capacity go to a router on the other worker and still consume every producer', {
  timeout: 60_000,
}, async () => {
  const peers: { c: TestClient; peerId: string; fake: FakePeer }[] = [];
  for (const name of ['p0', 'p1', 'p2', 'p3']) {
    const c = await TestClient.connect(h.signaling.port);
    clients.push(c);
    const data = await c.join(await sfuToken(name, 'big'));
    const fake = new FakePeer(c);
    // One at a time, so the placement order (p0, p1 on the first router) is known.
    await fake.load();
    peers.push({ c, peerId: data.peerId as string, fake });
  }
  const sfuRoom = h.rooms.room('big')!;
  assert.equal(sfuRoom.routers.length, 2);
  const [first, second] = sfuRoom.routers as [(typeof sfuRoom.routers)[0], (typeof sfuRoom.routers)[0]];
  assert.notEqual(first.workerPid, second.workerPid);
  assert.deepEqual(
    peers.map((p) => sfuRoom.peers.get(p.peerId)!.router),
    [first, first, second, second],
  );
  // Each worker's own dump lists the room's router it hosts.
  assert.ok((await routerIdsOf(first.worker)).includes(first.router.id));
  assert.ok((await routerIdsOf(second.worker)).includes(second.router.id));

  const producers = new Map<string, string[]>();
  for (const p of peers) {
    await p.fake.createSendTransport();
    const audio = await p.fake.produce('audio');
    const video = await p.fake.produce('video');
    producers.set(p.peerId, [audio.id, video.id]);
  }
  const chat = await peers[0]!.fake.sendTransport!.produceData({ label: 'chat' });
  for (const p of peers) await p.fake.createRecvTransport();
  // Everyone gets a consumer of the others' six producers, across the pipe or not.
  for (const p of peers) {
    await eventually(
      () => p.c.notifications('newConsumer').length === 6,
      10_000,
      `${p.peerId}: six newConsumer`,
    );
    const announced = p.c
      .notifications('newConsumer')
      .map((n) => n.data!.producerId as string)
      .sort();
    const expected = peers
      .filter((o) => o !== p)
      .flatMap((o) => producers.get(o.peerId)!)
      .sort();
    assert.deepEqual(announced, expected);
    for (const n of p.c.notifications('newConsumer'))
      await ok(p.c, 'resumeConsumer', { consumerId: n.data!.id });
  }
  // The data producer is piped too: the peers on the second router get a data consumer of it.
  for (const p of peers.slice(1)) {
    const n = await p.c.notification('newDataConsumer', 5000);
    assert.equal(n.data!.dataProducerId, chat.id);
    assert.equal(n.data!.label, 'chat');
  }
  // The routers hold pipe transports and the other side's producers under the same ids.
  const dumpOf = async (router: typeof first.router) =>
    (await router.dump()) as { transportIds: string[]; mapProducerIdConsumerIds: { key: string }[] };
  for (const pooled of [first, second]) {
    const dump = await dumpOf(pooled.router);
    // 2 peers × (send + recv) WebRTC transports plus the pipe transport.
    assert.equal(dump.transportIds.length, 5, `router on ${pooled.workerPid}: ${dump.transportIds.length}`);
    assert.equal(dump.mapProducerIdConsumerIds.length, 8, 'own four producers plus four piped in');
  }

  // A producer on the first router paused, then closed: its consumers on the second router hear it.
  const [, owner, viewer] = [peers[0]!, peers[1]!, peers[2]!];
  const videoId = producers.get(owner.peerId)![1]!;
  const viewerState = sfuRoom.peers.get(viewer.peerId)!;
  const viewerConsumer = [...viewerState.consumers.values()].find((c: Consumer) => c.producerId === videoId)!;
  assert.ok(viewerConsumer, 'the viewer consumes the owner video');
  await ok(owner.c, 'pauseProducer', { producerId: videoId });
  assert.equal((await viewer.c.notification('consumerPaused', 5000)).data!.consumerId, viewerConsumer.id);
  await ok(owner.c, 'resumeProducer', { producerId: videoId });
  assert.equal((await viewer.c.notification('consumerResumed', 5000)).data!.consumerId, viewerConsumer.id);
  await ok(owner.c, 'closeProducer', { producerId: videoId });
  assert.equal((await viewer.c.notification('consumerClosed', 5000)).data!.consumerId, viewerConsumer.id);
  // The pipe producer closes on the second router (polled: its dump is a request to the worker).
  const deadline = Date.now() + 5000;
  while ((await dumpOf(second.router)).mapProducerIdConsumerIds.length !== 7) {
    assert.ok(Date.now() < deadline, 'the pipe producer did not close on the second router');
    await delay(20);
  }

  // The two peers of the second router leave: it closes; the room keeps its first router.
  await ok(peers[2]!.c, 'leave', {});
  await ok(peers[3]!.c, 'leave', {});
  await eventually(() => second.router.closed, 5000, 'second router closed');
  assert.equal(sfuRoom.routers.length, 1);
  assert.equal(first.router.closed, false);
  // The first router still holds two peers: a newcomer opens a second router again.
  const c = await TestClient.connect(h.signaling.port);
  clients.push(c);
  await c.join(await sfuToken('p4', 'big'));
  const late = new FakePeer(c);
  await late.load();
  assert.equal(sfuRoom.routers.length, 2);
  await late.createRecvTransport();
  // p0's audio and video and p1's audio remain (p1's video closed).
  await eventually(() => c.notifications('newConsumer').length === 3, 10_000, 'newcomer consumes three');

  // Everyone leaves: every router closes and the pool holds nothing.
  const routers = [...sfuRoom.routers];
  await ok(c, 'leave', {});
  await ok(peers[0]!.c, 'leave', {});
  await ok(peers[1]!.c, 'leave', {});
  await eventually(() => routers.every((r) => r.router.closed), 5000, 'all routers closed');
  assert.equal(h.rooms.room('big'), undefined);
  assert.deepEqual(
    h.pool.load().map((l) => [l.routers, l.peers]),
    [
      [0, 0],
      [0, 0],
    ],
  );
});
