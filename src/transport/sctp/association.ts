/**
 * One SCTP association (RFC 9260) as WebRTC uses it: a single path, over DTLS (RFC 8261) or a
 * plain datagram transport. It owns no socket: packets go out through `send` and come in through
 * handlePacket(). Partial reliability (RFC 3758 FORWARD-TSN) and outgoing stream reset (RFC 6525)
 * are supported; multi-homing, I-DATA and association restart are not.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from '../../common/logger.js';
import { silentLogger } from '../../common/logger.js';
import {
  ChunkType,
  type ChunkView,
  COMMON_HEADER_SIZE,
  DATA_FLAG_BEGIN,
  DATA_FLAG_END,
  DATA_FLAG_IMMEDIATE,
  DATA_FLAG_UNORDERED,
  DATA_HEADER_SIZE,
  FLAG_T,
  nextChunk,
  PacketWriter,
  ParamType,
  parseData,
  parseForwardTsn,
  parseInit,
  parseReconfig,
  parseSack,
  ReconfigResult,
  ssnGt,
  tsnLt,
  tsnLte,
  validatePacket,
  writeData,
  writeForwardTsn,
  writeInit,
  writeRawChunk,
  writeReconfig,
  writeSack,
} from './chunks.js';
import { Deque } from './deque.js';

export type SctpState = 'new' | 'connecting' | 'connected' | 'failed' | 'closed';

/** Protocol states of RFC 9260 §4. */
enum Phase {
  Closed,
  CookieWait,
  CookieEchoed,
  Established,
  ShutdownPending,
  ShutdownSent,
  ShutdownReceived,
  ShutdownAckSent,
}

export interface SctpAssociationOptions {
  /** Sends one SCTP packet (over DTLS: as one application data record). */
  send: (packet: Buffer) => void;
  localPort?: number;
  remotePort?: number;
  /** Outbound streams we ask for (OS), default 1024. */
  outboundStreams?: number;
  /** Inbound streams we accept (MIS), default 1024. */
  inboundStreams?: number;
  /** Largest message accepted or sent, default 262144 (as mediasoup). */
  maxMessageSize?: number;
  /** Largest SCTP packet. Over DTLS with a 1200-byte datagram MTU, 1200 minus the record overhead. */
  mtu?: number;
  /** Receive buffer advertised as a_rwnd and bounding reassembly memory, default 1 MiB. */
  receiveWindow?: number;
  rtoInitial?: number;
  rtoMin?: number;
  rtoMax?: number;
  /** Consecutive unanswered retransmissions before the association fails (RFC 9260 Association.Max.Retrans). */
  maxRetransmissions?: number;
  /** INIT / COOKIE-ECHO attempts before giving up (Max.Init.Retransmits). */
  maxInitRetransmits?: number;
  heartbeatInterval?: number;
  /** Delayed SACK timer (RFC 9260 §6.2: at most 500 ms; 200 ms is customary). */
  sackDelay?: number;
  /** Lifetime of a state cookie in ms (Valid.Cookie.Life), default 60 000. */
  cookieLifetime?: number;
  /** Secret that signs state cookies; random by default. */
  cookieSecret?: Buffer;
  logger?: Logger;
}

export interface SendOptions {
  unordered?: boolean;
  /** Abandon the message after this many retransmissions (0: sent once). */
  maxRetransmits?: number;
  /** Abandon the message this many ms after send() if not yet acknowledged. */
  maxPacketLifeTime?: number;
}

export interface SctpStats {
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
  dataChunksSent: number;
  dataChunksReceived: number;
  retransmissions: number;
  fastRetransmissions: number;
  t3Expirations: number;
  abandonedMessages: number;
  duplicateTsnsReceived: number;
  /** Packets dropped: bad checksum or framing, wrong ports or verification tag, bad cookie. */
  packetsDropped: number;
  /** DATA chunks dropped for lack of receive buffer or beyond the window. */
  dataChunksDropped: number;
}

export interface SctpAssociationEvents {
  statechange: [state: SctpState];
  /** The peer reset these incoming streams (RFC 6525): their SSNs start at 0 again. */
  incomingstreamreset: [streamIds: number[]];
  /** Our reset request for these outgoing streams was performed by the peer. */
  outgoingstreamreset: [streamIds: number[]];
  /** The association ended: ABORT, SHUTDOWN, failure, or close(). */
  close: [reason: string];
}

interface OutMessage {
  maxRetransmits: number;
  expiresAt: number;
  abandoned: boolean;
  /** Fragments of this message not yet acknowledged or abandoned. */
  remaining: number;
}

interface OutChunk {
  tsn: number;
  streamId: number;
  ssn: number;
  ppid: number;
  flags: number;
  payload: Buffer;
  message: OutMessage;
  /** Transmissions so far (0: not sent yet). */
  sends: number;
  sentAt: number;
  /** Acknowledged by a gap block (may still be reneged in theory; we never renege). */
  gapAcked: boolean;
  inFlight: boolean;
  retransmit: boolean;
  abandoned: boolean;
  missingReports: number;
}

interface OutStream {
  nextSsn: number;
  /** Bytes queued for first transmission. */
  buffered: number;
  lowThreshold: number;
  /** A reset request for this stream is queued or outstanding. */
  resetting: boolean;
}

interface InChunk {
  tsn: number;
  ssn: number;
  ppid: number;
  flags: number;
  payload: Buffer;
}

interface InStream {
  expectedSsn: number;
  /** Ordered chunks waiting for earlier ones, sorted by TSN. */
  ordered: InChunk[];
  /** Fragments of unordered messages waiting for the rest, sorted by TSN. */
  unordered: InChunk[];
}

const COOKIE_BODY = 36;
const COOKIE_MAC = 32;
/** Packets one transmit() may emit: bounds the work done per incoming SACK or timer. */
const MAX_PACKETS_PER_TRANSMIT = 64;
const MAX_DUPLICATES_REPORTED = 16;
const MAX_GAP_BLOCKS = 128;
/** TSNs this far beyond the cumulative point are dropped: bounds the received-TSN set. */
const MAX_TSN_AHEAD = 65536;
const DEFAULT_MTU = 1160;

function randomTag(): number {
  let tag = 0;
  while (tag === 0) tag = randomBytes(4).readUInt32BE(0);
  return tag;
}

export class SctpAssociation extends EventEmitter<SctpAssociationEvents> {
  /** A complete message. The Buffer may be a view into the received packet: copy to keep it past the packet's life if the transport reuses buffers (DTLS and dgram do not). */
  onMessage: (streamId: number, ppid: number, data: Buffer) => void = () => {};
  /** Bytes queued on a stream fell to or below its threshold (see setBufferedAmountLowThreshold). */
  onBufferedAmountLow: (streamId: number) => void = () => {};

  readonly stats: SctpStats = {
    packetsSent: 0,
    packetsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    messagesSent: 0,
    messagesReceived: 0,
    dataChunksSent: 0,
    dataChunksReceived: 0,
    retransmissions: 0,
    fastRetransmissions: 0,
    t3Expirations: 0,
    abandonedMessages: 0,
    duplicateTsnsReceived: 0,
    packetsDropped: 0,
    dataChunksDropped: 0,
  };

  readonly maxMessageSize: number;
  readonly mtu: number;
  private readonly sendPacket: (packet: Buffer) => void;
  private readonly localPort: number;
  private readonly remotePort: number;
  private readonly wantOutbound: number;
  private readonly wantInbound: number;
  private readonly receiveWindow: number;
  private readonly rtoMin: number;
  private readonly rtoMax: number;
  private readonly maxRetransmissions: number;
  private readonly maxInitRetransmits: number;
  private readonly heartbeatInterval: number;
  private readonly sackDelay: number;
  private readonly cookieLifetime: number;
  private readonly cookieSecret: Buffer;
  private readonly logger: Logger;
  private readonly writer: PacketWriter;
  private readonly maxDataPayload: number;

  private phase = Phase.Closed;
  private readonly chunkView: ChunkView = { type: 0, flags: 0, offset: 0, length: 0 };
  private publicState: SctpState = 'new';
  private readonly localTag = randomTag();
  private peerTag = 0;
  private readonly localInitialTsn = randomBytes(4).readUInt32BE(0);
  private outboundStreamCount = 0;
  private inboundStreamCount = 0;
  private peerForwardTsn = false;
  private peerReconfig = false;

