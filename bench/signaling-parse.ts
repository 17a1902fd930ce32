// The per-message cost of the signal relay's own work, without sockets: parse the frame, check
// the envelope and the signal schema, serialise the notification. Compared side by side with
// the least any JSON relay does (JSON.parse + JSON.stringify of the same frame).
//
//   npx tsx bench/signaling-parse.ts
import { performance } from 'node:perf_hooks';
import { parseFrame, type SignalData, signalRequestDataSchema } from '../src/signaling/index.js';

const ROUNDS = 15;
const ITERATIONS = 20_000;

/** µs per call: the best of ROUNDS rounds, the two variants interleaved round by round, so that
 * other work on the shared cores inflates neither side more than the other. */
function bestMicros(a: () => unknown, b: () => unknown): [number, number] {
  const best = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  for (let round = 0; round < ROUNDS; round++) {
    [a, b].forEach((run, index) => {
      const start = performance.now();
      for (let i = 0; i < ITERATIONS; i++) run();
      best[index] = Math.min(best[index]!, ((performance.now() - start) * 1000) / ITERATIONS);
    });
  }
  return [best[0]!, best[1]!];
}

/** What the server does for one `signal` request, minus the socket writes. */
function relay(text: string): string {
  const frame = parseFrame(text);
  if (frame.kind !== 'request') throw new Error('bench frame must be a request');
  const parsed = signalRequestDataSchema.safeParse(frame.message.data);
  if (!parsed.success) throw new Error('bench frame must be a valid signal');
  const relayed: SignalData = { from: 'p-sender' };
  if (parsed.data.description !== undefined) relayed.description = parsed.data.description;
  else relayed.candidate = parsed.data.candidate;
  return JSON.stringify({ type: 'notification', method: 'signal', data: relayed });
}

const candidateFrame = JSON.stringify({
  type: 'request',
  id: 123,
  method: 'signal',
  data: {
    to: 'p-abcdefghijkl',
    candidate: {
      candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host',
      sdpMid: '0',
      sdpMLineIndex: 0,
      usernameFragment: 'abcd',
    },
  },
});
const sdp = `v=0\r\n${'a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n'.repeat(80)}`;
const offerFrame = JSON.stringify({
  type: 'request',
  id: 124,
  method: 'signal',
  data: { to: 'p-abcdefghijkl', description: { type: 'offer', sdp } },
});

const rows = [
  ['candidate', candidateFrame],
  ['offer', offerFrame],
].map(([label, text]) => {
  const [ours, plain] = bestMicros(
    () => relay(text!),
    () => JSON.stringify(JSON.parse(text!)),
  );
  return {
    frame: label,
    bytes: text!.length,
    'relay work µs': ours.toFixed(2),
    'JSON.parse+stringify µs': plain.toFixed(2),
    ratio: `×${(ours / plain).toFixed(2)}`,
  };
});
console.log(
  `signal relay work per message, best of ${ROUNDS} interleaved rounds of ${ITERATIONS} (no sockets)`,
);
console.table(rows);
