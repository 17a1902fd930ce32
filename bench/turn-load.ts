// Load generator for bench/turn.ts, in its own process: N allocations through one TURN server,
// each with a channel to a UDP echo peer (coturn's turnutils_peer, started by bench/turn.ts),
// ChannelData at a fixed total rate for a bounded time. Prints 'ready' once allocations and
// channels exist, waits for 'go' on stdin, then prints one JSON line of results.
// Usage: node --import tsx bench/turn-load.ts SERVER_PORT PEER_PORT ALLOCATIONS RATE_PPS SECONDS PAYLOAD_BYTES [raw]
import { TurnClient } from '../src/turn/index.js';

const [serverPort, peerPort, allocations, rate, seconds, payloadBytes] = process.argv
  .slice(2)
  .map(Number) as [number, number, number, number, number, number];

const rawChannelData = process.argv[8] === 'raw';
const clients: TurnClient[] = [];
let clientReceived = 0;
for (let i = 0; i < allocations; i++) {
  const c = await TurnClient.connect({
    serverAddress: '127.0.0.1',
    serverPort,
    username: 'u',
    password: 'p',
  });
  // Against the bare floor relay there is nothing to allocate: ChannelData goes straight out.
  if (!rawChannelData) {
    await c.allocate();
    await c.channelBind(0x4000, { address: '127.0.0.1', port: peerPort });
  }
  c.onData = () => {
    clientReceived++;
  };
  clients.push(c);
}
const frame = Buffer.alloc(4 + payloadBytes, 0xab);
frame.writeUInt16BE(0x4000, 0);
frame.writeUInt16BE(payloadBytes, 2);

process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));

const tickMs = 5;
const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
const total = Math.round(rate * seconds);
let sent = 0;
let next = 0;
const started = process.hrtime.bigint();
await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    // Catch up to the schedule so timer jitter does not lower the rate.
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    const due = Math.min(total, Math.round((elapsedMs / 1000) * rate) + perTick);
    while (sent < due) {
      clients[next]!.sendRaw(frame);
      next = (next + 1) % clients.length;
      sent++;
    }
    if (sent >= total || elapsedMs > seconds * 1000 + 2000) {
      clearInterval(timer);
      resolve();
    }
  }, tickMs);
});
const sendMs = Number(process.hrtime.bigint() - started) / 1e6;
// Let the last packets drain.
await new Promise((r) => setTimeout(r, 500));
process.stdout.write(`${JSON.stringify({ sent, clientReceived, sendMs })}\n`);
for (const c of clients) c.close();
