// TURN relay benchmark: the same ChannelData load through our TurnServer and coturn's turnserver,
// side by side in one run. Each server runs in its own process; its CPU (utime+stime from
// /proc/PID/stat) is read before and after the load phase. The load generator (bench/turn-load.ts)
// is a third process. Run: npx tsx bench/turn.ts [allocations] [rate_pps] [seconds] [payload]
// Env: TURN_BENCH_RUNS (rounds, default 3), TURN_BENCH_SERVERS (see `servers` below).
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const [allocations = 50, rate = 20000, seconds = 5, payload = 200] = process.argv.slice(2).map(Number);
const here = fileURLToPath(new URL('.', import.meta.url));
const CLOCK_TICKS = 100;
/** Extra node flags for our server process only, e.g. TURN_BENCH_NODE_FLAGS='--max-semi-space-size=32'. */
const serverFlags = (process.env.TURN_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);

/** User and system CPU seconds of a process, all threads. */
function cpuSeconds(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command name.
  return { user: Number(fields[11]) / CLOCK_TICKS, system: Number(fields[12]) / CLOCK_TICKS };
}

/** A port free for both UDP and TCP on loopback a moment ago. */
async function freePort(): Promise<number> {
  for (;;) {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const probe = dgram.createSocket('udp4');
    const udpFree = await new Promise<boolean>((r) => {
      probe.once('error', () => r(false));
      probe.bind(port, '127.0.0.1', () => r(true));
    });
    probe.close();
    await new Promise((r) => server.close(r));
    if (udpFree) return port;
  }
}

function waitForLine(child: ChildProcess, match: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      rl.close();
      reject(new Error(`timed out waiting for ${match}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited (${code}) before ${match}`));
    });
    rl.on('line', (line) => {
      if (!match.test(line)) return;
      clearTimeout(timer);
      rl.close();
      resolve(line);
    });
  });
}

interface Result {
  name: string;
  sent: number;
  relayed: number;
  lossPct: number;
  cpuMs: number;
  userMs: number;
  systemMs: number;
  usPerPacket: number;
  relayedPerSec: number;
}