  // Sending
  private nextTsn: number;
  /** Highest TSN the peer acknowledged cumulatively. */
  private lastCumAck: number;
  /** RFC 3758 Advanced.Peer.Ack.Point. */
  private advancedPeerAckPoint: number;
  private readonly sent = new Deque<OutChunk>();
  private readonly pending = new Deque<OutChunk>();
  private outStreams: OutStream[] = [];
  private flightSize = 0;
  private totalBuffered = 0;
  /** Highest TSN transmitted (or skipped unsent), the most a SACK may acknowledge. */
  private highestSentTsn: number;
  /** Chunks in `sent` whose message has a lifetime: lets SACK processing skip the expiry scan. */
  private timedInSent = 0;
  private cwnd: number;
  private ssthresh: number;
  private partialBytesAcked = 0;
  private peerRwnd = 0;
  private fastRecoveryExit: number | undefined;
  private retransmitMarked = 0;
  private fastRetransmitPending = false;
  private forwardTsnPending = false;
  private rto: number;
  private srtt: number | undefined;
  private rttvar = 0;
  private errorCount = 0;
  private t3Timer: NodeJS.Timeout | undefined;
  private t3Duration = 0;
  private transmitScheduled = false;

  // Receiving
  private peerCumTsn = 0;
  private readonly receivedAbove = new Set<number>();
  private inStreams: InStream[] = [];
  private receivedBytes = 0;
  private duplicates: number[] = [];
  private sackNeeded = false;
  private sackImmediately = false;
  private dataPacketsSinceSack = 0;
  private sackTimer: NodeJS.Timeout | undefined;

  // Handshake
  private initTimer: NodeJS.Timeout | undefined;
  private initAttempts = 0;
  private cookieEchoed: Buffer | undefined;

  // Stream reset (RFC 6525)
  private reconfigRequestSeq: number;
  private reconfigOutstanding: { seq: number; streams: number[]; lastTsn: number } | undefined;
  private reconfigQueue: number[] = [];
  private reconfigTimer: NodeJS.Timeout | undefined;
  private peerNextRequestSeq = 0;
  private lastPeerRequestResult: number = ReconfigResult.SUCCESS_PERFORMED;
  private deferredPeerReset: { seq: number; streams: number[]; lastTsn: number } | undefined;
  private reconfigResponse: { responseSeq: number; result: number } | undefined;

  // Heartbeat and shutdown
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatOutstanding = false;
  private shutdownTimer: NodeJS.Timeout | undefined;
  private shutdownAttempts = 0;

  constructor(options: SctpAssociationOptions) {
    super();
    this.sendPacket = options.send;
    this.localPort = options.localPort ?? 5000;
    this.remotePort = options.remotePort ?? 5000;
    this.wantOutbound = Math.min(65535, Math.max(1, options.outboundStreams ?? 1024));
    this.wantInbound = Math.min(65535, Math.max(1, options.inboundStreams ?? 1024));
    this.maxMessageSize = options.maxMessageSize ?? 262144;
    this.mtu = Math.max(256, options.mtu ?? DEFAULT_MTU);
    this.receiveWindow = Math.max(this.mtu * 4, options.receiveWindow ?? 1024 * 1024);
    this.rto = options.rtoInitial ?? 1000;
    this.rtoMin = options.rtoMin ?? 200;
    this.rtoMax = options.rtoMax ?? 10_000;
    this.maxRetransmissions = options.maxRetransmissions ?? 10;
    this.maxInitRetransmits = options.maxInitRetransmits ?? 8;
    this.heartbeatInterval = options.heartbeatInterval ?? 30_000;
    this.sackDelay = options.sackDelay ?? 200;
    this.cookieLifetime = options.cookieLifetime ?? 60_000;
    this.cookieSecret = options.cookieSecret ?? randomBytes(32);
    this.logger = options.logger ?? silentLogger;
    this.writer = new PacketWriter(this.mtu, this.localPort, this.remotePort);
    this.maxDataPayload = this.mtu - 12 - DATA_HEADER_SIZE;
    this.nextTsn = this.localInitialTsn;
    this.lastCumAck = (this.localInitialTsn - 1) >>> 0;
    this.advancedPeerAckPoint = this.lastCumAck;
    this.highestSentTsn = this.lastCumAck;
    this.reconfigRequestSeq = this.localInitialTsn;
    // RFC 9260 §7.2.1: initial cwnd min(4 MTU, max(2 MTU, 4380)).
    this.cwnd = Math.min(4 * this.mtu, Math.max(2 * this.mtu, 4380));
    this.ssthresh = this.receiveWindow;
  }

  get state(): SctpState {
    return this.publicState;
  }

  /** Negotiated stream counts (0 before the association is up). */
  get streams(): { outbound: number; inbound: number } {
    return { outbound: this.outboundStreamCount, inbound: this.inboundStreamCount };
  }

  /** Congestion and timer state, for tests and stats. */
  get congestion(): { cwnd: number; ssthresh: number; flightSize: number; peerRwnd: number; rto: number } {
    return {
      cwnd: this.cwnd,
      ssthresh: this.ssthresh,
      flightSize: this.flightSize,
      peerRwnd: this.peerRwnd,
      rto: this.rto,
    };
  }

  /** Bytes held for reassembly or ordering, bounded by about twice the receive window. */
  get receiveBufferedAmount(): number {
    return this.receivedBytes;
  }

  /** Sends INIT (either side may; a simultaneous INIT from the peer is a collision, RFC 9260 §5.2). */
  connect(): void {
    if (this.phase !== Phase.Closed || this.publicState === 'closed' || this.publicState === 'failed') return;
    this.phase = Phase.CookieWait;
    this.setState('connecting');
    this.initAttempts = 0;
    this.sendInit();
  }

  /**
   * Queues a message. Returns false (and queues nothing) when the association is not connected,
   * the stream is out of range or being reset, or the message is empty or over maxMessageSize.
   */
  send(streamId: number, ppid: number, data: Buffer, options?: SendOptions): boolean {
    if (this.phase !== Phase.Established) return false;
    const stream = this.outStreams[streamId];
    if (!stream || stream.resetting || data.length === 0 || data.length > this.maxMessageSize) return false;
    const unordered = options?.unordered === true;
    const message: OutMessage = {
      maxRetransmits: options?.maxRetransmits ?? Number.POSITIVE_INFINITY,
      expiresAt:
        options?.maxPacketLifeTime === undefined
          ? Number.POSITIVE_INFINITY
          : performance.now() + options.maxPacketLifeTime,
      abandoned: false,
      remaining: 0,
    };
    const ssn = unordered ? 0 : stream.nextSsn;
    if (!unordered) stream.nextSsn = (stream.nextSsn + 1) & 0xffff;
    const max = this.maxDataPayload;
    for (let offset = 0; offset < data.length; offset += max) {
      const end = Math.min(data.length, offset + max);
      let flags = unordered ? DATA_FLAG_UNORDERED : 0;
      if (offset === 0) flags |= DATA_FLAG_BEGIN;
      if (end === data.length) flags |= DATA_FLAG_END;
      this.pending.push({
        tsn: this.nextTsn,
        streamId,
        ssn,
        ppid,
        flags,
        payload: data.subarray(offset, end),
        message,
        sends: 0,
        sentAt: 0,
        gapAcked: false,
        inFlight: false,
        retransmit: false,
        abandoned: false,
        missingReports: 0,
      });
      message.remaining++;
      this.nextTsn = (this.nextTsn + 1) >>> 0;
    }
    stream.buffered += data.length;
    this.totalBuffered += data.length;
    this.stats.messagesSent++;
    this.scheduleTransmit();
    return true;
  }

  /** Bytes of a stream's messages not yet transmitted once. */
  bufferedAmount(streamId: number): number {
    return this.outStreams[streamId]?.buffered ?? 0;
  }

  /** Bytes of every stream's messages not yet transmitted once (the send buffer in use). */
  get bufferedAmountTotal(): number {
    return this.totalBuffered;
  }

  setBufferedAmountLowThreshold(streamId: number, threshold: number): void {
    const stream = this.outStreams[streamId];
    if (stream) stream.lowThreshold = threshold;
  }

