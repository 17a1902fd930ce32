/** Embedded STUN/TURN server (RFC 8489 Binding, RFC 8656 TURN over UDP, TCP and TLS). */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { type Logger, silentLogger } from '../common/logger.js';
import { PasswordAlgorithm } from '../wire/stun/constants.js';
import {
  CHANNEL_MIN,
  isComprehensionRequired,
  StunAttr,
  StunBuilder,
  StunClass,
  type StunMessage,
  StunMethod,
  StunParseError,
} from '../wire/stun/index.js';
import { longTermKey, verifyMessageIntegrity, verifyMessageIntegritySha256 } from '../wire/stun/integrity.js';
import { decodeUint32, decodeXorAddress, getAttribute, parseStun } from '../wire/stun/message.js';
import { isPeerAllowed } from './address-policy.js';
import { Allocation, type ChannelBinding, type ClientEndpoint } from './allocation.js';
import { restPasswordIfValid } from './credentials.js';

export interface TurnServerOptions {
  /** Address all client listeners bind to. Default '127.0.0.1'. */
  listenIp?: string;
  /** UDP port (0 = any free one). Default 3478. */
  udpPort?: number;
  /** TCP port (0 = any free one). Default 3478. */
  tcpPort?: number;
  /** TLS port; TLS listens only when `tls` is given. Default 5349. */
  tlsPort?: number;
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Address relay sockets bind to. Default listenIp. */
  relayIp?: string;
  /** Address shown to clients in XOR-RELAYED-ADDRESS (e.g. the public IP behind 1:1 NAT). */
  announcedIp?: string;
  /** Inclusive relay port range. Default [49152, 65535]. */
  relayPortRange?: [number, number];
  realm?: string;
  /** Static long-term users: username → password. */
  users?: Record<string, string>;
  /** TURN REST API shared secret (coturn `use-auth-secret`). */
  authSecret?: string;
  allowLoopbackPeers?: boolean;
  allowPrivatePeers?: boolean;
  maxAllocationsPerUser?: number;
  /** Per-allocation relay bandwidth cap, both directions together. */
  maxBitsPerSecondPerAllocation?: number;
  /** Seconds. Default 600. */
  defaultLifetime?: number;
  /** Seconds. Default 3600. */
  maxLifetime?: number;
  /** Seconds a NONCE stays valid. Default 600. */
  nonceLifetimeSeconds?: number;
  /** Seconds a permission lasts. Default 300 (RFC 8656). */
  permissionLifetime?: number;
  /** Seconds a channel binding lasts. Default 600 (RFC 8656). */
  channelLifetime?: number;
  /** SOFTWARE attribute on responses; '' for none. */
  software?: string;
  /** Concurrent TCP and TLS client connections, each listener. Default 4096. */
  maxStreamConnections?: number;
  logger?: Logger;
}

export interface TurnServerStats {
  allocations: number;
  permissions: number;
  channels: number;
  tcpConnections: number;
  relayedPackets: number;
  relayedBytes: number;
  /** Requests refused and packets dropped, by reason. */
  rejects: Record<string, number>;
}

type Reject =
  | 'malformed'
  | 'bad-request'
  | 'unknown-attribute'
  | 'unauthorized'
  | 'stale-nonce'
  | 'wrong-credentials'
  | 'allocation-mismatch'
  | 'no-allocation'
  | 'unsupported-transport'
  | 'address-family'
  | 'forbidden-peer'
  | 'quota'
  | 'insufficient-capacity'
  | 'no-permission'
  | 'no-channel'
  | 'bandwidth'
  | 'stream-overflow'
  | 'send-queue-full';

/** Comprehension-required attributes this server understands (others in a request earn 420). */
const KNOWN_ATTRIBUTES = new Set<number>([
  StunAttr.MappedAddress,
  StunAttr.Username,
  StunAttr.MessageIntegrity,
  StunAttr.ErrorCode,
  StunAttr.UnknownAttributes,
  StunAttr.ChannelNumber,
  StunAttr.Lifetime,
  StunAttr.XorPeerAddress,
  StunAttr.Data,
  StunAttr.Realm,
  StunAttr.Nonce,
  StunAttr.XorRelayedAddress,
  StunAttr.RequestedAddressFamily,
  StunAttr.EvenPort,
  StunAttr.RequestedTransport,
  StunAttr.DontFragment,
  StunAttr.MessageIntegritySha256,
  StunAttr.PasswordAlgorithm,
  StunAttr.XorMappedAddress,
  StunAttr.ReservationToken,
  StunAttr.Priority,
  StunAttr.UseCandidate,
]);

const UDP_PROTOCOL = 17;
/**
 * RFC 8656 narrows channels to 0x4000-0x4FFF so they demultiplex from DTLS/RTP on a shared port;
 * this server's ports carry only TURN, so it also accepts RFC 5766's 0x4000-0x7FFE, which
 * coturn's clients still pick from. Our own client stays in the RFC 8656 range.
 */
const LEGACY_CHANNEL_MAX = 0x7ffe;
const SWEEP_INTERVAL_MS = 1000;
const RESERVATION_LIFETIME_MS = 30_000;
const MAX_PERMISSIONS_PER_ALLOCATION = 1024;
/** A stream client may buffer at most one maximal STUN message plus change. */
const MAX_STREAM_BUFFER = 70 * 1024;
/** Drop relayed data to a stream client whose socket has this much unsent. */
const MAX_STREAM_BACKLOG = 1024 * 1024;
const PORT_BIND_ATTEMPTS = 40;
/** Headers handed to dgram.send are not copied; rotate through enough that none is reused in flight. */
const HEADER_RING_SIZE = 4096;
/** Datagrams libuv may hold for the client socket before relayed data is dropped. */
const MAX_UDP_SEND_QUEUE = 8192;

