// SFU rooms: each signaling room in `sfu` mode gets a router on the least-loaded worker, and its
// peers get the SFU requests of docs/signaling-protocol.md ("SFU rooms"). A room that outgrows
// its router (RouterCapacity) gets more routers on other workers; each peer's transports live on
// one of them and producers are piped (`pipeToRouter`) to the routers whose peers consume them.
// Every id a request names is looked up among the caller's own objects only; what a peer owns is
// closed when it leaves (or its grace period ends), and the routers close when the room empties.
import type { Logger } from '../common/logger.js';
import { silentLogger } from '../common/logger.js';
import type {
  ActiveSpeakerObserver,
  Consumer,
  DataConsumer,
  DataProducer,
  Producer,
  RtpCapabilities,
  RtpCodecCapability,
  TransportListenInfo,
  WebRtcTransport,
} from '../sfu/public-types.js';
import type { PeerContext } from '../signaling/methods.js';
import { MethodRegistry, SignalingError } from '../signaling/methods.js';
import type { Peer, Room } from '../signaling/rooms.js';
import type { SignalingServer } from '../signaling/server.js';
import {
  connectWebRtcTransportSchema,
  consumerIdSchema,
  createWebRtcTransportSchema,
  dataProducerIdSchema,
  emptySchema,
  getStatsSchema,
  type NewConsumerData,
  type NewDataConsumerData,
  produceDataSchema,
  producerIdSchema,
  produceSchema,
  restartIceSchema,
  setPreferredLayersSchema,
  setRtpCapabilitiesSchema,
  type WebRtcTransportInfo,
} from '../signaling/sfu-protocol.js';
import type { RoomModeSetting } from '../signaling/tokens.js';
import type { PooledRouter, WorkerPool } from './worker-pool.js';

export const defaultMediaCodecs: RtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, parameters: { 'x-google-start-bitrate': 1000 } },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
];

/** Receive and send buffer asked for on the rooms' transport sockets. */
const SOCKET_BUFFER_BYTES = 1 << 20;

export interface SfuRoomsOptions {
  pool: WorkerPool;
  /** Mode of rooms whose creating token names none. Default 'p2p'. */
  defaultMode?: RoomModeSetting;
  /** Where WebRTC transports listen (ip, announcedAddress, protocol). */
  listenInfos: TransportListenInfo[];
  mediaCodecs?: RtpCodecCapability[];
  /** Transports one peer may hold at once. Default 4. */
  maxTransportsPerPeer?: number;
  /** Producers (media plus data) one peer may hold at once. Default 32. */
  maxProducersPerPeer?: number;
  initialAvailableOutgoingBitrate?: number;
  /** When a room's router is full and the room spreads to another worker. */
  routerCapacity?: RouterCapacity;
  logger?: Logger;
}

/**
 * A router is full when either limit is reached; a peer joining a room whose routers are all
 * full gets a new router on a worker the room is not on yet (if any), and the room's producers
 * are piped to it. Load is counted when a peer is placed, i.e. at its first SFU request.
 */
export interface RouterCapacity {
  /** Peers whose transports are on the router. Default unlimited. */
  peers?: number;
  /**
   * Consumers on the router. Default 200: at ~250 packets/s per video consumer and ~30 µs of
   * worker CPU per forwarded packet (docs/sfu-media.md) a worker core is busy well before that.
   */
  consumers?: number;
}

export const DEFAULT_ROUTER_CAPACITY: Required<RouterCapacity> = {
  peers: Number.POSITIVE_INFINITY,
  consumers: 200,
};

type Direction = 'send' | 'recv';

/** `auto` rooms use the SFU from this many peers on, and P2P below. */
export const AUTO_SFU_FROM_PEERS = 3;

/** What one peer owns in the SFU. */
class SfuPeer {
  readonly transports = new Map<string, WebRtcTransport>();
  readonly directions = new Map<string, Direction>();
  readonly producers = new Map<string, Producer>();
  readonly consumers = new Map<string, Consumer>();
  readonly dataProducers = new Map<string, DataProducer>();
  readonly dataConsumers = new Map<string, DataConsumer>();
  /** Producers already consumed (or being consumed) by this peer: each once. */
  readonly consumed = new Set<string>();
  /** Each consumer's `newConsumer` data, to announce again after a resume. */
  readonly announcements = new Map<string, NewConsumerData>();
  readonly dataConsumed = new Set<string>();
  /** Each data consumer's `newDataConsumer` data, to announce again after a resume. */
  readonly dataAnnouncements = new Map<string, NewDataConsumerData>();
  rtpCapabilities: RtpCapabilities | undefined;
  /** Where consumers go: the latest recv transport. */
  recvTransport: WebRtcTransport | undefined;
  /** The room router this peer's transports (hence its producers and consumers) are on. */
  router: PooledRouter | undefined;
  closed = false;

