// Fuzzing: the frame parser is total, and thousands of random and mutated frames from one socket
// neither crash the server nor disturb two peers talking in the same room.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFrame } from '../../src/signaling/index.js';
import { eventually, startServer, TestClient, token } from './helpers.js';

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { next, int, pick };
}
type Rng = ReturnType<typeof prng>;

const SPECIAL_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'type',
  'id',
  'method',
  'data',
  'to',
];

function randomString(rng: Rng, max = 40): string {
  const alphabets = ['abcxyz', '{}[]":,\\', '\u0000\u001f\u007f', 'é😀\uffff\ud800', '0123456789-.eE'];
  let out = '';
  const length = rng.int(max);
  for (let i = 0; i < length; i++) out += rng.pick(alphabets).charAt(rng.int(8));
  return out;
}

function randomValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 3 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return rng.next() < 0.5;
    case 2:
      return rng.pick([0, -1, 1.5, 2 ** 53, -(2 ** 60), 1e308, Number.MAX_SAFE_INTEGER + 2, rng.int(1000)]);
    case 3:
      return randomString(rng);
    case 4:
      return rng.pick(['request', 'response', 'notification', 'join', 'signal', 'leave', 'offer', 'answer']);
    case 5:
      return '';
    case 6:
      return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let i = rng.int(5); i > 0; i--) {
        const key = rng.next() < 0.5 ? rng.pick(SPECIAL_KEYS) : randomString(rng, 8);
        object[key] = randomValue(rng, depth + 1);
      }
      return object;
    }
  }
}

function validMessages(peerId: string, joinToken: string): unknown[] {
  return [
    { type: 'request', id: 1, method: 'join', data: { token: joinToken, displayName: 'F' } },
    { type: 'request', id: 2, method: 'leave', data: {} },
    {
      type: 'request',
      id: 3,
      method: 'signal',
      data: { to: peerId, description: { type: 'offer', sdp: 'v=0' } },
    },
    {
      type: 'request',
      id: 4,
      method: 'signal',
      data: {
        to: peerId,
        candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMLineIndex: 0 },
      },
    },
    { type: 'request', id: 5, method: 'signal', data: { to: peerId, candidate: null } },
    { type: 'response', id: 6, ok: false, error: { code: 'internal', message: 'x' } },
    { type: 'notification', method: 'peerJoined', data: { peerId, displayName: 'x' } },
  ];
}

/** Mutates a valid message structurally (replace/delete/add a field) or textually (bytes). */
function mutate(rng: Rng, message: unknown): string {
  if (rng.next() < 0.5) {
    const clone = structuredClone(message) as Record<string, unknown>;
    let target: Record<string, unknown> = clone;
    if (typeof clone.data === 'object' && clone.data !== null && rng.next() < 0.6) {
      target = clone.data as Record<string, unknown>;
    }
    const keys = Object.keys(target);
    const action = rng.int(3);
    if (action === 0 && keys.length > 0) target[rng.pick(keys)] = randomValue(rng);
    else if (action === 1 && keys.length > 0) delete target[rng.pick(keys)];
    else target[rng.pick(SPECIAL_KEYS)] = randomValue(rng);
    return JSON.stringify(clone);
  }
  let text = JSON.stringify(message);
  for (let edits = 1 + rng.int(3); edits > 0; edits--) {
    const at = rng.int(text.length + 1);
    switch (rng.int(4)) {
      case 0:
        text = text.slice(0, at) + text.slice(at + 1 + rng.int(4));
        break;
      case 1:
        text = text.slice(0, at) + randomString(rng, 6) + text.slice(at);
        break;
      case 2:
        text = text.slice(0, at) + String.fromCharCode(rng.int(0x10000)) + text.slice(at + 1);
        break;
      default:
        text = text.slice(0, at) + text.slice(rng.int(text.length)) + text.slice(at);
    }
  }
  return text;
}

