// The WebSocket signaling server: sockets, the request dispatcher, rooms, liveness and limits.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { type Logger, silentLogger } from '../common/logger.js';
import { describeIssues, parseFrame } from './envelope.js';
import {
  type ConnectionContext,
  MethodRegistry,
  type PeerContext,
  type SignalingConnection,
  SignalingError,
} from './methods.js';
import {
  type ErrorCode,
  type IceServer,
  type JoinRequestData,
  type JoinResponseData,
  joinRequestDataSchema,
  leaveRequestDataSchema,
  type SignalData,
  type SignalingRequest,
  type SignalRequestData,
  signalRequestDataSchema,
} from './protocol.js';
import { Peer, type PeerTransport, type Room, RoomRegistry } from './rooms.js';
import { prepareSecret, TokenError, verifyToken } from './tokens.js';

export interface SignalingServerOptions {
  /** Attach to this HTTP server's `upgrade` event (requests for other paths are left alone). */
  server?: http.Server;
  /** Without `server`: listen on this port (0 = any) of `host` (default 127.0.0.1). */
  port?: number;
  host?: string;
  /** Default '/ws'. */
  path?: string;
  /** HS256 secret that join tokens are verified with. */
  secret: string;
  /** The ICE servers (with TURN credentials) a joining identity gets. */
  iceServers: (identity: string, ttlSeconds: number) => IceServer[];
  /** Lifetime of the TURN credentials handed out at join. Default 24 h. */
  iceCredentialTtlSeconds?: number;
  /** Default 10000. A socket that misses two pongs in a row is terminated. */
  pingIntervalMs?: number;
  /** How long a dropped peer may resume with its sessionId. Default 10000. */
  reconnectGraceMs?: number;
  /** Larger frames close the socket 1009. Default 65536. */
  maxMessageBytes?: number;
  /** Sustained rate per socket. Default 50. */
  maxMessagesPerSecond?: number;
  /** Bucket size: how many messages may arrive at once. Default 2 × maxMessagesPerSecond. */
  messageBurst?: number;
  /** A socket whose unsent output exceeds this is too slow to keep and is dropped. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Upgrades beyond this many open sockets are refused with 503. Default 10000. */
  maxSockets?: number;
  /** A socket that has not joined this long after opening is closed 1008. Default 30000. */
  joinTimeoutMs?: number;
  logger?: Logger;
}

export interface PeerEvent {
  roomId: string;
  peerId: string;
  identity: string;
}

export interface SignalingServerEvents {
  peerJoined: [PeerEvent];
  peerLeft: [PeerEvent];
  /** A room came into being with its first peer: set `mode` / `methods` / `appData` here. */
  roomCreated: [Room];
  roomClosed: [Room];
}

export interface SignalingStats {
  sockets: number;
  peers: number;
  rooms: number;
}

/** How many ticks one ping interval is spread over. */
const PING_SLICES = 20;
/** bad_json frames tolerated per socket before it is closed 1007. */
const MAX_BAD_JSON = 5;
/** Requests that may wait behind a slow (async) one on one socket. */
const MAX_QUEUED_REQUESTS = 256;
const CLOSE_INVALID_DATA = 1007;
const CLOSE_POLICY_VIOLATION = 1008;

const EMPTY_RESPONSE_DATA = Object.freeze({});

