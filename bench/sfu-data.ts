/**
 * Data messages through one SFU worker: client A (our SCTP association on a loopback UDP
 * socket) → PlainTransport (SCTP over UDP) → DataProducer → router → DataConsumer →
 * PlainTransport → client B. Reliable ordered messages of 1 KiB and 64 KiB:
 *  1. throughput: A keeps its send queue topped up for N seconds; messages/s and MB/s received
 *     by B, worker CPU (utime + stime of the worker pid) per message;
 *  2. latency send() → B's onMessage, p50/p99, at half the measured rate (first 0.5 s skipped).
 * Both clients run in this process, so they compete with the worker for the two cores.
 * Run: npx tsx bench/sfu-data.ts [seconds per case = 3]
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as sfu from '../src/sfu/index.js';
import type { PlainTransport, Router } from '../src/sfu/public-types.js';
import { SctpAssociation } from '../src/transport/sctp/index.js';

const SECONDS = Number(process.argv[2] ?? 3);
const STREAM = 1;
/** Bytes A keeps queued in its association (not yet sent once). */
const SEND_QUEUE = 1 << 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

interface Client {
  socket: Socket;
  sctp: SctpAssociation;
  transport: PlainTransport;
}

async function client(router: Router): Promise<Client> {
  const transport = await router.createPlainTransport({
    // Bursts of a few hundred packets must not overflow the worker's socket (capped by rmem_max).
    listenInfo: { protocol: 'udp', ip: '127.0.0.1', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 },
    enableSctp: true,
    sctpSendBufferSize: 4 << 20,
  });
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = transport.tuple.localPort;
  const sctp = new SctpAssociation({ send: (p) => socket.send(p, port, '127.0.0.1') });
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

async function throughput(a: Client, b: Client, size: number, pid: number): Promise<Throughput> {
  const payload = Buffer.alloc(size, 7);
  let received = 0;
  b.sctp.onMessage = () => {
    received++;
  };
  let running = true;
  const pump = () => {
    if (!running) return;
    while (a.sctp.bufferedAmount(STREAM) < SEND_QUEUE) a.sctp.send(STREAM, 53, payload);
    setImmediate(pump);
  };
  pump();
  await sleep(500); // slow start
  const startCount = received;
  const startCpu = cpuSeconds(pid);
  const start = performance.now();
  await sleep(SECONDS * 1000);
  const seconds = (performance.now() - start) / 1000;
  const count = received - startCount;
  const workerCpu = (cpuSeconds(pid) - startCpu) / seconds;
  running = false;
  // Drain before the next case.
  await until(() => a.sctp.bufferedAmount(STREAM) === 0 && a.sctp.congestion.flightSize === 0, 60_000);
  await sleep(300);
  return { rate: count / seconds, mbps: (count * size) / seconds / 1e6, workerCpu };
}

async function latency(
  a: Client,
  b: Client,
  size: number,
  rate: number,
): Promise<{ p50: number; p99: number; n: number }> {
  const payload = Buffer.alloc(size, 7);
  const samples: number[] = [];
  let measuring = false;
  b.sctp.onMessage = (_s, _p, data) => {
    if (measuring) samples.push(performance.now() - data.readDoubleLE(0));
  };
  const tickMs = 2;
  const perTick = rate * (tickMs / 1000);
  let due = 0;
  const timer = setInterval(() => {
    due += perTick;
    while (due >= 1) {
      due--;
      payload.writeDoubleLE(performance.now(), 0);
      // The association keeps a view of the payload until it is sent: one buffer per message.
      a.sctp.send(STREAM, 53, Buffer.from(payload));
    }
  }, tickMs);
  await sleep(500);
  measuring = true;
  await sleep(SECONDS * 1000);
  measuring = false;
  clearInterval(timer);
  await until(() => a.sctp.bufferedAmount(STREAM) === 0 && a.sctp.congestion.flightSize === 0, 60_000);
  samples.sort((x, y) => x - y);
  const at = (q: number) =>
    samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), n: samples.length };
}

async function main(): Promise<void> {
  const worker = await sfu.createWorker({ logLevel: 'error' });
  const router = await worker.createRouter({ mediaCodecs: [] });
  const a = await client(router);
  const b = await client(router);
  const producer = await a.transport.produceData({
    sctpStreamParameters: { streamId: STREAM, ordered: true },
  });
  const consumer = await b.transport.consumeData({ dataProducerId: producer.id });
  const consumerStream = consumer.sctpStreamParameters!.streamId;
  console.log(
    `SFU data path: client A → PlainTransport (SCTP/UDP) → router → PlainTransport → client B; ` +
      `reliable ordered; ${SECONDS} s per case; consumer stream ${consumerStream}`,
  );
  console.log(
    '| message | msgs/s | MB/s | worker CPU | worker µs/msg | latency at msgs/s | p50 ms | p99 ms |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const size of [1024, 65_536]) {
    const t = await throughput(a, b, size, worker.pid);
    const l = await latency(a, b, size, t.rate / 2);
    console.log(
      `| ${size === 1024 ? '1 KiB' : '64 KiB'} | ${Math.round(t.rate).toLocaleString('en')} | ${t.mbps.toFixed(1)} | ` +
        `${Math.round(t.workerCpu * 100)}% | ${((t.workerCpu / t.rate) * 1e6).toFixed(1)} | ` +
        `${Math.round(t.rate / 2).toLocaleString('en')} | ${l.p50.toFixed(2)} | ${l.p99.toFixed(2)} |`,
    );
  }
  const [ps] = (await producer.getStats()) as { messagesReceived: number }[];
  const [cs] = (await consumer.getStats()) as { messagesSent: number }[];
  console.log(
    `DataProducer messagesReceived ${ps!.messagesReceived}, DataConsumer messagesSent ${cs!.messagesSent}`,
  );
  for (const c of [a, b]) {
    c.sctp.close();
    c.socket.close();
  }
  worker.close();
}

await main();
