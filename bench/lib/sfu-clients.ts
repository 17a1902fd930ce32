/**
 * Load generator for the SFU benchmarks (bench/sfu-fanout.ts, bench/sfu-meeting.ts): SFU clients
 * that are our own stack (`tureen load`'s client transport, src/load/media-transport.ts: STUN
 * check with USE-CANDIDATE, DTLS client, SRTP, consent refresh), hosted in child processes so the
 * load spreads over cores and the process driving the SFU API stays light.
 *
 * - Producer clients send synthetic RTP (VP8 with a key frame every 800 packets, or opus) at a
 *   fixed rate, SRTP-protected, in 10 ms ticks.
 * - Consumer clients count the SRTP packets they receive without decrypting them, and read the
 *   send time the producer client wrote into the abs-send-time header extension (header
 *   extensions are not encrypted): forwarding latency = receive time − send time on the shared
 *   monotonic clock (CLOCK_MONOTONIC, the same in every process), 24-bit microseconds.
 * - Kernel-counted consumer clients (`countInKernel`) do not read their socket at all: the kernel
 *   counts what reaches them as drops of that socket (/proc/net/udp). The SFU's work for them is
 *   unchanged and the generator spends nothing, so on 2 cores the worker can have a whole one.
 *
 * The parent side (ClientPool) creates the SFU transports, calls `connect()` with the client
 * process's DTLS fingerprint and tells that process to run the ICE check and DTLS handshake.
 */
import { fork } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { CONSENT_INTERVAL_MS, MediaTransport, type TransportInfo } from '../../src/load/media-transport.js';
import type { WebRtcTransport } from '../../src/sfu/public-types.js';
import {
  type DtlsCertificate,
  type DtlsFingerprint,
  fingerprints,
  generateCertificate,
} from '../../src/transport/dtls/index.js';

export const ABS_SEND_TIME_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';
/** The header extension id our producer clients use for the send time (one-byte form). */
export const SEND_TIME_EXTENSION_ID = 4;
export const VP8_PT = 96;
export const OPUS_PT = 100;
/** Latency histogram: 10 µs buckets up to 200 ms (the last bucket holds everything slower). */
const LATENCY_BUCKET_US = 10;
const LATENCY_BUCKETS = 20000;

const CLK_TCK = 100; // Linux USER_HZ
/** Socket buffers of the clients and of the SFU's transports in the benchmarks (≤ net.core.rmem_max). */
export const SOCKET_BUFFER_BYTES = 2 * 1024 * 1024;

/**
 * Receive buffer of a kernel-counted client: a few datagrams, so it is full at once and every
 * later arrival is counted as a drop of that socket.
 */
const KERNEL_COUNT_BUFFER_BYTES = 4096;
/** Datagrams other than RTP the SFU sends a consumer client per second: one Sender Report per stream. */
const SENDER_REPORTS_PER_SECOND = 1;

/**
 * Datagrams the kernel dropped for a full receive buffer, per local port of 127.0.0.1
 * (/proc/net/udp, last column), summed over `ports`.
 */
function udpSocketDrops(ports: Set<number>): number {
  let drops = 0;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n')) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    if (!local?.startsWith('0100007F:')) continue;
    if (ports.has(Number.parseInt(local.slice(9), 16))) drops += Number(fields.at(-1));
  }
  return drops;
}

/** RTP datagrams among `arrivals` at kernel-counted clients: the SFU's Sender Reports and STUN answers taken out. */
export function kernelRtpArrivals(
  before: ClientSnapshot,
  after: ClientSnapshot,
  seconds: number,
  streamsPerClient: number,
): number {
  const other =
    after.kernelClients *
    seconds *
    (streamsPerClient * SENDER_REPORTS_PER_SECOND + 1000 / CONSENT_INTERVAL_MS);
  return Math.max(0, after.kernelArrivals - before.kernelArrivals - Math.round(other));
}

/** The kernel's count of UDP datagrams dropped for a full receive buffer (whole machine). */
export function udpReceiveBufferErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  return Number(values[names.indexOf('RcvbufErrors')] ?? 0);
}

/** utime + stime of a process in ms (/proc/<pid>/stat). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 (utime, stime), counted from 1 with pid and comm before the ')'.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

export function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

/** Microseconds on CLOCK_MONOTONIC, modulo 2^24 (what fits the 3-byte extension). */
function monotonicUs24(): number {
  return Number(process.hrtime.bigint() / 1000n) & 0xffffff;
}