  /** Asks the peer to reset these outgoing streams (RFC 6525 Outgoing SSN Reset Request). */
  resetStreams(streamIds: readonly number[]): void {
    if (this.phase !== Phase.Established || !this.peerReconfig) return;
    for (const id of streamIds) {
      const stream = this.outStreams[id];
      if (!stream || stream.resetting) continue;
      stream.resetting = true;
      this.reconfigQueue.push(id);
    }
    if (!this.reconfigOutstanding) this.sendNextReconfig();
  }

  /** Graceful close (SHUTDOWN): outstanding data is delivered first. */
  shutdown(): void {
    if (this.phase === Phase.Established) {
      this.phase = Phase.ShutdownPending;
      this.maybeSendShutdown();
    } else if (this.phase === Phase.CookieWait || this.phase === Phase.CookieEchoed) {
      this.finish('closed', 'shutdown before established');
    }
  }

  /** Sends ABORT and closes at once. */
  abort(reason = 'aborted'): void {
    if (this.phase !== Phase.Closed && this.peerTag !== 0) {
      writeRawChunk(this.writer, ChunkType.ABORT, 0);
      this.emitPacket(this.writer.finish(this.peerTag));
    }
    this.finish('closed', reason);
  }

  /** Stops everything without telling the peer (e.g. the DTLS below closed). Idempotent. */
  close(): void {
    this.finish('closed', 'closed');
  }

  /** One SCTP packet from the transport. Never throws on its content. */
  handlePacket(packet: Buffer): void {
    if (this.publicState === 'closed' || this.publicState === 'failed') return;
    const count = validatePacket(packet);
    if (
      count === 0 ||
      packet.readUInt16BE(2) !== this.localPort ||
      packet.readUInt16BE(0) !== this.remotePort
    ) {
      this.stats.packetsDropped++;
      return;
    }
    const firstType = packet[COMMON_HEADER_SIZE]!;
    const firstFlags = packet[COMMON_HEADER_SIZE + 1]!;
    const tag = packet.readUInt32BE(4);
    // RFC 9260 §8.5.1: INIT carries tag 0 and travels alone; ABORT and SHUTDOWN-COMPLETE with the
    // T bit carry the peer's own tag; everything else carries ours.
    if (firstType === ChunkType.INIT) {
      if (tag !== 0 || count !== 1) {
        this.stats.packetsDropped++;
        return;
      }
    } else if (
      (firstType === ChunkType.ABORT || firstType === ChunkType.SHUTDOWN_COMPLETE) &&
      firstFlags & FLAG_T
    ) {
      if (this.peerTag === 0 || tag !== this.peerTag) {
        this.stats.packetsDropped++;
        return;
      }
    } else if (tag !== this.localTag) {
      this.stats.packetsDropped++;
      return;
    }
    this.stats.packetsReceived++;
    this.stats.bytesReceived += packet.length;
    let hadData = false;
    // One view reused for every chunk: handlers read it at once and never keep it.
    const chunk = this.chunkView;
    for (let i = 0, offset = COMMON_HEADER_SIZE; i < count; i++) {
      if (this.phase === Phase.Closed && this.publicState !== 'new' && this.publicState !== 'connecting')
        return;
      offset = nextChunk(packet, offset, chunk);
      switch (chunk.type) {
        case ChunkType.DATA:
          if (this.handleData(packet, chunk)) hadData = true;
          break;
        case ChunkType.INIT:
          this.handleInit(packet, chunk);
          return;
        case ChunkType.INIT_ACK:
          this.handleInitAck(packet, chunk);
          break;
        case ChunkType.COOKIE_ECHO:
          this.handleCookieEcho(packet, chunk);
          break;
        case ChunkType.COOKIE_ACK:
          if (this.phase === Phase.CookieEchoed) this.establish();
          break;
        case ChunkType.SACK:
          this.handleSack(packet, chunk);
          break;
        case ChunkType.HEARTBEAT:
          if (this.isUp()) {
            writeRawChunk(
              this.writer,
              ChunkType.HEARTBEAT_ACK,
              0,
              packet.subarray(chunk.offset + 4, chunk.offset + chunk.length),
            );
            this.emitPacket(this.writer.finish(this.peerTag));
          }
          break;
        case ChunkType.HEARTBEAT_ACK:
          this.handleHeartbeatAck(packet, chunk);
          break;
        case ChunkType.ABORT:
          this.logger.debug('sctp: ABORT received');
          this.finish('closed', 'peer aborted');
          return;
        case ChunkType.SHUTDOWN:
          this.handleShutdown(packet, chunk);
          break;
        case ChunkType.SHUTDOWN_ACK:
          if (this.phase === Phase.ShutdownSent || this.phase === Phase.ShutdownAckSent) {
            writeRawChunk(this.writer, ChunkType.SHUTDOWN_COMPLETE, 0);
            this.emitPacket(this.writer.finish(this.peerTag));
            this.finish('closed', 'shutdown');
            return;
          }
          break;
        case ChunkType.SHUTDOWN_COMPLETE:
          if (this.phase === Phase.ShutdownAckSent) {
            this.finish('closed', 'shutdown');
            return;
          }
          break;
        case ChunkType.FORWARD_TSN:
          if (this.handleForwardTsn(packet, chunk)) hadData = true;
          break;
        case ChunkType.RE_CONFIG:
          this.handleReconfig(packet, chunk);
          break;
        case ChunkType.ERROR:
          break;
        default:
          // RFC 9260 §3.2: the two high bits say whether to skip an unknown chunk or stop.
          if ((chunk.type & 0x80) === 0) {
            this.afterPacket(hadData);
            return;
          }
      }
    }
    this.afterPacket(hadData);
  }

  // ---------------------------------------------------------------------------------------------
  // Handshake

  private sendInit(): void {
    writeInit(this.writer, ChunkType.INIT, {
      initiateTag: this.localTag,
      advertisedReceiverWindow: this.receiveWindow,
      outboundStreams: this.wantOutbound,
      inboundStreams: this.wantInbound,
      initialTsn: this.localInitialTsn,
    });
    this.emitPacket(this.writer.finish(0));
    this.armInitTimer(() => this.sendInit());
  }

  private armInitTimer(resend: () => void): void {
    clearTimeout(this.initTimer);
    const delay = Math.min(this.rtoMax, this.rto * 2 ** this.initAttempts);
    this.initTimer = setTimeout(() => {
      this.initTimer = undefined;
      if (++this.initAttempts > this.maxInitRetransmits) {
        this.finish('failed', 'handshake timed out');
        return;
      }
      resend();
    }, delay);
  }

  private handleInit(packet: Buffer, chunk: ChunkView): void {
    const init = parseInit(packet, chunk);
    if (!init) {
      this.stats.packetsDropped++;
      return;
    }
    if (this.phase !== Phase.Closed && this.phase !== Phase.CookieWait && this.phase !== Phase.CookieEchoed) {
      // An INIT once up would be a restart (RFC 9260 §5.2.2), which we do not support: answer
      // with our own tags so that a duplicate INIT still completes, and drop a different peer.
      if (init.initiateTag !== this.peerTag) return;
    }
    // §5.2.1: in COOKIE-WAIT/ECHOED the INIT-ACK reuses our INIT's tag; stateless otherwise.
    const outbound = Math.min(this.wantOutbound, init.inboundStreams);
    const inbound = Math.min(this.wantInbound, init.outboundStreams);
    const cookie = this.makeCookie(init, outbound, inbound);
    writeInit(this.writer, ChunkType.INIT_ACK, {
      initiateTag: this.localTag,
      advertisedReceiverWindow: this.receiveWindow,
      outboundStreams: this.wantOutbound,
      inboundStreams: this.wantInbound,
      initialTsn: this.localInitialTsn,
      cookie,
    });
    this.emitPacket(this.writer.finish(init.initiateTag));
  }

  private makeCookie(init: ReturnType<typeof parseInit> & object, outbound: number, inbound: number): Buffer {
    const cookie = Buffer.alloc(COOKIE_BODY + COOKIE_MAC);
    cookie.writeDoubleBE(Date.now(), 0);
    cookie.writeUInt32BE(this.localTag, 8);
    cookie.writeUInt32BE(init.initiateTag, 12);
    cookie.writeUInt32BE(init.initialTsn, 16);
    cookie.writeUInt32BE(this.localInitialTsn, 20);
    cookie.writeUInt32BE(init.advertisedReceiverWindow, 24);
    cookie.writeUInt16BE(outbound, 28);
    cookie.writeUInt16BE(inbound, 30);
    cookie[32] = (init.forwardTsnSupported ? 1 : 0) | (init.reconfigSupported ? 2 : 0);
    this.cookieMac(cookie).copy(cookie, COOKIE_BODY);
    return cookie;
  }