  constructor(readonly peer: Peer) {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Closing a transport closes its producers and consumers; others' consumers follow.
    for (const transport of this.transports.values()) transport.close();
    this.transports.clear();
    this.producers.clear();
    this.consumers.clear();
    this.dataProducers.clear();
    this.dataConsumers.clear();
  }
}

/** One room's routers (one per worker it spans) and its peers' SFU state. */
export class SfuRoom {
  readonly peers = new Map<string, SfuPeer>();
  /** The room's routers, each on its own worker; [0] hosts the active speaker observer. */
  readonly routers: PooledRouter[] = [];
  closed = false;
  private speakerObserver: ActiveSpeakerObserver | undefined;
  readonly ready: Promise<PooledRouter>;
  /** Placements run one at a time, so two joins cannot both open a new router. */
  private placing: Promise<unknown> = Promise.resolve();
  /** Producer or data producer id → router id → the pipe that makes it exist on that router. */
  private readonly pipes = new Map<string, Map<string, Promise<void>>>();

  constructor(
    readonly room: Room,
    private readonly pool: WorkerPool,
    private readonly mediaCodecs: RtpCodecCapability[],
    private readonly log: Logger,
    /** An `auto` room: P2P below AUTO_SFU_FROM_PEERS peers, SFU from there. */
    readonly auto = false,
    /** One of the room's workers died: everything of this room on it is gone. */
    private readonly onRouterLost: (sfuRoom: SfuRoom) => void = () => {},
    private readonly capacity: Required<RouterCapacity> = DEFAULT_ROUTER_CAPACITY,
  ) {
    this.ready = pool.createRouter({ mediaCodecs }).then(async (pooled) => {
      if (this.closed) {
        pooled.close();
        throw new SignalingError('not_found', 'the room has closed');
      }
      this.adopt(pooled);
      try {
        const observer = await pooled.router.createActiveSpeakerObserver({ interval: 300 });
        this.speakerObserver = observer;
        observer.on('dominantspeaker', ({ producer }) => {
          const peerId = producer.appData.peerId;
          if (typeof peerId === 'string') {
            this.room.broadcast('activeSpeaker', { peerId, producerId: producer.id });
          }
        });
      } catch (err) {
        this.log.warn({ err, room: room.id }, 'no active speaker observer');
      }
      return pooled;
    });
    // A router that never came up fails the requests that need it, not the process.
    this.ready.catch((err) => {
      if (!(err instanceof SignalingError)) this.log.error({ err, room: room.id }, 'router creation failed');
    });
  }

  /** The room's first router. */
  get router(): PooledRouter | undefined {
    return this.routers[0];
  }

  private adopt(pooled: PooledRouter): void {
    this.routers.push(pooled);
    pooled.router.once('workerclose', () => this.onRouterLost(this));
    pooled.router.observer.once('close', () => {
      const i = this.routers.indexOf(pooled);
      if (i !== -1) this.routers.splice(i, 1);
      for (const byRouter of this.pipes.values()) byRouter.delete(pooled.router.id);
    });
  }

  peerState(peer: Peer): SfuPeer {
    let state = this.peers.get(peer.id);
    if (state === undefined) {
      if (this.closed) throw new SignalingError('not_found', 'the room has closed');
      state = new SfuPeer(peer);
      this.peers.set(peer.id, state);
    }
    return state;
  }

  /** Puts a peer on the least-loaded router that is not full, opening one on another worker if all are. */
  place(state: SfuPeer): Promise<PooledRouter> {
    const placed = this.placing.then(async () => {
      if (state.router !== undefined) return state.router;
      await this.ready;
      let target = this.leastLoaded(this.routers.filter((r) => !this.isFull(r)));
      const workers = this.routers.map((r) => r.worker);
      if (target === undefined && this.pool.hasWorkerBesides(workers)) {
        try {
          target = await this.pool.createRouter({ mediaCodecs: this.mediaCodecs }, workers);
          if (this.closed) target.close();
          else this.adopt(target);
          this.log.info(
            { room: this.room.id, routers: this.routers.length, worker: target.workerPid },
            'room spread to another worker',
          );
        } catch (err) {
          this.log.warn({ err, room: this.room.id }, 'could not open another router for the room');
          target = undefined;
        }
      }
      target ??= this.leastLoaded(this.routers);
      if (target === undefined || this.closed || target.router.closed)
        throw new SignalingError('not_found', 'the room has closed');
      if (state.closed) throw new SignalingError('not_found', 'the peer has left');
      state.router = target;
      target.peerAdded();
      return target;
    });
    this.placing = placed.catch(() => {});
    return placed;
  }

