/**
 * SFU meetings: rooms of 7 participants where everyone publishes audio (50 packets/s of 100 B)
 * and video (250 packets/s of 1000 B) and consumes the 12 streams of the 6 others: 14 producers,
 * 84 consumers and 12 600 forwarded packets/s a room. One router per room; rooms are added one
 * at a time until more than 0.5 % of the packets are lost. Clients are our own stack in
 * load-generator processes (bench/lib/sfu-clients.ts), each participant with a send and a
 * receive WebRtcTransport as mediasoup-client has.
 *
 * Runs once with one worker, then with two workers (routers spread over both), and prints per
 * step: rooms, delivered share, worker CPU, µs per forwarded packet, latency p50/p99 and the
 * load generator's CPU; then rooms per core and the two-worker scaling.
 *
 *   npx tsx bench/sfu-meeting.ts [maxRooms] [workers...]     (default 12, workers 1 2)
 * A step is over capacity when more than 0.5 % of the packets are missing from the consumers'
 * sequence numbers, or fewer than 99.5 % of what the producers sent in the window arrived (the
 * SFU falling behind: with 2 MB socket buffers packets queue and arrive late before they are lost).
 * Environment: BENCH_READERS (participants per room whose receive side reads and counts what it
 * gets, default all 7; the others' are kernel-counted, see bench/lib/sfu-clients.ts: loss and
 * latency then come from the readers, the received share from all), BENCH_WORKER_CPU (a
 * fraction of one core each worker may use, e.g. 0.6, through a cgroup CFS quota: root only; see
 * bench/lib/cpu-limit.ts), BENCH_CLIENT_PROCESSES (default 2), BENCH_MEASURE_MS (per step,
 * default 8000).
 */
import { existsSync } from 'node:fs';
import * as sfu from '../src/sfu/index.js';
import type { Producer, Router, WebRtcTransport, Worker } from '../src/sfu/public-types.js';
import { type CpuLimit, limitCpu } from './lib/cpu-limit.js';
import {
  BENCH_MEDIA_CODECS,
  ClientPool,
  type ClientSnapshot,
  cpuMs,
  kernelRtpArrivals,
  latencyPercentile,
  type PooledClient,
  producerRtpParameters,
  SOCKET_BUFFER_BYTES,
  type StreamSpec,
  udpReceiveBufferErrors,
} from './lib/sfu-clients.js';

const PARTICIPANTS = 7;
const AUDIO = { packetsPerSecond: 50, payloadBytes: 100 };
const VIDEO = { packetsPerSecond: 250, payloadBytes: 1000 };
const MAX_LOSS = 0.005;
const WARMUP_MS = 2000;
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS) || 8000;
const CLIENT_PROCESSES = Number(process.env.BENCH_CLIENT_PROCESSES) || 2;
const WORKER_CPU = Number(process.env.BENCH_WORKER_CPU) || undefined;
const READERS = Math.min(PARTICIPANTS, Number(process.env.BENCH_READERS ?? PARTICIPANTS));

const [maxRoomsArg, ...workerArgs] = process.argv.slice(2).map(Number);
const maxRooms = maxRoomsArg || 12;
const workerCounts = workerArgs.filter((n) => n > 0).length > 0 ? workerArgs.filter((n) => n > 0) : [1, 2];

const listenInfos = [
  {
    protocol: 'udp' as const,
    ip: '127.0.0.1',
    recvBufferSize: SOCKET_BUFFER_BYTES,
    sendBufferSize: SOCKET_BUFFER_BYTES,
  },
];
let nextSsrc = 0x10000000;

interface Room {
  router: Router;
  transports: WebRtcTransport[];
  /** SSRCs of the room's streams: each is consumed by the other 6 participants. */
  ssrcs: number[];
}

async function addRoom(router: Router, pool: ClientPool): Promise<Room> {
  const room: Room = { router, transports: [], ssrcs: [] };
  const producers: Producer[][] = [];
  const senders: PooledClient[] = [];
  for (let p = 0; p < PARTICIPANTS; p++) {
    const transport = await router.createWebRtcTransport({ listenInfos });
    room.transports.push(transport);
    const client = await pool.connect(transport);
    senders.push(client);
    const specs: StreamSpec[] = [
      { kind: 'audio', ssrc: nextSsrc++, ...AUDIO },
      { kind: 'video', ssrc: nextSsrc++, ...VIDEO },
    ];
    const own: Producer[] = [];
    for (const spec of specs) {
      own.push(await transport.produce({ kind: spec.kind, rtpParameters: producerRtpParameters(spec) }));
      room.ssrcs.push(spec.ssrc);
    }
    producers.push(own);
    await pool.addStreams(client, specs);
  }
  for (let p = 0; p < PARTICIPANTS; p++) {
    const transport = await router.createWebRtcTransport({ listenInfos });
    room.transports.push(transport);
    // The participant's receive side lives in the same process as its send side.
    await pool.connect(transport, senders[p]!.process, { countInKernel: p >= READERS });
    for (let q = 0; q < PARTICIPANTS; q++) {
      if (q === p) continue;
      for (const producer of producers[q]!)
        await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    }
  }
  return room;
}

function expectedBetween(rooms: Room[], s0: ClientSnapshot, s1: ClientSnapshot): number {
  let expected = 0;
  for (const room of rooms)
    for (const ssrc of room.ssrcs)
      expected += ((s1.sent[ssrc] ?? 0) - (s0.sent[ssrc] ?? 0)) * (PARTICIPANTS - 1);
  return expected;
}

interface Capacity {
  rooms: number;
  cpuPercent: number;
  forwardedPerSecond: number;
}