  private cookieMac(cookie: Buffer): Buffer {
    return createHmac('sha256', this.cookieSecret).update(cookie.subarray(0, COOKIE_BODY)).digest();
  }

  private handleInitAck(packet: Buffer, chunk: ChunkView): void {
    if (this.phase !== Phase.CookieWait) return;
    const ack = parseInit(packet, chunk);
    if (!ack?.cookie) {
      this.stats.packetsDropped++;
      return;
    }
    this.peerTag = ack.initiateTag;
    this.setPeerParameters(
      ack.initialTsn,
      ack.advertisedReceiverWindow,
      Math.min(this.wantOutbound, ack.inboundStreams),
      Math.min(this.wantInbound, ack.outboundStreams),
      ack.forwardTsnSupported,
      ack.reconfigSupported,
    );
    this.cookieEchoed = Buffer.from(ack.cookie);
    this.phase = Phase.CookieEchoed;
    this.initAttempts = 0;
    this.sendCookieEcho();
  }

  private sendCookieEcho(): void {
    if (!this.cookieEchoed) return;
    writeRawChunk(this.writer, ChunkType.COOKIE_ECHO, 0, this.cookieEchoed);
    this.emitPacket(this.writer.finish(this.peerTag));
    this.armInitTimer(() => this.sendCookieEcho());
  }

  private handleCookieEcho(packet: Buffer, chunk: ChunkView): void {
    const cookie = packet.subarray(chunk.offset + 4, chunk.offset + chunk.length);
    if (cookie.length !== COOKIE_BODY + COOKIE_MAC) {
      this.stats.packetsDropped++;
      return;
    }
    if (!timingSafeEqual(this.cookieMac(cookie), cookie.subarray(COOKIE_BODY))) {
      this.logger.debug('sctp: forged state cookie dropped');
      this.stats.packetsDropped++;
      return;
    }
    const age = Date.now() - cookie.readDoubleBE(0);
    if (!(age >= -1000 && age <= this.cookieLifetime)) {
      this.logger.debug({ age }, 'sctp: stale state cookie dropped');
      this.stats.packetsDropped++;
      return;
    }
    const localTag = cookie.readUInt32BE(8);
    const peerTag = cookie.readUInt32BE(12);
    if (localTag !== this.localTag) {
      this.stats.packetsDropped++;
      return;
    }
    if (this.isUp() || this.phase >= Phase.ShutdownPending) {
      // §5.2.4 case D: both tags match, a duplicate COOKIE-ECHO: just acknowledge.
      if (peerTag === this.peerTag) this.sendCookieAck();
      return;
    }
    if (this.phase === Phase.CookieEchoed && peerTag !== this.peerTag) {
      // Our INIT-ACK's cookie from a different peer INIT than the one that answered us.
      this.stats.packetsDropped++;
      return;
    }
    this.peerTag = peerTag;
    this.setPeerParameters(
      cookie.readUInt32BE(16),
      cookie.readUInt32BE(24),
      cookie.readUInt16BE(28),
      cookie.readUInt16BE(30),
      (cookie[32]! & 1) !== 0,
      (cookie[32]! & 2) !== 0,
    );
    this.establish();
    this.sendCookieAck();
  }

  private sendCookieAck(): void {
    writeRawChunk(this.writer, ChunkType.COOKIE_ACK, 0);
    this.emitPacket(this.writer.finish(this.peerTag));
  }

  private setPeerParameters(
    initialTsn: number,
    rwnd: number,
    outbound: number,
    inbound: number,
    forwardTsn: boolean,
    reconfig: boolean,
  ): void {
    this.peerCumTsn = (initialTsn - 1) >>> 0;
    this.peerNextRequestSeq = initialTsn;
    this.lastPeerRequestResult = ReconfigResult.SUCCESS_PERFORMED;
    this.peerRwnd = rwnd;
    this.outboundStreamCount = outbound;
    this.inboundStreamCount = inbound;
    this.peerForwardTsn = forwardTsn;
    this.peerReconfig = reconfig;
  }

  private establish(): void {
    clearTimeout(this.initTimer);
    this.initTimer = undefined;
    this.cookieEchoed = undefined;
    this.phase = Phase.Established;
    this.outStreams = Array.from({ length: this.outboundStreamCount }, () => ({
      nextSsn: 0,
      buffered: 0,
      lowThreshold: 0,
      resetting: false,
    }));
    this.inStreams = Array.from({ length: this.inboundStreamCount }, () => ({
      expectedSsn: 0,
      ordered: [],
      unordered: [],
    }));
    this.armHeartbeat();
    this.setState('connected');
  }

  private isUp(): boolean {
    return this.phase >= Phase.Established;
  }

  // ---------------------------------------------------------------------------------------------
  // Receiving DATA

  /** Returns true when the chunk was a DATA chunk counted for SACK purposes. */
  private handleData(packet: Buffer, chunk: ChunkView): boolean {
    if (!this.isUp()) return false;
    const data = parseData(packet, chunk);
    if (!data) {
      this.stats.dataChunksDropped++;
      return false;
    }
    this.stats.dataChunksReceived++;
    const tsn = data.tsn;
    if (tsnLte(tsn, this.peerCumTsn) || this.receivedAbove.has(tsn)) {
      this.stats.duplicateTsnsReceived++;
      if (this.duplicates.length < MAX_DUPLICATES_REPORTED) this.duplicates.push(tsn);
      this.sackImmediately = true;
      return true;
    }
    const stream = this.inStreams[data.streamId];
    // An out-of-range stream or a chunk beyond the window: drop without recording the TSN,
    // so that it is retransmitted (or, for a bad stream, abandoned by the peer).
    const ahead = (tsn - this.peerCumTsn) >>> 0;
    const overBudget =
      this.receivedBytes + data.payload.length > this.receiveWindow &&
      (ahead !== 1 || this.receivedBytes > 2 * this.receiveWindow);
    if (!stream || ahead > MAX_TSN_AHEAD || overBudget || this.phase >= Phase.ShutdownReceived) {
      this.stats.dataChunksDropped++;
      this.sackImmediately = true;
      return true;
    }
    if (ahead === 1) {
      this.peerCumTsn = tsn;
      this.advanceCumulative();
    } else {
      this.receivedAbove.add(tsn);
      this.sackImmediately = true;
    }
    const flags = data.flags;
    if (flags & DATA_FLAG_IMMEDIATE) this.sackImmediately = true;
    const whole = (flags & (DATA_FLAG_BEGIN | DATA_FLAG_END)) === (DATA_FLAG_BEGIN | DATA_FLAG_END);
    if (flags & DATA_FLAG_UNORDERED) {
      if (whole) this.deliver(data.streamId, data.ppid, data.payload);
      else this.insertFragment(stream.unordered, data, data.streamId, false);
      return true;
    }
    if (whole && data.ssn === stream.expectedSsn && stream.ordered.length === 0) {
      // Fast path: the next ordered message in one chunk.
      stream.expectedSsn = (stream.expectedSsn + 1) & 0xffff;
      this.deliver(data.streamId, data.ppid, data.payload);
      return true;
    }
    if (data.ssn !== stream.expectedSsn && !ssnGt(data.ssn, stream.expectedSsn)) {
      // An SSN already delivered or skipped (FORWARD-TSN): nothing to do with it.
      return true;
    }
    this.insertFragment(stream.ordered, data, data.streamId, true);
    return true;
  }

  private advanceCumulative(): void {
    if (this.receivedAbove.size === 0) return;
    let next = (this.peerCumTsn + 1) >>> 0;
    while (this.receivedAbove.delete(next)) {
      this.peerCumTsn = next;
      next = (next + 1) >>> 0;
    }
  }

