// Signaling load benchmark: N concurrent WebSocket peers in R rooms. The server runs in one
// child process, the load generator (ws clients) in another; this process coordinates.
// Measures join round trip (request sent → response received) while ramping, server CPU per
// join, and server memory per connected idle peer (RSS and heapUsed after forced GC).
// For a ratio, the same load also runs against a bare `ws` server that answers joins with a
// canned response (no tokens, rooms or notifications).
//
//   npx tsx bench/signaling.ts [--peers 5000] [--rooms 500] [--rate 1000] [--no-baseline]
import { type ChildProcess, fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';
import { issueToken, SignalingServer } from '../src/signaling/index.js';

const SECRET = 'bench-secret';
const SELF = fileURLToPath(import.meta.url);

type ServerKind = 'signaling' | 'bare';

interface MemorySample {
  rss: number;
  heapUsed: number;
  external: number;
  cpuMicros: number;
  sockets: number;
  peers: number;
  rooms: number;
}

interface LoadResult {
  joined: number;
  failed: number;
  latenciesMs: number[];
  sentAtMs: number[];
  notifications: number;
  elapsedMs: number;
}

const WARMUP_PEERS = 300;

type ParentMessage =
  | { cmd: 'start-server'; kind: ServerKind }
  | { cmd: 'sample' }
  | { cmd: 'warmup'; port: number }
  | { cmd: 'load'; port: number; peers: number; rooms: number; rate: number; timeoutMs: number }
  | { cmd: 'exit' };

function arg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

function send(message: unknown): void {
  process.send?.(message);
}

// --- server child --------------------------------------------------------------------------

async function serverRole(): Promise<void> {
  let close: () => Promise<void> = async () => {};
  let stats = () => ({ sockets: 0, peers: 0, rooms: 0 });
  process.on('message', async (message: ParentMessage) => {
    if (message.cmd === 'start-server') {
      if (message.kind === 'signaling') {
        const server = await SignalingServer.start({
          port: 0,
          host: '127.0.0.1',
          secret: SECRET,
          iceServers: (identity, ttl) => [
            { urls: ['stun:127.0.0.1:3478'] },
            { urls: ['turn:127.0.0.1:3478?transport=udp'], username: `${ttl}:${identity}`, credential: 'c' },
          ],
        });
        close = () => server.close();
        stats = () => server.stats();
        send({ port: server.port });
      } else {
        const wss = new WebSocketServer({
          port: 0,
          host: '127.0.0.1',
          perMessageDeflate: false,
          maxPayload: 65536,
          clientTracking: true,
        });
        await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
        let n = 0;
        wss.on('connection', (ws) => {
          ws.on('message', (data) => {
            const request = JSON.parse(data.toString()) as { id: number };
            ws.send(
              JSON.stringify({ type: 'response', id: request.id, ok: true, data: { peerId: `p-${n++}` } }),
            );
          });
        });
        close = () =>
          new Promise<void>((resolve) => {
            for (const ws of wss.clients) ws.terminate();
            wss.close(() => resolve());
          });
        stats = () => ({ sockets: wss.clients.size, peers: 0, rooms: 0 });
        send({ port: (wss.address() as { port: number }).port });
      }
    } else if (message.cmd === 'sample') {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc === undefined) throw new Error('run the server child with --expose-gc');
      for (let i = 0; i < 4; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const memory = process.memoryUsage();
      const cpu = process.cpuUsage();
      const sample: MemorySample = {
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        external: memory.external,
        cpuMicros: cpu.user + cpu.system,
        ...stats(),
      };
      send(sample);
    } else if (message.cmd === 'exit') {
      await close();
      process.exit(0);
    }
  });
  send({ ready: true });
}

// --- load child ----------------------------------------------------------------------------

interface Ramp {
  /** Join round trip of each peer that joined, in the order they were started. */
  latenciesMs: number[];
  /** When each of those peers sent its join, ms after the ramp started. */
  sentAtMs: number[];
  failed: number;
  notifications: number;
  sockets: WebSocket[];
  elapsedMs: number;
}

/** Opens one socket per token at `rate` per second; each sends `join` once it is open. */
function rampJoins(url: string, tokens: string[], rate: number, timeoutMs: number): Promise<Ramp> {
  const ramp: Ramp = {
    latenciesMs: [],
    sentAtMs: [],
    failed: 0,
    notifications: 0,
    sockets: [],
    elapsedMs: 0,
  };
  const start = performance.now();
  let settled = 0;
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(deadline);
      clearInterval(launcher);
      ramp.failed += tokens.length - settled;
      ramp.elapsedMs = performance.now() - start;
      resolve(ramp);
    };
    const deadline = setTimeout(finish, timeoutMs);
    const settle = () => {
      if (++settled === tokens.length) finish();
    };
    const open = (token: string) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ramp.sockets.push(ws);
      let sentAt = 0;
      let answered = false;
      ws.on('open', () => {
        sentAt = performance.now();
        ws.send(JSON.stringify({ type: 'request', id: 1, method: 'join', data: { token } }));
      });
      ws.on('message', (data) => {
        const text = data.toString();
        if (!answered && text.startsWith('{"type":"response"')) {
          answered = true;
          if ((JSON.parse(text) as { ok: boolean }).ok) {
            ramp.latenciesMs.push(performance.now() - sentAt);
            ramp.sentAtMs.push(sentAt - start);
          } else {
            ramp.failed++;
          }
          settle();
        } else {
          ramp.notifications++;
        }
      });
      ws.on('error', () => {
        if (!answered) {
          answered = true;
          ramp.failed++;
          settle();
        }
      });
    };
    // Peer i starts at i / rate seconds.
    let launched = 0;
    const launcher = setInterval(() => {
      const due = Math.min(tokens.length, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      while (launched < due) open(tokens[launched++]!);
      if (launched === tokens.length) clearInterval(launcher);
    }, 5);
  });
}

