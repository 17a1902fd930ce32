/**
 * SCTP benchmarks, printed as tables:
 *  1. throughput: reliable ordered messages of 1 KiB and 64 KiB between two of our associations in
 *     one process, over a direct link (packets handed over in batches on setImmediate, as a socket
 *     would), and through DTLS (AES-128-GCM records) on the same link;
 *  2. latency p50/p99 (send() to onMessage) at half the measured rate;
 *  3. CRC32c MB/s.
 * Bounded in time; no network.
 * Run: npx tsx bench/sctp.ts [seconds per case = 2]
 */
import { DtlsSession, fingerprint, generateCertificate } from '../src/transport/dtls/index.js';
import { crc32c, SctpAssociation } from '../src/transport/sctp/index.js';

const SECONDS = Number(process.argv[2] ?? 2);

/** Delivers queued packets on the next setImmediate, in order, like a socket's receive loop. */
class Link {
  private readonly queue: [(p: Buffer) => void, Buffer][] = [];
  private scheduled = false;

  carry(to: (p: Buffer) => void, packet: Buffer): void {
    this.queue.push([to, packet]);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    // Packets queued while flushing wait for the next turn.
    const batch = this.queue.splice(0, this.queue.length);
    for (const [to, packet] of batch) to(packet);
  }
}

interface Endpoints {
  a: SctpAssociation;
  b: SctpAssociation;
  close(): void;
}

async function directPair(): Promise<Endpoints> {
  const link = new Link();
  const a: SctpAssociation = new SctpAssociation({ send: (p) => link.carry((x) => b.handlePacket(x), p) });
  const b: SctpAssociation = new SctpAssociation({ send: (p) => link.carry((x) => a.handlePacket(x), p) });
  a.connect();
  await until(() => a.state === 'connected' && b.state === 'connected');
  return {
    a,
    b,
    close: () => {
      a.close();
      b.close();
    },
  };
}

async function dtlsPair(): Promise<Endpoints> {
  const link = new Link();
  const certA = generateCertificate();
  const certB = generateCertificate();
  const fpOf = (der: Buffer) => [{ algorithm: 'sha-256' as const, value: fingerprint(der) }];
  const client: DtlsSession = new DtlsSession({
    role: 'client',
    certificate: certA,
    remoteFingerprints: fpOf(certB.der),
    send: (d) => link.carry((x) => server.handleDatagram(x), d),
  });
  const server: DtlsSession = new DtlsSession({
    role: 'server',
    certificate: certB,
    remoteFingerprints: fpOf(certA.der),
    cookieExchange: false,
    send: (d) => link.carry((x) => client.handleDatagram(x), d),
  });
  const a = new SctpAssociation({ send: (p) => client.send(p) });
  const b = new SctpAssociation({ send: (p) => server.send(p) });
  client.on('data', (d) => a.handlePacket(d));
  server.on('data', (d) => b.handlePacket(d));
  server.start();
  client.start();
  await until(() => client.state === 'connected' && server.state === 'connected');
  a.connect();
  b.connect();
  await until(() => a.state === 'connected' && b.state === 'connected');
  return {
    a,
    b,
    close: () => {
      a.close();
      b.close();
      client.close();
      server.close();
    },
  };
}

async function until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Keeps the sender's queue between 1 and 4 MiB for SECONDS; returns messages/s and MB/s. */
async function throughput(
  pair: Endpoints,
  size: number,
): Promise<{ rate: number; mbps: number; cpu: number; cpuPerMessageUs: number }> {
  const { a, b } = pair;
  const payload = Buffer.alloc(size, 0x61);
  let received = 0;
  let bytes = 0;
  b.onMessage = (_s, _p, d) => {
    received++;
    bytes += d.length;
  };
  const fill = () => {
    while (a.bufferedAmount(0) < 4 * 1024 * 1024) a.send(0, 53, payload);
  };
  a.setBufferedAmountLowThreshold(0, 1024 * 1024);
  a.onBufferedAmountLow = fill;
  fill();
  // Warm-up, then measure.
  await new Promise((r) => setTimeout(r, 300));
  const r0 = received;
  const b0 = bytes;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  a.onBufferedAmountLow = () => {};
  const rate = (received - r0) / seconds;
  return {
    rate,
    mbps: (bytes - b0) / seconds / 1e6,
    cpu: (cpu.user + cpu.system) / 1e6 / seconds,
    // CPU per message (both ends) is steadier than wall-clock rates on a shared machine.
    cpuPerMessageUs: (cpu.user + cpu.system) / (received - r0),
  };
}

