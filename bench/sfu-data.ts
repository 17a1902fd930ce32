/**
 * Data messages through one SFU worker: client A (our SCTP association on a loopback UDP
 * socket, in this process) → PlainTransport (SCTP over UDP) → DataProducer → router →
 * DataConsumer → PlainTransport → client B (the same, in a child process so that A's sending and
 * B's receiving do not share one event loop). Reliable ordered messages of 1 KiB and 64 KiB:
 *  1. throughput: A keeps its send queue topped up for N seconds; messages/s and MB/s received
 *     by B, worker CPU (utime + stime of the worker pid) per message;
 *  2. latency send() → B's onMessage (wall clock, same machine), p50/p99, at half the measured
 *     rate (first 0.5 s skipped).
 * Run: npx tsx bench/sfu-data.ts [seconds per case = 3]
 * BENCH_PROFILE_DIR=dir: also write a CPU profile of the worker there (bench/lib/profiled-worker.ts).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as sfu from '../src/sfu/index.js';
import type { PlainTransport, Router } from '../src/sfu/public-types.js';
import { workerProcessSettings } from '../src/sfu/worker.js';
import { SctpAssociation } from '../src/transport/sctp/index.js';

const SECONDS = Number(process.argv[2] ?? 3);
const STREAM = 1;
/** Bytes A keeps queued in its association (not yet sent once). */
const SEND_QUEUE = 1 << 20;
/** As the SFU's associations (RFC 9260 RTO.Min): above the peer's delayed SACK. */
const RTO_MIN = 1000;
const BUFFERS = { recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Milliseconds on a clock shared by both processes. */
const wallClock = () => performance.timeOrigin + performance.now();

async function until(ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

type ToReceiver = { transportPort: number } | { measure: boolean } | { query: true };
type FromReceiver =
  | { port: number }
  | { connected: true }
  | { count: number; p50: number; p99: number; samples: number };

/** Client B, in the child process: counts messages, records latencies while asked to. */
async function receiver(): Promise<void> {
  const send = (m: FromReceiver) => process.send?.(m);
  const socket = createSocket({ type: 'udp4', ...BUFFERS });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  let sctp: SctpAssociation | undefined;
  let count = 0;
  let measuring = false;
  let samples: number[] = [];
  socket.on('message', (p) => sctp?.handlePacket(p));
  process.on('message', (m: ToReceiver) => {
    if ('transportPort' in m) {
      sctp = new SctpAssociation({
        send: (p) => socket.send(p, m.transportPort, '127.0.0.1'),
        rtoMin: RTO_MIN,
      });
      sctp.onMessage = (_s, _p, data) => {
        count++;
        if (measuring) samples.push(wallClock() - data.readDoubleLE(0));
      };
      sctp.on('statechange', (state) => {
        if (state === 'connected') send({ connected: true });
      });
      sctp.connect();
    } else if ('measure' in m) {
      if (m.measure) samples = [];
      measuring = m.measure;
    } else {
      samples.sort((x, y) => x - y);
      const at = (q: number) =>
        samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN;
      send({ count, p50: at(0.5), p99: at(0.99), samples: samples.length });
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ port: socket.address().port });
}

class Receiver {
  readonly child: ChildProcess;
  #waiting: ((m: FromReceiver) => void)[] = [];

  constructor() {
    this.child = fork(new URL(import.meta.url).pathname, ['receiver'], { execArgv: ['--import', 'tsx'] });
    this.child.on('message', (m: FromReceiver) => this.#waiting.shift()?.(m));
  }

  next<T extends FromReceiver>(): Promise<T> {
    return new Promise((resolve) => this.#waiting.push(resolve as (m: FromReceiver) => void));
  }

  async query(): Promise<{ count: number; p50: number; p99: number; samples: number }> {
    const reply = this.next<{ count: number; p50: number; p99: number; samples: number }>();
    this.child.send({ query: true } satisfies ToReceiver);
    return reply;
  }
}

interface Client {
  socket: Socket;
  sctp: SctpAssociation;
  transport: PlainTransport;
}

async function sfuTransport(router: Router): Promise<PlainTransport> {
  return router.createPlainTransport({
    // Bursts of a few hundred packets must not overflow the worker's socket (capped by rmem_max).
    listenInfo: { protocol: 'udp', ip: '127.0.0.1', ...BUFFERS },
    enableSctp: true,
    sctpSendBufferSize: 4 << 20,
  });
}

async function sender(router: Router): Promise<Client> {
  const transport = await sfuTransport(router);
  const socket = createSocket({ type: 'udp4', ...BUFFERS });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = transport.tuple.localPort;
  const sctp = new SctpAssociation({ send: (p) => socket.send(p, port, '127.0.0.1'), rtoMin: RTO_MIN });
  socket.on('message', (p) => sctp.handlePacket(p));
  await transport.connect({ ip: '127.0.0.1', port: socket.address().port });
  sctp.connect();
  await until(() => sctp.state === 'connected' && transport.sctpState === 'connected');
  return { socket, sctp, transport };
}

/** CPU seconds (user + system) of a process, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Throughput {
  rate: number;
  mbps: number;
  workerCpu: number;
}

/** Waits until A has nothing queued or in flight and B's count stops moving (the SFU may drop
 * messages when its send buffer is full, so B's count need not reach A's). */
async function drain(a: Client, b: Receiver): Promise<void> {
  await until(() => a.sctp.bufferedAmount(STREAM) === 0 && a.sctp.congestion.flightSize === 0, 60_000);
  let last = -1;
  for (let i = 0; i < 120; i++) {
    const { count } = await b.query();
    if (count === last) return;
    last = count;
    await sleep(500);
  }
}

async function throughput(
  a: Client,
  b: Receiver,
  size: number,
  pid: number,
  sent: { n: number },
): Promise<Throughput> {
  const payload = Buffer.alloc(size, 7);
  let running = true;
  const pump = () => {
    if (!running) return;
    while (a.sctp.bufferedAmount(STREAM) < SEND_QUEUE) {
      a.sctp.send(STREAM, 53, payload);
      sent.n++;
    }
    setImmediate(pump);
  };
  pump();
  await sleep(500); // slow start
  const startCount = (await b.query()).count;
  const startCpu = cpuSeconds(pid);
  const start = performance.now();
  await sleep(SECONDS * 1000);
  const endCount = (await b.query()).count;
  const seconds = (performance.now() - start) / 1000;
  const count = endCount - startCount;
  const workerCpu = (cpuSeconds(pid) - startCpu) / seconds;
  running = false;
  await drain(a, b);
  return { rate: count / seconds, mbps: (count * size) / seconds / 1e6, workerCpu };
}

async function latency(
  a: Client,
  b: Receiver,
  size: number,
  rate: number,
  sent: { n: number },
): Promise<{ p50: number; p99: number; samples: number }> {
  const tickMs = 2;
  const perTick = rate * (tickMs / 1000);
  let due = 0;
  const timer = setInterval(() => {
    due += perTick;
    while (due >= 1) {
      due--;
      // The association keeps a view of the payload until it is sent: one buffer per message.
      const payload = Buffer.alloc(size, 7);
      payload.writeDoubleLE(wallClock(), 0);
      a.sctp.send(STREAM, 53, payload);
      sent.n++;
    }
  }, tickMs);
  await sleep(500);
  b.child.send({ measure: true } satisfies ToReceiver);
  await sleep(SECONDS * 1000);
  b.child.send({ measure: false } satisfies ToReceiver);
  clearInterval(timer);
  const result = await b.query();
  await drain(a, b);
  return result;
}

async function main(): Promise<void> {
  const settings = { logLevel: 'error' as const };
  // BENCH_PROFILE_DIR: a CPU profile of the worker (bench/lib/profiled-worker.ts, cpuprofile-top.ts).
  const worker = process.env.BENCH_PROFILE_DIR
    ? new sfu.Worker(
        new URL('./lib/profiled-worker.ts', import.meta.url).pathname,
        workerProcessSettings(settings),
      )
    : await sfu.createWorker(settings);
  if (process.env.BENCH_PROFILE_DIR) await new Promise<void>((r) => worker.once('@success', () => r()));
  const router = await worker.createRouter({ mediaCodecs: [] });
  const a = await sender(router);
  const b = new Receiver();
  const { port } = await b.next<{ port: number }>();
  const transportB = await sfuTransport(router);
  await transportB.connect({ ip: '127.0.0.1', port });
  const connected = b.next<{ connected: true }>();
  b.child.send({ transportPort: transportB.tuple.localPort } satisfies ToReceiver);
  await connected;
  const producer = await a.transport.produceData({
    sctpStreamParameters: { streamId: STREAM, ordered: true },
  });
  const consumer = await transportB.consumeData({ dataProducerId: producer.id });
  console.log(
    'SFU data path: client A → PlainTransport (SCTP/UDP) → router → PlainTransport → client B ' +
      `(another process); reliable ordered; ${SECONDS} s per case; consumer stream ${consumer.sctpStreamParameters!.streamId}`,
  );
  console.log(
    '| message | msgs/s | MB/s | worker CPU | worker µs/msg | latency at msgs/s | p50 ms | p99 ms |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  const sent = { n: 0 };
  for (const size of [1024, 65_536]) {
    const t = await throughput(a, b, size, worker.pid, sent);
    const l = await latency(a, b, size, t.rate / 2, sent);
    console.log(
      `| ${size === 1024 ? '1 KiB' : '64 KiB'} | ${Math.round(t.rate).toLocaleString('en')} | ${t.mbps.toFixed(1)} | ` +
        `${Math.round(t.workerCpu * 100)}% | ${((t.workerCpu / t.rate) * 1e6).toFixed(1)} | ` +
        `${Math.round(t.rate / 2).toLocaleString('en')} | ${l.p50.toFixed(2)} | ${l.p99.toFixed(2)} |`,
    );
  }
  const [ps] = (await producer.getStats()) as { messagesReceived: number }[];
  const [cs] = (await consumer.getStats()) as { messagesSent: number }[];
  const { count } = await b.query();
  console.log(
    `A sent ${sent.n}, DataProducer messagesReceived ${ps!.messagesReceived}, ` +
      `DataConsumer messagesSent ${cs!.messagesSent}, B received ${count}`,
  );
  a.sctp.close();
  a.socket.close();
  b.child.disconnect();
  worker.close();
}

if (process.argv[2] === 'receiver') await receiver();
else await main();