  /** Consumers on a router: those of the peers placed on it. */
  private consumersOn(pooled: PooledRouter): number {
    let count = 0;
    for (const state of this.peers.values()) if (state.router === pooled) count += state.consumers.size;
    return count;
  }

  private isFull(pooled: PooledRouter): boolean {
    return pooled.peerCount >= this.capacity.peers || this.consumersOn(pooled) >= this.capacity.consumers;
  }

  private leastLoaded(candidates: PooledRouter[]): PooledRouter | undefined {
    let best: PooledRouter | undefined;
    for (const pooled of candidates) {
      if (pooled.router.closed) continue;
      if (
        best === undefined ||
        pooled.peerCount < best.peerCount ||
        (pooled.peerCount === best.peerCount && this.consumersOn(pooled) < this.consumersOn(best))
      )
        best = pooled;
    }
    return best;
  }

  /**
   * Makes a producer (or data producer) created on `from` exist on `to` as well, piping it once
   * per target router; resolves when consumers on `to` can consume it.
   */
  pipe(id: string, kind: 'producer' | 'dataProducer', from: PooledRouter, to: PooledRouter): Promise<void> {
    if (from === to) return Promise.resolve();
    let byRouter = this.pipes.get(id);
    if (byRouter === undefined) {
      byRouter = new Map();
      this.pipes.set(id, byRouter);
    }
    let piped = byRouter.get(to.router.id);
    if (piped === undefined) {
      const target = byRouter;
      piped = from.router
        .pipeToRouter({
          ...(kind === 'producer' ? { producerId: id } : { dataProducerId: id }),
          router: to.router,
        })
        .then(() => {});
      target.set(to.router.id, piped);
      piped.catch(() => target.delete(to.router.id));
    }
    return piped;
  }

  /** A producer or data producer closed: forget its pipes (their pipe producers close with it). */
  forgetPipes(id: string): void {
    this.pipes.delete(id);
  }

  removePeer(peerId: string): void {
    const state = this.peers.get(peerId);
    if (state === undefined) return;
    this.peers.delete(peerId);
    state.close();
    const pooled = state.router;
    if (pooled === undefined) return;
    pooled.peerRemoved();
    // A router other than the first that nobody is on any more only costs its pipes.
    if (pooled !== this.routers[0] && pooled.peerCount === 0 && !this.closed) pooled.close();
  }

  /**
   * `auto` rooms: after a peer joined or left, switch to the SFU at AUTO_SFU_FROM_PEERS peers or
   * back to P2P below, and tell everyone with `modeChanged`. Going back to P2P closes every
   * peer's SFU objects (their clients close their side on the notification).
   */
  updateAutoMode(): void {
    if (!this.auto || this.closed) return;
    const want = this.room.peers.size >= AUTO_SFU_FROM_PEERS ? 'sfu' : 'p2p';
    if (this.room.mode === want) return;
    this.room.mode = want;
    if (want === 'p2p') {
      for (const peerId of [...this.peers.keys()]) this.removePeer(peerId);
    }
    this.room.broadcast('modeChanged', { mode: want });
  }

  /** Feeds an audio producer to the active speaker observer on the first router. */
  addSpeaker(producer: Producer, origin: PooledRouter): void {
    const observer = this.speakerObserver;
    const first = this.routers[0];
    if (producer.kind !== 'audio' || observer === undefined || first === undefined) return;
    this.pipe(producer.id, 'producer', origin, first)
      .then(() => observer.addProducer({ producerId: producer.id }))
      .catch(() => {});
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const state of this.peers.values()) state.close();
    this.peers.clear();
    for (const pooled of [...this.routers]) pooled.close();
    this.routers.length = 0;
    this.pipes.clear();
  }
}

