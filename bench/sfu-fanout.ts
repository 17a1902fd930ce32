/**
 * SFU fan-out through real WebRtcTransports: one producer of synthetic VP8 RTP (~250 packets/s)
 * to N consumers on one worker. Every client (producer and consumers) is our own stack in this
 * load process: a UDP socket, a STUN check with USE-CANDIDATE, a DTLS client and SRTP. The
 * worker decrypts each producer packet once, then per consumer copies, rewrites, stores it for
 * retransmission, encrypts and sends it.
 *
 * Measures, over the measuring window: SRTP packets the consumers received per second, worker
 * CPU (utime+stime from /proc/<pid>/stat) per forwarded packet, and worker RSS growth per consumer.
 *   npx tsx bench/sfu-fanout.ts [consumers...]     (default 50 200 400)
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import * as sfu from '../src/sfu/index.js';
import type { Router, WebRtcTransport } from '../src/sfu/public-types.js';
import {
  SRTP_PROFILES as DTLS_SRTP_PROFILES,
  type DtlsCertificate,
  DtlsSession,
  fingerprints,
  generateCertificate,
} from '../src/transport/dtls/index.js';
import { classifyPacket, PacketKind } from '../src/transport/ice/index.js';
import { SrtpSession, srtpProfileById } from '../src/transport/srtp/index.js';
import { StunAttr, StunBuilder, StunClass, StunMethod, shortTermKey } from '../src/wire/stun/index.js';

const PACKETS_PER_SECOND = 250;
const PAYLOAD = 1000;
const WARMUP_MS = 2000;
const MEASURE_MS = 8000;
const VP8_PT = 96;
const PRODUCER_SSRC = 0x11223344;

const counts = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const consumerCounts = counts.length > 0 ? counts : [50, 200, 400];

const CLK_TCK = 100; // Linux USER_HZ

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 (utime, stime), counted from 1 with pid and comm before the ')'.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

/** One client of the SFU: socket, ICE check, DTLS client, SRTP. */
class BenchClient {
  readonly socket: Socket = createSocket('udp4');
  rtpReceived = 0;
  srtp?: SrtpSession;
  #dtls?: DtlsSession;
  #check?: Buffer;
  #port = 0;

  constructor(readonly certificate: DtlsCertificate) {}

  async bind(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    this.socket.on('message', (msg) => {
      const b0 = msg[0]!;
      if (b0 >= 128 && b0 <= 191) {
        this.rtpReceived++;
        return;
      }
      if (classifyPacket(msg) === PacketKind.Dtls) this.#dtls?.handleDatagram(msg);
    });
  }

  /** connect() on the SFU side, then ICE check and DTLS handshake to the transport's candidate. */
  async connect(transport: WebRtcTransport): Promise<void> {
    await transport.connect({
      dtlsParameters: { role: 'client', fingerprints: fingerprints(this.certificate.der) as never },
    });
    const candidate = transport.iceCandidates[0]!;
    this.#port = candidate.port;
    this.#check = new StunBuilder(StunMethod.Binding, StunClass.Request)
      .add(StunAttr.Username, `${transport.iceParameters.usernameFragment}:bench`)
      .addUint32(StunAttr.Priority, 1)
      .addUint64(StunAttr.IceControlling, 1n)
      .addFlag(StunAttr.UseCandidate)
      .addMessageIntegrity(shortTermKey(transport.iceParameters.password))
      .addFingerprint()
      .build();
    const dtls = new DtlsSession({
      role: 'client',
      certificate: this.certificate,
      remoteFingerprints: transport.dtlsParameters.fingerprints as never,
      send: (datagram) => this.socket.send(datagram, this.#port, '127.0.0.1'),
    });
    this.#dtls = dtls;
    const connected = new Promise<void>((resolve, reject) => {
      dtls.once('connected', () => resolve());
      dtls.once('error', reject);
    });
    this.keepAlive();
    // The SFU answers the check and selects this tuple; give it a moment before the ClientHello.
    await new Promise((r) => setTimeout(r, 20));
    dtls.start();
    await connected;
    const keys = dtls.srtpKeyingMaterial();
    const profile = srtpProfileById(DTLS_SRTP_PROFILES.find((p) => p.name === keys.profile)!.id)!;
    this.srtp = new SrtpSession({
      profile: profile.name,
      localKey: keys.localMasterKey,
      localSalt: keys.localMasterSalt,
      remoteKey: keys.remoteMasterKey,
      remoteSalt: keys.remoteMasterSalt,
    });
  }

  /** A connectivity check (consent refresh). */
  keepAlive(): void {
    if (this.#check) this.socket.send(this.#check, this.#port, '127.0.0.1');
  }

  send(packet: Buffer): void {
    const out = this.srtp!.protectRtp(packet);
    if (typeof out !== 'number') this.socket.send(out, this.#port, '127.0.0.1');
  }

  close(): void {
    this.#dtls?.close();
    this.socket.close();
  }
}

/** A VP8 packet: payload descriptor (S bit, keyframe on every 100th), then filler. */
function vp8Packet(seq: number, timestamp: number, keyframe: boolean, marker: boolean): Buffer {
  const packet = Buffer.alloc(12 + PAYLOAD, 0xab);
  packet[0] = 0x80;
  packet[1] = (marker ? 0x80 : 0) | VP8_PT;
  packet.writeUInt16BE(seq & 0xffff, 2);
  packet.writeUInt32BE(timestamp >>> 0, 4);
  packet.writeUInt32BE(PRODUCER_SSRC, 8);
  packet[12] = 0x10; // S=1, PID=0
  if (keyframe) {
    packet[13] = 0x00; // P=0: key frame
    packet[16] = 0x9d;
    packet[17] = 0x01;
    packet[18] = 0x2a;
  } else packet[13] = 0x01;
  return packet;
}

async function run(router: Router, pid: number, consumers: number): Promise<Record<string, number>> {
  const certificate = generateCertificate();
  const listenInfos = [{ protocol: 'udp' as const, ip: '127.0.0.1' }];
  const producerTransport = await router.createWebRtcTransport({ listenInfos });
  const producerClient = new BenchClient(certificate);
  await producerClient.bind();
  await producerClient.connect(producerTransport);
  const producer = await producerTransport.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [
        {
          mimeType: 'video/VP8',
          payloadType: VP8_PT,
          clockRate: 90000,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
        },
      ],
      encodings: [{ ssrc: PRODUCER_SSRC }],
    },
  });
  const rssBefore = rssKb(pid);
  const clients: BenchClient[] = [];
  const transports: WebRtcTransport[] = [];
  const setupStart = Date.now();
  for (let i = 0; i < consumers; i++) {
    const transport = await router.createWebRtcTransport({ listenInfos });
    const client = new BenchClient(certificate);
    await client.bind();
    await client.connect(transport);
    await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    clients.push(client);
    transports.push(transport);
  }
  const setupMs = Date.now() - setupStart;