export interface StreamSpec {
  kind: 'audio' | 'video';
  ssrc: number;
  packetsPerSecond: number;
  payloadBytes: number;
}

/** RTP parameters for a producer client's stream (what `transport.produce()` is given). */
export function producerRtpParameters(spec: StreamSpec) {
  const headerExtensions = [{ uri: ABS_SEND_TIME_URI, id: SEND_TIME_EXTENSION_ID }];
  if (spec.kind === 'audio')
    return {
      codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48000, channels: 2 }],
      headerExtensions,
      encodings: [{ ssrc: spec.ssrc }],
    };
  return {
    codecs: [
      {
        mimeType: 'video/VP8',
        payloadType: VP8_PT,
        clockRate: 90000,
        rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
      },
    ],
    headerExtensions,
    encodings: [{ ssrc: spec.ssrc }],
  };
}

/** Router media codecs matching the streams above. */
export const BENCH_MEDIA_CODECS = [
  { kind: 'audio' as const, mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video' as const, mimeType: 'video/VP8', clockRate: 90000 },
];

// ---------------------------------------------------------------------------------------------
// Client process side.

/**
 * Stops reading a socket (Node has no public call for it: the UDP handle's recvStop). With a
 * buffer of a few datagrams, every later arrival is a drop the kernel counts for this socket.
 */
function stopReading(socket: Socket): void {
  socket.setRecvBufferSize(KERNEL_COUNT_BUFFER_BYTES);
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const handle =
    state && (socket as unknown as Record<symbol, { handle?: { recvStop(): number } }>)[state]?.handle;
  if (handle?.recvStop() !== 0) throw new Error('cannot stop reading a dgram socket in this Node');
}

/** Counts the RTP packets that reach one socket, still SRTP (headers are clear): sequence numbers and latency. */
class RtpCounter {
  rtpReceived = 0;
  /** Per received SSRC: first and highest extended sequence number (what should have arrived). */
  readonly #streams = new Map<number, { first: number; highest: number }>();

  constructor(readonly latency: Uint32Array) {}

  onPacket(msg: Buffer): void {
    const b0 = msg[0]!;
    if (b0 < 128 || b0 > 191) return;
    if (msg[1]! >= 192 && msg[1]! <= 223) return; // RTCP
    this.rtpReceived++;
    this.#countSequence(msg);
    const sentAt = readSendTime(msg);
    if (sentAt >= 0) {
      const us = (monotonicUs24() - sentAt) & 0xffffff;
      this.latency[Math.min(LATENCY_BUCKETS - 1, Math.floor(us / LATENCY_BUCKET_US))]!++;
    }
  }

  #countSequence(msg: Buffer): void {
    const ssrc = msg.readUInt32BE(8);
    const seq = (msg[2]! << 8) | msg[3]!;
    const stream = this.#streams.get(ssrc);
    if (stream === undefined) {
      this.#streams.set(ssrc, { first: seq, highest: seq });
      return;
    }
    // Extended: the nearest value to the highest seen (reordering and wrap).
    const delta = (((seq - stream.highest) & 0xffff) << 16) >> 16;
    if (delta > 0) stream.highest += delta;
  }

  /** Packets that should have arrived so far: first to highest sequence number of each stream. */
  get rtpExpected(): number {
    let expected = 0;
    for (const stream of this.#streams.values()) expected += stream.highest - stream.first + 1;
    return expected;
  }
}

/**
 * One client of the SFU: the load generator's client transport (ICE check until answered, DTLS,
 * SRTP, consent refresh), with what it receives counted, not decrypted.
 */
class BenchClient {
  readonly transport: MediaTransport;
  readonly counter: RtpCounter;
  /** The socket is not read: what arrives is counted by the kernel (see countInKernel). */
  kernelCounted = false;

  constructor(info: TransportInfo, certificate: DtlsCertificate, latency: Uint32Array) {
    // A busy machine deschedules the generator for tens of ms: room for ~2000 packets.
    this.transport = new MediaTransport(info, certificate, {
      socketBufferBytes: SOCKET_BUFFER_BYTES,
      decryptRtp: false,
    });
    const counter = new RtpCounter(latency);
    this.counter = counter;
    this.transport.onRtp = (buf) => counter.onPacket(buf);
  }

  /**
   * Stops reading the socket: the SFU does the same work for this consumer, the load generator
   * none. Consent checks still go out.
   */
  countInKernel(): void {
    stopReading(this.transport.socket);
    this.kernelCounted = true;
  }

  get port(): number {
    return this.transport.socket.address().port;
  }

  send(packet: Buffer): void {
    this.transport.sendRtp(packet, packet.length);
  }

  close(): void {
    this.transport.close();
  }
}

/** The send time in the one-byte extension block, or -1. */
function readSendTime(msg: Buffer): number {
  if (!(msg[0]! & 0x10)) return -1;
  const at = 12 + (msg[0]! & 0x0f) * 4;
  if (at + 4 > msg.length || msg[at] !== 0xbe || msg[at + 1] !== 0xde) return -1;
  const end = at + 4 + ((msg[at + 2]! << 8) | msg[at + 3]!) * 4;
  for (let i = at + 4; i < end && i < msg.length; ) {
    const b = msg[i]!;
    if (b === 0) {
      i++;
      continue;
    }
    const id = b >> 4;
    const len = (b & 0x0f) + 1;
    if (id === SEND_TIME_EXTENSION_ID && len === 3 && i + 4 <= msg.length)
      return (msg[i + 1]! << 16) | (msg[i + 2]! << 8) | msg[i + 3]!;
    i += 1 + len;
  }
  return -1;
}

/** A sending stream: synthetic payload with the send time in abs-send-time. */
class StreamSender {
  sent = 0;
  /** performance.now() when the stream started sending (-1: not yet). */
  startedAt = -1;
  #seq = Math.floor(Math.random() * 0x8000);
  readonly #packet: Buffer;

  constructor(
    readonly client: BenchClient,
    readonly spec: StreamSpec,
  ) {
    // Header (12) + one-byte extension block with the 3-byte send time (8) + payload.
    const packet = Buffer.alloc(20 + spec.payloadBytes, 0xab);
    packet[0] = 0x90;
    packet[1] = spec.kind === 'video' ? VP8_PT : OPUS_PT;
    packet.writeUInt32BE(spec.ssrc >>> 0, 8);
    packet.writeUInt16BE(0xbede, 12);
    packet.writeUInt16BE(1, 14);
    packet[16] = (SEND_TIME_EXTENSION_ID << 4) | 2;
    this.#packet = packet;
  }

  sendNext(): void {
    const packet = this.#packet;
    const n = this.sent++;
    const video = this.spec.kind === 'video';
    // Video: ~8-packet frames at 30 fps-like timestamps, a key frame every 800 packets.
    const frame = video ? Math.floor(n / 8) : n;
    packet[1] = (video ? (n % 8 === 7 ? 0x80 : 0) : 0) | (video ? VP8_PT : OPUS_PT);
    packet.writeUInt16BE(this.#seq++ & 0xffff, 2);
    packet.writeUInt32BE((frame * (video ? 3000 : 960)) >>> 0, 4);
    if (video) {
      packet[20] = 0x10; // VP8 descriptor: S=1, PID=0
      const key = n % 800 === 0;
      packet[21] = key ? 0x00 : 0x01;
      packet[24] = key ? 0x9d : 0xab;
      packet[25] = key ? 0x01 : 0xab;
      packet[26] = key ? 0x2a : 0xab;
    }
    const now = monotonicUs24();
    packet[17] = now >>> 16;
    packet[18] = now >>> 8;
    packet[19] = now;
    this.client.send(packet);
  }
}

type ChildRequest =
  | { op: 'connect'; id: number; transport: TransportInfo; countInKernel: boolean }
  | { op: 'send'; id: number; streams: StreamSpec[] }
  | { op: 'sinks'; count: number }
  | { op: 'start' }
  | { op: 'stop' }
  | { op: 'snapshot' }
  | { op: 'exit' };

export interface ClientSnapshot {
  /** RTP packets received by all clients of the process. */
  received: number;
  /**
   * Packets those clients should have received by the same instant (from the sequence numbers):
   * loss between two snapshots is 1 − Δreceived / Δexpected, free of the skew between processes.
   */
  expected: number;
  /** Packets sent, per SSRC. */
  sent: Record<number, number>;
  /** Clients that do not read (countInKernel) and the datagrams that reached them, RTCP included. */
  kernelClients: number;
  kernelArrivals: number;
  latency: number[];
  cpuMs: number;
}

/** Entry of a client process: answers the parent's requests (one at a time, in order). */
export async function runClientProcess(): Promise<void> {
  const certificate = generateCertificate();
  const latency = new Uint32Array(LATENCY_BUCKETS);
  const clients = new Map<number, BenchClient>();
  /** Every client's counter, and the floor's sinks'. */
  const counters: RtpCounter[] = [];
  const sinks: Socket[] = [];
  const senders: StreamSender[] = [];
  let ticker: NodeJS.Timeout | undefined;
  const reply = (message: unknown) => process.send?.(message);
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (request: ChildRequest) => {
    switch (request.op) {
      case 'connect': {
        const client = new BenchClient(request.transport, certificate, latency);
        await client.transport.connect(30_000);
        if (request.countInKernel) client.countInKernel();
        clients.set(request.id, client);
        counters.push(client.counter);
        reply({ op: 'connected' });
        return;
      }
      case 'send': {
        const client = clients.get(request.id)!;
        for (const spec of request.streams) {
          const sender = new StreamSender(client, spec);
          // Added while the others run: starts now rather than catching up from their start.
          if (ticker) sender.startedAt = performance.now();
          senders.push(sender);
        }
        reply({ op: 'ok' });
        return;
      }
      case 'sinks': {
        // Plain UDP sockets that only count (the send floor measurement).
        const ports: number[] = [];
        for (let i = 0; i < request.count; i++) {
          const socket = createSocket({ type: 'udp4', recvBufferSize: SOCKET_BUFFER_BYTES });
          await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
          const counter = new RtpCounter(latency);
          socket.on('message', (msg) => counter.onPacket(msg));
          sinks.push(socket);
          counters.push(counter);
          ports.push(socket.address().port);
        }
        reply({ op: 'sinks', ports });
        return;
      }
      case 'start': {
        // Each stream sends what its rate allows so far, in 10 ms ticks.
        const now = performance.now();
        for (const sender of senders) sender.startedAt = now;
        ticker = setInterval(() => {
          const now = performance.now();
          for (const sender of senders) {
            const due = Math.floor(((now - sender.startedAt) * sender.spec.packetsPerSecond) / 1000);
            for (let n = 0; sender.sent < due && n < 50; n++) sender.sendNext();
          }
        }, 10);
        reply({ op: 'ok' });
        return;
      }
      case 'stop':
        clearInterval(ticker);
        ticker = undefined;
        reply({ op: 'ok' });
        return;
      case 'snapshot': {
        let received = 0;
        let expected = 0;
        const kernelPorts = new Set<number>();
        for (const counter of counters) {
          received += counter.rtpReceived;
          expected += counter.rtpExpected;
        }
        for (const client of clients.values()) if (client.kernelCounted) kernelPorts.add(client.port);
        const sent: Record<number, number> = {};
        for (const sender of senders) sent[sender.spec.ssrc] = sender.sent;
        const snapshot: ClientSnapshot = {
          received,
          expected,
          sent,
          kernelClients: kernelPorts.size,
          kernelArrivals: kernelPorts.size > 0 ? udpSocketDrops(kernelPorts) : 0,
          latency: Array.from(latency),
          cpuMs: cpuMs(process.pid),
        };
        reply({ op: 'snapshot', snapshot });
        return;
      }
      case 'exit':
        for (const client of clients.values()) client.close();
        for (const socket of sinks) socket.close();
        process.exit(0);
    }
  });
  reply({ op: 'ready', fingerprints: fingerprints(certificate.der) });
}

// ---------------------------------------------------------------------------------------------
// Parent side.

class ClientProcess {
  readonly child = fork(new URL('./sfu-client-process.ts', import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
  });
  fingerprints: DtlsFingerprint[] = [];
  #queue: Promise<unknown> = Promise.resolve();

  async ready(): Promise<void> {
    const message = await this.#next();
    this.fingerprints = (message as { fingerprints: DtlsFingerprint[] }).fingerprints;
  }

  #next(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`client process exited (${code})`));
      this.child.once('exit', onExit);
      this.child.once('message', (message) => {
        this.child.off('exit', onExit);
        resolve(message);
      });
    });
  }

  /** One request at a time per process: replies come back in order. */
  request<T>(message: ChildRequest): Promise<T> {
    const result = this.#queue.then(() => {
      const answer = this.#next();
      this.child.send(message);
      return answer;
    });
    this.#queue = result.catch(() => {});
    return result as Promise<T>;
  }
}