/** Attaches SFU rooms to a signaling server; one instance per server. */
export class SfuRooms {
  readonly methods = new MethodRegistry();
  private readonly rooms = new Map<string, SfuRoom>();
  private closed = false;
  private readonly log: Logger;
  private readonly pool: WorkerPool;
  private readonly defaultMode: RoomModeSetting;
  private readonly listenInfos: TransportListenInfo[];
  private readonly mediaCodecs: RtpCodecCapability[];
  private readonly maxTransports: number;
  private readonly maxProducers: number;
  private readonly initialBitrate: number | undefined;
  private readonly capacity: Required<RouterCapacity>;

  constructor(signaling: SignalingServer, opts: SfuRoomsOptions) {
    this.pool = opts.pool;
    this.defaultMode = opts.defaultMode ?? 'p2p';
    // ~1 MiB socket buffers unless the caller chose: a worker descheduled for tens of ms (or a
    // burst after an overload) otherwise overflows the kernel's default (~208 KB) and loses media.
    // The kernel caps them to net.core.rmem_max / wmem_max.
    this.listenInfos = opts.listenInfos.map((info) => ({
      recvBufferSize: SOCKET_BUFFER_BYTES,
      sendBufferSize: SOCKET_BUFFER_BYTES,
      ...info,
    }));
    this.mediaCodecs = opts.mediaCodecs ?? defaultMediaCodecs;
    this.maxTransports = opts.maxTransportsPerPeer ?? 4;
    this.maxProducers = opts.maxProducersPerPeer ?? 32;
    this.initialBitrate = opts.initialAvailableOutgoingBitrate;
    this.capacity = { ...DEFAULT_ROUTER_CAPACITY, ...opts.routerCapacity };
    for (const [key, value] of Object.entries(this.capacity)) {
      if (!(value >= 1)) throw new TypeError(`routerCapacity.${key} must be at least 1, got ${value}`);
    }
    this.log = (opts.logger ?? silentLogger).child({ component: 'sfu-rooms' });
    this.registerMethods();
    signaling.on('roomCreated', (room) => this.onRoomCreated(room));
    signaling.on('roomClosed', (room) => this.onRoomClosed(room));
    signaling.on('peerJoined', ({ roomId }) => this.rooms.get(roomId)?.updateAutoMode());
    signaling.on('peerLeft', ({ roomId, peerId }) => {
      const sfuRoom = this.rooms.get(roomId);
      sfuRoom?.removePeer(peerId);
      sfuRoom?.updateAutoMode();
    });
  }

