/**
 * SFU fan-out through real WebRtcTransports: one producer of synthetic VP8 RTP (250 packets/s of
 * 1020 bytes, ~2 Mbps) to N consumers on one worker. The clients (bench/lib/sfu-clients.ts) are
 * our own stack in separate load-generator processes. The worker decrypts each producer packet
 * once, then per consumer rewrites it, protects it and sends it.
 *
 * Measures over the measuring window: SRTP packets the consumers received per second and the
 * share delivered, worker CPU (utime+stime from /proc/<pid>/stat) per forwarded packet, the load
 * generator's CPU, forwarding latency p50/p99 (producer client send → consumer client receive,
 * from the abs-send-time extension), and worker RSS growth per consumer.
 *
 *   npx tsx bench/sfu-fanout.ts [consumers...]     (default 50 100 200)
 *   npx tsx bench/sfu-fanout.ts --floor [sockets]  the same sends without the SFU: a bare loop of
 *                                                  dgram sends (and SRTP protect + send) in this process
 * Environment: BENCH_READERS (consumer clients that read and count what they receive, default
 * all; the others are kernel-counted, see bench/lib/sfu-clients.ts: the loss, latency and sequence
 * figures then come from the readers, the delivered share from all), BENCH_CLIENT_PROCESSES
 * (load-generator processes, default 2), BENCH_MEASURE_MS
 * (default 8000), BENCH_PROFILE_DIR (write a CPU profile of the worker there; see
 * bench/lib/profiled-worker.ts and bench/lib/cpuprofile-top.ts).
 */

import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as sfu from '../src/sfu/index.js';
import type { Router, WebRtcTransport } from '../src/sfu/public-types.js';
import { workerProcessSettings } from '../src/sfu/worker.js';
import { SrtpContext } from '../src/transport/srtp/index.js';
import {
  BENCH_MEDIA_CODECS,
  ClientPool,
  cpuMs,
  kernelRtpArrivals,
  latencyPercentile,
  producerRtpParameters,
  rssKb,
  SOCKET_BUFFER_BYTES,
  type StreamSpec,
  sentBetween,
  udpReceiveBufferErrors,
} from './lib/sfu-clients.js';

const PACKETS_PER_SECOND = 250;
const PAYLOAD = 1000;
const WARMUP_MS = 2000;
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS) || 8000;
const CLIENT_PROCESSES = Number(process.env.BENCH_CLIENT_PROCESSES) || 2;
const PRODUCER_SSRC = 0x11223344;
const READERS =
  process.env.BENCH_READERS === undefined ? Number.POSITIVE_INFINITY : Number(process.env.BENCH_READERS);

const args = process.argv.slice(2);
const counts = args.map(Number).filter((n) => n > 0);

/** The worker's live heap after a full GC (profiled worker only, see lib/profiled-worker.ts), else -1. */
async function liveHeap(pid: number): Promise<number> {
  const dir = process.env.BENCH_PROFILE_DIR;
  if (!dir) return -1;
  const file = join(dir, `worker-${pid}.heap`);
  const lines = () => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : []);
  const before = lines().length;
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 100 && lines().length === before; i++) await new Promise((r) => setTimeout(r, 20));
  return Number(lines().at(-1) ?? -1);
}

async function run(
  router: Router,
  pid: number,
  consumers: number,
): Promise<Record<string, number | undefined>> {
  const pool = await ClientPool.create(CLIENT_PROCESSES);
  const listenInfos = [
    {
      protocol: 'udp' as const,
      ip: '127.0.0.1',
      recvBufferSize: SOCKET_BUFFER_BYTES,
      sendBufferSize: SOCKET_BUFFER_BYTES,
    },
  ];
  const transports: WebRtcTransport[] = [];
  const producerTransport = await router.createWebRtcTransport({ listenInfos });
  transports.push(producerTransport);
  const producerClient = await pool.connect(producerTransport);
  const spec: StreamSpec = {
    kind: 'video',
    ssrc: PRODUCER_SSRC,
    packetsPerSecond: PACKETS_PER_SECOND,
    payloadBytes: PAYLOAD,
  };
  const producer = await producerTransport.produce({
    kind: 'video',
    rtpParameters: producerRtpParameters(spec),
  });
  await pool.addStreams(producerClient, [spec]);
  const rssBefore = rssKb(pid);
  const heapBefore = await liveHeap(pid);
  const setupStart = Date.now();
  for (let i = 0; i < consumers; i++) {
    const transport = await router.createWebRtcTransport({ listenInfos });
    transports.push(transport);
    await pool.connect(transport, undefined, { countInKernel: i >= READERS });
    await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
  }
  const setupMs = Date.now() - setupStart;
  const heapAfter = await liveHeap(pid);
  // Set up, no media yet: what the consumers hold, before the media's garbage grows the heap.
  const rssSetUp = rssKb(pid);

  await pool.start();
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const s0 = await pool.snapshot();
  const drops0 = udpReceiveBufferErrors();
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, MEASURE_MS));
  const s1 = await pool.snapshot();
  const drops1 = udpReceiveBufferErrors();
  const cpu1 = cpuMs(pid);
  const seconds = (performance.now() - t0) / 1000;
  // Steady state: the packet store and every consumer's retransmission index have filled.
  const rssAfter = rssKb(pid);
  await pool.stop();

  const sent = sentBetween(s0, s1, PRODUCER_SSRC);
  const read = s1.received - s0.received;
  const kernelCounted = kernelRtpArrivals(s0, s1, seconds, 1);
  const forwarded = read + kernelCounted;
  const expected = sent * consumers;
  const cpuUsed = cpu1 - cpu0;
  const result = {
    consumers,
    producerPacketsPerSecond: Math.round(sent / seconds),
    forwardedPerSecond: Math.round(forwarded / seconds),
    // From the consumers' sequence numbers (no skew between the snapshots of processes).
    readers: Math.min(consumers, READERS),
    // From the reading consumers' sequence numbers (no skew between the snapshots of processes).
    deliveredPercent:
      s1.expected > s0.expected ? Math.round((read / (s1.expected - s0.expected)) * 1000) / 10 : 0,
    // Whole machine: datagrams the kernel dropped for full receive buffers, those of the
    // kernel-counted clients (RTCP included) taken out.
    udpRcvbufErrors: Math.max(0, drops1 - drops0 - (s1.kernelArrivals - s0.kernelArrivals)),
    receivedOfSentPercent: expected > 0 ? Math.round((forwarded / expected) * 1000) / 10 : 0,
    workerCpuPercent: Math.round((cpuUsed / 1000 / seconds) * 1000) / 10,
    cpuMicrosPerForwarded: forwarded > 0 ? Math.round(((cpuUsed * 1000) / forwarded) * 100) / 100 : 0,
    // At this cost a fully busy worker core would forward:
    projectedPerCore: cpuUsed > 0 ? Math.round((forwarded / cpuUsed) * 1000) : 0,
    latencyP50Ms: latencyPercentile(s0.latency, s1.latency, 0.5),
    latencyP99Ms: latencyPercentile(s0.latency, s1.latency, 0.99),
    loadGeneratorCpuPercent: Math.round(((s1.cpuMs - s0.cpuMs) / 1000 / seconds) * 1000) / 10,
    rssKbPerConsumer: Math.round(((rssAfter - rssBefore) / consumers) * 10) / 10,
    rssKbPerConsumerBeforeMedia: Math.round(((rssSetUp - rssBefore) / consumers) * 10) / 10,
    // With BENCH_PROFILE_DIR: live heap after a full GC, growth per consumer during the setup.
    heapKbPerConsumer:
      heapBefore >= 0 && heapAfter >= 0 ? Math.round((heapAfter - heapBefore) / 1024 / consumers) : undefined,
    setupMs,
  };
  for (const transport of transports) transport.close();
  pool.close();
  return result;
}