/** A client of the SFU living in one of the pool's processes. */
export interface PooledClient {
  id: number;
  process: ClientProcess;
}

/** Client processes; clients are placed round-robin. */
export class ClientPool {
  readonly processes: ClientProcess[] = [];
  #nextId = 1;
  #nextProcess = 0;

  static async create(processes: number): Promise<ClientPool> {
    const pool = new ClientPool();
    for (let i = 0; i < processes; i++) pool.processes.push(new ClientProcess());
    await Promise.all(pool.processes.map((p) => p.ready()));
    return pool;
  }

  get pids(): number[] {
    return this.processes.map((p) => p.child.pid ?? 0);
  }

  /**
   * connect() on the SFU transport, then the client's ICE check and DTLS handshake. A client with
   * `countInKernel` then stops reading: what it receives is counted by the kernel, not by us.
   */
  async connect(
    transport: WebRtcTransport,
    process?: ClientProcess,
    options: { countInKernel?: boolean } = {},
  ): Promise<PooledClient> {
    const owner = process ?? this.processes[this.#nextProcess++ % this.processes.length]!;
    await transport.connect({
      dtlsParameters: { role: 'client', fingerprints: owner.fingerprints as never },
    });
    const id = this.#nextId++;
    await owner.request({
      op: 'connect',
      id,
      transport: {
        id: transport.id,
        iceParameters: transport.iceParameters,
        iceCandidates: transport.iceCandidates,
        dtlsParameters: transport.dtlsParameters as TransportInfo['dtlsParameters'],
      },
      countInKernel: options.countInKernel ?? false,
    });
    return { id, process: owner };
  }

  /** Sockets that count what they receive (the send floor measurement): their ports. */
  async sinks(count: number): Promise<number[]> {
    const share = Math.ceil(count / this.processes.length);
    const replies = await Promise.all(
      this.processes.map((p, i) =>
        p.request<{ ports: number[] }>({
          op: 'sinks',
          count: Math.max(0, Math.min(share, count - i * share)),
        }),
      ),
    );
    return replies.flatMap((r) => r.ports);
  }

  /** Streams a client sends once started. */
  async addStreams(client: PooledClient, streams: StreamSpec[]): Promise<void> {
    await client.process.request({ op: 'send', id: client.id, streams });
  }

  async start(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.request({ op: 'start' })));
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.request({ op: 'stop' })));
  }

  /** Counters of every process, summed. */
  async snapshot(): Promise<ClientSnapshot> {
    const replies = await Promise.all(
      this.processes.map((p) => p.request<{ snapshot: ClientSnapshot }>({ op: 'snapshot' })),
    );
    const total: ClientSnapshot = {
      received: 0,
      expected: 0,
      sent: {},
      kernelClients: 0,
      kernelArrivals: 0,
      latency: [],
      cpuMs: 0,
    };
    for (const { snapshot } of replies) {
      total.received += snapshot.received;
      total.expected += snapshot.expected;
      total.cpuMs += snapshot.cpuMs;
      total.kernelClients += snapshot.kernelClients;
      total.kernelArrivals += snapshot.kernelArrivals;
      Object.assign(total.sent, snapshot.sent);
      snapshot.latency.forEach((n, i) => {
        total.latency[i] = (total.latency[i] ?? 0) + n;
      });
    }
    return total;
  }

  close(): void {
    for (const p of this.processes) {
      p.child.send({ op: 'exit' });
      p.child.disconnect();
    }
  }
}

/** p-th percentile (0..1) in ms of the latency samples between two snapshots' histograms. */
export function latencyPercentile(before: number[], after: number[], p: number): number {
  let total = 0;
  for (let i = 0; i < after.length; i++) total += after[i]! - (before[i] ?? 0);
  if (total === 0) return Number.NaN;
  let seen = 0;
  for (let i = 0; i < after.length; i++) {
    seen += after[i]! - (before[i] ?? 0);
    if (seen >= p * total) return ((i + 1) * LATENCY_BUCKET_US) / 1000;
  }
  return Number.NaN;
}

/** Packets stream `ssrc` sent between two snapshots. */
export function sentBetween(before: ClientSnapshot, after: ClientSnapshot, ssrc: number): number {
  return (after.sent[ssrc] ?? 0) - (before.sent[ssrc] ?? 0);
}