  /** The SFU state of a live room (tests, /healthz). */
  room(roomId: string): SfuRoom | undefined {
    return this.rooms.get(roomId);
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  private onRoomCreated(room: Room): void {
    const setting = room.requestedMode ?? this.defaultMode;
    if (setting === 'p2p' || this.closed) return;
    // An `auto` room starts peer-to-peer; its router is ready for when a third peer comes.
    room.mode = setting === 'auto' ? 'p2p' : 'sfu';
    room.methods = this.methods;
    this.install(room, setting === 'auto');
  }

  private install(room: Room, auto: boolean): SfuRoom {
    const sfuRoom = new SfuRoom(
      room,
      this.pool,
      this.mediaCodecs,
      this.log,
      auto,
      (lost) => this.routerLost(lost),
      this.capacity,
    );
    this.rooms.set(room.id, sfuRoom);
    room.appData.sfu = sfuRoom;
    return sfuRoom;
  }

  /**
   * A worker died under a room: give the room a fresh router (on a live worker) and tell its
   * peers with `sfuRestart` to set up their SFU session again. Their old transports are gone.
   */
  private routerLost(lost: SfuRoom): void {
    if (this.closed || this.rooms.get(lost.room.id) !== lost || lost.closed) return;
    this.log.warn({ room: lost.room.id }, 'router lost with its worker: moving the room');
    lost.close();
    this.install(lost.room, lost.auto);
    if (lost.room.mode === 'sfu') lost.room.broadcast('sfuRestart', {});
  }

  private onRoomClosed(room: Room): void {
    const sfuRoom = this.rooms.get(room.id);
    if (sfuRoom === undefined || sfuRoom.room !== room) return;
    this.rooms.delete(room.id);
    sfuRoom.close();
  }

  close(): void {
    this.closed = true;
    for (const sfuRoom of this.rooms.values()) sfuRoom.close();
    this.rooms.clear();
  }

  // --- helpers -------------------------------------------------------------------------------

  private sfuRoomOf(ctx: PeerContext): SfuRoom {
    const sfuRoom = ctx.room.appData.sfu;
    if (!(sfuRoom instanceof SfuRoom) || sfuRoom.closed)
      throw new SignalingError('not_found', 'no SFU in this room');
    return sfuRoom;
  }

  /**
   * The room, the caller's router (placed on first use, awaited) and state; fails if either went
   * away meanwhile.
   */
  private async enter(ctx: PeerContext): Promise<{ sfuRoom: SfuRoom; pooled: PooledRouter; me: SfuPeer }> {
    const sfuRoom = this.sfuRoomOf(ctx);
    const me = sfuRoom.peerState(ctx.peer);
    const pooled = me.router ?? (await sfuRoom.place(me));
    if (me.closed || sfuRoom.closed) throw new SignalingError('not_found', 'the peer has left');
    return { sfuRoom, pooled, me };
  }

  private mine(ctx: PeerContext): SfuPeer {
    const me = this.sfuRoomOf(ctx).peers.get(ctx.peer.id);
    if (me === undefined || me.closed) throw new SignalingError('not_found', 'nothing created yet');
    return me;
  }

  private static find<T>(map: Map<string, T>, id: string, what: string): T {
    const found = map.get(id);
    if (found === undefined) throw new SignalingError('not_found', `no ${what} ${id.slice(0, 64)} of yours`);
    return found;
  }

  /**
   * Runs an SFU call on `target`, turning argument and state errors into `bad_request`, and any
   * failure of a target that closed meanwhile (its owner left, its producer closed) into
   * `not_found`, as if the request had come a moment later.
   */
  private static async sfuCall<T>(target: { readonly closed: boolean }, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      // The worker may close the object (its producer or transport closed there) before the
      // notification reaches this process: it then answers that it has no handler for it.
      if (target.closed || (err instanceof Error && err.message.startsWith('handler not found')))
        throw new SignalingError('not_found', 'it closed meanwhile');
      throw toSignalingError(err);
    }
  }

  private register<T>(
    name: string,
    schema: import('zod').ZodType<T>,
    handle: (ctx: PeerContext, data: T) => Promise<unknown>,
    permission?: 'publish' | 'publishData' | 'subscribe',
  ): void {
    this.methods.register<T>(name, {
      scope: 'peer',
      schema,
      ...(permission ? { permission } : {}),
      handle: async (ctx, data) => {
        try {
          return await handle(ctx, data);
        } catch (err) {
          throw toSignalingError(err);
        }
      },
    });
  }

  // --- methods -------------------------------------------------------------------------------

