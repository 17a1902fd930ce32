// Garbage for every SFU method: wrong types, missing fields, huge and nested values, and
// mediasoup parameter objects with nonsense inside. Every answer is an error the client caused
// (never `internal`), the worker stays up, and the room keeps working for everyone.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FakePeer, ok, type SfuHarness, sfuToken, startSfuHarness, TestClient } from './helpers.js';

let h: SfuHarness;
const clients: TestClient[] = [];

before(async () => {
  h = await startSfuHarness();
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await h.close();
});

const METHODS = [
  'getRouterRtpCapabilities',
  'setRtpCapabilities',
  'createWebRtcTransport',
  'connectWebRtcTransport',
  'restartIce',
  'produce',
  'produceData',
  'closeProducer',
  'pauseProducer',
  'resumeProducer',
  'closeDataProducer',
  'pauseConsumer',
  'resumeConsumer',
  'setPreferredLayers',
  'getStats',
];

/** A small deterministic PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function garbageValue(r: () => number, depth = 0): unknown {
  const pick = Math.floor(r() * 12);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return Math.floor(r() * 2 ** 40) * (r() < 0.5 ? -1 : 1);
    case 2:
      return r() * 1e308;
    case 3:
      return 'x'.repeat(Math.floor(r() * 300));
    case 4:
      return r() < 0.5;
    case 5:
      return depth > 3 ? [] : Array.from({ length: Math.floor(r() * 4) }, () => garbageValue(r, depth + 1));
    case 6:
      return '__proto__';
    case 7:
      return depth > 3 ? {} : garbageObject(r, depth + 1);
    case 8:
      return { codecs: [{ mimeType: garbageValue(r, depth + 1), payloadType: garbageValue(r, depth + 1) }] };
    case 9:
      return {
        encodings: [{ ssrc: garbageValue(r, depth + 1), rid: garbageValue(r, depth + 1) }],
        codecs: [],
      };
    case 10:
      return { role: 'client', fingerprints: [{ algorithm: garbageValue(r, depth + 1), value: 'zz' }] };
    default:
      return 'audio';
  }
}

const KEYS = [
  'transportId',
  'producerId',
  'consumerId',
  'dataProducerId',
  'direction',
  'kind',
  'rtpParameters',
  'rtpCapabilities',
  'dtlsParameters',
  'sctpStreamParameters',
  'sctpCapabilities',
  'spatialLayer',
  'temporalLayer',
  'appData',
  'label',
  '__proto__',
  'constructor',
];

function garbageObject(r: () => number, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) out[KEYS[Math.floor(r() * KEYS.length)]!] = garbageValue(r, depth);
  return out;
}

test('1500 garbage requests to the SFU methods: only client errors, nothing breaks', {
  timeout: 60_000,
}, async () => {
  const a = await TestClient.connect(h.signaling.port);
  const b = await TestClient.connect(h.signaling.port);
  clients.push(a, b);
  await a.join(await sfuToken('alice', 'garbage'));
  await b.join(await sfuToken('bob', 'garbage'));
  const alice = new FakePeer(a);
  const bob = new FakePeer(b);
  await alice.load();
  await bob.load();
  const send = await alice.createSendTransport();
  const producer = await alice.produce('video');
  const recv = await bob.createRecvTransport();
  const consumerId = (await b.notification('newConsumer', 5000)).data!.id as string;
  const realIds = [send.id, recv.id, producer.id, consumerId];

  const r = rng(0x5f0);
  const codes = new Map<string, number>();
  for (let i = 0; i < 1500; i++) {
    const method = METHODS[Math.floor(r() * METHODS.length)]!;
    let data: unknown = r() < 0.2 ? garbageValue(r) : garbageObject(r);
    // Sometimes real ids (of someone else, or one's own) with garbage around them.
    if (data !== null && typeof data === 'object' && !Array.isArray(data) && r() < 0.5) {
      const id = realIds[Math.floor(r() * realIds.length)];
      data = { ...(data as object), [KEYS[Math.floor(r() * 4)]!]: id };
    }
    const client = r() < 0.5 ? a : b;
    // Stay under the rate limit (50/s sustained, 100 burst).
    if (i % 80 === 79) await new Promise((resolve) => setTimeout(resolve, 1000));
    const response = await client.request(method, data, 5000);
    if (response.ok) {
      codes.set('ok', (codes.get('ok') ?? 0) + 1);
      continue;
    }
    const code = response.error!.code;
    codes.set(code, (codes.get(code) ?? 0) + 1);
    assert.ok(
      ['bad_request', 'not_found', 'forbidden'].includes(code),
      `${method} ${JSON.stringify(data).slice(0, 300)} → ${JSON.stringify(response.error)}`,
    );
  }
  assert.ok((codes.get('bad_request') ?? 0) > 500, JSON.stringify([...codes]));

  // The worker lives and the room still works: a third peer gets the producer, if it survived.
  assert.equal(h.pool.workers[0]!.closed, false);
  const c = await TestClient.connect(h.signaling.port);
  clients.push(c);
  await c.join(await sfuToken('carol', 'garbage'));
  const carol = new FakePeer(c);
  await carol.load();
  const carolSend = await carol.createSendTransport();
  const audio = await carol.produce('audio');
  assert.equal(typeof audio.id, 'string');
  await carol.createRecvTransport();
  assert.ok(carolSend.id);
  // Bob may have replaced his own receive transport or capabilities with garbage that happened
  // to be valid; a fresh peer shows the room itself is fine.
  const d = await TestClient.connect(h.signaling.port);
  clients.push(d);
  await d.join(await sfuToken('dave', 'garbage'));
  const dave = new FakePeer(d);
  await dave.load();
  await dave.createRecvTransport();
  const n = await d.waitFor(
    (m) => m.type === 'notification' && m.method === 'newConsumer' && m.data?.producerId === audio.id,
    5000,
    "dave's consumer of carol's audio",
  );
  await ok(d, 'resumeConsumer', { consumerId: n.data!.id });
});
