/**
 * DTLS benchmarks, printed as tables:
 *  1. full handshakes per second on one core, our client ↔ our server in process (direct callbacks);
 *  2. openssl s_client handshakes (one process each) against our server (bench/dtls-server.ts, its
 *     own process) and against openssl s_server, interleaved, with each server's CPU per handshake;
 *  3. record layer: ns per 1200-byte application-data record, seal and open, beside one raw
 *     node:crypto AES-128-GCM call.
 * Everything is bounded in count and time and stays on 127.0.0.1.
 * Run: npx tsx bench/dtls.ts [handshakes=300] [opensslRounds=30] [records=200000]
 */
import { spawn, spawnSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes, X509Certificate } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type DtlsCertificate,
  DtlsSession,
  fingerprint,
  generateCertificate,
} from '../src/transport/dtls/index.js';

const HANDSHAKES = Number(process.argv[2] ?? 300);
const OPENSSL_ROUNDS = Number(process.argv[3] ?? 30);
const RECORDS = Number(process.argv[4] ?? 200_000);
const DEADLINE = Date.now() + 120_000;

const serverCert = generateCertificate();
const clientCert = generateCertificate();
const fp = (c: DtlsCertificate | Buffer) => [
  { algorithm: 'sha-256', value: fingerprint(Buffer.isBuffer(c) ? c : c.der) },
];

/** A connected pair over a FIFO pump (no recursion, no event loop turns). */
function inProcessHandshake(cookieExchange: boolean): { client: DtlsSession; server: DtlsSession } {
  const queue: [DtlsSession, Buffer][] = [];
  const server: DtlsSession = new DtlsSession({
    role: 'server',
    certificate: serverCert,
    remoteFingerprints: fp(clientCert),
    cookieExchange,
    send: (d) => queue.push([client, d]),
  });
  const client: DtlsSession = new DtlsSession({
    role: 'client',
    certificate: clientCert,
    remoteFingerprints: fp(serverCert),
    send: (d) => queue.push([server, d]),
  });
  client.start();
  for (let i = 0; queue.length > 0 && i < 100; i++) {
    const [to, d] = queue.shift()!;
    to.handleDatagram(d);
  }
  if (client.state !== 'connected' || server.state !== 'connected')
    throw new Error('handshake did not complete');
  return { client, server };
}

function benchInProcess(): void {
  // The two variants alternate in batches of 25 so that load from other processes hits both alike.
  const variants = [true, false].map((cookie) => ({ cookie, n: 0, wallNs: 0, cpuUs: 0 }));
  for (const v of variants) inProcessHandshake(v.cookie); // warm-up
  while (variants.some((v) => v.n < HANDSHAKES) && Date.now() < DEADLINE) {
    for (const v of variants) {
      const start = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      for (let i = 0; i < 25; i++) {
        const { client, server } = inProcessHandshake(v.cookie);
        client.close();
        server.close();
      }
      const used = process.cpuUsage(cpu);
      v.cpuUs += used.user + used.system;
      v.wallNs += Number(process.hrtime.bigint() - start);
      v.n += 25;
    }
  }
  console.log(
    `\n## Full handshakes, ECDSA P-256 + X25519, both sides authenticated (${variants[0]!.n} each)`,
  );
  console.table(
    variants.map((v) => ({
      what: `client+server in one process${v.cookie ? ', with HelloVerifyRequest' : ''}`,
      'handshakes/s (both sides, wall)': (v.n / (v.wallNs / 1e9)).toFixed(0),
      'handshakes/s per core (CPU)': (v.n / (v.cpuUs / 1e6)).toFixed(0),
      'CPU ms per handshake (both sides)': (v.cpuUs / 1000 / v.n).toFixed(2),
    })),
  );
}

function opensslCert(dir: string) {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-subj',
      '/CN=bench',
      '-days',
      '1',
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile, der: new X509Certificate(readFileSync(certFile)).raw };
}

/** One s_client process: handshake, then stdin EOF closes it. Resolves with its wall time in ms. */
function opensslClientRound(port: number, certFile: string, keyFile: string): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(
      'openssl',
      [
        's_client',
        '-dtls1_2',
        '-connect',
        `127.0.0.1:${port}`,
        '-use_srtp',
        'SRTP_AEAD_AES_128_GCM',
        '-cert',
        certFile,
        '-key',
        keyFile,
        '-no_ign_eof',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.resume();
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.stdin.end();
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(Number(process.hrtime.bigint() - start) / 1e6);
      else reject(new Error(`s_client exited ${code}: ${out}`));
    });
  });
}

function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