  private registerMethods(): void {
    this.register('getRouterRtpCapabilities', emptySchema, async (ctx) => {
      const { pooled } = await this.enter(ctx);
      return { rtpCapabilities: pooled.router.rtpCapabilities };
    });

    this.register(
      'setRtpCapabilities',
      setRtpCapabilitiesSchema,
      async (ctx, data) => {
        const { sfuRoom, me } = await this.enter(ctx);
        me.rtpCapabilities = data.rtpCapabilities as unknown as RtpCapabilities;
        // Sent again (e.g. after a signaling reconnect): announce the live consumers once more,
        // since notifications to a peer without a socket are dropped.
        for (const announcement of me.announcements.values()) ctx.peer.notify('newConsumer', announcement);
        for (const announcement of me.dataAnnouncements.values())
          ctx.peer.notify('newDataConsumer', announcement);
        this.subscribeLater(sfuRoom, me);
        return {};
      },
      'subscribe',
    );

    this.register('createWebRtcTransport', createWebRtcTransportSchema, async (ctx, data) => {
      const perms = ctx.peer.permissions;
      if (data.direction === 'recv' && !perms.subscribe)
        throw new SignalingError('forbidden', 'the token does not grant subscribe');
      if (data.direction === 'send' && !perms.publish && !perms.publishData)
        throw new SignalingError('forbidden', 'the token does not grant publish');
      const { sfuRoom, pooled, me } = await this.enter(ctx);
      if (me.transports.size >= this.maxTransports)
        throw new SignalingError('bad_request', `at most ${this.maxTransports} transports per peer`);
      const sctp = data.sctpCapabilities as { numStreams?: { OS?: unknown; MIS?: unknown } } | undefined;
      const transport = await SfuRooms.sfuCall(pooled.router, () =>
        pooled.router.createWebRtcTransport({
          listenInfos: this.listenInfos,
          preferUdp: true,
          enableSctp: sctp !== undefined,
          ...(sctp !== undefined ? { numSctpStreams: { OS: 1024, MIS: 1024 } } : {}),
          ...(this.initialBitrate !== undefined
            ? { initialAvailableOutgoingBitrate: this.initialBitrate }
            : {}),
          appData: { peerId: ctx.peer.id, direction: data.direction },
        }),
      );
      if (me.closed) {
        transport.close();
        throw new SignalingError('not_found', 'the peer has left');
      }
      me.transports.set(transport.id, transport);
      me.directions.set(transport.id, data.direction);
      transport.observer.once('close', () => {
        me.transports.delete(transport.id);
        me.directions.delete(transport.id);
        if (me.recvTransport === transport) me.recvTransport = undefined;
      });
      if (data.direction === 'recv') {
        me.recvTransport = transport;
        this.subscribeLater(sfuRoom, me);
      }
      const info: WebRtcTransportInfo = {
        id: transport.id,
        iceParameters: transport.iceParameters,
        iceCandidates: transport.iceCandidates,
        dtlsParameters: transport.dtlsParameters,
        sctpParameters: transport.sctpParameters,
      };
      return info;
    });

    this.register('connectWebRtcTransport', connectWebRtcTransportSchema, async (ctx, data) => {
      const transport = SfuRooms.find(this.mine(ctx).transports, data.transportId, 'transport');
      await SfuRooms.sfuCall(transport, () =>
        transport.connect({ dtlsParameters: data.dtlsParameters as never }),
      );
      return {};
    });

    this.register('restartIce', restartIceSchema, async (ctx, data) => {
      const transport = SfuRooms.find(this.mine(ctx).transports, data.transportId, 'transport');
      const iceParameters = await SfuRooms.sfuCall(transport, () => transport.restartIce());
      return { iceParameters };
    });

    this.register(
      'produce',
      produceSchema,
      async (ctx, data) => {
        const { sfuRoom, pooled, me } = await this.enter(ctx);
        const transport = SfuRooms.find(me.transports, data.transportId, 'transport');
        if (me.directions.get(transport.id) !== 'send')
          throw new SignalingError('bad_request', 'produce needs a send transport');
        if (me.producers.size + me.dataProducers.size >= this.maxProducers)
          throw new SignalingError('bad_request', `at most ${this.maxProducers} producers per peer`);
        const producer = await SfuRooms.sfuCall(transport, () =>
          transport.produce({
            kind: data.kind,
            rtpParameters: data.rtpParameters as never,
            appData: { ...(data.appData ?? {}), peerId: ctx.peer.id },
          }),
        );
        if (me.closed) {
          producer.close();
          throw new SignalingError('not_found', 'the peer has left');
        }
        me.producers.set(producer.id, producer);
        producer.observer.once('close', () => {
          me.producers.delete(producer.id);
          sfuRoom.forgetPipes(producer.id);
        });
        producer.once('transportclose', () => {
          if (!me.closed) ctx.peer.notify('producerClosed', { producerId: producer.id });
        });
        sfuRoom.addSpeaker(producer, pooled);
        // Everyone else who can receive gets a consumer for it.
        setImmediate(() => {
          for (const other of sfuRoom.peers.values()) {
            if (other !== me) void this.consume(sfuRoom, other, me, producer);
          }
        });
        return { id: producer.id };
      },
      'publish',
    );

    this.register(
      'produceData',
      produceDataSchema,
      async (ctx, data) => {
        const { sfuRoom, me } = await this.enter(ctx);
        const transport = SfuRooms.find(me.transports, data.transportId, 'transport');
        if (me.directions.get(transport.id) !== 'send')
          throw new SignalingError('bad_request', 'produceData needs a send transport');
        if (me.producers.size + me.dataProducers.size >= this.maxProducers)
          throw new SignalingError('bad_request', `at most ${this.maxProducers} producers per peer`);
        const dataProducer = await SfuRooms.sfuCall(transport, () =>
          transport.produceData({
            sctpStreamParameters: data.sctpStreamParameters as never,
            ...(data.label !== undefined ? { label: data.label } : {}),
            ...(data.protocol !== undefined ? { protocol: data.protocol } : {}),
            appData: { ...(data.appData ?? {}), peerId: ctx.peer.id },
          }),
        );
        if (me.closed) {
          dataProducer.close();
          throw new SignalingError('not_found', 'the peer has left');
        }
        me.dataProducers.set(dataProducer.id, dataProducer);
        dataProducer.observer.once('close', () => {
          me.dataProducers.delete(dataProducer.id);
          sfuRoom.forgetPipes(dataProducer.id);
        });
        setImmediate(() => {
          for (const other of sfuRoom.peers.values()) {
            if (other !== me) void this.consumeData(sfuRoom, other, me, dataProducer);
          }
        });
        return { id: dataProducer.id };
      },
      'publishData',
    );

    this.register('closeProducer', producerIdSchema, async (ctx, data) => {
      SfuRooms.find(this.mine(ctx).producers, data.producerId, 'producer').close();
      return {};
    });
    this.register('pauseProducer', producerIdSchema, async (ctx, data) => {
      const producer = SfuRooms.find(this.mine(ctx).producers, data.producerId, 'producer');
      await SfuRooms.sfuCall(producer, () => producer.pause());
      return {};
    });
    this.register('resumeProducer', producerIdSchema, async (ctx, data) => {
      const producer = SfuRooms.find(this.mine(ctx).producers, data.producerId, 'producer');
      await SfuRooms.sfuCall(producer, () => producer.resume());
      return {};
    });
    this.register('closeDataProducer', dataProducerIdSchema, async (ctx, data) => {
      SfuRooms.find(this.mine(ctx).dataProducers, data.dataProducerId, 'data producer').close();
      return {};
    });
    this.register('pauseConsumer', consumerIdSchema, async (ctx, data) => {
      const consumer = SfuRooms.find(this.mine(ctx).consumers, data.consumerId, 'consumer');
      await SfuRooms.sfuCall(consumer, () => consumer.pause());
      return {};
    });
    this.register('resumeConsumer', consumerIdSchema, async (ctx, data) => {
      const consumer = SfuRooms.find(this.mine(ctx).consumers, data.consumerId, 'consumer');
      await SfuRooms.sfuCall(consumer, () => consumer.resume());
      return {};
    });
    this.register('setPreferredLayers', setPreferredLayersSchema, async (ctx, data) => {
      const consumer = SfuRooms.find(this.mine(ctx).consumers, data.consumerId, 'consumer');
      await SfuRooms.sfuCall(consumer, () =>
        consumer.setPreferredLayers({
          spatialLayer: data.spatialLayer,
          ...(data.temporalLayer !== undefined ? { temporalLayer: data.temporalLayer } : {}),
        }),
      );
      return {};
    });
    this.register('getStats', getStatsSchema, async (ctx, data) => {
      const me = this.mine(ctx);
      let target: { readonly closed: boolean; getStats(): Promise<unknown[]> };
      if (data.transportId !== undefined)
        target = SfuRooms.find(me.transports, data.transportId, 'transport');
      else if (data.producerId !== undefined)
        target = SfuRooms.find(me.producers, data.producerId, 'producer');
      else target = SfuRooms.find(me.consumers, data.consumerId as string, 'consumer');
      return { stats: await SfuRooms.sfuCall(target, () => target.getStats()) };
    });
  }