/** Resolves IP literals synchronously; dgram's default lookup defers every send by a tick. */
function literalLookup(
  address: string,
  _family: unknown,
  callback: (err: Error | null, address: string, family: number) => void,
): void {
  callback(null, address, address.includes(':') ? 6 : 4);
}

interface Reservation {
  socket: dgram.Socket;
  port: number;
  expiresAt: number;
  username: string;
}

interface StreamClient {
  endpoint: ClientEndpoint;
  allocation: Allocation | undefined;
  pending: Buffer | undefined;
  closed: boolean;
}

interface AuthResult {
  username: string;
  key: Buffer;
  sha256: boolean;
}

export class TurnServer {
  readonly ports: { udp: number; tcp: number; tls?: number };

  private readonly log: Logger;
  private readonly realm: string;
  private readonly listenIp: string;
  private readonly relayIp: string;
  private readonly announcedIp: string;
  private readonly portRange: [number, number];
  private readonly users: Map<string, string>;
  private readonly authSecret: string | undefined;
  private readonly policy: { allowLoopbackPeers: boolean; allowPrivatePeers: boolean };
  private readonly maxAllocationsPerUser: number;
  private readonly bytesPerSecond: number;
  private readonly defaultLifetimeMs: number;
  private readonly maxLifetimeMs: number;
  private readonly nonceLifetimeMs: number;
  private readonly permissionLifetimeMs: number;
  private readonly channelLifetimeMs: number;
  private readonly software: string;
  private readonly nonceSecret = randomBytes(32);