async function measure(name: string, server: ChildProcess, port: number, raw = false): Promise<Result> {
  const load = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      `${here}turn-load.ts`,
      String(port),
      String(peerPort),
      String(allocations),
      String(rate),
      String(seconds),
      String(payload),
      ...(raw ? ['raw'] : []),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  try {
    await waitForLine(load, /^ready$/, 30000);
    const cpuBefore = cpuSeconds(server.pid!);
    load.stdin!.write('go\n');
    const line = await waitForLine(load, /^\{/, (seconds + 15) * 1000);
    const cpuAfter = cpuSeconds(server.pid!);
    const r = JSON.parse(line) as { sent: number; clientReceived: number; sendMs: number };
    // Each echoed datagram was relayed twice (client → peer, peer → client). Counting only the
    // ones that came back undercounts the server's work when packets are lost, for both servers.
    const relayed = 2 * r.clientReceived;
    const userMs = (cpuAfter.user - cpuBefore.user) * 1000;
    const systemMs = (cpuAfter.system - cpuBefore.system) * 1000;
    const cpuMs = userMs + systemMs;
    return {
      name,
      sent: r.sent,
      relayed,
      lossPct: 100 * (1 - relayed / (2 * r.sent)),
      cpuMs,
      userMs,
      systemMs,
      usPerPacket: (cpuMs * 1000) / relayed,
      relayedPerSec: relayed / ((r.sendMs + 500) / 1000),
    };
  } finally {
    load.kill('SIGKILL');
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

async function runOurs(): Promise<Result> {
  const port = await freePort();
  const profile = process.env.TURN_BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.TURN_BENCH_PROFILE}`]
    : [];
  const server = spawn(
    process.execPath,
    [...profile, ...serverFlags, '--import', 'tsx', `${here}turn-server.ts`, String(port), '50000', '52000'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    await waitForLine(server, /^ready$/, 20000);
    return await measure('tureen', server, port);
  } finally {
    await stop(server);
  }
}

const floorNames = { unconnected: 'floor', connected: 'floor-c', 'connected-relay': 'floor-r' } as const;

async function runFloor(mode: 'unconnected' | 'connected' | 'connected-relay'): Promise<Result> {
  const port = await freePort();
  const server = spawn(
    process.execPath,
    ['--import', 'tsx', `${here}turn-floor-relay.ts`, String(port), String(peerPort), mode],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    await waitForLine(server, /^ready$/, 20000);
    return await measure(floorNames[mode], server, port, true);
  } finally {
    await stop(server);
  }
}

async function runCoturn(): Promise<Result> {
  const port = await freePort();
  const server = spawn(
    'turnserver',
    [
      '-n',
      '--no-cli',
      '--no-tls',
      '--no-dtls',
      '--listening-ip',
      '127.0.0.1',
      '--relay-ip',
      '127.0.0.1',
      '-p',
      String(port),
      '--allow-loopback-peers',
      '--lt-cred-mech',
      '--user',
      'u:p',
      '--realm',
      'tureen',
      '--min-port',
      '52001',
      '--max-port',
      '54000',
      '--no-stdout-log',
      '--log-file',
      '/dev/null',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise((r) => setTimeout(r, 1000));
    return await measure('coturn', server, port);
  } finally {
    await stop(server);
  }
}

const repetitions = Number(process.env.TURN_BENCH_RUNS ?? 3);
/**
 * Which relays to run, in this order each round: tureen, coturn, floor, and two variants of the
 * floor with connected sockets: floor-r (relay sockets connected to the peer) and floor-c (also a
 * per-client socket on the listening port, SO_REUSEADDR, connected to the client).
 */
const servers = (process.env.TURN_BENCH_SERVERS ?? 'tureen,coturn,floor').split(',');
console.log(
  `TURN relay: ${allocations} allocations, ${rate} ChannelData/s for ${seconds} s, ${payload}-byte payload, ` +
    `echo peer turnutils_peer (each packet relayed twice); ${repetitions} alternating runs per server`,
);
const peerPort = await freePort();
const peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(peerPort)], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 300));
const results: Result[] = [];
try {
  for (let i = 0; i < repetitions; i++) {
    for (const name of servers) {
      if (name === 'tureen') results.push(await runOurs());
      else if (name === 'coturn') results.push(await runCoturn());
      else if (name === 'floor') results.push(await runFloor('unconnected'));
      else if (name === 'floor-c') results.push(await runFloor('connected'));
      else if (name === 'floor-r') results.push(await runFloor('connected-relay'));
    }
  }
} finally {
  peer.kill('SIGKILL');
}
console.log('server  | sent    | relayed | loss %  | relayed/s | CPU ms (user+sys) | CPU µs/relayed pkt');
for (const r of results) {
  console.log(
    `${r.name.padEnd(7)} | ${String(r.sent).padStart(7)} | ${String(r.relayed).padStart(7)} | ${r.lossPct.toFixed(3).padStart(7)} | ${r.relayedPerSec.toFixed(0).padStart(9)} | ${`${r.cpuMs.toFixed(0)} (${r.userMs.toFixed(0)}+${r.systemMs.toFixed(0)})`.padStart(17)} | ${r.usPerPacket.toFixed(2).padStart(6)}`,
  );
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const medians = new Map<string, number>();
for (const name of servers)
  medians.set(name, median(results.filter((r) => r.name === name).map((r) => r.usPerPacket)));
console.log(
  `median CPU µs per relayed packet: ${[...medians].map(([name, us]) => `${name} ${us.toFixed(2)}`).join(', ')}` +
    ' (floor: bare Node dgram relay)',
);
const ours = medians.get('tureen');
if (ours !== undefined) {
  const ratios = [...medians]
    .filter(([name]) => name !== 'tureen')
    .map(([name, us]) => `tureen/${name} ${(ours / us).toFixed(2)}`);
  console.log(
    `ratio ${ratios.join('; ')}; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
  );
}