  // --- consuming -----------------------------------------------------------------------------

  /** After the answer that made `me` able to receive: consume everything already produced. */
  private subscribeLater(sfuRoom: SfuRoom, me: SfuPeer): void {
    setImmediate(() => {
      for (const other of sfuRoom.peers.values()) {
        if (other === me) continue;
        for (const producer of other.producers.values()) void this.consume(sfuRoom, me, other, producer);
        for (const dataProducer of other.dataProducers.values())
          void this.consumeData(sfuRoom, me, other, dataProducer);
      }
    });
  }

  /**
   * Creates `me`'s paused consumer of `producer` and announces it with `newConsumer`; a producer
   * on another of the room's routers is piped to `me`'s router first.
   */
  private async consume(sfuRoom: SfuRoom, me: SfuPeer, owner: SfuPeer, producer: Producer): Promise<void> {
    const transport = me.recvTransport;
    const caps = me.rtpCapabilities;
    const origin = owner.router;
    const target = me.router;
    if (me.closed || producer.closed || transport === undefined || caps === undefined) return;
    if (origin === undefined || target === undefined) return;
    if (!me.peer.permissions.subscribe || me.consumed.has(producer.id)) return;
    let canConsume = false;
    try {
      canConsume = origin.router.canConsume({ producerId: producer.id, rtpCapabilities: caps });
    } catch {
      canConsume = false;
    }
    if (!canConsume) return;
    me.consumed.add(producer.id);
    let consumer: Consumer;
    try {
      await sfuRoom.pipe(producer.id, 'producer', origin, target);
      consumer = await transport.consume({
        producerId: producer.id,
        rtpCapabilities: caps,
        paused: true,
        appData: { peerId: owner.peer.id },
      });
    } catch (err) {
      me.consumed.delete(producer.id);
      if (!producer.closed && !transport.closed) this.log.warn({ err, peer: me.peer.id }, 'consume failed');
      return;
    }
    if (me.closed) {
      consumer.close();
      return;
    }
    const peer = me.peer;
    me.consumers.set(consumer.id, consumer);
    consumer.observer.once('close', () => {
      me.consumers.delete(consumer.id);
      me.announcements.delete(consumer.id);
      me.consumed.delete(producer.id);
    });
    consumer.on('producerclose', () => peer.notify('consumerClosed', { consumerId: consumer.id }));
    consumer.on('producerpause', () => peer.notify('consumerPaused', { consumerId: consumer.id }));
    consumer.on('producerresume', () => peer.notify('consumerResumed', { consumerId: consumer.id }));
    consumer.on('layerschange', (layers) =>
      peer.notify('layersChanged', {
        consumerId: consumer.id,
        spatialLayer: layers?.spatialLayer ?? null,
        temporalLayer: layers?.temporalLayer ?? null,
      }),
    );
    const announcement: NewConsumerData = {
      peerId: owner.peer.id,
      producerId: producer.id,
      id: consumer.id,
      kind: consumer.kind,
      rtpParameters: consumer.rtpParameters,
      type: consumer.type,
      appData: producer.appData,
      producerPaused: consumer.producerPaused,
    };
    me.announcements.set(consumer.id, announcement);
    peer.notify('newConsumer', announcement);
  }