function issueTokens(count: number, rooms: number, prefix: string): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      issueToken(SECRET, { sub: `${prefix}-user-${i}`, room: `${prefix}-room-${i % rooms}` }, 3600),
    ),
  );
}

async function loadRole(): Promise<void> {
  const sockets: WebSocket[] = [];
  process.on('message', async (message: ParentMessage) => {
    if (message.cmd === 'exit') {
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    }
    if (message.cmd === 'warmup') {
      // Warms the server's JIT and lazily loaded modules, then leaves: measured peers start cold-free.
      const url = `ws://127.0.0.1:${message.port}/ws`;
      const warm = await rampJoins(url, await issueTokens(WARMUP_PEERS, 30, 'warm'), 500, 20_000);
      await Promise.all(
        warm.sockets.map(
          (ws) =>
            new Promise<void>((resolve) => {
              if (ws.readyState !== WebSocket.OPEN) return resolve(ws.terminate());
              ws.send(JSON.stringify({ type: 'request', id: 2, method: 'leave', data: {} }));
              ws.once('close', () => resolve());
              ws.close();
            }),
        ),
      );
      send({ warmed: warm.latenciesMs.length });
      return;
    }
    if (message.cmd !== 'load') return;
    const { port, peers, rooms, rate, timeoutMs } = message;
    const tokens = await issueTokens(peers, rooms, 'bench');
    const ramp = await rampJoins(`ws://127.0.0.1:${port}/ws`, tokens, rate, timeoutMs);
    sockets.push(...ramp.sockets);
    // Let late notifications (peerJoined of later peers) drain before reporting.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const report: LoadResult = {
      joined: ramp.latenciesMs.length,
      failed: ramp.failed,
      latenciesMs: ramp.latenciesMs,
      sentAtMs: ramp.sentAtMs,
      notifications: ramp.notifications,
      elapsedMs: ramp.elapsedMs,
    };
    send(report);
  });
  send({ ready: true });
}

// --- coordinator ---------------------------------------------------------------------------