async function benchOpenssl(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dtls-bench-'));
  const peer = opensslCert(dir);
  const serverPeer = opensslCert(mkdtempSync(join(tmpdir(), 'dtls-bench-s-')));
  // Our server in its own process, so that its CPU time is read from /proc like openssl's.
  const ours = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('./dtls-server.ts', import.meta.url).pathname, fingerprint(peer.der)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const ourPort = await new Promise<number>((resolve, reject) => {
    let out = '';
    ours.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = out.match(/PORT (\d+)/);
      if (m) resolve(Number(m[1]));
    });
    ours.on('exit', () => reject(new Error('our DTLS server exited')));
  });
  // openssl s_server, serving clients one after another.
  const probe = createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
  const theirPort = probe.address().port;
  probe.close();
  const sServer = spawn(
    'openssl',
    [
      's_server',
      '-dtls1_2',
      '-accept',
      `127.0.0.1:${theirPort}`,
      '-use_srtp',
      'SRTP_AEAD_AES_128_GCM',
      '-cert',
      serverPeer.certFile,
      '-key',
      serverPeer.keyFile,
      '-Verify',
      '1',
      '-quiet',
    ],
    { stdio: ['pipe', 'ignore', 'ignore'] },
  );
  await new Promise((r) => setTimeout(r, 500));

  const ourWall: number[] = [];
  const theirWall: number[] = [];
  let ourCpu = 0;
  let theirCpu = 0;
  try {
    // One unmeasured round each: JIT warm-up on our side, page cache on theirs.
    await opensslClientRound(ourPort, peer.certFile, peer.keyFile);
    await opensslClientRound(theirPort, peer.certFile, peer.keyFile);
    for (let i = 0; i < OPENSSL_ROUNDS && Date.now() < DEADLINE; i++) {
      let before = processCpuMs(ours.pid!);
      ourWall.push(await opensslClientRound(ourPort, peer.certFile, peer.keyFile));
      ourCpu += processCpuMs(ours.pid!) - before;
      before = processCpuMs(sServer.pid!);
      theirWall.push(await opensslClientRound(theirPort, peer.certFile, peer.keyFile));
      theirCpu += processCpuMs(sServer.pid!) - before;
    }
  } finally {
    sServer.kill('SIGKILL');
    ours.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const n = ourWall.length;
  console.log(
    `\n## openssl s_client (one process per handshake, stdin closed after it), ${n} rounds interleaved`,
  );
  console.table([
    {
      server: 'tureen DtlsSession (node:crypto), own process',
      'median wall ms per s_client run': median(ourWall).toFixed(1),
      'server CPU ms per handshake': (ourCpu / n).toFixed(2),
    },
    {
      server: 'openssl s_server',
      'median wall ms per s_client run': median(theirWall).toFixed(1),
      'server CPU ms per handshake': (theirCpu / n).toFixed(2),
    },
  ]);
  console.log(
    `ratio wall (ours / openssl): ${(median(ourWall) / median(theirWall)).toFixed(2)}; ` +
      `ratio server CPU: ${(ourCpu / Math.max(theirCpu, 1e-9)).toFixed(2)} (both from /proc, 10 ms ticks summed over ${n} rounds)`,
  );
}

function benchRecords(): void {
  const { client, server } = inProcessHandshake(false);
  const payload = randomBytes(1200);
  // Seal: client.send() with a send callback that keeps the last datagram.
  const sealed: Buffer[] = [];
  let sink: Buffer | undefined;
  const sealClient = client as unknown as { sendDatagram: (d: Buffer) => void };
  sealClient.sendDatagram = (d) => {
    sink = d;
  };
  const n = RECORDS;
  for (let i = 0; i < 1000; i++) client.send(payload); // warm-up
  let start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) client.send(payload);
  const sealNs = Number(process.hrtime.bigint() - start) / n;
  // Open: fresh records (the replay window drops repeats), fed to the server.
  const count = Math.min(n, 50_000);
  sealClient.sendDatagram = (d) => sealed.push(d);
  for (let i = 0; i < count; i++) client.send(payload);
  let received = 0;
  server.on('data', () => received++);
  start = process.hrtime.bigint();
  for (const d of sealed) server.handleDatagram(d);
  const openNs = Number(process.hrtime.bigint() - start) / count;
  if (received !== count || !sink) throw new Error(`opened ${received} of ${count}`);
  // Reference: one raw node:crypto AES-128-GCM call per 1200 bytes.
  const key = randomBytes(16);
  const iv = randomBytes(12);
  const aad = randomBytes(13);
  start = process.hrtime.bigint();
  let tag = Buffer.alloc(16);
  let ct = Buffer.alloc(0);
  for (let i = 0; i < n; i++) {
    const c = createCipheriv('aes-128-gcm', key, iv);
    c.setAAD(aad);
    ct = c.update(payload);
    c.final();
    tag = c.getAuthTag();
  }
  const rawSealNs = Number(process.hrtime.bigint() - start) / n;
  start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const d = createDecipheriv('aes-128-gcm', key, iv);
    d.setAAD(aad);
    d.setAuthTag(tag);
    d.update(ct);
    d.final();
  }
  const rawOpenNs = Number(process.hrtime.bigint() - start) / count;
  client.close();
  server.close();
  console.log(`\n## Record layer, AES-128-GCM, 1200-byte application data (${n} seals, ${count} opens)`);
  console.table([
    {
      operation: 'DtlsSession.send (seal + header)',
      'ns/record': sealNs.toFixed(0),
      'vs raw node:crypto': (sealNs / rawSealNs).toFixed(2),
    },
    {
      operation: 'DtlsSession.handleDatagram (replay check + open + emit)',
      'ns/record': openNs.toFixed(0),
      'vs raw node:crypto': (openNs / rawOpenNs).toFixed(2),
    },
    {
      operation: 'raw createCipheriv+setAAD+update+final+tag',
      'ns/record': rawSealNs.toFixed(0),
      'vs raw node:crypto': '1.00',
    },
    {
      operation: 'raw createDecipheriv+setAAD+setAuthTag+update+final',
      'ns/record': rawOpenNs.toFixed(0),
      'vs raw node:crypto': '1.00',
    },
  ]);
}

console.log(`node ${process.version}, ${spawnSync('openssl', ['version']).stdout.toString().trim()}`);
benchInProcess();
benchRecords();
await benchOpenssl();