/**
 * What the worker cannot go below: for each of `sockets` destinations, one dgram send of a
 * 1040-byte datagram (bursts every 4 ms, like a 250 packets/s producer), alone and after an
 * AES-GCM SRTP protect; CPU of this process per send. The receivers live in the client processes.
 */
async function floor(sockets: number): Promise<void> {
  const pool = await ClientPool.create(CLIENT_PROCESSES);
  const ports = await pool.sinks(sockets);
  const senders: { socket: Socket; srtp: SrtpContext }[] = [];
  for (let i = 0; i < sockets; i++) {
    const socket = createSocket({ type: 'udp4', lookup: (a, _f, cb) => cb(null, a, 4) });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const srtp = new SrtpContext({
      profile: 'AEAD_AES_128_GCM',
      masterKey: randomBytes(16),
      masterSalt: randomBytes(12),
    });
    senders.push({ socket, srtp });
  }
  const packet = Buffer.alloc(12 + 8 + PAYLOAD, 0xab);
  packet[0] = 0x80;
  packet[1] = 96;
  const measure = async (name: string, protect: boolean) => {
    let sent = 0;
    let seq = 0;
    const c0 = process.cpuUsage();
    const startedAt = Date.now();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        packet.writeUInt16BE(seq++ & 0xffff, 2);
        for (let i = 0; i < sockets; i++) {
          const { socket, srtp } = senders[i]!;
          packet.writeUInt32BE(i + 1, 8);
          const out = protect ? srtp.protectRtp(packet) : packet;
          if (typeof out !== 'number') socket.send(out, ports[i]!, '127.0.0.1');
          sent++;
        }
        if (Date.now() - startedAt >= MEASURE_MS / 2) {
          clearInterval(timer);
          resolve();
        }
      }, 4);
    });
    const c = process.cpuUsage(c0);
    console.log(
      JSON.stringify({
        floor: name,
        sockets,
        sendsPerSecond: Math.round(sent / ((Date.now() - startedAt) / 1000)),
        cpuMicrosPerSend: Math.round(((c.user + c.system) / sent) * 100) / 100,
        userMicros: Math.round((c.user / sent) * 100) / 100,
        systemMicros: Math.round((c.system / sent) * 100) / 100,
      }),
    );
  };
  await measure('dgram send', false);
  await measure('SRTP protect + dgram send', true);
  for (const { socket } of senders) socket.close();
  pool.close();
}

if (args[0] === '--floor') {
  await floor(Number(args[1]) || 100);
} else {
  const consumerCounts = counts.length > 0 ? counts : [50, 100, 200];
  const workerSettings = { logLevel: 'warn' as const, rtcMinPort: 20000, rtcMaxPort: 59999 };
  const worker = process.env.BENCH_PROFILE_DIR
    ? new sfu.Worker(
        new URL('./lib/profiled-worker.ts', import.meta.url).pathname,
        workerProcessSettings(workerSettings),
      )
    : await sfu.createWorker(workerSettings);
  if (process.env.BENCH_PROFILE_DIR) await new Promise<void>((r) => worker.once('@success', () => r()));
  const router = await worker.createRouter({ mediaCodecs: BENCH_MEDIA_CODECS });
  console.log(
    `worker pid ${worker.pid}; ${PACKETS_PER_SECOND} packets/s of ${20 + PAYLOAD} B; ` +
      `${CLIENT_PROCESSES} load-generator processes; measuring ${MEASURE_MS} ms`,
  );
  try {
    for (const n of consumerCounts) console.log(JSON.stringify(await run(router, worker.pid, n)));
  } finally {
    worker.close();
  }
}