function child(role: 'server' | 'load'): ChildProcess {
  return fork(SELF, [role], {
    execArgv: [
      '--import',
      'tsx',
      ...(role === 'server' ? ['--expose-gc'] : []),
      // BENCH_CPU_PROF=DIR writes a .cpuprofile of the server child into DIR.
      ...(role === 'server' && process.env.BENCH_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
        : []),
    ],
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function next<T>(proc: ChildProcess, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child did not answer in time')), timeoutMs);
    proc.once('message', (message) => {
      clearTimeout(timer);
      resolve(message as T);
    });
    proc.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface RunResult {
  kind: ServerKind;
  load: LoadResult;
  before: MemorySample;
  after: MemorySample;
}

async function run(kind: ServerKind, peers: number, rooms: number, rate: number): Promise<RunResult> {
  const server = child('server');
  const load = child('load');
  try {
    await Promise.all([next(server), next(load)]);
    server.send({ cmd: 'start-server', kind });
    const { port } = await next<{ port: number }>(server);
    load.send({ cmd: 'warmup', port });
    await next(load);
    server.send({ cmd: 'sample' });
    const before = await next<MemorySample>(server);
    const timeoutMs = Math.ceil((peers / rate) * 1000) + 30_000;
    load.send({ cmd: 'load', port, peers, rooms, rate, timeoutMs });
    const result = await next<LoadResult>(load, timeoutMs + 10_000);
    server.send({ cmd: 'sample' });
    const after = await next<MemorySample>(server);
    return { kind, load: result, before, after };
  } finally {
    for (const p of [load, server]) if (p.connected) p.send({ cmd: 'exit' });
    await Promise.all(
      [server, load].map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null) return resolve();
            const timer = setTimeout(() => {
              p.kill('SIGKILL');
              resolve();
            }, 5000);
            p.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
  }
}

function row(r: RunResult, peers: number): Record<string, string> {
  const sorted = [...r.load.latenciesMs].sort((a, b) => a - b);
  const connected = Math.max(1, r.after.sockets);
  const kb = (bytes: number) => (bytes / 1024).toFixed(1);
  return {
    server: r.kind,
    joined: `${r.load.joined}/${peers}`,
    failed: String(r.load.failed),
    'join p50 ms': percentile(sorted, 50).toFixed(2),
    'join p99 ms': percentile(sorted, 99).toFixed(2),
    'join max ms': (sorted.at(-1) ?? Number.NaN).toFixed(2),
    'ramp s': (r.load.elapsedMs / 1000).toFixed(1),
    'server CPU µs/join': ((r.after.cpuMicros - r.before.cpuMicros) / Math.max(1, r.load.joined)).toFixed(0),
    'RSS KB/peer': kb((r.after.rss - r.before.rss) / connected),
    'heap KB/peer': kb((r.after.heapUsed - r.before.heapUsed) / connected),
    'external KB/peer': kb((r.after.external - r.before.external) / connected),
    'notifications rx': String(r.load.notifications),
    'sockets/peers/rooms': `${r.after.sockets}/${r.after.peers}/${r.after.rooms}`,
  };
}

/** p50/p99 of joins grouped by when they were sent: shows whether latency grows with load. */
function quarters(load: LoadResult, rampSeconds: number): Record<string, string>[] {
  const groups: number[][] = [[], [], [], []];
  for (let i = 0; i < load.latenciesMs.length; i++) {
    const quarter = Math.min(3, Math.floor((load.sentAtMs[i]! / 1000 / rampSeconds) * 4));
    groups[quarter]!.push(load.latenciesMs[i]!);
  }
  return groups.map((group, q) => {
    const sorted = group.sort((a, b) => a - b);
    return {
      quarter: `${q + 1}`,
      joins: String(sorted.length),
      'p50 ms': percentile(sorted, 50).toFixed(2),
      'p99 ms': percentile(sorted, 99).toFixed(2),
    };
  });
}

async function main(): Promise<void> {
  const peers = arg('peers', 5000);
  const rooms = arg('rooms', 500);
  const rate = arg('rate', 1000);
  const baseline = !process.argv.includes('--no-baseline');
  console.log(
    `signaling bench: ${peers} peers in ${rooms} rooms, ramp ${rate} joins/s, server and load in separate processes`,
  );
  const results: RunResult[] = [await run('signaling', peers, rooms, rate)];
  if (baseline) results.push(await run('bare', peers, rooms, rate));
  console.table(results.map((r) => row(r, peers)));
  const ours = results[0]!;
  if (baseline) {
    const bare = results[1]!;
    const p99 = (r: RunResult) =>
      percentile(
        [...r.load.latenciesMs].sort((a, b) => a - b),
        99,
      );
    const rss = (r: RunResult) => (r.after.rss - r.before.rss) / Math.max(1, r.after.sockets);
    console.log(
      `ratio signaling / bare ws: join p99 ×${(p99(ours) / p99(bare)).toFixed(2)}, RSS per peer ×${(rss(ours) / rss(bare)).toFixed(2)}`,
    );
  }
  console.log('join round trip by quarter of the ramp (signaling server):');
  console.table(quarters(ours.load, peers / rate));
  const sorted = [...ours.load.latenciesMs].sort((a, b) => a - b);
  const perPeerKb = (ours.after.rss - ours.before.rss) / Math.max(1, ours.after.sockets) / 1024;
  console.log(
    `targets: join p99 ${percentile(sorted, 99).toFixed(1)} ms (< 50: ${percentile(sorted, 99) < 50 ? 'met' : 'MISSED'}), ` +
      `${perPeerKb.toFixed(1)} KB RSS per idle peer (< 20: ${perPeerKb < 20 ? 'met' : 'MISSED'})`,
  );
}

const role = process.argv[2];
if (role === 'server') await serverRole();
else if (role === 'load') await loadRole();
else await main();
