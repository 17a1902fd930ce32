// NackGenerator bounds after an overload: only holes still asked for are worth forwarding (a
// sender answering every retry would otherwise have each copy forwarded to every consumer), and
// a missing packet is asked for during a bounded time, not until its tenth retry however late.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NackGenerator, NackReceived } from '../../src/media/nack-generator.js';

function generator(options: { maxPackets?: number; maxAgeMs?: number; maxRetries?: number } = {}) {
  const nacks: number[][] = [];
  let keyFrames = 0;
  const g = new NackGenerator({
    sendNack: (seqs) => nacks.push([...seqs]),
    requestKeyFrame: () => keyFrames++,
    rttMs: 100,
    ...options,
  });
  return { g, nacks, keyFrames: () => keyFrames };
}

test('received() tells new packets, repaired holes and stale packets apart', () => {
  const { g, nacks } = generator();
  assert.equal(g.received(100, 0), NackReceived.New);
  assert.equal(g.received(104, 10), NackReceived.New); // 101..103 missing
  assert.deepEqual(nacks, [[101, 102, 103]]);
  assert.equal(g.received(102, 50), NackReceived.Repaired);
  // The same retransmission again (answer to a retry), and a duplicate of the newest: stale.
  assert.equal(g.received(102, 60), NackReceived.Stale);
  assert.equal(g.received(104, 60), NackReceived.Stale);
  // Older than anything asked for: stale.
  assert.equal(g.received(50, 60), NackReceived.Stale);
  assert.equal(g.stale, 3);
  assert.equal(g.recovered, 1);
  assert.equal(g.pending, 2);
});

test('a missing packet is given up after maxAgeMs even when ticks come late; its answer is then stale', () => {
  const { g, nacks } = generator({ maxAgeMs: 1000, maxRetries: 10 });
  g.received(1, 0);
  g.received(3, 0); // 2 missing, NACKed at 0
  // An overloaded process ticks rarely: 600 ms, 1200 ms.
  g.tick(600);
  assert.deepEqual(nacks, [[2], [2]]);
  g.tick(1200);
  assert.equal(nacks.length, 2, 'no NACK after 1 s');
  assert.equal(g.pending, 0);
  assert.equal(g.abandoned, 1);
  assert.equal(g.received(2, 1300), NackReceived.Stale, 'a late answer is not forwarded');
});

test('a burst larger than the list is given up into one key frame request; later packets are new', () => {
  const { g, nacks, keyFrames } = generator({ maxPackets: 100 });
  g.received(10, 0);
  assert.equal(g.received(500, 5), NackReceived.New);
  assert.equal(nacks.length, 0);
  assert.equal(keyFrames(), 1);
  assert.equal(g.received(200, 10), NackReceived.Stale, 'a hole given up on is not forwarded');
  assert.equal(g.received(501, 10), NackReceived.New);
});

test('a hole filled more than maxMisorder behind the newest is recovered but not to be forwarded', () => {
  const { g } = generator();
  g.received(1000, 0);
  g.received(1003, 0); // 1001, 1002 missing
  for (let seq = 1004; seq < 1150; seq++) g.received(seq, 1);
  assert.equal(g.received(1002, 2), NackReceived.Stale, '148 behind');
  assert.equal(g.recovered, 1);
  assert.equal(g.pending, 1);
  g.received(1001, 2);
  assert.equal(g.pending, 0);
});
