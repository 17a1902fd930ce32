// The SFU side of a Room: a mediasoup-client Device with one send and one receive transport,
// producers for the local tracks (camera video in three simulcast layers), and a consumer for
// every `newConsumer` the server announces (resumed once set up). Speaks the "SFU rooms"
// requests of docs/signaling-protocol.md.
import { Device, type types } from 'mediasoup-client';
import type { Permissions } from '../signaling/protocol.js';
import type { NewConsumerData, NewDataConsumerData } from '../signaling/sfu-protocol.js';
import type { SignalingClient, SignalingNotificationEvent } from './signaling-client.js';
import { type ConnectionStats, statsFromReports } from './stats.js';

export type MediaKind = 'audio' | 'video';
/** What a producer carries (its appData.source): a camera, a microphone or a screen share. */
export type MediaSource = 'camera' | 'mic' | 'screen';

/** The label of the data producer (one per peer) that carries chat messages. */
export const CHAT_LABEL = 'chat';
/**
 * What every mediasoup-client handler reports as `device.sctpCapabilities`; sent with the
 * transport requests before the device has loaded (the server only checks that it is there).
 */
const SCTP_CAPABILITIES = { numStreams: { OS: 1024, MIS: 1024 } };
/** Chat messages kept while the chat data producer is not open yet; older ones are dropped. */
const MAX_QUEUED_CHAT = 100;

/** Three simulcast layers for camera video, lowest first (mediasoup-demo's choice). */
export const DEFAULT_SIMULCAST_ENCODINGS: RTCRtpEncodingParameters[] = [
  { scaleResolutionDownBy: 4, maxBitrate: 150_000, scalabilityMode: 'L1T3' } as RTCRtpEncodingParameters,
  { scaleResolutionDownBy: 2, maxBitrate: 500_000, scalabilityMode: 'L1T3' } as RTCRtpEncodingParameters,
  { scaleResolutionDownBy: 1, maxBitrate: 1_200_000, scalabilityMode: 'L1T3' } as RTCRtpEncodingParameters,
];

export interface SfuSessionOptions {
  signaling: SignalingClient;
  permissions: Permissions;
  iceServers: RTCIceServer[];
  iceTransportPolicy: RTCIceTransportPolicy;
  /** Send camera video in three simulcast layers. Default true. */
  simulcast?: boolean;
  onTrack(peerId: string, track: MediaStreamTrack, source: MediaSource): void;
  onTrackEnded(peerId: string, track: MediaStreamTrack): void;
  /** A message from `peerId`'s chat data producer. */
  onChat?(peerId: string, data: string): void;
  /** The SFU changed the layers it forwards of `peerId`'s video (null: none). */
  onLayersChanged?(peerId: string, spatialLayer: number | null, temporalLayer: number | null): void;
  /** A remote producer was paused or resumed (`paused`), as muting does. */
  onRemotePaused(peerId: string, kind: MediaKind, paused: boolean): void;
  /** Whether to receive `peerId`'s media; consumers of others are set up but stay paused. */
  isSubscribed(peerId: string): boolean;
  onConnectionState(state: RTCPeerConnectionState): void;
  onActiveSpeaker?(peerId: string): void;
  onError(err: unknown): void;
}

interface RemoteConsumer {
  consumer: types.Consumer;
  peerId: string;
  source: MediaSource;
  /** The producer's capture height, when it said (appData.height). */
  sourceHeight: number | undefined;
  /** The spatial layer last asked for by size (setPreferredVideoSize). */
  sizedLayer?: number;
}

interface RemoteDataConsumer {
  dataConsumer: types.DataConsumer;
  peerId: string;
}