async function run(workerCount: number): Promise<Capacity> {
  const workers: Worker[] = [];
  for (let i = 0; i < workerCount; i++)
    workers.push(await sfu.createWorker({ logLevel: 'warn', rtcMinPort: 20000, rtcMaxPort: 59999 }));
  const limits: CpuLimit[] = WORKER_CPU ? workers.map((w) => limitCpu(w.pid, WORKER_CPU)) : [];
  const pool = await ClientPool.create(CLIENT_PROCESSES);
  await pool.start();
  const rooms: Room[] = [];
  let best: Capacity = { rooms: 0, cpuPercent: 0, forwardedPerSecond: 0 };
  const cpu = () => workers.reduce((sum, w) => sum + cpuMs(w.pid), 0);
  try {
    while (rooms.length < maxRooms) {
      const worker = workers[rooms.length % workers.length]!;
      const router = await worker.createRouter({ mediaCodecs: BENCH_MEDIA_CODECS });
      const setupStart = Date.now();
      rooms.push(await addRoom(router, pool));
      const setupMs = Date.now() - setupStart;
      await new Promise((r) => setTimeout(r, WARMUP_MS));
      const s0 = await pool.snapshot();
      const perWorker0 = workers.map((w) => cpuMs(w.pid));
      const drops0 = udpReceiveBufferErrors();
      const cpu0 = cpu();
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, MEASURE_MS));
      const s1 = await pool.snapshot();
      const cpu1 = cpu();
      const perWorker1 = workers.map((w) => cpuMs(w.pid));
      const drops1 = udpReceiveBufferErrors();
      const seconds = (performance.now() - t0) / 1000;
      const read = s1.received - s0.received;
      const forwarded = read + kernelRtpArrivals(s0, s1, seconds, 2 * (PARTICIPANTS - 1));
      // Loss from the reading consumers' sequence numbers (same process, same instant as their
      // counts); streams the SFU forwarded nothing of at all show in `expected` from the senders' counts.
      const expected = s1.expected - s0.expected;
      const loss = expected > 0 ? Math.max(0, 1 - read / expected) : 1;
      const sentTimesConsumers = expectedBetween(rooms, s0, s1);
      const cpuUsed = cpu1 - cpu0;
      const step = {
        workers: workerCount,
        rooms: rooms.length,
        forwardedPerSecond: Math.round(forwarded / seconds),
        deliveredPercent: Math.round((1 - loss) * 1000) / 10,
        // Received against what the producers sent meanwhile (includes the skew of snapshots).
        udpRcvbufErrors: Math.max(0, drops1 - drops0 - (s1.kernelArrivals - s0.kernelArrivals)),
        receivedOfSentPercent: Math.round((forwarded / sentTimesConsumers) * 1000) / 10,
        workerCpuPercent: Math.round((cpuUsed / 1000 / seconds) * 1000) / 10,
        perWorkerCpuPercent: perWorker1.map(
          (c, i) => Math.round(((c - perWorker0[i]!) / 1000 / seconds) * 1000) / 10,
        ),
        cpuMicrosPerForwarded: forwarded > 0 ? Math.round(((cpuUsed * 1000) / forwarded) * 100) / 100 : 0,
        latencyP50Ms: latencyPercentile(s0.latency, s1.latency, 0.5),
        latencyP99Ms: latencyPercentile(s0.latency, s1.latency, 0.99),
        loadGeneratorCpuPercent: Math.round(((s1.cpuMs - s0.cpuMs) / 1000 / seconds) * 1000) / 10,
        setupMs,
      };
      console.log(JSON.stringify(step));
      // Over capacity: holes in the sequence numbers, or the SFU falling behind what was sent
      // (packets queued in socket buffers arrive late rather than never).
      if (loss > MAX_LOSS || forwarded < sentTimesConsumers * (1 - MAX_LOSS)) break;
      best = {
        rooms: rooms.length,
        cpuPercent: step.workerCpuPercent,
        forwardedPerSecond: step.forwardedPerSecond,
      };
    }
  } finally {
    await pool.stop();
    for (const room of rooms) room.router.close();
    pool.close();
    for (const worker of workers) worker.close();
    for (let i = 0; i < 100 && workers.some((w) => existsSync(`/proc/${w.pid}`)); i++)
      await new Promise((r) => setTimeout(r, 20));
    for (const limit of limits) limit.release();
  }
  return best;
}

console.log(
  `rooms of ${PARTICIPANTS}: audio ${AUDIO.packetsPerSecond} + video ${VIDEO.packetsPerSecond} packets/s each, ` +
    `${PARTICIPANTS * (PARTICIPANTS - 1) * (AUDIO.packetsPerSecond + VIDEO.packetsPerSecond)} forwarded packets/s a room; ` +
    `${CLIENT_PROCESSES} load-generator processes; measuring ${MEASURE_MS} ms per step` +
    (WORKER_CPU ? `; each worker limited to ${WORKER_CPU} of a core` : ''),
);
const results = new Map<number, Capacity>();
for (const n of workerCounts) {
  const best = await run(n);
  results.set(n, best);
  console.log(
    JSON.stringify({
      workers: n,
      roomsUnderHalfPercentLoss: best.rooms,
      workerCpuPercent: best.cpuPercent,
      forwardedPerSecond: best.forwardedPerSecond,
      roomsPerCore: n === 1 ? best.rooms : undefined,
    }),
  );
}
const one = results.get(1);
const two = results.get(2);
if (one?.rooms && two?.rooms)
  console.log(
    JSON.stringify({
      scalingTwoWorkers: Math.round((two.rooms / one.rooms) * 100) / 100,
      forwardedScalingTwoWorkers: Math.round((two.forwardedPerSecond / one.forwardedPerSecond) * 100) / 100,
    }),
  );