/** Sends `rate` messages/s in 1 ms batches; latency from send() to delivery. */
async function latency(
  pair: Endpoints,
  size: number,
  rate: number,
): Promise<{ p50: number; p99: number; n: number }> {
  const { a, b } = pair;
  const payload = Buffer.alloc(size, 0x62);
  const sentAt: number[] = [];
  const samples: number[] = [];
  let next = 0;
  const t0 = performance.now();
  b.onMessage = (_s, _p, d) => {
    const i = d.readUInt32BE(0);
    // The first half second is slow start and JIT warm-up: not counted.
    if (sentAt[i] !== undefined && sentAt[i]! - t0 > 500) samples.push(performance.now() - sentAt[i]!);
  };
  const perMs = rate / 1000;
  let credit = 0;
  let last = t0;
  while (performance.now() - t0 < 500 + SECONDS * 1000) {
    const now = performance.now();
    credit += (now - last) * perMs;
    last = now;
    while (credit >= 1) {
      credit--;
      const m = Buffer.from(payload);
      m.writeUInt32BE(next, 0);
      sentAt[next] = performance.now();
      next++;
      a.send(0, 53, m);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await until(() => a.congestion.flightSize === 0 && a.bufferedAmount(0) === 0, 5000).catch(() => {});
  samples.sort((x, y) => x - y);
  return {
    p50: samples[Math.floor(samples.length * 0.5)] ?? Number.NaN,
    p99: samples[Math.floor(samples.length * 0.99)] ?? Number.NaN,
    n: samples.length,
  };
}

function crcThroughput(): number {
  const buf = Buffer.alloc(1200, 0x5a);
  const n = 200_000;
  let x = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) x ^= crc32c(buf);
  const seconds = (performance.now() - t0) / 1000;
  if (x === 0x12345678) console.log('');
  return (n * buf.length) / seconds / 1e6;
}

const rows: string[][] = [];
for (const [linkName, make] of [
  ['direct', directPair],
  ['DTLS', dtlsPair],
] as const) {
  for (const size of [1024, 65536]) {
    const pair = await make();
    const t = await throughput(pair, size);
    pair.close();
    const pair2 = await make();
    const l = await latency(pair2, size, t.rate / 2);
    pair2.close();
    rows.push([
      linkName,
      size === 1024 ? '1 KiB' : '64 KiB',
      Math.round(t.rate).toLocaleString('en-US'),
      t.mbps.toFixed(1),
      `${Math.round(t.cpu * 100)}%`,
      t.cpuPerMessageUs.toFixed(1),
      (size / t.cpuPerMessageUs).toFixed(0),
      Math.round(t.rate / 2).toLocaleString('en-US'),
      l.p50.toFixed(2),
      l.p99.toFixed(2),
    ]);
  }
}

const header = [
  'link',
  'message',
  'msgs/s',
  'MB/s',
  'CPU',
  'CPU µs/msg',
  'MB per CPU-s',
  'latency at msgs/s',
  'p50 ms',
  'p99 ms',
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log('SCTP reliable ordered, sender and receiver in one process (both on one core)');
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of rows) console.log(line(row));
console.log(`\nCRC32c (slicing-by-8) over 1200-byte packets: ${crcThroughput().toFixed(0)} MB/s`);