  private insertFragment(
    list: InChunk[],
    data: { tsn: number; ssn: number; ppid: number; flags: number; payload: Buffer },
    streamId: number,
    ordered: boolean,
  ): void {
    const chunk: InChunk = {
      tsn: data.tsn,
      ssn: data.ssn,
      ppid: data.ppid,
      flags: data.flags,
      payload: data.payload,
    };
    let i = list.length;
    while (i > 0 && tsnLt(data.tsn, list[i - 1]!.tsn)) i--;
    list.splice(i, 0, chunk);
    this.receivedBytes += data.payload.length;
    // A middle fragment arriving in order completes nothing: skip the scan (keeps reassembly of
    // a large message linear).
    if (i === list.length - 1 && !(data.flags & DATA_FLAG_END) && list.length > 1) return;
    if (ordered) this.deliverOrdered(streamId);
    else this.deliverUnordered(list, i, streamId);
  }

  /** Delivers ordered messages of a stream from the front as long as they are complete. */
  private deliverOrdered(streamId: number): void {
    const stream = this.inStreams[streamId]!;
    const list = stream.ordered;
    for (let guard = 0; guard <= 65536 && list.length > 0; guard++) {
      const front = list[0]!;
      if (front.ssn !== stream.expectedSsn) {
        if (ssnGt(front.ssn, stream.expectedSsn)) return;
        // Stale: an SSN skipped by FORWARD-TSN or reset.
        this.receivedBytes -= front.payload.length;
        list.shift();
        continue;
      }
      if (!(front.flags & DATA_FLAG_BEGIN)) return;
      const end = this.completeRun(list, 0);
      if (end < 0) return;
      this.deliverRun(list, 0, end, streamId);
      stream.expectedSsn = (stream.expectedSsn + 1) & 0xffff;
    }
  }

  private deliverUnordered(list: InChunk[], index: number, streamId: number): void {
    let start = index;
    while (start > 0 && !(list[start]!.flags & DATA_FLAG_BEGIN)) {
      if (list[start - 1]!.tsn !== (list[start]!.tsn - 1) >>> 0) return;
      start--;
    }
    if (!(list[start]!.flags & DATA_FLAG_BEGIN)) return;
    const end = this.completeRun(list, start);
    if (end >= 0) this.deliverRun(list, start, end, streamId);
  }

  /** Index of the E fragment completing the run that starts at `start`, or -1. */
  private completeRun(list: InChunk[], start: number): number {
    let size = 0;
    for (let i = start; i < list.length; i++) {
      const c = list[i]!;
      if (i > start && (c.tsn !== (list[i - 1]!.tsn + 1) >>> 0 || c.flags & DATA_FLAG_BEGIN)) return -1;
      size += c.payload.length;
      if (c.flags & DATA_FLAG_END) return i;
    }
    // An incomplete message already larger than allowed can never be delivered.
    if (size > this.maxMessageSize) this.abort('message over max-message-size');
    return -1;
  }

  private deliverRun(list: InChunk[], start: number, end: number, streamId: number): void {
    const parts = list.splice(start, end - start + 1);
    let size = 0;
    for (const p of parts) size += p.payload.length;
    this.receivedBytes -= size;
    if (size > this.maxMessageSize) {
      this.logger.debug({ size }, 'sctp: message over max-message-size dropped');
      return;
    }
    this.deliver(
      streamId,
      parts[0]!.ppid,
      parts.length === 1
        ? parts[0]!.payload
        : Buffer.concat(
            parts.map((p) => p.payload),
            size,
          ),
    );
  }

  private deliver(streamId: number, ppid: number, data: Buffer): void {
    this.stats.messagesReceived++;
    this.onMessage(streamId, ppid, data);
  }