export class SignalingServer extends EventEmitter<SignalingServerEvents> {
  /** Server-wide methods; rooms may add their own through `room.methods`. */
  readonly methods = new MethodRegistry();
  private readonly registry: RoomRegistry;
  private readonly connections = new Set<Connection>();
  private readonly wss: WebSocketServer;
  private readonly path: string;
  private readonly log: Logger;
  private pingTimer: NodeJS.Timeout | null = null;
  private ownServer: http.Server | null = null;
  private attachedServer: http.Server | null = null;
  private nextConnectionId = 1;
  private pingTick = 0;
  /** Ticks per ping interval; fewer for very short intervals (tests) so a tick stays ≥ 10 ms. */
  private readonly pingSlices: number;
  private closed = false;
  private readonly onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    this.handleUpgrade(req, socket, head);
  };

  private readonly secret: string;
  readonly iceServers: SignalingServerOptions['iceServers'];
  readonly iceCredentialTtlSeconds: number;
  readonly pingIntervalMs: number;
  readonly reconnectGraceMs: number;
  readonly maxMessageBytes: number;
  readonly maxMessagesPerSecond: number;
  readonly messageBurst: number;
  readonly maxBufferedBytes: number;
  readonly maxSockets: number;
  readonly joinTimeoutMs: number;

  private constructor(opts: SignalingServerOptions) {
    super();
    if (typeof opts.secret !== 'string' || opts.secret.length === 0)
      throw new TypeError('secret is required');
    this.secret = opts.secret;
    this.iceServers = opts.iceServers;
    this.iceCredentialTtlSeconds = positive(opts.iceCredentialTtlSeconds, 86_400, 'iceCredentialTtlSeconds');
    this.pingIntervalMs = positive(opts.pingIntervalMs, 10_000, 'pingIntervalMs');
    this.pingSlices = Math.max(1, Math.min(PING_SLICES, Math.floor(this.pingIntervalMs / 10)));
    this.reconnectGraceMs = nonNegative(opts.reconnectGraceMs, 10_000, 'reconnectGraceMs');
    this.maxMessageBytes = positive(opts.maxMessageBytes, 65_536, 'maxMessageBytes');
    this.maxMessagesPerSecond = positive(opts.maxMessagesPerSecond, 50, 'maxMessagesPerSecond');
    this.messageBurst = positive(opts.messageBurst, 2 * this.maxMessagesPerSecond, 'messageBurst');
    this.maxBufferedBytes = positive(opts.maxBufferedBytes, 1 << 20, 'maxBufferedBytes');
    this.maxSockets = positive(opts.maxSockets, 10_000, 'maxSockets');
    this.joinTimeoutMs = positive(opts.joinTimeoutMs, 30_000, 'joinTimeoutMs');
    this.path = opts.path ?? '/ws';
    this.log = (opts.logger ?? silentLogger).child({ component: 'signaling' });
    this.registry = new RoomRegistry(
      (room) => this.emit('roomCreated', room),
      (room) => this.notifyListeners('roomClosed', room),
    );
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.maxMessageBytes,
      // Compression keeps zlib state of hundreds of KB per socket; signaling frames are small.
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.registerBuiltinMethods();
  }

  static async start(opts: SignalingServerOptions): Promise<SignalingServer> {
    const server = new SignalingServer(opts);
    await prepareSecret(server.secret);
    if (opts.server !== undefined) {
      server.attachedServer = opts.server;
      opts.server.on('upgrade', server.onUpgrade);
    } else {
      const own = http.createServer((_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket only\n');
      });
      own.on('upgrade', server.onUpgrade);
      own.on('clientError', (_err, socket) => socket.destroy());
      await new Promise<void>((resolve, reject) => {
        own.once('error', reject);
        own.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
          own.off('error', reject);
          resolve();
        });
      });
      server.ownServer = own;
    }
    server.pingTimer = setInterval(() => server.pingSlice(), server.pingIntervalMs / server.pingSlices);
    return server;
  }

  /** The listening port when the server owns its HTTP server; 0 when attached to another. */
  get port(): number {
    const address = this.ownServer?.address();
    return address !== null && typeof address === 'object' ? (address as AddressInfo).port : 0;
  }

  stats(): SignalingStats {
    return {
      sockets: this.connections.size,
      peers: this.registry.peerCount,
      rooms: this.registry.rooms.size,
    };
  }

  /** The live room with this id, if any (for features that act on rooms from outside). */
  room(roomId: string): Room | undefined {
    return this.registry.rooms.get(roomId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.attachedServer?.off('upgrade', this.onUpgrade);
    await Promise.all([...this.connections].map((connection) => connection.terminateAndWait()));
    // Peers in their grace period have no socket; drop them without notifying anyone.
    for (const room of [...this.registry.rooms.values()]) {
      for (const peer of [...room.peers.values()]) this.registry.remove(peer);
    }
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    const own = this.ownServer;
    if (own !== null) {
      own.closeAllConnections();
      await new Promise<void>((resolve) => own.close(() => resolve()));
    }
  }

  // --- sockets -------------------------------------------------------------------------------

  private handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (path !== this.path) {
      // On a shared server another upgrade listener may own this path; if there is none, refuse.
      const others = this.attachedServer === null ? 0 : this.attachedServer.listenerCount('upgrade') - 1;
      if (others === 0) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    if (this.closed || this.connections.size >= this.maxSockets) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  private accept(ws: WebSocket): void {
    if (this.closed) {
      ws.terminate();
      return;
    }
    const connection = new Connection(this.nextConnectionId++, ws, this, this.log);
    this.connections.add(connection);
    this.log.debug({ conn: connection.id }, 'socket open');
  }

  /** @internal Called by a Connection once, when its socket has closed. */
  connectionClosed(connection: Connection, code: number): void {
    this.connections.delete(connection);
    const peer = connection.peer;
    this.log.debug({ conn: connection.id, code, peer: peer?.id }, 'socket closed');
    if (peer === null) return;
    connection.peer = null;
    peer.transport = null;
    if (this.closed) return;
    if (this.reconnectGraceMs === 0) {
      this.removePeer(peer);
      return;
    }
    peer.graceTimer = setTimeout(() => {
      peer.graceTimer = null;
      this.removePeer(peer);
    }, this.reconnectGraceMs);
  }

  /**
   * Pings one slice of the sockets. Each socket is pinged once per pingIntervalMs, but the
   * sockets are spread over PING_SLICES ticks: pinging thousands at once blocks the event loop
   * for a noticeable time (about 0.1 s for 5000 sockets measured here).
   */
  private pingSlice(): void {
    const slice = this.pingTick++ % this.pingSlices;
    // Sockets that never joined are checked here too, so no timer is needed per socket.
    const joinDeadline = performance.now() - this.joinTimeoutMs;
    for (const connection of this.connections) {
      if (connection.id % this.pingSlices !== slice) continue;
      if (!connection.everJoined && connection.openedAt < joinDeadline)
        connection.closeForPolicy('join timeout');
      else connection.ping();
    }
  }

  // --- dispatch ------------------------------------------------------------------------------

  /** @internal Runs one request; returns a promise only when the handler is async. */
  dispatch(connection: Connection, request: SignalingRequest): Promise<void> | undefined {
    const id = request.id;
    const peer = connection.peer;
    const definition = peer?.room.methods?.get(request.method) ?? this.methods.get(request.method);
    if (definition === undefined) {
      connection.sendError(id, 'unknown_method', `unknown method ${request.method.slice(0, 64)}`);
      return undefined;
    }
    if (definition.scope === 'peer' && peer === null) {
      connection.sendError(id, 'not_joined', `${request.method} requires join first`);
      return undefined;
    }
    const parsed = definition.schema.safeParse(request.data ?? EMPTY_RESPONSE_DATA);
    if (!parsed.success) {
      connection.sendError(id, 'bad_request', describeIssues(parsed.error));
      return undefined;
    }
    let result: unknown;
    try {
      if (definition.scope === 'peer') {
        const joined = peer as Peer;
        if (definition.permission !== undefined && !joined.permissions[definition.permission]) {
          connection.sendError(id, 'forbidden', `the token does not grant ${definition.permission}`);
          return undefined;
        }
        result = definition.handle({ connection, peer: joined, room: joined.room }, parsed.data);
      } else {
        result = definition.handle({ connection }, parsed.data);
      }
    } catch (err) {
      this.answerFailure(connection, request, err);
      return undefined;
    }
    if (result instanceof Promise) {
      return result.then(
        (data) => connection.sendResult(id, data),
        (err) => this.answerFailure(connection, request, err),
      );
    }
    connection.sendResult(id, result);
    return undefined;
  }

  private answerFailure(connection: Connection, request: SignalingRequest, err: unknown): void {
    if (err instanceof SignalingError) {
      connection.sendError(request.id, err.code, err.message);
      return;
    }
    this.log.error({ err, method: request.method, conn: connection.id }, 'signaling handler failed');
    connection.sendError(request.id, 'internal', 'internal error');
  }

  // --- built-in methods ----------------------------------------------------------------------

  private registerBuiltinMethods(): void {
    this.methods.register<JoinRequestData>('join', {
      scope: 'connection',
      schema: joinRequestDataSchema,
      handle: (ctx, data) => this.join(ctx, data),
    });
    this.methods.register('leave', {
      scope: 'peer',
      schema: leaveRequestDataSchema,
      handle: (ctx) => {
        this.removePeer(ctx.peer);
        return EMPTY_RESPONSE_DATA;
      },
    });
    this.methods.register<SignalRequestData>('signal', {
      scope: 'peer',
      schema: signalRequestDataSchema,
      handle: (ctx, data) => this.signal(ctx, data),
    });
  }

  private async join(ctx: ConnectionContext, data: JoinRequestData): Promise<JoinResponseData> {
    const connection = ctx.connection as Connection;
    if (connection.peer !== null) throw new SignalingError('bad_request', 'already joined');
    if (data.token === undefined || data.token.length === 0)
      throw new SignalingError('unauthorized', 'token missing');
    let claims: Awaited<ReturnType<typeof verifyToken>>;
    try {
      claims = await verifyToken(this.secret, data.token);
    } catch (err) {
      if (err instanceof TokenError) throw new SignalingError('unauthorized', err.message);
      throw err;
    }
    // The socket may have gone (or the server closed) while the token was being checked.
    if (connection.closing || this.closed) throw new SignalingError('bad_request', 'socket closed');
    const iceServers = this.iceServers(claims.sub, this.iceCredentialTtlSeconds);

    const resumed =
      data.sessionId === undefined ? undefined : this.registry.peersBySession.get(data.sessionId);
    if (resumed !== undefined && resumed.identity === claims.sub && resumed.room.id === claims.room) {
      // Same peer, new socket: the room sees nothing. A socket still attached is stale.
      if (resumed.graceTimer !== null) clearTimeout(resumed.graceTimer);
      resumed.graceTimer = null;
      const stale = resumed.transport as Connection | null;
      if (stale !== null) {
        stale.peer = null;
        stale.terminate();
      }
      connection.attach(resumed);
      this.log.debug({ peer: resumed.id, room: resumed.room.id }, 'peer resumed');
      return this.joinResponse(resumed, iceServers);
    }

    const room = this.registry.getOrCreate(claims.room, claims.mode);
    const displayName = nonEmpty(data.displayName) ?? nonEmpty(claims.name) ?? claims.sub;
    const peer = new Peer(
      `p-${randomBytes(9).toString('base64url')}`,
      `s-${randomBytes(18).toString('base64url')}`,
      claims.sub,
      displayName,
      room,
      claims.perms,
    );
    this.registry.add(peer);
    connection.attach(peer);
    room.broadcast('peerJoined', peer.info(), peer);
    this.log.debug({ peer: peer.id, room: room.id }, 'peer joined');
    this.notifyListeners('peerJoined', { roomId: room.id, peerId: peer.id, identity: peer.identity });
    return this.joinResponse(peer, iceServers);
  }

  private joinResponse(peer: Peer, iceServers: IceServer[]): JoinResponseData {
    return {
      peerId: peer.id,
      sessionId: peer.sessionId,
      roomId: peer.room.id,
      mode: peer.room.mode,
      peers: peer.room.peerInfos(peer),
      iceServers,
      permissions: peer.permissions,
    };
  }

  private signal(ctx: PeerContext, data: SignalRequestData): object {
    const target = ctx.room.peers.get(data.to);
    if (target === undefined || target === ctx.peer) {
      throw new SignalingError('not_found', `no peer ${data.to.slice(0, 64)} in this room`);
    }
    const relayed: SignalData = { from: ctx.peer.id };
    if (data.description !== undefined) relayed.description = data.description;
    else relayed.candidate = data.candidate;
    // A target in its grace period has no socket: the message is dropped, as on any lossy path.
    target.notify('signal', relayed);
    return EMPTY_RESPONSE_DATA;
  }

  /** Takes a peer out of its room for good and tells the others. */
  private removePeer(peer: Peer): void {
    if (!this.registry.remove(peer)) return;
    const transport = peer.transport as Connection | null;
    if (transport !== null) transport.peer = null;
    peer.transport = null;
    peer.room.broadcast('peerLeft', { peerId: peer.id });
    this.log.debug({ peer: peer.id, room: peer.room.id }, 'peer left');
    this.notifyListeners('peerLeft', { roomId: peer.room.id, peerId: peer.id, identity: peer.identity });
  }

  /** Emits an event whose listeners must not be able to break the state change it reports. */
  private notifyListeners<E extends 'peerJoined' | 'peerLeft' | 'roomClosed'>(
    event: E,
    ...args: SignalingServerEvents[E]
  ): void {
    try {
      (this.emit as (event: E, ...args: SignalingServerEvents[E]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error({ err, event }, 'signaling event listener threw');
    }
  }

  /** Internal maps, for leak tests. */
  debugSizes(): { connections: number; rooms: number; sessions: number; peers: number } {
    return {
      connections: this.connections.size,
      rooms: this.registry.rooms.size,
      sessions: this.registry.peersBySession.size,
      peers: this.registry.peerCount,
    };
  }
}

/** One WebSocket: rate limiting, bad-frame counting, in-order request processing, liveness. */
class Connection implements PeerTransport, SignalingConnection {
  peer: Peer | null = null;
  closing = false;
  everJoined = false;
  readonly openedAt = performance.now();
  private missedPongs = 0;
  private badJsonFrames = 0;
  private tokens: number;
  private lastRefill: number;
  /** Messages refused since the bucket was last full; too many closes the socket 1008. */
  private refused = 0;
  /** Requests that arrived while an async one was running; answered in order. */
  private queue: SignalingRequest[] = [];
  private busy = false;

  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
    private readonly server: SignalingServer,
    private readonly log: Logger,
  ) {
    this.tokens = server.messageBurst;
    this.lastRefill = performance.now();
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', () => {
      this.missedPongs = 0;
    });
    ws.on('error', (err) => {
      // ws closes the socket after protocol errors (e.g. 1009 for oversize frames).
      this.log.debug({ conn: this.id, err: err.message }, 'socket error');
    });
    ws.once('close', (code) => {
      this.closing = true;
      this.queue.length = 0;
      this.server.connectionClosed(this, code);
    });
  }

  attach(peer: Peer): void {
    this.everJoined = true;
    this.peer = peer;
    peer.transport = this;
  }

  ping(): void {
    if (this.missedPongs >= 2) {
      this.log.debug({ conn: this.id }, 'missed two pongs: terminating');
      this.terminate();
      return;
    }
    this.missedPongs++;
    this.ws.ping();
  }

  terminate(): void {
    this.closing = true;
    this.ws.terminate();
  }

  /** Resolves once the socket has closed and the server has forgotten this connection. */
  terminateAndWait(): Promise<void> {
    if (this.ws.readyState === this.ws.CLOSED) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
    this.terminate();
    return closed;
  }

  private close(code: number, reason: string): void {
    this.closing = true;
    this.ws.close(code, reason);
  }

  closeForPolicy(reason: string): void {
    if (!this.closing) this.close(CLOSE_POLICY_VIOLATION, reason);
  }

  sendText(text: string): void {
    if (this.closing || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.server.maxBufferedBytes) {
      // The peer does not read what it is sent; holding more would grow without bound.
      this.log.warn({ conn: this.id }, 'slow consumer: terminating');
      this.terminate();
      return;
    }
    this.ws.send(text);
  }

  sendResult(id: number, data: unknown): void {
    let text: string;
    try {
      text = `{"type":"response","id":${id},"ok":true,"data":${JSON.stringify(data ?? EMPTY_RESPONSE_DATA)}}`;
    } catch (err) {
      // A handler returned something JSON cannot carry (a cycle, a BigInt): its bug, not the peer's.
      this.log.error({ err, conn: this.id }, 'signaling response not serialisable');
      this.sendError(id, 'internal', 'internal error');
      return;
    }
    this.sendText(text);
  }

  sendError(id: number | null, code: ErrorCode, message: string): void {
    this.sendText(JSON.stringify({ type: 'response', id, ok: false, error: { code, message } }));
  }

  private takeToken(): boolean {
    const now = performance.now();
    const burst = this.server.messageBurst;
    this.tokens = Math.min(
      burst,
      this.tokens + ((now - this.lastRefill) * this.server.maxMessagesPerSecond) / 1000,
    );
    this.lastRefill = now;
    if (this.tokens >= burst) this.refused = 0;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    if (!this.takeToken()) {
      if (++this.refused > this.server.maxMessagesPerSecond) {
        this.closeForPolicy('rate limit exceeded');
        return;
      }
      this.sendError(null, 'rate_limited', 'too many messages');
      return;
    }
    if (isBinary) {
      this.badJson('binary frames are not accepted');
      return;
    }
    const frame = parseFrame(rawText(data));
    switch (frame.kind) {
      case 'request':
        if (this.busy) {
          if (this.queue.length >= MAX_QUEUED_REQUESTS) {
            this.sendError(frame.message.id, 'rate_limited', 'too many requests in flight');
          } else {
            this.queue.push(frame.message);
          }
          return;
        }
        this.run(frame.message);
        return;
      case 'error':
        if (frame.code === 'bad_json') this.badJson(frame.message);
        else this.sendError(frame.id, frame.code, frame.message);
        return;
      default:
        // The server sends no requests, so responses and notifications from clients mean nothing.
        return;
    }
  }

  private run(request: SignalingRequest): void {
    const pending = this.server.dispatch(this, request);
    if (pending === undefined) return;
    this.busy = true;
    const resume = () => {
      this.busy = false;
      while (!this.busy && !this.closing && this.queue.length > 0) this.run(this.queue.shift()!);
    };
    // dispatch's promise settles its own errors; the second handler only keeps the queue moving.
    void pending.then(resume, resume);
  }

  private badJson(message: string): void {
    this.sendError(null, 'bad_json', message);
    if (++this.badJsonFrames >= MAX_BAD_JSON) this.close(CLOSE_INVALID_DATA, 'too many malformed frames');
  }
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim().length > 0 ? value : undefined;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(value > 0) || !Number.isFinite(value)) throw new TypeError(`${name} must be a positive number`);
  return value;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(value >= 0) || !Number.isFinite(value)) throw new TypeError(`${name} must be a non-negative number`);
  return value;
}
