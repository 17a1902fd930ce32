// Signaling load benchmark: N concurrent WebSocket peers in R rooms. The server runs in one
// child process, the load generator (ws clients) in another; this process coordinates.
// Measures join round trip (request sent → response received) while ramping, server CPU per
// join, and server memory per connected idle peer (RSS and heapUsed after forced GC).
// For a ratio, the same load also runs against a bare `ws` server that answers joins with a
// canned response (no tokens, rooms or notifications). Then, with everyone joined, peers relay
// ICE-candidate signals to a room mate: relay latency (sent → notification received) and server
// CPU per relayed signal.
//
//   npx tsx bench/signaling.ts [--peers 5000] [--rooms 500] [--rate 1000] [--relay-rate 5000]
//                              [--relay-seconds 5] [--repeat 3] [--no-baseline]
import { type ChildProcess, fork } from 'node:child_process';
import { loadavg } from 'node:os';
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

interface RelayResult {
  sent: number;
  acknowledged: number;
  delivered: number;
  latenciesMs: number[];
  elapsedMs: number;
}

const WARMUP_PEERS = 300;

type ParentMessage =
  | { cmd: 'start-server'; kind: ServerKind }
  | { cmd: 'sample' }
  | { cmd: 'cpu' }
  | { cmd: 'warmup'; port: number }
  | { cmd: 'relay'; rooms: number; rate: number; durationMs: number }
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
        // The least a relay can do: peer ids, forwarding, one response per request. No tokens,
        // validation, rooms, limits or notifications of joins.
        const byPeerId = new Map<string, WebSocket>();
        let n = 0;
        wss.on('connection', (ws) => {
          let peerId = '';
          ws.on('message', (data) => {
            const request = JSON.parse(data.toString()) as {
              id: number;
              method: string;
              data: { to: string; candidate?: unknown };
            };
            if (request.method === 'join') {
              peerId = `p-${n++}`;
              byPeerId.set(peerId, ws);
              ws.send(JSON.stringify({ type: 'response', id: request.id, ok: true, data: { peerId } }));
            } else if (request.method === 'signal') {
              const notification = { from: peerId, candidate: request.data.candidate };
              byPeerId
                .get(request.data.to)
                ?.send(JSON.stringify({ type: 'notification', method: 'signal', data: notification }));
              ws.send(JSON.stringify({ type: 'response', id: request.id, ok: true, data: {} }));
            } else {
              ws.send(JSON.stringify({ type: 'response', id: request.id, ok: true, data: {} }));
            }
          });
          ws.on('close', () => byPeerId.delete(peerId));
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
    } else if (message.cmd === 'cpu') {
      const cpu = process.cpuUsage();
      send({ cpuMicros: cpu.user + cpu.system });
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
  /** peerId of each socket, once joined. */
  peerIds: string[];
  elapsedMs: number;
  relay: { acknowledged: number; delivered: number; latenciesMs: number[] };
}

/** Opens one socket per token at `rate` per second; each sends `join` once it is open. */
function rampJoins(url: string, tokens: string[], rate: number, timeoutMs: number): Promise<Ramp> {
  const ramp: Ramp = {
    latenciesMs: [],
    sentAtMs: [],
    failed: 0,
    notifications: 0,
    sockets: [],
    peerIds: [],
    elapsedMs: 0,
    relay: { acknowledged: 0, delivered: 0, latenciesMs: [] },
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
      const index = ramp.sockets.length;
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
          const response = JSON.parse(text) as { ok: boolean; data: { peerId: string } };
          if (response.ok) {
            ramp.latenciesMs.push(performance.now() - sentAt);
            ramp.sentAtMs.push(sentAt - start);
            ramp.peerIds[index] = response.data.peerId;
          } else {
            ramp.failed++;
          }
          settle();
        } else if (text.startsWith('{"type":"response"')) {
          ramp.relay.acknowledged++;
        } else if (text.includes('"method":"signal"')) {
          // The sender put its send time in sdpMid; sender and receiver share this clock.
          const { data } = JSON.parse(text) as { data: { candidate: { sdpMid: string } } };
          ramp.relay.delivered++;
          ramp.relay.latenciesMs.push(performance.now() - Number(data.candidate.sdpMid));
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

/** Sends signals at `rate` per second for `durationMs`, each from peer i to a room mate. */
async function relaySignals(
  ramp: Ramp,
  rooms: number,
  rate: number,
  durationMs: number,
): Promise<RelayResult> {
  const peers = ramp.sockets.length;
  ramp.relay = { acknowledged: 0, delivered: 0, latenciesMs: [] };
  const start = performance.now();
  let sent = 0;
  let sender = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start;
      const due = Math.floor((Math.min(elapsed, durationMs) * rate) / 1000);
      for (; sent < due; sent++, sender = (sender + 1) % peers) {
        // Peer i is in room i % rooms, so i + rooms is a room mate.
        const target = ramp.peerIds[(sender + rooms) % peers];
        const ws = ramp.sockets[sender]!;
        if (target === undefined || ws.readyState !== WebSocket.OPEN) continue;
        const candidate = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '' };
        candidate.sdpMid = String(performance.now());
        ws.send(
          JSON.stringify({
            type: 'request',
            id: 100 + sent,
            method: 'signal',
            data: { to: target, candidate },
          }),
        );
      }
      if (elapsed >= durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  // Bounded wait for the last deliveries.
  for (let i = 0; i < 100 && ramp.relay.delivered < sent; i++) await new Promise((r) => setTimeout(r, 20));
  return { sent, ...ramp.relay, elapsedMs: performance.now() - start };
}

async function loadRole(): Promise<void> {
  const sockets: WebSocket[] = [];
  let measured: Ramp | undefined;
  let measuredRooms = 1;
  process.on('message', async (message: ParentMessage) => {
    if (message.cmd === 'exit') {
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    }
    if (message.cmd === 'relay') {
      if (measured === undefined) throw new Error('relay before load');
      send(await relaySignals(measured, measuredRooms, message.rate, message.durationMs));
      return;
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
    measured = ramp;
    measuredRooms = rooms;
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
    const onMessage = (message: unknown) => {
      cleanup();
      resolve(message as T);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`child exited with ${code}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error('child did not answer in time'));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      proc.off('message', onMessage);
      proc.off('exit', onExit);
    };
    proc.once('message', onMessage);
    proc.once('exit', onExit);
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
  relay?: RelayResult & { serverCpuMicros: number };
  /** The machine's 1-minute load average at the end of the run: other work on the shared cores. */
  loadAverage: number;
}

interface RunOptions {
  peers: number;
  rooms: number;
  rate: number;
  relayRate: number;
  relaySeconds: number;
}

async function run(kind: ServerKind, opts: RunOptions): Promise<RunResult> {
  const { peers, rooms, rate } = opts;
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
    const outcome: RunResult = { kind, load: result, before, after, loadAverage: 0 };
    if (opts.relaySeconds > 0) {
      server.send({ cmd: 'cpu' });
      const cpuBefore = await next<{ cpuMicros: number }>(server);
      load.send({ cmd: 'relay', rooms, rate: opts.relayRate, durationMs: opts.relaySeconds * 1000 });
      const relay = await next<RelayResult>(load, opts.relaySeconds * 1000 + 15_000);
      server.send({ cmd: 'cpu' });
      const cpuAfter = await next<{ cpuMicros: number }>(server);
      outcome.relay = { ...relay, serverCpuMicros: cpuAfter.cpuMicros - cpuBefore.cpuMicros };
    }
    outcome.loadAverage = loadavg()[0]!;
    return outcome;
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
    'load avg': r.loadAverage.toFixed(1),
  };
}

function relayRow(r: RunResult): Record<string, string> {
  const relay = r.relay!;
  const sorted = [...relay.latenciesMs].sort((a, b) => a - b);
  return {
    server: r.kind,
    sent: String(relay.sent),
    acknowledged: String(relay.acknowledged),
    delivered: String(relay.delivered),
    'relay p50 ms': percentile(sorted, 50).toFixed(2),
    'relay p99 ms': percentile(sorted, 99).toFixed(2),
    'server CPU µs/signal': (relay.serverCpuMicros / Math.max(1, relay.delivered)).toFixed(1),
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

const joinP99 = (r: RunResult) =>
  percentile(
    [...r.load.latenciesMs].sort((a, b) => a - b),
    99,
  );
const rssPerPeer = (r: RunResult) => (r.after.rss - r.before.rss) / Math.max(1, r.after.sockets);
const cpuPerJoin = (r: RunResult) => (r.after.cpuMicros - r.before.cpuMicros) / Math.max(1, r.load.joined);
const cpuPerSignal = (r: RunResult) =>
  r.relay ? r.relay.serverCpuMicros / Math.max(1, r.relay.delivered) : Number.NaN;

async function main(): Promise<void> {
  const peers = arg('peers', 5000);
  const rooms = arg('rooms', 500);
  const rate = arg('rate', 1000);
  const relayRate = arg('relay-rate', 5000);
  const relaySeconds = arg('relay-seconds', 5);
  // The machine's 2 cores are shared: repeat, interleaving the two servers, and take medians.
  const repeat = arg('repeat', 3);
  const baseline = !process.argv.includes('--no-baseline');
  const opts: RunOptions = { peers, rooms, rate, relayRate, relaySeconds };
  console.log(
    `signaling bench: ${peers} peers in ${rooms} rooms, ramp ${rate} joins/s, relay ${relayRate} signals/s ` +
      `for ${relaySeconds} s, ${repeat} rounds; server and load generator in separate processes`,
  );
  const results: RunResult[] = [];
  for (let round = 0; round < repeat; round++) {
    results.push(await run('signaling', opts));
    if (baseline) results.push(await run('bare', opts));
  }
  console.table(results.map((r) => row(r, peers)));
  if (relaySeconds > 0) {
    console.log(`signal relay with all ${peers} peers connected (a candidate to a room mate):`);
    console.table(results.map((r) => relayRow(r)));
  }
  const ours = results.filter((r) => r.kind === 'signaling');
  const bare = results.filter((r) => r.kind === 'bare');
  const last = ours.at(-1)!;
  console.log('join round trip by quarter of the ramp (signaling server, last round):');
  console.table(quarters(last.load, peers / rate));

  const p99 = median(ours.map(joinP99));
  const kb = median(ours.map(rssPerPeer)) / 1024;
  console.log(
    `medians over ${ours.length} rounds: join p99 ${p99.toFixed(1)} ms (target < 50: ${p99 < 50 ? 'met' : 'MISSED'}), ` +
      `${kb.toFixed(1)} KB RSS per idle peer (target < 20: ${kb < 20 ? 'met' : 'MISSED'}), ` +
      `heap ${(median(ours.map((r) => (r.after.heapUsed - r.before.heapUsed) / Math.max(1, r.after.sockets))) / 1024).toFixed(1)} KB per peer`,
  );
  if (bare.length > 0) {
    const ratio = (f: (r: RunResult) => number) => (median(ours.map(f)) / median(bare.map(f))).toFixed(2);
    console.log(
      `ratios signaling / bare ws (medians): join p99 ×${ratio(joinP99)}, server CPU per join ×${ratio(cpuPerJoin)}, ` +
        `RSS per peer ×${ratio(rssPerPeer)}` +
        (relaySeconds > 0 ? `, server CPU per relayed signal ×${ratio(cpuPerSignal)}` : ''),
    );
  }
}

const role = process.argv[2];
if (role === 'server') await serverRole();
else if (role === 'load') await loadRole();
else await main();