  // Send at 250 packets/s in 10 ms ticks (a 30 fps stream of ~8-packet frames).
  let seq = 0;
  let sent = 0;
  const startedAt = Date.now();
  const sender = setInterval(() => {
    const due = Math.floor(((Date.now() - startedAt) * PACKETS_PER_SECOND) / 1000);
    for (let n = 0; sent < due && n < 50; n++, sent++) {
      const frame = Math.floor(sent / 8);
      producerClient.send(vp8Packet(seq++, frame * 3000, sent % 800 === 0, sent % 8 === 7));
    }
  }, 10);
  const keepAlive = setInterval(() => {
    producerClient.keepAlive();
    for (const client of clients) client.keepAlive();
  }, 5000);
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const received0 = clients.reduce((sum, c) => sum + c.rtpReceived, 0);
  const sent0 = sent;
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, MEASURE_MS));
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = cpuMs(pid);
  const received1 = clients.reduce((sum, c) => sum + c.rtpReceived, 0);
  // Steady state: every consumer's retransmission buffer has filled by now.
  const rssAfter = rssKb(pid);
  const sent1 = sent;
  clearInterval(sender);
  clearInterval(keepAlive);

  const forwarded = received1 - received0;
  const perClient = clients.map((c) => c.rtpReceived).sort((a, b) => a - b);
  if (process.env.BENCH_DEBUG)
    console.log(
      'received per consumer: min',
      perClient[0],
      'median',
      perClient[perClient.length >> 1],
      'max',
      perClient.at(-1),
      'sent',
      sent1,
    );
  const expected = (sent1 - sent0) * consumers;
  const cpuUsed = cpu1 - cpu0;
  const result = {
    consumers,
    producerPacketsPerSecond: Math.round((sent1 - sent0) / seconds),
    forwardedPerSecond: Math.round(forwarded / seconds),
    deliveredPercent: expected > 0 ? Math.round((forwarded / expected) * 1000) / 10 : 0,
    workerCpuPercent: Math.round((cpuUsed / 1000 / seconds) * 1000) / 10,
    cpuMicrosPerForwarded: forwarded > 0 ? Math.round(((cpuUsed * 1000) / forwarded) * 100) / 100 : 0,
    // At this cost a fully busy worker core would forward:
    projectedPerCore: cpuUsed > 0 ? Math.round((forwarded / cpuUsed) * 1000) : 0,
    rssKbPerConsumer: Math.round(((rssAfter - rssBefore) / consumers) * 10) / 10,
    setupMs,
  };
  for (const client of clients) client.close();
  for (const transport of transports) transport.close();
  producerClient.close();
  producerTransport.close();
  return result;
}

const worker = await sfu.createWorker({ logLevel: 'warn', rtcMinPort: 20000, rtcMaxPort: 59999 });
const router = await worker.createRouter({
  mediaCodecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }],
});
console.log(
  `worker pid ${worker.pid}; ${PACKETS_PER_SECOND} packets/s of ${12 + PAYLOAD} B; measuring ${MEASURE_MS} ms`,
);
try {
  for (const n of consumerCounts) console.log(JSON.stringify(await run(router, worker.pid, n)));
} finally {
  worker.close();
}