export class SfuSession {
  readonly device = new Device();
  sendTransport: types.Transport | null = null;
  recvTransport: types.Transport | null = null;
  readonly #opts: SfuSessionOptions;
  readonly #producers = new Map<MediaKind, types.Producer>();
  readonly #consumers = new Map<string, RemoteConsumer>();
  readonly #dataConsumers = new Map<string, RemoteDataConsumer>();
  #screenProducer: types.Producer | null = null;
  #screen: MediaStream | null = null;
  #chatProducer: types.DataProducer | null = null;
  /** The server gave the send transport SCTP parameters (data channels are possible). */
  #sendSctp = false;
  readonly #chatQueue: string[] = [];
  readonly #muted: Record<MediaKind, boolean> = { audio: false, video: false };
  /**
   * Work on the sending side runs in order on this chain (device and send transport, producers,
   * mute, screen, the chat producer); work on the receiving side on its own chain (consumers and
   * their notifications, layers, resync), which starts once the receive transport exists. So a
   * newcomer consumes what the room sends while it is still producing its own tracks.
   */
  #sendChain: Promise<void>;
  #recvChain: Promise<void>;
  #stream: MediaStream | null = null;
  #closed = false;
  #recvState: RTCPeerConnectionState = 'new';
  /** Announced consumers waiting for the receiving side's chain (see #consumeBatched). */
  readonly #consumeBatch: NewConsumerData[] = [];
  /** While resyncing: the consumer ids the server announced. */
  #announced: Set<string> | null = null;

  constructor(opts: SfuSessionOptions) {
    this.#opts = opts;
    const { send, recv } = this.#start();
    this.#sendChain = send.catch((err) => this.#failed(err));
    this.#recvChain = recv.catch((err) => this.#failed(err));
  }

  /** Resolves once the device is loaded and the transports exist. */
  get ready(): Promise<void> {
    return Promise.all([this.#sendChain, this.#recvChain]).then(() => {});
  }

  get connectionState(): RTCPeerConnectionState {
    return this.#recvState;
  }

  /** Runs `task` on the sending side's chain, after what was queued there before. */
  #enqueueSend(task: () => Promise<void>): Promise<void> {
    const run = this.#sendChain.then(() => (this.#closed ? undefined : task()));
    this.#sendChain = run.catch((err) => this.#failed(err));
    return this.#sendChain;
  }

  /** Runs `task` on the receiving side's chain, after what was queued there before. */
  #enqueueRecv(task: () => Promise<void>): Promise<void> {
    const run = this.#recvChain.then(() => (this.#closed ? undefined : task()));
    this.#recvChain = run.catch((err) => this.#failed(err));
    return this.#recvChain;
  }

  /** Errors of a closed session (requests cut off by leaving or a mode switch) are expected. */
  #failed(err: unknown): void {
    if (!this.#closed) this.#opts.onError(err);
  }