  /** UDP allocations by client IP, then client port. */
  private readonly udpAllocations = new Map<string, Map<number, Allocation>>();
  /** 5-tuples whose Allocate is binding a relay port right now. */
  private readonly pendingAllocations = new Set<string>();
  private readonly allocations = new Set<Allocation>();
  private readonly allocationsPerUser = new Map<string, number>();
  private readonly usedRelayPorts = new Set<number>();
  private readonly reservations = new Map<string, Reservation>();
  private readonly streamSockets = new Set<net.Socket>();
  private readonly rejectCounts = new Map<Reject, number>();
  private readonly headerRing: Buffer[];
  private headerIndex = 0;
  private relayedPackets = 0;
  private relayedBytes = 0;
  private now = Date.now();
  private lastSweep = Date.now();
  private sweepTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    opts: TurnServerOptions,
    private readonly udpSocket: dgram.Socket,
    private readonly tcpServer: net.Server,
    private readonly tlsServer: tls.Server | undefined,
  ) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'turn' });
    this.realm = opts.realm ?? 'tureen';
    this.listenIp = opts.listenIp ?? '127.0.0.1';
    this.relayIp = opts.relayIp ?? this.listenIp;
    this.announcedIp = opts.announcedIp ?? this.relayIp;
    this.portRange = opts.relayPortRange ?? [49152, 65535];
    this.users = new Map(Object.entries(opts.users ?? {}));
    this.authSecret = opts.authSecret;
    this.policy = {
      allowLoopbackPeers: opts.allowLoopbackPeers ?? false,
      allowPrivatePeers: opts.allowPrivatePeers ?? false,
    };
    this.maxAllocationsPerUser = opts.maxAllocationsPerUser ?? 10;
    this.bytesPerSecond =
      opts.maxBitsPerSecondPerAllocation !== undefined
        ? opts.maxBitsPerSecondPerAllocation / 8
        : Number.POSITIVE_INFINITY;
    this.defaultLifetimeMs = (opts.defaultLifetime ?? 600) * 1000;
    this.maxLifetimeMs = (opts.maxLifetime ?? 3600) * 1000;
    this.nonceLifetimeMs = (opts.nonceLifetimeSeconds ?? 600) * 1000;
    this.permissionLifetimeMs = (opts.permissionLifetime ?? 300) * 1000;
    this.channelLifetimeMs = (opts.channelLifetime ?? 600) * 1000;
    this.software = opts.software ?? 'tureen';
    this.headerRing = Array.from({ length: HEADER_RING_SIZE }, () => Buffer.alloc(4));
    const tcpAddress = tcpServer.address() as net.AddressInfo;
    this.ports = {
      udp: udpSocket.address().port,
      tcp: tcpAddress.port,
      ...(tlsServer ? { tls: (tlsServer.address() as net.AddressInfo).port } : {}),
    };
  }

  static async start(opts: TurnServerOptions = {}): Promise<TurnServer> {
    const listenIp = opts.listenIp ?? '127.0.0.1';
    const udpPort = opts.udpPort ?? 3478;
    const tcpPort = opts.tcpPort ?? 3478;
    // With both ports 0, look for one number free for UDP and TCP, as clients assume (coturn does).
    const attempts = udpPort === 0 && tcpPort === 0 ? 10 : 1;
    for (let attempt = 1; ; attempt++) {
      const udpSocket = dgram.createSocket({
        type: listenIp.includes(':') ? 'udp6' : 'udp4',
        lookup: literalLookup,
        // Every client shares this socket: a deep queue rides out event-loop pauses (the kernel caps it at rmem_max).
        recvBufferSize: 4 * 1024 * 1024,
        sendBufferSize: 4 * 1024 * 1024,
      });
      const tcpServer = net.createServer({ noDelay: true });
      const tlsServer = opts.tls ? tls.createServer({ cert: opts.tls.cert, key: opts.tls.key }) : undefined;
      tcpServer.maxConnections = opts.maxStreamConnections ?? 4096;
      if (tlsServer) tlsServer.maxConnections = opts.maxStreamConnections ?? 4096;
      try {
        await new Promise<void>((resolve, reject) => {
          udpSocket.once('error', reject);
          udpSocket.bind(udpPort, listenIp, () => {
            udpSocket.off('error', reject);
            resolve();
          });
        });
        await listen(tcpServer, attempts > 1 ? udpSocket.address().port : tcpPort, listenIp);
        if (tlsServer) await listen(tlsServer, opts.tlsPort ?? 5349, listenIp);
      } catch (err) {
        try {
          udpSocket.close();
        } catch {
          // Already closed by the failed bind.
        }
        tcpServer.close();
        tlsServer?.close();
        if (attempt >= attempts) throw err;
        continue;
      }
      const server = new TurnServer(opts, udpSocket, tcpServer, tlsServer);
      server.attach();
      return server;
    }
  }

  private attach(): void {
    this.udpSocket.on('message', (msg, rinfo) => this.onUdpMessage(msg, rinfo.address, rinfo.port));
    this.udpSocket.on('error', (err) => this.log.warn({ err }, 'udp listener error'));
    this.tcpServer.on('connection', (socket) => this.onStream(socket, 'tcp'));
    this.tcpServer.on('error', (err) => this.log.warn({ err }, 'tcp listener error'));
    if (this.tlsServer) {
      this.tlsServer.on('secureConnection', (socket) => this.onStream(socket, 'tls'));
      this.tlsServer.on('tlsClientError', (err) => this.log.debug({ err }, 'tls client error'));
      this.tlsServer.on('error', (err) => this.log.warn({ err }, 'tls listener error'));
    }
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
    this.log.info({ ports: this.ports, realm: this.realm }, 'turn server listening');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    for (const allocation of [...this.allocations]) this.deleteAllocation(allocation);
    for (const reservation of this.reservations.values()) reservation.socket.close();
    this.reservations.clear();
    for (const socket of this.streamSockets) socket.destroy();
    this.streamSockets.clear();
    await Promise.all([
      new Promise<void>((resolve) => this.udpSocket.close(() => resolve())),
      new Promise<void>((resolve) => this.tcpServer.close(() => resolve())),
      this.tlsServer ? new Promise<void>((resolve) => this.tlsServer!.close(() => resolve())) : undefined,
    ]);
  }

  stats(): TurnServerStats {
    let permissions = 0;
    let channels = 0;
    for (const allocation of this.allocations) {
      permissions += allocation.permissions.size;
      channels += allocation.channels.size;
    }
    return {
      allocations: this.allocations.size,
      permissions,
      channels,
      tcpConnections: this.streamSockets.size,
      relayedPackets: this.relayedPackets,
      relayedBytes: this.relayedBytes,
      rejects: Object.fromEntries(this.rejectCounts),
    };
  }

  private reject(reason: Reject, detail?: string): void {
    this.rejectCounts.set(reason, (this.rejectCounts.get(reason) ?? 0) + 1);
    if (detail) this.log.debug({ reason, detail }, 'rejected');
  }

  // ---- client side: UDP ----

  private onUdpMessage(msg: Buffer, address: string, port: number): void {
    const first = msg.length > 0 ? msg[0]! : 0xff;
    if (first >= 0x40 && first <= 0x7f) {
      const allocation = this.udpAllocations.get(address)?.get(port);
      if (allocation) this.onChannelData(allocation, msg);
      else this.reject('no-allocation');
      return;
    }
    if (first > 3) {
      this.reject('malformed');
      return;
    }
    const parsed = parseStun(msg);
    if (parsed instanceof StunParseError) {
      this.reject('malformed');
      return;
    }
    const allocation = this.udpAllocations.get(address)?.get(port);
    this.onStunGuarded(parsed, allocation, allocation?.client ?? this.udpEndpoint(address, port));
  }

  private udpEndpoint(address: string, port: number): ClientEndpoint {
    const socket = this.udpSocket;
    return {
      transport: 'udp',
      address,
      port,
      send: (message) => socket.send(message, port, address),
      sendChannelData: (header, payload) => {
        // Sends normally complete synchronously, so the ring's header is free again at once. Queued
        // ones keep a reference: give those their own copy, and stop queueing when overloaded.
        const queued = socket.getSendQueueCount();
        if (queued === 0) socket.send([header, payload], port, address);
        else if (queued < MAX_UDP_SEND_QUEUE) socket.send([Buffer.from(header), payload], port, address);
        else this.reject('send-queue-full');
      },
    };
  }

  // ---- client side: TCP / TLS ----

  private onStream(socket: net.Socket, transport: 'tcp' | 'tls'): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const address = socket.remoteAddress ?? '';
    const port = socket.remotePort ?? 0;
    this.streamSockets.add(socket);
    socket.setNoDelay(true);
    const client: StreamClient = {
      endpoint: {
        transport,
        address,
        port,
        send: (message) => {
          if (socket.writableLength < MAX_STREAM_BACKLOG) socket.write(message);
        },
        sendChannelData: (header, payload) => {
          if (socket.writableLength >= MAX_STREAM_BACKLOG) return;
          // Stream framing pads ChannelData to 4 bytes; one write keeps it a single segment.
          const padded = (payload.length + 3) & ~3;
          const frame = Buffer.allocUnsafe(4 + padded);
          header.copy(frame, 0);
          payload.copy(frame, 4);
          frame.fill(0, 4 + payload.length);
          socket.write(frame);
        },
      },
      allocation: undefined,
      pending: undefined,
      closed: false,
    };
    socket.on('data', (chunk: Buffer) => this.onStreamData(client, socket, chunk));
    socket.on('error', (err) => this.log.debug({ err, address, port }, 'stream client error'));
    socket.on('close', () => {
      this.streamSockets.delete(socket);
      client.closed = true;
      if (client.allocation) this.deleteAllocation(client.allocation);
      client.allocation = undefined;
    });
    // A stream without an allocation must not linger forever.
    socket.setTimeout(this.defaultLifetimeMs, () => {
      if (!client.allocation) socket.destroy();
    });
  }

  private onStreamData(client: StreamClient, socket: net.Socket, chunk: Buffer): void {
    if (client.allocation?.deleted) client.allocation = undefined;
    let buf = client.pending ? Buffer.concat([client.pending, chunk]) : chunk;
    client.pending = undefined;
    while (buf.length >= 4) {
      const first = buf[0]!;
      let frameLength: number;
      if (first >= 0x40 && first <= 0x7f && !client.allocation) {
        // ChannelData before any allocation cannot be honest (and "GET " looks like it).
        frameLength = -1;
      } else if (first >= 0x40 && first <= 0x7f) {
        frameLength = 4 + ((buf.readUInt16BE(2) + 3) & ~3);
      } else if (first <= 3) {
        frameLength = 20 + buf.readUInt16BE(2);
        if (buf.length >= 8 && buf.readUInt32BE(4) !== 0x2112a442) frameLength = -1;
      } else {
        frameLength = -1;
      }
      if (frameLength < 0) {
        // Not STUN or ChannelData: the stream cannot be resynchronised.
        this.reject('malformed');
        socket.destroy();
        return;
      }
      if (buf.length < frameLength) break;
      const frame = buf.subarray(0, frameLength);
      buf = buf.subarray(frameLength);
      if (first >= 0x40) {
        if (client.allocation) this.onChannelData(client.allocation, frame);
        else this.reject('no-allocation');
      } else {
        const parsed = parseStun(frame);
        if (parsed instanceof StunParseError) this.reject('malformed');
        else this.onStunGuarded(parsed, client.allocation, client.endpoint, client);
      }
      if (socket.destroyed) return;
      // A Refresh with lifetime 0 may have deleted the allocation mid-chunk.
      if (client.allocation?.deleted) client.allocation = undefined;
    }
    if (buf.length > 0) {
      if (buf.length > MAX_STREAM_BUFFER) {
        this.reject('stream-overflow');
        socket.destroy();
        return;
      }
      // Copy: the remainder may be a view over a large chunk we should not pin.
      client.pending = Buffer.from(buf);
    }
  }

  // ---- relay hot paths ----

  private overBudget(allocation: Allocation, bytes: number): boolean {
    if (allocation.byteBudget === Number.POSITIVE_INFINITY) return false;
    if (allocation.byteBudget < bytes) {
      this.reject('bandwidth');
      return true;
    }
    allocation.byteBudget -= bytes;
    return false;
  }

  /** Client → peer over a channel. */
  private onChannelData(allocation: Allocation, msg: Buffer): void {
    if (msg.length < 4) {
      this.reject('malformed');
      return;
    }
    const channel = (msg[0]! << 8) | msg[1]!;
    const length = (msg[2]! << 8) | msg[3]!;
    if (4 + length > msg.length) {
      this.reject('malformed');
      return;
    }
    const binding = allocation.channels.get(channel);
    if (binding === undefined || binding.expiresAt <= this.now) {
      this.reject('no-channel');
      return;
    }
    if (!allocation.hasPermission(binding.peerAddress, this.now)) {
      this.reject('no-permission');
      return;
    }
    if (this.overBudget(allocation, length)) return;
    allocation.relaySocket.send(msg.subarray(4, 4 + length), binding.peerPort, binding.peerAddress);
    this.relayedPackets++;
    this.relayedBytes += length;
  }

  /** Peer → client: ChannelData when a channel is bound, else a Data indication. */
  private onPeerMessage(allocation: Allocation, msg: Buffer, address: string, port: number): void {
    if (!allocation.hasPermission(address, this.now)) {
      this.reject('no-permission');
      return;
    }
    if (this.overBudget(allocation, msg.length)) return;
    const binding = allocation.channelForPeer(address, port);
    if (binding !== undefined && binding.expiresAt > this.now) {
      const header = this.headerRing[this.headerIndex]!;
      this.headerIndex = (this.headerIndex + 1) % HEADER_RING_SIZE;
      header[0] = binding.channel >> 8;
      header[1] = binding.channel & 0xff;
      header[2] = msg.length >> 8;
      header[3] = msg.length & 0xff;
      allocation.client.sendChannelData(header, msg);
    } else {
      if (msg.length > 0xffff - 64) return;
      const indication = new StunBuilder(StunMethod.Data, StunClass.Indication)
        .addXorAddress(StunAttr.XorPeerAddress, address, port)
        .add(StunAttr.Data, msg)
        .view();
      allocation.client.send(indication);
    }
    this.relayedPackets++;
    this.relayedBytes += msg.length;
  }

  // ---- STUN requests ----

  /** A bug in request handling must cost one request, never the process and every other client. */
  private onStunGuarded(
    msg: StunMessage,
    allocation: Allocation | undefined,
    endpoint: ClientEndpoint,
    stream?: StreamClient,
  ): void {
    try {
      this.onStun(msg, allocation, endpoint, stream);
    } catch (err) {
      this.log.error({ err, method: msg.method }, 'request handling failed');
    }
  }

  private onStun(
    msg: StunMessage,
    allocation: Allocation | undefined,
    endpoint: ClientEndpoint,
    stream?: StreamClient,
  ): void {
    this.now = Date.now();
    if (msg.cls === StunClass.Indication) {
      if (msg.method === StunMethod.Send && allocation) this.onSendIndication(allocation, msg);
      else this.reject('bad-request');
      return;
    }
    if (msg.cls !== StunClass.Request) return;
    const unknown: number[] = [];
    for (const attr of msg.attributes) {
      if (isComprehensionRequired(attr.type) && !KNOWN_ATTRIBUTES.has(attr.type)) unknown.push(attr.type);
    }
    if (unknown.length > 0) {
      this.reject('unknown-attribute');
      endpoint.send(
        StunBuilder.responseTo(msg, StunClass.ErrorResponse)
          .addErrorCode(420, 'Unknown Attribute')
          .addUnknownAttributes(unknown)
          .build(),
      );
      return;
    }
    if (msg.method === StunMethod.Binding) {
      this.onBinding(msg, endpoint);
      return;
    }
    if (
      msg.method !== StunMethod.Allocate &&
      msg.method !== StunMethod.Refresh &&
      msg.method !== StunMethod.CreatePermission &&
      msg.method !== StunMethod.ChannelBind
    ) {
      this.reject('bad-request');
      endpoint.send(this.error(msg, 400, 'Bad Request'));
      return;
    }
    const auth = this.authenticate(msg, endpoint);
    if (!auth) return;
    if (msg.method === StunMethod.Allocate) {
      this.onAllocate(msg, allocation, endpoint, auth, stream).catch((err: unknown) =>
        this.log.error({ err }, 'allocate failed'),
      );
      return;
    }
    if (!allocation) {
      this.reject('allocation-mismatch');
      endpoint.send(this.error(msg, 437, 'Allocation Mismatch', auth));
      return;
    }
    if (auth.username !== allocation.username) {
      this.reject('wrong-credentials');
      endpoint.send(this.error(msg, 441, 'Wrong Credentials', auth));
      return;
    }
    if (msg.method === StunMethod.Refresh) this.onRefresh(msg, allocation, auth);
    else if (msg.method === StunMethod.CreatePermission) this.onCreatePermission(msg, allocation, auth);
    else this.onChannelBind(msg, allocation, auth);
  }

  private onBinding(msg: StunMessage, endpoint: ClientEndpoint): void {
    const response = StunBuilder.responseTo(msg, StunClass.SuccessResponse)
      .addXorAddress(StunAttr.XorMappedAddress, endpoint.address, endpoint.port)
      .addAddress(StunAttr.MappedAddress, endpoint.address, endpoint.port);
    if (this.software) response.add(StunAttr.Software, this.software);
    if (msg.fingerprintOffset >= 0) response.addFingerprint();
    endpoint.send(response.build());
  }

  private error(msg: StunMessage, code: number, reason: string, auth?: AuthResult): Buffer {
    const b = StunBuilder.responseTo(msg, StunClass.ErrorResponse).addErrorCode(code, reason);
    if (this.software) b.add(StunAttr.Software, this.software);
    return this.sign(b, auth);
  }

  private sign(b: StunBuilder, auth: AuthResult | undefined): Buffer {
    if (auth) {
      if (auth.sha256) b.addMessageIntegritySha256(auth.key);
      else b.addMessageIntegrity(auth.key);
    }
    return b.addFingerprint().build();
  }

  private makeNonce(endpoint: ClientEndpoint): string {
    const expiry = Math.floor((this.now + this.nonceLifetimeMs) / 1000).toString(16);
    return expiry + this.nonceMac(expiry, endpoint.address);
  }

  private nonceMac(expiryHex: string, address: string): string {
    return createHmac('sha256', this.nonceSecret)
      .update(`${expiryHex}/${address}`)
      .digest('base64url')
      .slice(0, 16);
  }

  private nonceValid(nonce: string, endpoint: ClientEndpoint): boolean {
    if (nonce.length < 17 || nonce.length > 40) return false;
    const expiryHex = nonce.slice(0, nonce.length - 16);
    if (!/^[0-9a-f]+$/.test(expiryHex)) return false;
    if (Number.parseInt(expiryHex, 16) * 1000 < this.now) return false;
    const mac = Buffer.from(nonce.slice(-16));
    const expected = Buffer.from(this.nonceMac(expiryHex, endpoint.address));
    return mac.length === expected.length && timingSafeEqual(mac, expected);
  }

  private challenge(msg: StunMessage, endpoint: ClientEndpoint, code: 401 | 438, reason: string): void {
    const b = StunBuilder.responseTo(msg, StunClass.ErrorResponse)
      .addErrorCode(code, reason)
      .add(StunAttr.Realm, this.realm)
      .add(StunAttr.Nonce, this.makeNonce(endpoint));
    if (this.software) b.add(StunAttr.Software, this.software);
    endpoint.send(b.addFingerprint().build());
  }

  private passwordFor(username: string): string | undefined {
    const password = this.users.get(username);
    if (password !== undefined) return password;
    if (this.authSecret !== undefined) return restPasswordIfValid(this.authSecret, username, this.now / 1000);
    return undefined;
  }

  /** Long-term credential check (RFC 8489 §9.2.4); sends the error response itself on failure. */
  private authenticate(msg: StunMessage, endpoint: ClientEndpoint): AuthResult | undefined {
    const hasSha1 = msg.integrityOffset >= 0;
    const hasSha256 = msg.integritySha256Offset >= 0;
    if (!hasSha1 && !hasSha256) {
      this.reject('unauthorized');
      this.challenge(msg, endpoint, 401, 'Unauthorized');
      return undefined;
    }
    const usernameValue = getAttribute(msg, StunAttr.Username);
    const realmValue = getAttribute(msg, StunAttr.Realm);
    const nonceValue = getAttribute(msg, StunAttr.Nonce);
    if (!usernameValue || !realmValue || !nonceValue) {
      this.reject('bad-request');
      endpoint.send(this.error(msg, 400, 'Bad Request'));
      return undefined;
    }
    if (!this.nonceValid(nonceValue.toString('latin1'), endpoint)) {
      this.reject('stale-nonce');
      this.challenge(msg, endpoint, 438, 'Stale Nonce');
      return undefined;
    }
    const username = usernameValue.toString('utf8');
    const realm = realmValue.toString('utf8');
    const password = realm === this.realm ? this.passwordFor(username) : undefined;
    const algorithmValue = getAttribute(msg, StunAttr.PasswordAlgorithm);
    const algorithm =
      algorithmValue && algorithmValue.length >= 2 ? algorithmValue.readUInt16BE(0) : PasswordAlgorithm.Md5;
    if (
      password === undefined ||
      (algorithm !== PasswordAlgorithm.Md5 && algorithm !== PasswordAlgorithm.Sha256)
    ) {
      this.reject('unauthorized');
      this.challenge(msg, endpoint, 401, 'Unauthorized');
      return undefined;
    }
    const key = longTermKey(username, this.realm, password, algorithm);
    const ok = hasSha256 ? verifyMessageIntegritySha256(msg, key) : verifyMessageIntegrity(msg, key);
    if (!ok) {
      this.reject('unauthorized');
      this.challenge(msg, endpoint, 401, 'Unauthorized');
      return undefined;
    }
    return { username, key, sha256: hasSha256 };
  }

  private lifetimeFrom(msg: StunMessage, allocate: boolean): number {
    const value = getAttribute(msg, StunAttr.Lifetime);
    const requested = value ? decodeUint32(value) : -1;
    if (requested < 0) return this.defaultLifetimeMs;
    if (requested === 0 && !allocate) return 0;
    const ms = Math.min(requested * 1000, this.maxLifetimeMs);
    return allocate ? Math.max(ms, this.defaultLifetimeMs) : ms;
  }

  private async onAllocate(
    msg: StunMessage,
    existing: Allocation | undefined,
    endpoint: ClientEndpoint,
    auth: AuthResult,
    stream: StreamClient | undefined,
  ): Promise<void> {
    if (existing) {
      if (existing.allocateTransactionId.equals(msg.transactionId)) endpoint.send(existing.allocateResponse);
      else {
        this.reject('allocation-mismatch');
        endpoint.send(this.error(msg, 437, 'Allocation Mismatch', auth));
      }
      return;
    }
    const tupleKey = `${endpoint.transport}/${endpoint.address}/${endpoint.port}`;
    if (this.pendingAllocations.has(tupleKey)) return;
    const transport = getAttribute(msg, StunAttr.RequestedTransport);
    if (transport?.length !== 4) {
      this.reject('bad-request');
      endpoint.send(this.error(msg, 400, 'Bad Request', auth));
      return;
    }
    if (transport[0] !== UDP_PROTOCOL) {
      this.reject('unsupported-transport');
      endpoint.send(this.error(msg, 442, 'Unsupported Transport Protocol', auth));
      return;
    }
    const evenPort = getAttribute(msg, StunAttr.EvenPort);
    const token = getAttribute(msg, StunAttr.ReservationToken);
    const requestedFamily = getAttribute(msg, StunAttr.RequestedAddressFamily);
    if ((token && evenPort) || (token && requestedFamily) || (evenPort && evenPort.length !== 1)) {
      this.reject('bad-request');
      endpoint.send(this.error(msg, 400, 'Bad Request', auth));
      return;
    }
    const relayFamily = this.relayIp.includes(':') ? 2 : 1;
    // ADDITIONAL-ADDRESS-FAMILY asks for a second, IPv6 relay (RFC 8656 §7.2); it excludes
    // REQUESTED-ADDRESS-FAMILY. Relays here are single-family: the answer is ADDRESS-ERROR-CODE.
    const additionalFamily = getAttribute(msg, StunAttr.AdditionalAddressFamily);
    if (additionalFamily && (requestedFamily || additionalFamily.length !== 4 || additionalFamily[0] !== 2)) {
      this.reject('bad-request', 'bad ADDITIONAL-ADDRESS-FAMILY');
      endpoint.send(this.error(msg, 400, 'Bad Request', auth));
      return;
    }
    if (requestedFamily && (requestedFamily.length !== 4 || requestedFamily[0] !== relayFamily)) {
      this.reject('address-family');
      endpoint.send(this.error(msg, 440, 'Address Family not Supported', auth));
      return;
    }
    const userCount = this.allocationsPerUser.get(auth.username) ?? 0;
    if (userCount >= this.maxAllocationsPerUser) {
      this.reject('quota');
      endpoint.send(this.error(msg, 486, 'Allocation Quota Reached', auth));
      return;
    }
    this.pendingAllocations.add(tupleKey);
    let relay: { socket: dgram.Socket; port: number } | undefined;
    let reservationToken: Buffer | undefined;
    try {
      if (token) {
        const reservation = this.reservations.get(token.toString('hex'));
        if (reservation) {
          this.reservations.delete(token.toString('hex'));
          relay = reservation;
        }
      } else if (evenPort) {
        relay = await this.bindRelayPort(true);
        if (relay && (evenPort[0]! & 0x80) !== 0) {
          // Reserved ports count against the user's quota too, or Allocate/Refresh-0 loops could hoard them.
          let held = 0;
          for (const r of this.reservations.values()) if (r.username === auth.username) held++;
          const next =
            held < this.maxAllocationsPerUser ? await this.bindSpecificPort(relay.port + 1) : undefined;
          if (next) {
            reservationToken = randomBytes(8);
            this.reservations.set(reservationToken.toString('hex'), {
              ...next,
              expiresAt: this.now + RESERVATION_LIFETIME_MS,
              username: auth.username,
            });
          } else {
            this.releaseRelay(relay);
            relay = undefined;
          }
        }
      } else {
        relay = await this.bindRelayPort(false);
      }
    } finally {
      this.pendingAllocations.delete(tupleKey);
    }
    if (this.closed) {
      if (relay) this.releaseRelay(relay);
      return;
    }
    if (!relay) {
      this.reject('insufficient-capacity');
      endpoint.send(this.error(msg, 508, 'Insufficient Capacity', auth));
      return;
    }
    // The stream may have closed, or allocated over a concurrent request, while the port was bound.
    if (stream && (stream.closed || stream.allocation)) {
      this.releaseRelay(relay);
      return;
    }
    this.now = Date.now();
    const lifetimeMs = this.lifetimeFrom(msg, true);
    const response = StunBuilder.responseTo(msg, StunClass.SuccessResponse)
      .addXorAddress(StunAttr.XorRelayedAddress, this.announcedIp, relay.port)
      .addUint32(StunAttr.Lifetime, Math.floor(lifetimeMs / 1000))
      .addXorAddress(StunAttr.XorMappedAddress, endpoint.address, endpoint.port);
    if (reservationToken) response.addUint64(StunAttr.ReservationToken, reservationToken);
    if (additionalFamily && relayFamily !== 2) {
      // Family IPv6, then 440 as class and number.
      const reason = Buffer.from('Address Family not Supported');
      response.add(StunAttr.AddressErrorCode, Buffer.concat([Buffer.from([2, 0, 4, 40]), reason]));
    }
    if (this.software) response.add(StunAttr.Software, this.software);
    const responseBytes = this.sign(response, auth);
    const allocation = new Allocation(
      endpoint,
      relay.socket,
      relay.port,
      auth.username,
      Buffer.from(msg.transactionId),
      responseBytes,
      lifetimeMs,
      this.now,
    );
    if (this.bytesPerSecond !== Number.POSITIVE_INFINITY) allocation.byteBudget = this.bytesPerSecond;
    this.allocations.add(allocation);
    this.allocationsPerUser.set(auth.username, userCount + 1);
    if (stream) stream.allocation = allocation;
    else {
      let byPort = this.udpAllocations.get(endpoint.address);
      if (!byPort) {
        byPort = new Map();
        this.udpAllocations.set(endpoint.address, byPort);
      }
      byPort.set(endpoint.port, allocation);
    }
    relay.socket.on('message', (data, rinfo) =>
      this.onPeerMessage(allocation, data, rinfo.address, rinfo.port),
    );
    this.log.debug(
      { client: `${endpoint.address}:${endpoint.port}`, relayPort: relay.port, user: auth.username },
      'allocation created',
    );
    endpoint.send(responseBytes);
  }

  private onRefresh(msg: StunMessage, allocation: Allocation, auth: AuthResult): void {
    const lifetimeMs = this.lifetimeFrom(msg, false);
    const response = StunBuilder.responseTo(msg, StunClass.SuccessResponse).addUint32(
      StunAttr.Lifetime,
      Math.floor(lifetimeMs / 1000),
    );
    if (this.software) response.add(StunAttr.Software, this.software);
    const bytes = this.sign(response, auth);
    if (lifetimeMs === 0) this.deleteAllocation(allocation);
    else allocation.expiresAt = this.now + lifetimeMs;
    allocation.client.send(bytes);
  }

  /** XOR-PEER-ADDRESS values of msg that pass family and policy checks; sends the error if not. */
  private peersOf(
    msg: StunMessage,
    allocation: Allocation,
    auth: AuthResult,
  ): { address: string; port: number }[] | undefined {
    const peers: { address: string; port: number }[] = [];
    const relayFamily = this.relayIp.includes(':') ? 6 : 4;
    for (const attr of msg.attributes) {
      if (attr.type !== StunAttr.XorPeerAddress) continue;
      const peer = decodeXorAddress(attr.value, msg.transactionId);
      if (peer instanceof StunParseError) {
        this.reject('bad-request', peer.reason);
        allocation.client.send(this.error(msg, 400, 'Bad Request', auth));
        return undefined;
      }
      if (peer.family !== relayFamily) {
        this.reject('address-family');
        allocation.client.send(this.error(msg, 443, 'Peer Address Family Mismatch', auth));
        return undefined;
      }
      if (!isPeerAllowed(peer.address, this.policy)) {
        this.reject('forbidden-peer');
        allocation.client.send(this.error(msg, 403, 'Forbidden', auth));
        return undefined;
      }
      peers.push(peer);
    }
    if (peers.length === 0) {
      this.reject('bad-request', 'no XOR-PEER-ADDRESS');
      allocation.client.send(this.error(msg, 400, 'Bad Request', auth));
      return undefined;
    }
    return peers;
  }

  /** Permissions per allocation are capped so one user cannot grow server memory without bound. */
  private roomForPermissions(
    msg: StunMessage,
    allocation: Allocation,
    auth: AuthResult,
    added: number,
  ): boolean {
    if (allocation.permissions.size + added <= MAX_PERMISSIONS_PER_ALLOCATION) return true;
    this.reject('insufficient-capacity', 'permission limit');
    allocation.client.send(this.error(msg, 508, 'Insufficient Capacity', auth));
    return false;
  }

  private onCreatePermission(msg: StunMessage, allocation: Allocation, auth: AuthResult): void {
    const peers = this.peersOf(msg, allocation, auth);
    if (!peers) return;
    let added = 0;
    for (const peer of peers) if (!allocation.permissions.has(peer.address)) added++;
    if (!this.roomForPermissions(msg, allocation, auth, added)) return;
    for (const peer of peers) allocation.permissions.set(peer.address, this.now + this.permissionLifetimeMs);
    allocation.client.send(this.success(msg, auth));
  }

  private success(msg: StunMessage, auth: AuthResult): Buffer {
    const b = StunBuilder.responseTo(msg, StunClass.SuccessResponse);
    if (this.software) b.add(StunAttr.Software, this.software);
    return this.sign(b, auth);
  }

  private onChannelBind(msg: StunMessage, allocation: Allocation, auth: AuthResult): void {
    const channelValue = getAttribute(msg, StunAttr.ChannelNumber);
    const channel = channelValue && channelValue.length === 4 ? channelValue.readUInt16BE(0) : -1;
    if (channel < CHANNEL_MIN || channel > LEGACY_CHANNEL_MAX) {
      this.reject('bad-request', 'channel number out of range');
      allocation.client.send(this.error(msg, 400, 'Bad Request', auth));
      return;
    }
    const peers = this.peersOf(msg, allocation, auth);
    if (!peers) return;
    if (peers.length !== 1) {
      this.reject('bad-request', 'ChannelBind needs exactly one XOR-PEER-ADDRESS');
      allocation.client.send(this.error(msg, 400, 'Bad Request', auth));
      return;
    }
    const peer = peers[0]!;
    if (peer.port === 0) {
      this.reject('bad-request', 'ChannelBind to port 0');
      allocation.client.send(this.error(msg, 400, 'Bad Request', auth));
      return;
    }
    const byNumber = allocation.channels.get(channel);
    const byPeer = allocation.channelForPeer(peer.address, peer.port);
    // A channel stays with its peer and a peer with its channel until the binding expires.
    if ((byNumber && byNumber !== byPeer) || (byPeer && byPeer.channel !== channel)) {
      this.reject('bad-request', 'channel or peer already bound elsewhere');
      allocation.client.send(this.error(msg, 400, 'Bad Request', auth));
      return;
    }
    if (!this.roomForPermissions(msg, allocation, auth, allocation.permissions.has(peer.address) ? 0 : 1))
      return;
    if (byNumber) byNumber.expiresAt = this.now + this.channelLifetimeMs;
    else {
      const binding: ChannelBinding = {
        channel,
        peerAddress: peer.address,
        peerPort: peer.port,
        expiresAt: this.now + this.channelLifetimeMs,
      };
      allocation.bindChannel(binding);
    }
    allocation.permissions.set(peer.address, this.now + this.permissionLifetimeMs);
    allocation.client.send(this.success(msg, auth));
  }

  private onSendIndication(allocation: Allocation, msg: StunMessage): void {
    const peerValue = getAttribute(msg, StunAttr.XorPeerAddress);
    const data = getAttribute(msg, StunAttr.Data);
    if (!peerValue || !data) {
      this.reject('bad-request');
      return;
    }
    const peer = decodeXorAddress(peerValue, msg.transactionId);
    if (peer instanceof StunParseError || peer.port === 0) {
      this.reject('bad-request');
      return;
    }
    if (peer.family !== (this.relayIp.includes(':') ? 6 : 4)) {
      this.reject('address-family');
      return;
    }
    if (!allocation.hasPermission(peer.address, this.now)) {
      this.reject('no-permission');
      return;
    }
    if (this.overBudget(allocation, data.length)) return;
    allocation.relaySocket.send(data, peer.port, peer.address);
    this.relayedPackets++;
    this.relayedBytes += data.length;
  }

  // ---- relay ports and lifetime ----

  private async bindRelayPort(even: boolean): Promise<{ socket: dgram.Socket; port: number } | undefined> {
    const [low, high] = this.portRange;
    for (let attempt = 0; attempt < PORT_BIND_ATTEMPTS; attempt++) {
      let port = low + Math.floor(Math.random() * (high - low + 1));
      if (even && port % 2 === 1) port = port + 1 <= high ? port + 1 : port - 1;
      if (port < low || this.usedRelayPorts.has(port)) continue;
      const bound = await this.bindSpecificPort(port);
      if (bound) return bound;
    }
    return undefined;
  }

  private bindSpecificPort(port: number): Promise<{ socket: dgram.Socket; port: number } | undefined> {
    const [low, high] = this.portRange;
    if (port < low || port > high || this.usedRelayPorts.has(port)) return Promise.resolve(undefined);
    this.usedRelayPorts.add(port);
    return new Promise((resolve) => {
      const socket = dgram.createSocket({
        type: this.relayIp.includes(':') ? 'udp6' : 'udp4',
        lookup: literalLookup,
        recvBufferSize: 1024 * 1024,
      });
      const onError = (err: Error): void => {
        this.log.debug({ err, port }, 'relay port bind failed');
        this.usedRelayPorts.delete(port);
        socket.close();
        resolve(undefined);
      };
      socket.once('error', onError);
      socket.bind({ port, address: this.relayIp, exclusive: true }, () => {
        socket.off('error', onError);
        socket.on('error', (err) => this.log.debug({ err, port }, 'relay socket error'));
        resolve({ socket, port });
      });
    });
  }

  private releaseRelay(relay: { socket: dgram.Socket; port: number }): void {
    relay.socket.close();
    this.usedRelayPorts.delete(relay.port);
  }

  private deleteAllocation(allocation: Allocation): void {
    if (!this.allocations.delete(allocation)) return;
    allocation.deleted = true;
    const count = (this.allocationsPerUser.get(allocation.username) ?? 1) - 1;
    if (count > 0) this.allocationsPerUser.set(allocation.username, count);
    else this.allocationsPerUser.delete(allocation.username);
    const { client } = allocation;
    if (client.transport === 'udp') {
      const byPort = this.udpAllocations.get(client.address);
      if (byPort?.get(client.port) === allocation) {
        byPort.delete(client.port);
        if (byPort.size === 0) this.udpAllocations.delete(client.address);
      }
    }
    this.releaseRelay({ socket: allocation.relaySocket, port: allocation.relayPort });
    this.log.debug({ relayPort: allocation.relayPort }, 'allocation deleted');
  }

  private sweep(): void {
    const now = Date.now();
    const elapsed = (now - this.lastSweep) / 1000;
    this.now = now;
    this.lastSweep = now;
    for (const allocation of this.allocations) {
      if (allocation.expiresAt <= now) {
        this.deleteAllocation(allocation);
        continue;
      }
      allocation.sweep(now);
      if (this.bytesPerSecond !== Number.POSITIVE_INFINITY) {
        allocation.byteBudget = Math.min(
          this.bytesPerSecond,
          allocation.byteBudget + this.bytesPerSecond * elapsed,
        );
      }
    }
    for (const [token, reservation] of this.reservations) {
      if (reservation.expiresAt <= now) {
        this.reservations.delete(token);
        this.releaseRelay(reservation);
      }
    }
  }
}

function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
