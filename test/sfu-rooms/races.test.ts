// Requests that race with the object they name closing (over signaling, mediasoup-client's fake
// handler): the answer is `not_found` (or ok, if the request won), never an internal error.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FakePeer, type SfuHarness, sfuToken, startSfuHarness, TestClient } from './helpers.js';

let h: SfuHarness;
const clients: TestClient[] = [];

before(async () => {
  h = await startSfuHarness();
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await h.close();
});

test('resumeConsumer racing with its producer closing answers not_found or ok', {
  timeout: 30_000,
}, async (t) => {
  const joined = async (sub: string) => {
    const c = await TestClient.connect(h.signaling.port);
    clients.push(c);
    await c.join(await sfuToken(sub, 'race'));
    return c;
  };
  const a = await joined('alice');
  const b = await joined('bob');
  const alice = new FakePeer(a);
  const bob = new FakePeer(b);
  await alice.load();
  await bob.load();
  await alice.createSendTransport();
  await bob.createRecvTransport();
  const answers = new Map<string, number>();
  for (let i = 0; i < 10; i++) {
    const producer = await alice.produce('video');
    const consumerId = (await b.notification('newConsumer', 5000)).data!.id as string;
    // Alice's close goes out first; bob's resume names the consumer that close takes down.
    const [closed, resumed] = await Promise.all([
      a.request('closeProducer', { producerId: producer.id }),
      b.request('resumeConsumer', { consumerId }),
    ]);
    assert.equal(closed.ok, true);
    const answer = resumed.ok ? 'ok' : resumed.error!.code;
    assert.ok(answer === 'ok' || answer === 'not_found', `resumeConsumer: ${JSON.stringify(resumed.error)}`);
    answers.set(answer, (answers.get(answer) ?? 0) + 1);
    await b.notification('consumerClosed', 5000);
  }
  t.diagnostic(`answers: ${JSON.stringify(Object.fromEntries(answers))}`);
});