  /**
   * Loads the device and creates the transports. `recv` resolves once the receive transport
   * exists and our RTP capabilities are on their way (consumers can be set up); `send` once our
   * tracks and chat producer are produced. The transports are requested together with the
   * router's capabilities, so their round trips overlap the device's load.
   */
  #start(): { send: Promise<void>; recv: Promise<void> } {
    const signaling = this.#opts.signaling;
    const { publish, publishData, subscribe } = this.#opts.permissions;
    const capabilities = signaling.request('getRouterRtpCapabilities', {});
    const createTransport = (direction: 'send' | 'recv') => {
      const created = signaling.request('createWebRtcTransport', {
        direction,
        sctpCapabilities: SCTP_CAPABILITIES,
      });
      // Awaited below, maybe after another request failed first: not an unhandled rejection.
      created.catch(() => {});
      return created;
    };
    // Receiving first: the first remote frame waits for it.
    const recvInfo = subscribe ? createTransport('recv') : null;
    const sendInfo = publish || publishData ? createTransport('send') : null;
    const loaded = capabilities.then(async ({ rtpCapabilities }) => {
      await this.device.load({ routerRtpCapabilities: rtpCapabilities as types.RtpCapabilities });
    });
    const base = { iceServers: this.#opts.iceServers, iceTransportPolicy: this.#opts.iceTransportPolicy };

    const recv = (async () => {
      // The sending side reports a failed load.
      if (
        !(await loaded.then(
          () => true,
          () => false,
        )) ||
        recvInfo === null ||
        this.#closed
      )
        return;
      const info = await recvInfo;
      if (this.#closed) return;
      const transport = this.device.createRecvTransport({ ...(info as types.TransportOptions), ...base });
      this.#wireConnect(transport);
      transport.on('connectionstatechange', (state) => {
        this.#recvState = state as RTCPeerConnectionState;
        this.#opts.onConnectionState(this.#recvState);
      });
      this.recvTransport = transport;
      // The server announces media consumers once it has these. Not awaited: the chat data
      // consumers are announced already and can be set up meanwhile (which also starts the
      // transport's ICE and DTLS).
      signaling
        .request('setRtpCapabilities', {
          rtpCapabilities: this.device.rtpCapabilities as unknown as Record<string, unknown>,
        })
        .catch((err) => this.#failed(err));
    })();

    const send = (async () => {
      await loaded;
      if (sendInfo !== null && !this.#closed) {
        const info = await sendInfo;
        if (this.#closed) return;
        const transport = this.device.createSendTransport({ ...(info as types.TransportOptions), ...base });
        this.#wireConnect(transport);
        transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
          signaling
            .request('produce', {
              transportId: transport.id,
              kind,
              rtpParameters: rtpParameters as unknown as Record<string, unknown>,
              appData,
            })
            .then(callback, errback);
        });
        transport.on(
          'producedata',
          ({ sctpStreamParameters, label, protocol, appData }, callback, errback) => {
            signaling
              .request('produceData', {
                transportId: transport.id,
                sctpStreamParameters: sctpStreamParameters as unknown as Record<string, unknown>,
                ...(label !== undefined ? { label } : {}),
                ...(protocol !== undefined ? { protocol } : {}),
                appData,
              })
              .then(callback, errback);
          },
        );
        this.sendTransport = transport;
        this.#sendSctp = Boolean(info.sctpParameters);
      }
      if (this.#stream) await this.#syncProducers();
      if (this.#screen) await this.#syncScreen();
      await this.#startChat();
    })();
    return { send, recv };
  }

  /** Chat goes through the SFU on a data producer of our own; every other peer consumes it. */
  async #startChat(): Promise<void> {
    const transport = this.sendTransport;
    if (transport === null || !this.#opts.permissions.publishData || !this.#sendSctp) return;
    const producer = await transport.produceData({ ordered: true, label: CHAT_LABEL });
    if (this.#closed) {
      producer.close();
      return;
    }
    this.#chatProducer = producer;
    // The channel may already be open (an association that was up): then 'open' has passed.
    producer.on('open', () => this.#flushChat());
    this.#flushChat();
  }

  #flushChat(): void {
    const producer = this.#chatProducer;
    if (producer?.readyState !== 'open') return;
    for (const data of this.#chatQueue.splice(0)) producer.send(data);
  }

  /** Sends a chat message (JSON text) to everyone in the room, now or once the channel opens. */
  sendChat(data: string): void {
    this.#chatQueue.push(data);
    if (this.#chatQueue.length > MAX_QUEUED_CHAT) this.#chatQueue.shift();
    this.#flushChat();
  }

  /** Chat channels from other peers that are open (tests wait for them before sending). */
  get openChatChannels(): number {
    let open = 0;
    for (const { dataConsumer } of this.#dataConsumers.values())
      if (dataConsumer.readyState === 'open') open++;
    return open;
  }

  /** True once our own chat data producer is open. */
  get chatOpen(): boolean {
    return this.#chatProducer?.readyState === 'open';
  }

  #wireConnect(transport: types.Transport): void {
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.#opts.signaling
        .request('connectWebRtcTransport', {
          transportId: transport.id,
          dtlsParameters: dtlsParameters as unknown as Record<string, unknown>,
        })
        .then(() => callback(), errback);
    });
  }

  /** Sends this stream's tracks (replacing what was sent), or stops sending with null. */
  setLocalStream(stream: MediaStream | null): Promise<void> {
    this.#stream = stream;
    return this.#enqueueSend(() => this.#syncProducers());
  }

  async #syncProducers(): Promise<void> {
    const transport = this.sendTransport;
    if (transport === null || !this.#opts.permissions.publish) return;
    for (const kind of ['audio', 'video'] as const) {
      const track = this.#stream?.getTracks().find((t) => t.kind === kind && t.readyState === 'live');
      const producer = this.#producers.get(kind);
      if (track === undefined) {
        if (producer) {
          producer.close();
          this.#producers.delete(kind);
          await this.#opts.signaling.request('closeProducer', { producerId: producer.id }).catch(() => {});
        }
        continue;
      }
      if (producer) {
        if (producer.track !== track) await producer.replaceTrack({ track });
        continue;
      }
      if (!this.device.canProduce(kind)) continue;
      const simulcast = kind === 'video' && (this.#opts.simulcast ?? true);
      const created = await transport.produce({
        track,
        // The caller owns its tracks: closing a producer must not stop them.
        stopTracks: false,
        ...(simulcast
          ? { encodings: DEFAULT_SIMULCAST_ENCODINGS, codecOptions: { videoGoogleStartBitrate: 1000 } }
          : {}),
        appData: { source: kind === 'video' ? 'camera' : 'mic', ...trackSize(track) },
      });
      this.#producers.set(kind, created);
      if (this.#muted[kind]) await this.#setProducerPaused(created, true);
    }
  }

  /** Sends a screen share as a producer of its own (appData.source 'screen'); null stops it. */
  setScreenStream(stream: MediaStream | null): Promise<void> {
    this.#screen = stream;
    return this.#enqueueSend(() => this.#syncScreen());
  }

  async #syncScreen(): Promise<void> {
    const transport = this.sendTransport;
    if (transport === null || !this.#opts.permissions.publish) return;
    const track = this.#screen?.getVideoTracks().find((t) => t.readyState === 'live');
    const producer = this.#screenProducer;
    if (track === undefined) {
      if (producer) {
        producer.close();
        this.#screenProducer = null;
        await this.#opts.signaling.request('closeProducer', { producerId: producer.id }).catch(() => {});
      }
      return;
    }
    if (producer) {
      if (producer.track !== track) await producer.replaceTrack({ track });
      return;
    }
    if (!this.device.canProduce('video')) return;
    this.#screenProducer = await transport.produce({
      track,
      stopTracks: false,
      appData: { source: 'screen', ...trackSize(track) },
    });
  }

  /** Muting also pauses the producer, so the SFU stops forwarding and the others are told. */
  setMuted(kind: MediaKind, muted: boolean): void {
    this.#muted[kind] = muted;
    void this.#enqueueSend(async () => {
      const producer = this.#producers.get(kind);
      if (producer) await this.#setProducerPaused(producer, muted);
    });
  }

  async #setProducerPaused(producer: types.Producer, paused: boolean): Promise<void> {
    if (paused) {
      producer.pause();
      await this.#opts.signaling.request('pauseProducer', { producerId: producer.id });
    } else {
      producer.resume();
      await this.#opts.signaling.request('resumeProducer', { producerId: producer.id });
    }
  }