test('parseFrame is total over random and mutated inputs', { timeout: 30_000 }, () => {
  const rng = prng(0xc0ffee);
  const valid = validMessages('p-abc', 'header.payload.signature');
  const kinds = new Map<string, number>();
  for (let i = 0; i < 30_000; i++) {
    let input: string;
    const choice = rng.int(3);
    if (choice === 0) input = randomString(rng, 80);
    else if (choice === 1) input = JSON.stringify(randomValue(rng)) ?? 'undefined';
    else input = mutate(rng, rng.pick(valid));
    const frame = parseFrame(input);
    kinds.set(frame.kind, (kinds.get(frame.kind) ?? 0) + 1);
    if (frame.kind === 'error') {
      assert.ok(frame.code === 'bad_json' || frame.code === 'bad_request');
      assert.equal(typeof frame.message, 'string');
      assert.ok(frame.id === null || (Number.isSafeInteger(frame.id) && frame.id >= 0));
    } else if (frame.kind === 'request') {
      assert.ok(Number.isSafeInteger(frame.message.id) && typeof frame.message.method === 'string');
    }
  }
  // The corpus reached every outcome, not just the parse-error path.
  for (const kind of ['error', 'request', 'response', 'notification']) {
    assert.ok((kinds.get(kind) ?? 0) > 50, `${kind}: ${kinds.get(kind)}`);
  }
});

test('thousands of fuzzed frames: no crash, bystanders unaffected, nothing leaks', {
  timeout: 50_000,
}, async () => {
  const server = await startServer({ maxMessagesPerSecond: 100_000, reconnectGraceMs: 50 });
  const alice = await TestClient.connect(server.port);
  const bob = await TestClient.connect(server.port);
  const fuzzers: TestClient[] = [];
  try {
    const room = 'fuzz-room';
    await alice.join(await token('alice', room));
    const bobId = (await bob.join(await token('bob', room))).peerId;
    const fuzzToken = await token('fuzzer', room);
    const valid = validMessages(bobId, fuzzToken);
    const rng = prng(42);
    let frames = 0;
    let reconnects = 0;
    let exchanges = 0;
    const deadline = Date.now() + 25_000;

    const fuzz = async () => {
      let fuzzer = await TestClient.connect(server.port);
      fuzzers.push(fuzzer);
      await fuzzer.join(fuzzToken);
      while (frames < 20_000 && Date.now() < deadline) {
        if (fuzzer.ws.readyState !== fuzzer.ws.OPEN) {
          // Closed for too many bad frames (1007) or an oversize one: come back and go on.
          reconnects++;
          fuzzer = await TestClient.connect(server.port);
          fuzzers.push(fuzzer);
        }
        for (let i = 0; i < 50 && fuzzer.ws.readyState === fuzzer.ws.OPEN; i++, frames++) {
          const choice = rng.int(10);
          const frame =
            choice === 0
              ? randomString(rng, 200)
              : choice === 1
                ? (JSON.stringify(randomValue(rng)) ?? '0')
                : mutate(rng, rng.pick(valid));
          fuzzer.send(frame);
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    const bystanders = async () => {
      while (frames < 20_000 && Date.now() < deadline) {
        const tag = `tag-${++exchanges}`;
        const response = await alice.request('signal', {
          to: bobId,
          candidate: { candidate: '', sdpMid: tag },
        });
        assert.equal(response.ok, true);
        await bob.waitFor(
          (m) =>
            m.method === 'signal' && (m.data?.candidate as { sdpMid?: string } | undefined)?.sdpMid === tag,
          3000,
          tag,
        );
      }
    };
    await Promise.all([fuzz(), bystanders()]);
    assert.ok(frames >= 20_000, `sent ${frames} frames`);
    assert.ok(exchanges > 10, `bystanders exchanged ${exchanges} signals`);
    assert.equal(alice.ws.readyState, alice.ws.OPEN);
    assert.equal(bob.ws.readyState, bob.ws.OPEN);
    assert.ok(!alice.received.concat(bob.received).some((m) => m.error?.code === 'internal'));
    for (const f of fuzzers)
      assert.ok(!f.received.some((m) => m.error?.code === 'internal'), 'no internal errors');

    // Every fuzzing socket gone → only alice and bob remain.
    await Promise.all(fuzzers.map((f) => f.terminate()));
    await eventually(() => server.stats().peers === 2 && server.stats().sockets === 2, 3000, 'fuzzers gone');
    await Promise.all([alice.close(), bob.close()]);
    await eventually(() => server.stats().peers === 0, 3000, 'all gone');
    assert.deepEqual(server.debugSizes(), { connections: 0, rooms: 0, sessions: 0, peers: 0 });
    assert.ok(reconnects > 0, 'bad frames closed the fuzzing socket and it came back');
  } finally {
    await Promise.all([alice, bob, ...fuzzers].map((c) => c.terminate()));
    await server.close();
  }
});