  private async consumeData(
    sfuRoom: SfuRoom,
    me: SfuPeer,
    owner: SfuPeer,
    dataProducer: DataProducer,
  ): Promise<void> {
    const transport = me.recvTransport;
    const origin = owner.router;
    const target = me.router;
    if (me.closed || dataProducer.closed || transport === undefined || transport.sctpParameters === undefined)
      return;
    if (origin === undefined || target === undefined) return;
    if (!me.peer.permissions.subscribe || me.dataConsumed.has(dataProducer.id)) return;
    me.dataConsumed.add(dataProducer.id);
    let dataConsumer: DataConsumer;
    try {
      await sfuRoom.pipe(dataProducer.id, 'dataProducer', origin, target);
      dataConsumer = await transport.consumeData({
        dataProducerId: dataProducer.id,
        appData: { peerId: owner.peer.id },
      });
    } catch (err) {
      me.dataConsumed.delete(dataProducer.id);
      if (!dataProducer.closed && !transport.closed)
        this.log.warn({ err, peer: me.peer.id }, 'consumeData failed');
      return;
    }
    if (me.closed) {
      dataConsumer.close();
      return;
    }
    const peer = me.peer;
    me.dataConsumers.set(dataConsumer.id, dataConsumer);
    dataConsumer.observer.once('close', () => {
      me.dataConsumers.delete(dataConsumer.id);
      me.dataAnnouncements.delete(dataConsumer.id);
      me.dataConsumed.delete(dataProducer.id);
    });
    dataConsumer.on('dataproducerclose', () =>
      peer.notify('dataConsumerClosed', { dataConsumerId: dataConsumer.id }),
    );
    const announcement: NewDataConsumerData = {
      peerId: owner.peer.id,
      dataProducerId: dataProducer.id,
      id: dataConsumer.id,
      sctpStreamParameters: dataConsumer.sctpStreamParameters,
      label: dataConsumer.label,
      protocol: dataConsumer.protocol,
      appData: dataProducer.appData,
    };
    me.dataAnnouncements.set(dataConsumer.id, announcement);
    peer.notify('newDataConsumer', announcement);
  }
}

/** SFU argument and state errors are the caller's fault; anything else stays internal. */
function toSignalingError(err: unknown): unknown {
  if (err instanceof SignalingError) return err;
  if (
    err instanceof Error &&
    (err instanceof TypeError || err.name === 'UnsupportedError' || err.name === 'InvalidStateError')
  ) {
    return new SignalingError('bad_request', err.message.slice(0, 200));
  }
  return err;
}