  private handleForwardTsn(packet: Buffer, chunk: ChunkView): boolean {
    if (!this.isUp()) return false;
    const fwd = parseForwardTsn(packet, chunk);
    if (!fwd) return false;
    this.sackImmediately = true;
    const newCum = fwd.newCumulativeTsn;
    if (tsnLte(newCum, this.peerCumTsn)) return true;
    // A FORWARD-TSN cannot reach beyond what the sender could have sent within our window.
    if ((newCum - this.peerCumTsn) >>> 0 > MAX_TSN_AHEAD) return true;
    for (const tsn of this.receivedAbove) if (tsnLte(tsn, newCum)) this.receivedAbove.delete(tsn);
    this.peerCumTsn = newCum;
    this.advanceCumulative();
    for (const stream of this.inStreams) {
      if (stream.unordered.length === 0) continue;
      stream.unordered = stream.unordered.filter((c) => {
        const keep = tsnLt(newCum, c.tsn);
        if (!keep) this.receivedBytes -= c.payload.length;
        return keep;
      });
    }
    for (let i = 0; i + 1 < fwd.streams.length; i += 2) {
      const streamId = fwd.streams[i]!;
      const stream = this.inStreams[streamId];
      if (!stream) continue;
      const skipped = fwd.streams[i + 1]!;
      const next = (skipped + 1) & 0xffff;
      if (ssnGt(next, stream.expectedSsn)) stream.expectedSsn = next;
      this.deliverOrdered(streamId);
    }
    this.maybePerformDeferredReset();
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // SACK: sending

  private afterPacket(hadData: boolean): void {
    if (hadData) {
      this.sackNeeded = true;
      this.dataPacketsSinceSack++;
      if (this.dataPacketsSinceSack >= 2) this.sackImmediately = true;
      this.maybePerformDeferredReset();
    }
    if (this.sackNeeded && !this.sackImmediately && !this.sackTimer) {
      this.sackTimer = setTimeout(() => {
        this.sackTimer = undefined;
        if (this.sackNeeded) {
          this.sackImmediately = true;
          this.transmit();
        }
      }, this.sackDelay);
    }
    if (this.phase === Phase.ShutdownReceived || this.phase === Phase.ShutdownPending)
      this.maybeSendShutdown();
    this.transmit();
  }

  private writeSackChunk(): void {
    const gaps: number[] = [];
    if (this.receivedAbove.size > 0) {
      const offsets = Array.from(this.receivedAbove, (t) => (t - this.peerCumTsn) >>> 0).sort(
        (a, b) => a - b,
      );
      let start = offsets[0]!;
      let end = start;
      for (let i = 1; i <= offsets.length && gaps.length < MAX_GAP_BLOCKS * 2; i++) {
        const o = offsets[i];
        if (o === end + 1) {
          end = o;
          continue;
        }
        if (start <= 0xffff) gaps.push(start, Math.min(end, 0xffff));
        if (o === undefined) break;
        start = o;
        end = o;
      }
    }
    const rwnd = Math.max(0, this.receiveWindow - this.receivedBytes);
    writeSack(this.writer, this.peerCumTsn, rwnd, gaps, this.duplicates);
    this.duplicates = [];
    this.sackNeeded = false;
    this.sackImmediately = false;
    this.dataPacketsSinceSack = 0;
    clearTimeout(this.sackTimer);
    this.sackTimer = undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // SACK: receiving (RFC 9260 §6.2.1, §7.2)

  private handleSack(packet: Buffer, chunk: ChunkView): void {
    if (!this.isUp()) return;
    const sack = parseSack(packet, chunk);
    if (!sack) return;
    const cumAck = sack.cumulativeTsnAck;
    // A SACK older than what we know, or acknowledging what we never sent, is ignored.
    if (tsnLt(cumAck, this.lastCumAck) || tsnLt(this.highestSentTsn, cumAck)) return;
    const now = performance.now();
    const flightBefore = this.flightSize;
    let bytesAcked = 0;
    let rttSample: number | undefined;
    const cumAdvanced = tsnLt(this.lastCumAck, cumAck);
    while (this.sent.length > 0 && tsnLte(this.sent.peek()!.tsn, cumAck)) {
      const c = this.sent.shift()!;
      if (!c.gapAcked && !c.abandoned) bytesAcked += c.payload.length;
      if (c.sends === 1 && !c.gapAcked) rttSample = now - c.sentAt;
      this.chunkDone(c);
    }
    if (cumAdvanced) {
      this.lastCumAck = cumAck;
      if (tsnLt(this.advancedPeerAckPoint, cumAck)) this.advancedPeerAckPoint = cumAck;
      this.errorCount = 0;
    }
    // Gap blocks: mark acknowledged, count missing reports below the highest newly acked TSN.
    let highestNewlyAcked: number | undefined;
    const blocks = sack.gapBlocks;
    if (blocks.length > 0 && this.sent.length > 0) {
      let b = 0;
      for (let i = 0; i < this.sent.length; i++) {
        const c = this.sent.at(i)!;
        const offset = (c.tsn - cumAck) >>> 0;
        while (b < blocks.length && offset > blocks[b + 1]!) b += 2;
        if (b >= blocks.length) break;
        if (offset >= blocks[b]! && !c.gapAcked) {
          c.gapAcked = true;
          if (!c.abandoned) bytesAcked += c.payload.length;
          if (c.sends === 1) rttSample = now - c.sentAt;
          if (c.inFlight) {
            c.inFlight = false;
            this.flightSize -= c.payload.length;
          }
          if (c.retransmit) {
            c.retransmit = false;
            this.retransmitMarked--;
          }
          highestNewlyAcked = c.tsn;
        }
      }
      const highest = (cumAck + blocks[blocks.length - 1]!) >>> 0;
      // RFC 9260 §7.2.4: TSNs below the highest acknowledged one that are still missing.
      let newMissing = false;
      for (let i = 0; i < this.sent.length; i++) {
        const c = this.sent.at(i)!;
        if (!tsnLt(c.tsn, highest)) break;
        if (c.gapAcked || c.abandoned || c.retransmit || c.sends === 0) continue;
        // In fast recovery only TSNs above the newly acked ones count (§7.2.4 rule).
        if (this.fastRecoveryExit !== undefined && highestNewlyAcked === undefined) continue;
        if (++c.missingReports === 3) {
          this.markForRetransmit(c);
          newMissing = true;
        }
      }
      if (newMissing) {
        this.stats.fastRetransmissions++;
        this.fastRetransmitPending = true;
        if (this.fastRecoveryExit === undefined) {
          this.ssthresh = Math.max(this.cwnd / 2, 4 * this.mtu);
          this.cwnd = this.ssthresh;
          this.partialBytesAcked = 0;
          // §7.2.4: the highest outstanding TSN (TSNs are assigned at send(), so not nextTsn − 1:
          // with a queue behind, recovery would last until the whole queue had been sent).
          this.fastRecoveryExit = this.highestSentTsn;
        }
      }
    }
    if (this.fastRecoveryExit !== undefined && tsnLte(this.fastRecoveryExit, cumAck)) {
      this.fastRecoveryExit = undefined;
    }
    if (rttSample !== undefined) this.updateRto(rttSample);
    // §7.2.1, §7.2.2: grow cwnd only when it was in use and the cumulative point advanced.
    if (cumAdvanced && this.fastRecoveryExit === undefined && bytesAcked > 0) {
      if (this.cwnd <= this.ssthresh) {
        if (flightBefore >= this.cwnd - this.mtu) this.cwnd += Math.min(bytesAcked, this.mtu);
      } else {
        this.partialBytesAcked += bytesAcked;
        if (this.partialBytesAcked >= this.cwnd && flightBefore >= this.cwnd - this.mtu) {
          this.partialBytesAcked -= this.cwnd;
          this.cwnd += this.mtu;
        }
      }
    }
    this.peerRwnd = Math.max(0, sack.advertisedReceiverWindow - this.flightSize);
    this.abandonExpired(now);
    this.advanceAckPoint();
    if (this.sent.length === 0) this.stopT3();
    else if (cumAdvanced) this.startT3(true);
    if (this.phase === Phase.ShutdownPending || this.phase === Phase.ShutdownReceived)
      this.maybeSendShutdown();
  }

  /** A chunk left the sent queue (acknowledged cumulatively or skipped by FORWARD-TSN). */
  private chunkDone(c: OutChunk): void {
    if (c.message.expiresAt !== Number.POSITIVE_INFINITY) this.timedInSent--;
    if (c.inFlight) {
      c.inFlight = false;
      this.flightSize -= c.payload.length;
    }
    if (c.retransmit) {
      c.retransmit = false;
      this.retransmitMarked--;
    }
  }

  private markForRetransmit(c: OutChunk): void {
    if (c.retransmit || c.abandoned) return;
    if (this.shouldAbandon(c, performance.now())) {
      this.abandonMessage(c.message);
      return;
    }
    c.retransmit = true;
    this.retransmitMarked++;
    if (c.inFlight) {
      c.inFlight = false;
      this.flightSize -= c.payload.length;
    }
  }

  private shouldAbandon(c: OutChunk, now: number): boolean {
    if (!this.peerForwardTsn) return false;
    const m = c.message;
    return m.abandoned || c.sends > m.maxRetransmits || now >= m.expiresAt;
  }

  /** Marks every fragment of the message abandoned (RFC 3758 §3.5): sent ones and queued ones. */
  private abandonMessage(message: OutMessage): void {
    if (message.abandoned) return;
    message.abandoned = true;
    this.stats.abandonedMessages++;
    for (let i = 0; i < this.sent.length; i++) {
      const c = this.sent.at(i)!;
      if (c.message !== message || c.abandoned) continue;
      c.abandoned = true;
      if (c.inFlight) {
        c.inFlight = false;
        this.flightSize -= c.payload.length;
      }
      if (c.retransmit) {
        c.retransmit = false;
        this.retransmitMarked--;
      }
    }
    // Unsent fragments are skipped when they reach the front of the pending queue.
  }

  private abandonExpired(now: number): void {
    if (!this.peerForwardTsn || this.timedInSent === 0) return;
    for (let i = 0; i < this.sent.length; i++) {
      const c = this.sent.at(i)!;
      if (!c.abandoned && !c.gapAcked && now >= c.message.expiresAt) this.abandonMessage(c.message);
    }
  }

  /** RFC 3758 §3.5 C1–C3: move the ack point over abandoned chunks and tell the peer. */
  private advanceAckPoint(): void {
    if (!this.peerForwardTsn) return;
    for (let i = 0; i < this.sent.length; i++) {
      const c = this.sent.at(i)!;
      if (!tsnLt(this.advancedPeerAckPoint, c.tsn)) continue;
      if (!c.abandoned && !c.gapAcked) break;
      if (c.abandoned) this.advancedPeerAckPoint = c.tsn;
      else break;
    }
    if (tsnLt(this.lastCumAck, this.advancedPeerAckPoint)) this.forwardTsnPending = true;
  }

  private writeForwardTsnChunk(): void {
    this.forwardTsnPending = false;
    // A SACK may have overtaken the ack point since the FORWARD-TSN was decided.
    if (!tsnLt(this.lastCumAck, this.advancedPeerAckPoint)) return;
    // Highest skipped SSN per ordered stream, among abandoned chunks up to the ack point (chunks
    // of reliable messages merely gap-acked there must not be skipped).
    const skipped = new Map<number, number>();
    for (let i = 0; i < this.sent.length; i++) {
      const c = this.sent.at(i)!;
      if (tsnLt(this.advancedPeerAckPoint, c.tsn)) break;
      if (!c.abandoned || c.flags & DATA_FLAG_UNORDERED) continue;
      const prev = skipped.get(c.streamId);
      if (prev === undefined || ssnGt(c.ssn, prev)) skipped.set(c.streamId, c.ssn);
    }
    const streams: number[] = [];
    for (const [id, ssn] of skipped) streams.push(id, ssn);
    writeForwardTsn(this.writer, this.advancedPeerAckPoint, streams);
  }

  private updateRto(r: number): void {
    if (this.srtt === undefined) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.rto = Math.min(this.rtoMax, Math.max(this.rtoMin, this.srtt + Math.max(4 * this.rttvar, 1)));
  }

  // ---------------------------------------------------------------------------------------------
  // Transmission

  private scheduleTransmit(): void {
    if (this.transmitScheduled) return;
    this.transmitScheduled = true;
    // Messages sent in one go are bundled into full packets.
    queueMicrotask(() => {
      this.transmitScheduled = false;
      this.transmit();
    });
  }

  /** Sends what control chunks, retransmissions and new DATA the windows allow. */
  private transmit(): void {
    if (!this.isUp()) return;
    const w = this.writer;
    if (this.sackImmediately && this.sackNeeded) this.writeSackChunk();
    if (this.forwardTsnPending) {
      if (w.room < 8 + 4 * 64) this.flushPacket();
      this.writeForwardTsnChunk();
    }
    if (this.reconfigResponse) {
      writeReconfig(w, undefined, this.reconfigResponse);
      this.reconfigResponse = undefined;
    }
    const now = performance.now();
    let packets = 0;
    // Retransmissions first (§6.1 rule 3), as many as cwnd allows; a fast retransmit may send one
    // packet regardless of cwnd (§7.2.4).
    if (this.retransmitMarked > 0) {
      let free = this.fastRetransmitPending
        ? Math.max(this.mtu, this.cwnd - this.flightSize)
        : this.cwnd - this.flightSize;
      this.fastRetransmitPending = false;
      for (let i = 0; i < this.sent.length && this.retransmitMarked > 0; i++) {
        const c = this.sent.at(i)!;
        if (!c.retransmit) continue;
        if (c.abandoned || this.shouldAbandon(c, now)) {
          this.abandonMessage(c.message);
          this.advanceAckPoint();
          continue;
        }
        if (free < c.payload.length) break;
        if (w.room < DATA_HEADER_SIZE + c.payload.length) {
          this.flushPacket();
          if (++packets >= MAX_PACKETS_PER_TRANSMIT) break;
        }
        c.retransmit = false;
        this.retransmitMarked--;
        c.sends++;
        c.sentAt = now;
        c.missingReports = 0;
        c.inFlight = true;
        this.flightSize += c.payload.length;
        free -= c.payload.length;
        this.stats.retransmissions++;
        writeData(w, c.flags, c.tsn, c.streamId, c.ssn, c.ppid, c.payload);
      }
      if (this.forwardTsnPending) {
        this.flushPacket();
        this.writeForwardTsnChunk();
      }
    }
    // New data, within cwnd and the peer's window (one packet may probe a zero window).
    if (this.retransmitMarked === 0) {
      let lastDataOffset = -1;
      while (this.pending.length > 0) {
        const c = this.pending.peek()!;
        const stream = this.outStreams[c.streamId]!;
        if (c.message.abandoned || (this.peerForwardTsn && now >= c.message.expiresAt)) {
          this.pending.shift();
          this.bufferedDecrease(stream, c.streamId, c.payload.length);
          if (!c.message.abandoned) this.abandonMessage(c.message);
          c.abandoned = true;
          this.pushSent(c);
          this.advanceAckPoint();
          continue;
        }
        const size = c.payload.length;
        const windowOk =
          this.flightSize === 0 || (this.flightSize + size <= this.cwnd && size <= this.peerRwnd);
        if (!windowOk) break;
        if (w.room < DATA_HEADER_SIZE + size) {
          this.flushPacket();
          lastDataOffset = -1;
          if (++packets >= MAX_PACKETS_PER_TRANSMIT) break;
        }
        lastDataOffset = w.size;
        this.pending.shift();
        c.sends = 1;
        c.sentAt = now;
        c.inFlight = true;
        this.flightSize += size;
        this.peerRwnd = Math.max(0, this.peerRwnd - size);
        this.pushSent(c);
        this.stats.dataChunksSent++;
        writeData(w, c.flags, c.tsn, c.streamId, c.ssn, c.ppid, c.payload);
        this.bufferedDecrease(stream, c.streamId, size);
      }
      // The window is full now: ask for an immediate SACK (I bit, RFC 9260 §3.3.1) on the last
      // chunk, or an odd packet out would wait for the peer's delayed-SACK timer.
      if (lastDataOffset >= 0 && (this.flightSize + this.mtu > this.cwnd || this.peerRwnd < this.mtu)) {
        w.buffer[lastDataOffset + 1]! |= DATA_FLAG_IMMEDIATE;
      }
      if (this.forwardTsnPending) {
        if (w.room < 8 + 4 * 64) this.flushPacket();
        this.writeForwardTsnChunk();
      }
    }
    // A SACK owed (or merely pending) goes out with whatever else is in the packet.
    if (
      this.sackNeeded &&
      (this.sackImmediately || !w.empty) &&
      w.room >= 16 + 4 * MAX_GAP_BLOCKS + 4 * MAX_DUPLICATES_REPORTED
    ) {
      this.writeSackChunk();
    }
    this.flushPacket();
    if (this.sackNeeded && this.sackImmediately) {
      this.writeSackChunk();
      this.flushPacket();
    }
    if (this.flightSize > 0 || this.tsnOutstanding()) this.startT3(false);
  }

  private pushSent(c: OutChunk): void {
    if (c.message.expiresAt !== Number.POSITIVE_INFINITY) this.timedInSent++;
    this.highestSentTsn = c.tsn;
    this.sent.push(c);
  }

  private tsnOutstanding(): boolean {
    return tsnLt(this.lastCumAck, this.advancedPeerAckPoint);
  }

  private bufferedDecrease(stream: OutStream, streamId: number, bytes: number): void {
    const before = stream.buffered;
    stream.buffered -= bytes;
    this.totalBuffered -= bytes;
    if (before > stream.lowThreshold && stream.buffered <= stream.lowThreshold)
      this.onBufferedAmountLow(streamId);
  }

  private flushPacket(): void {
    if (this.writer.empty) return;
    this.emitPacket(this.writer.finish(this.peerTag));
  }

  private emitPacket(packet: Buffer): void {
    this.stats.packetsSent++;
    this.stats.bytesSent += packet.length;
    try {
      this.sendPacket(packet);
    } catch (error) {
      this.logger.debug({ err: error }, 'sctp: send failed');
    }
  }

  private startT3(restart: boolean): void {
    if (this.t3Timer && !restart) return;
    // Restarted on nearly every SACK: refresh() re-arms without a new timer when the RTO is unchanged.
    if (this.t3Timer && this.t3Duration === this.rto) {
      this.t3Timer.refresh();
      return;
    }
    clearTimeout(this.t3Timer);
    this.t3Duration = this.rto;
    this.t3Timer = setTimeout(() => this.onT3(), this.rto);
  }

  private stopT3(): void {
    clearTimeout(this.t3Timer);
    this.t3Timer = undefined;
  }

  /** RFC 9260 §6.3.3: back off, collapse cwnd, retransmit everything outstanding. */
  private onT3(): void {
    this.t3Timer = undefined;
    if (!this.isUp()) return;
    if (this.sent.length === 0 && this.pending.length === 0) return;
    this.stats.t3Expirations++;
    if (++this.errorCount > this.maxRetransmissions) {
      this.finish('failed', 'too many retransmissions');
      return;
    }
    this.rto = Math.min(this.rtoMax, this.rto * 2);
    this.ssthresh = Math.max(this.cwnd / 2, 4 * this.mtu);
    this.cwnd = this.mtu;
    this.partialBytesAcked = 0;
    this.fastRecoveryExit = undefined;
    const now = performance.now();
    for (let i = 0; i < this.sent.length; i++) {
      const c = this.sent.at(i)!;
      if (c.gapAcked || c.abandoned) continue;
      if (this.shouldAbandon(c, now)) this.abandonMessage(c.message);
      else this.markForRetransmit(c);
    }
    this.advanceAckPoint();
    this.transmit();
    this.startT3(true);
  }

  // ---------------------------------------------------------------------------------------------
  // Stream reset (RFC 6525)

  private sendNextReconfig(): void {
    if (this.reconfigOutstanding || this.reconfigQueue.length === 0) return;
    this.reconfigOutstanding = {
      seq: this.reconfigRequestSeq,
      streams: this.reconfigQueue.splice(0, 64),
      lastTsn: (this.nextTsn - 1) >>> 0,
    };
    this.sendReconfigRequest();
  }

  private sendReconfigRequest(): void {
    const req = this.reconfigOutstanding;
    if (!req || !this.isUp()) return;
    this.flushPacket();
    writeReconfig(
      this.writer,
      {
        requestSeq: req.seq,
        responseSeq: (this.peerNextRequestSeq - 1) >>> 0,
        senderLastTsn: req.lastTsn,
        streams: req.streams,
      },
      undefined,
    );
    this.flushPacket();
    clearTimeout(this.reconfigTimer);
    this.reconfigTimer = setTimeout(() => {
      this.reconfigTimer = undefined;
      this.sendReconfigRequest();
    }, this.rto);
  }

  private handleReconfig(packet: Buffer, chunk: ChunkView): void {
    if (!this.isUp()) return;
    const params = parseReconfig(packet, chunk);
    if (!params) return;
    for (const param of params) {
      if (param.type === 13 && 'requestSeq' in param) {
        this.handleResetRequest(param.requestSeq, param.senderLastTsn, param.streams);
      } else if (param.type === 16 && 'result' in param) {
        this.handleReconfigResponse(param.responseSeq, param.result);
      }
    }
    if (this.reconfigResponse) this.transmit();
  }

  private handleResetRequest(seq: number, lastTsn: number, streams: number[]): void {
    if (seq === this.peerNextRequestSeq) {
      if (tsnLte(lastTsn, this.peerCumTsn)) {
        this.performPeerReset(seq, streams);
      } else {
        // Data up to lastTsn is still missing: perform once it arrives (§5.2.2).
        this.deferredPeerReset = { seq, streams, lastTsn };
        this.reconfigResponse = { responseSeq: seq, result: ReconfigResult.IN_PROGRESS };
      }
    } else if (seq === (this.peerNextRequestSeq - 1) >>> 0) {
      this.reconfigResponse = { responseSeq: seq, result: this.lastPeerRequestResult };
    } else {
      this.reconfigResponse = { responseSeq: seq, result: ReconfigResult.ERROR_BAD_SEQUENCE_NUMBER };
    }
  }

  private maybePerformDeferredReset(): void {
    const d = this.deferredPeerReset;
    if (d && tsnLte(d.lastTsn, this.peerCumTsn)) this.performPeerReset(d.seq, d.streams);
  }

  private performPeerReset(seq: number, requested: number[]): void {
    this.deferredPeerReset = undefined;
    const streams = requested.length > 0 ? requested : this.inStreams.map((_, i) => i);
    const reset: number[] = [];
    for (const id of streams) {
      const stream = this.inStreams[id];
      if (!stream) continue;
      stream.expectedSsn = 0;
      for (const c of stream.ordered) this.receivedBytes -= c.payload.length;
      stream.ordered = [];
      reset.push(id);
    }
    this.peerNextRequestSeq = (seq + 1) >>> 0;
    this.lastPeerRequestResult = ReconfigResult.SUCCESS_PERFORMED;
    this.reconfigResponse = { responseSeq: seq, result: ReconfigResult.SUCCESS_PERFORMED };
    if (reset.length > 0) this.emit('incomingstreamreset', reset);
  }

  private handleReconfigResponse(seq: number, result: number): void {
    const req = this.reconfigOutstanding;
    if (!req || seq !== req.seq) return;
    if (result === ReconfigResult.IN_PROGRESS) return; // the timer resends the request
    clearTimeout(this.reconfigTimer);
    this.reconfigTimer = undefined;
    this.reconfigOutstanding = undefined;
    this.reconfigRequestSeq = (this.reconfigRequestSeq + 1) >>> 0;
    for (const id of req.streams) {
      const stream = this.outStreams[id];
      if (!stream) continue;
      stream.resetting = false;
      stream.nextSsn = 0;
    }
    if (result !== ReconfigResult.SUCCESS_PERFORMED && result !== ReconfigResult.SUCCESS_NOTHING_TO_DO) {
      this.logger.debug({ result }, 'sctp: stream reset refused by the peer');
    }
    this.emit('outgoingstreamreset', req.streams);
    this.sendNextReconfig();
  }

  // ---------------------------------------------------------------------------------------------
  // Heartbeat, shutdown, teardown

  private armHeartbeat(): void {
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = setTimeout(() => this.onHeartbeatTimer(), this.heartbeatInterval);
    this.heartbeatTimer.unref();
  }

  private onHeartbeatTimer(): void {
    this.heartbeatTimer = undefined;
    if (!this.isUp()) return;
    if (this.heartbeatOutstanding && ++this.errorCount > this.maxRetransmissions) {
      this.finish('failed', 'peer unreachable (heartbeats unanswered)');
      return;
    }
    const info = Buffer.alloc(4 + 8);
    info.writeUInt16BE(ParamType.HEARTBEAT_INFO, 0);
    info.writeUInt16BE(12, 2);
    info.writeDoubleBE(performance.now(), 4);
    writeRawChunk(this.writer, ChunkType.HEARTBEAT, 0, info);
    this.emitPacket(this.writer.finish(this.peerTag));
    this.heartbeatOutstanding = true;
    this.armHeartbeat();
  }

  private handleHeartbeatAck(packet: Buffer, chunk: ChunkView): void {
    if (!this.isUp() || chunk.length !== 16) return;
    const o = chunk.offset + 4;
    if (packet.readUInt16BE(o) !== ParamType.HEARTBEAT_INFO || packet.readUInt16BE(o + 2) !== 12) return;
    const rtt = performance.now() - packet.readDoubleBE(o + 4);
    if (!this.heartbeatOutstanding || !(rtt >= 0 && rtt < 60_000)) return;
    this.heartbeatOutstanding = false;
    this.errorCount = 0;
    this.updateRto(rtt);
  }

  private handleShutdown(packet: Buffer, chunk: ChunkView): void {
    if (!this.isUp() || chunk.length < 8) return;
    // The cumulative TSN ack in SHUTDOWN acts as a SACK without gaps (§9.2).
    const cumAck = packet.readUInt32BE(chunk.offset + 4);
    if (tsnLt(this.highestSentTsn, cumAck)) return;
    while (this.sent.length > 0 && tsnLte(this.sent.peek()!.tsn, cumAck)) {
      this.chunkDone(this.sent.shift()!);
      this.lastCumAck = cumAck;
    }
    if (this.phase === Phase.ShutdownSent) {
      // Both sides shut down at once (§9.2): answer with SHUTDOWN-ACK.
      this.sendShutdownAck();
      return;
    }
    if (this.phase !== Phase.ShutdownAckSent) this.phase = Phase.ShutdownReceived;
    this.maybeSendShutdown();
  }

  private maybeSendShutdown(): void {
    if (this.sent.length > 0 || this.pending.length > 0) return;
    if (this.phase === Phase.ShutdownPending) {
      this.phase = Phase.ShutdownSent;
      this.shutdownAttempts = 0;
      this.sendShutdown();
    } else if (this.phase === Phase.ShutdownReceived) {
      this.sendShutdownAck();
    }
  }

  private sendShutdown(): void {
    const value = Buffer.alloc(4);
    value.writeUInt32BE(this.peerCumTsn >>> 0, 0);
    writeRawChunk(this.writer, ChunkType.SHUTDOWN, 0, value);
    this.emitPacket(this.writer.finish(this.peerTag));
    this.armShutdownTimer(() => this.sendShutdown());
  }

  private sendShutdownAck(): void {
    this.phase = Phase.ShutdownAckSent;
    writeRawChunk(this.writer, ChunkType.SHUTDOWN_ACK, 0);
    this.emitPacket(this.writer.finish(this.peerTag));
    this.armShutdownTimer(() => this.sendShutdownAck());
  }

  private armShutdownTimer(resend: () => void): void {
    clearTimeout(this.shutdownTimer);
    this.shutdownTimer = setTimeout(() => {
      this.shutdownTimer = undefined;
      if (++this.shutdownAttempts > this.maxRetransmissions) {
        this.abort('shutdown timed out');
        return;
      }
      resend();
    }, this.rto);
  }

  private setState(state: SctpState): void {
    if (this.publicState === state) return;
    this.publicState = state;
    this.emit('statechange', state);
  }

  private finish(state: 'closed' | 'failed', reason: string): void {
    if (this.publicState === 'closed' || this.publicState === 'failed') return;
    this.phase = Phase.Closed;
    for (const timer of [
      this.t3Timer,
      this.sackTimer,
      this.initTimer,
      this.heartbeatTimer,
      this.shutdownTimer,
      this.reconfigTimer,
    ]) {
      clearTimeout(timer);
    }
    this.t3Timer = this.sackTimer = this.initTimer = this.heartbeatTimer = undefined;
    this.shutdownTimer = this.reconfigTimer = undefined;
    this.sent.clear();
    this.pending.clear();
    this.receivedAbove.clear();
    this.inStreams = [];
    this.outStreams = [];
    this.receivedBytes = 0;
    this.flightSize = 0;
    this.totalBuffered = 0;
    this.timedInSent = 0;
    this.setState(state);
    this.emit('close', reason);
  }
}