  handleNotification(notification: SignalingNotificationEvent): void {
    switch (notification.method) {
      case 'newConsumer': {
        const data = notification.data;
        this.#announced?.add(data.id);
        // Consumers announced while the chain is busy are set up together, on its next turn
        // (once each: a resync may announce again one that is still waiting).
        if (this.#consumeBatch.some((waiting) => waiting.id === data.id)) break;
        this.#consumeBatch.push(data);
        if (this.#consumeBatch.length === 1) void this.#enqueueRecv(() => this.#consumeBatched());
        break;
      }
      case 'consumerClosed': {
        const { consumerId } = notification.data;
        void this.#enqueueRecv(async () => this.#closeConsumer(consumerId));
        break;
      }
      case 'consumerPaused':
      case 'consumerResumed': {
        const paused = notification.method === 'consumerPaused';
        const { consumerId } = notification.data;
        void this.#enqueueRecv(async () => {
          const remote = this.#consumers.get(consumerId);
          if (remote) this.#opts.onRemotePaused(remote.peerId, remote.consumer.kind as MediaKind, paused);
        });
        break;
      }
      case 'activeSpeaker':
        this.#opts.onActiveSpeaker?.(notification.data.peerId);
        break;
      case 'newDataConsumer': {
        const data = notification.data;
        void this.#enqueueRecv(() => this.#consumeData(data));
        break;
      }
      case 'dataConsumerClosed': {
        const { dataConsumerId } = notification.data;
        void this.#enqueueRecv(async () => {
          this.#dataConsumers.get(dataConsumerId)?.dataConsumer.close();
          this.#dataConsumers.delete(dataConsumerId);
        });
        break;
      }
      case 'layersChanged': {
        const { consumerId, spatialLayer, temporalLayer } = notification.data;
        const remote = this.#consumers.get(consumerId);
        if (remote) this.#opts.onLayersChanged?.(remote.peerId, spatialLayer, temporalLayer);
        break;
      }
      default:
        break;
    }
  }

  /**
   * Consumes every consumer announced since the last batch: mediasoup-client sets up the
   * consume() calls of one tick in one renegotiation. Each is resumed as soon as it exists.
   */
  async #consumeBatched(): Promise<void> {
    const batch = this.#consumeBatch.splice(0);
    const results = await Promise.allSettled(batch.map((data) => this.#consume(data)));
    for (const result of results) if (result.status === 'rejected') this.#failed(result.reason);
  }

  async #consume(data: NewConsumerData): Promise<void> {
    const transport = this.recvTransport;
    if (transport === null) return;
    if (this.#consumers.has(data.id)) {
      // Announced again after a reconnect: it may have missed its resume (or pause).
      const subscribed = this.#opts.isSubscribed(data.peerId);
      await this.#opts.signaling.request(subscribed ? 'resumeConsumer' : 'pauseConsumer', {
        consumerId: data.id,
      });
      return;
    }
    const consumer = await transport.consume({
      id: data.id,
      producerId: data.producerId,
      kind: data.kind,
      rtpParameters: data.rtpParameters as types.RtpParameters,
    });
    if (this.#closed) return;
    const source: MediaSource =
      data.appData.source === 'screen' ? 'screen' : data.kind === 'audio' ? 'mic' : 'camera';
    const height = data.appData.height;
    this.#consumers.set(consumer.id, {
      consumer,
      peerId: data.peerId,
      source,
      sourceHeight: typeof height === 'number' && height > 0 ? height : undefined,
    });
    this.#opts.onTrack(data.peerId, consumer.track, source);
    if (data.producerPaused) this.#opts.onRemotePaused(data.peerId, data.kind, true);
    // The server created it paused: resume it only for a peer we subscribe to.
    if (this.#opts.isSubscribed(data.peerId)) {
      await this.#opts.signaling.request('resumeConsumer', { consumerId: consumer.id });
    } else {
      consumer.pause();
    }
  }

  /**
   * Starts or stops receiving `peerId`'s media: pauses or resumes its consumers on the server
   * (so the SFU stops or starts forwarding) and here (the tracks are disabled while paused).
   * Consumers set up later follow `isSubscribed`.
   */
  setSubscribed(peerId: string, subscribed: boolean): Promise<void> {
    return this.#enqueueRecv(async () => {
      for (const { consumer, peerId: owner } of this.#consumers.values()) {
        if (owner !== peerId || consumer.closed) continue;
        if (subscribed) consumer.resume();
        else consumer.pause();
        await this.#opts.signaling.request(subscribed ? 'resumeConsumer' : 'pauseConsumer', {
          consumerId: consumer.id,
        });
      }
    });
  }

  async #consumeData(data: NewDataConsumerData): Promise<void> {
    const transport = this.recvTransport;
    if (transport === null || data.label !== CHAT_LABEL || this.#dataConsumers.has(data.id)) return;
    const dataConsumer = await transport.consumeData({
      id: data.id,
      dataProducerId: data.dataProducerId,
      sctpStreamParameters: data.sctpStreamParameters as types.SctpStreamParameters,
      label: data.label,
      protocol: data.protocol,
    });
    if (this.#closed) return;
    this.#dataConsumers.set(dataConsumer.id, { dataConsumer, peerId: data.peerId });
    dataConsumer.on('message', (message: unknown) => {
      if (typeof message === 'string') this.#opts.onChat?.(data.peerId, message);
    });
  }

  #closeConsumer(consumerId: string): void {
    const remote = this.#consumers.get(consumerId);
    if (!remote) return;
    this.#consumers.delete(consumerId);
    remote.consumer.close();
    this.#opts.onTrackEnded(remote.peerId, remote.consumer.track);
  }

  /**
   * After a signaling reconnect as the same peer: notifications sent while the socket was down
   * are lost, so ask the server to announce the live consumers again and close the ones gone.
   */
  resync(): void {
    void this.#enqueueRecv(async () => {
      if (this.recvTransport === null) return;
      const announced = new Set<string>();
      this.#announced = announced;
      try {
        // The server re-announces before it answers, so once answered `announced` is complete.
        await this.#opts.signaling.request('setRtpCapabilities', {
          rtpCapabilities: this.device.rtpCapabilities as unknown as Record<string, unknown>,
        });
      } finally {
        this.#announced = null;
      }
      for (const id of [...this.#consumers.keys()]) if (!announced.has(id)) this.#closeConsumer(id);
    });
  }

  /**
   * Which simulcast/SVC layer of `peerId`'s video to receive (0 = lowest); the server forwards
   * the highest layer at or below it that arrives. E.g. 0 for thumbnails, 2 for a speaker view.
   */
  setPreferredLayers(peerId: string, spatialLayer: number, temporalLayer?: number): Promise<void> {
    return this.#enqueueRecv(async () => {
      for (const { consumer, peerId: owner } of this.#consumers.values()) {
        if (owner !== peerId || consumer.kind !== 'video' || consumer.closed) continue;
        await this.#opts.signaling.request('setPreferredLayers', {
          consumerId: consumer.id,
          spatialLayer,
          ...(temporalLayer !== undefined ? { temporalLayer } : {}),
        });
      }
    });
  }

  /**
   * Asks for the spatial layer of `peerId`'s camera video that fits a picture of `height` device
   * pixels: the lowest layer at least about that tall. Layers halve in height from the top one,
   * whose height the producer announced (appData.height). Requests only when the layer changes.
   */
  setPreferredVideoSize(peerId: string, height: number): Promise<void> {
    return this.#enqueueRecv(async () => {
      for (const remote of this.#consumers.values()) {
        const { consumer } = remote;
        if (remote.peerId !== peerId || remote.source !== 'camera' || consumer.closed) continue;
        const spatialLayers = spatialLayersOf(consumer.rtpParameters);
        if (spatialLayers < 2) continue;
        const layer = layerForHeight(spatialLayers, remote.sourceHeight ?? 720, height);
        if (remote.sizedLayer === layer) continue;
        remote.sizedLayer = layer;
        await this.#opts.signaling.request('setPreferredLayers', {
          consumerId: consumer.id,
          spatialLayer: layer,
        });
      }
    });
  }

  /** Forgets a participant who left (the server closes their consumers too). */
  removePeer(peerId: string): void {
    for (const [id, remote] of [...this.#consumers]) {
      if (remote.peerId === peerId) {
        this.#consumers.delete(id);
        remote.consumer.close();
      }
    }
    for (const [id, remote] of [...this.#dataConsumers]) {
      if (remote.peerId === peerId) {
        this.#dataConsumers.delete(id);
        remote.dataConsumer.close();
      }
    }
  }

  /** One sample per remote peer we consume, from its consumers' receivers. */
  async getStats(previous: (peerId: string) => ConnectionStats | undefined): Promise<ConnectionStats[]> {
    const byPeer = new Map<string, types.Consumer[]>();
    for (const { consumer, peerId } of this.#consumers.values()) {
      if (consumer.closed) continue;
      const list = byPeer.get(peerId) ?? [];
      list.push(consumer);
      byPeer.set(peerId, list);
    }
    const states = {
      connectionState: this.#recvState,
      signalingState: 'stable' as RTCSignalingState,
      iceConnectionState: iceStateOf(this.#recvState),
    };
    return Promise.all(
      [...byPeer].map(async ([peerId, consumers]) => {
        const reports = await Promise.all(consumers.map((c) => c.getStats()));
        return statsFromReports(peerId, 'sfu', reports, states, previous(peerId));
      }),
    );
  }

  /** Asks the server for fresh ICE credentials on both transports. */
  restartIce(): void {
    const restart = (transport: types.Transport) => async () => {
      const { iceParameters } = await this.#opts.signaling.request('restartIce', {
        transportId: transport.id,
      });
      await transport.restartIce({ iceParameters: iceParameters as types.IceParameters });
    };
    if (this.sendTransport) void this.#enqueueSend(restart(this.sendTransport));
    if (this.recvTransport) void this.#enqueueRecv(restart(this.recvTransport));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { consumer } of this.#consumers.values()) consumer.close();
    this.#consumers.clear();
    for (const { dataConsumer } of this.#dataConsumers.values()) dataConsumer.close();
    this.#dataConsumers.clear();
    this.#producers.clear();
    this.#screenProducer = null;
    this.#chatProducer = null;
    this.sendTransport?.close();
    this.recvTransport?.close();
  }
}

/** The capture size a producer announces in its appData, so receivers can pick layers by size. */
function trackSize(track: MediaStreamTrack): { width?: number; height?: number } {
  const { width, height } = track.getSettings();
  return { ...(width ? { width } : {}), ...(height ? { height } : {}) };
}

/** Spatial layers of a consumer's video: 'L3T3' → 3; simulcast consumers carry one encoding. */
function spatialLayersOf(rtpParameters: types.RtpParameters): number {
  const mode = rtpParameters.encodings?.[0]?.scalabilityMode ?? '';
  const match = /^[LS](\d+)/.exec(mode);
  return match ? Number(match[1]) : 1;
}

/** The lowest of `spatialLayers` (each half the height of the next) at least ~`height` tall. */
export function layerForHeight(spatialLayers: number, topHeight: number, height: number): number {
  for (let layer = 0; layer < spatialLayers - 1; layer++) {
    const layerHeight = topHeight / 2 ** (spatialLayers - 1 - layer);
    // A little upscaling is not visible; a layer 80 % as tall as the picture will do.
    if (layerHeight >= height * 0.8) return layer;
  }
  return spatialLayers - 1;
}

function iceStateOf(state: RTCPeerConnectionState): RTCIceConnectionState {
  switch (state) {
    case 'connecting':
      return 'checking';
    case 'connected':
      return 'connected';
    case 'failed':
      return 'failed';
    case 'disconnected':
      return 'disconnected';
    case 'closed':
      return 'closed';
    default:
      return 'new';
  }
}
