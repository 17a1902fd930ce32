// The SFU side of a Room: a mediasoup-client Device with one send and one receive transport,
// producers for the local tracks (camera video in three simulcast layers), and a consumer for
// every `newConsumer` the server announces (resumed once set up). Speaks the "SFU rooms"
// requests of docs/signaling-protocol.md.
import { Device, type types } from 'mediasoup-client';
import type { Permissions } from '../signaling/protocol.js';
import type { NewConsumerData } from '../signaling/sfu-protocol.js';
import type { SignalingClient, SignalingNotificationEvent } from './signaling-client.js';
import { type ConnectionStats, statsFromReports } from './stats.js';

export type MediaKind = 'audio' | 'video';

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
  onTrack(peerId: string, track: MediaStreamTrack): void;
  onTrackEnded(peerId: string, track: MediaStreamTrack): void;
  /** A remote producer was paused or resumed (`paused`), as muting does. */
  onRemotePaused(peerId: string, kind: MediaKind, paused: boolean): void;
  onConnectionState(state: RTCPeerConnectionState): void;
  onActiveSpeaker?(peerId: string): void;
  onError(err: unknown): void;
}

interface RemoteConsumer {
  consumer: types.Consumer;
  peerId: string;
}

export class SfuSession {
  readonly device = new Device();
  sendTransport: types.Transport | null = null;
  recvTransport: types.Transport | null = null;
  readonly #opts: SfuSessionOptions;
  readonly #producers = new Map<MediaKind, types.Producer>();
  readonly #consumers = new Map<string, RemoteConsumer>();
  readonly #muted: Record<MediaKind, boolean> = { audio: false, video: false };
  /** Everything that touches the transports runs in this order: start, then notifications. */
  #chain: Promise<void>;
  #stream: MediaStream | null = null;
  #closed = false;
  #recvState: RTCPeerConnectionState = 'new';
  /** While resyncing: the consumer ids the server announced. */
  #announced: Set<string> | null = null;

  constructor(opts: SfuSessionOptions) {
    this.#opts = opts;
    this.#chain = this.#start().catch((err) => this.#failed(err));
  }

  /** Resolves once the device is loaded and the transports exist. */
  get ready(): Promise<void> {
    return this.#chain;
  }

  get connectionState(): RTCPeerConnectionState {
    return this.#recvState;
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(() => (this.#closed ? undefined : task()));
    this.#chain = run.catch((err) => this.#failed(err));
    return this.#chain;
  }

  /** Errors of a closed session (requests cut off by leaving or a mode switch) are expected. */
  #failed(err: unknown): void {
    if (!this.#closed) this.#opts.onError(err);
  }

  async #start(): Promise<void> {
    const signaling = this.#opts.signaling;
    const { rtpCapabilities } = await signaling.request('getRouterRtpCapabilities', {});
    await this.device.load({ routerRtpCapabilities: rtpCapabilities as types.RtpCapabilities });
    if (this.#closed) return;
    const base = { iceServers: this.#opts.iceServers, iceTransportPolicy: this.#opts.iceTransportPolicy };
    if (this.#opts.permissions.publish || this.#opts.permissions.publishData) {
      const info = await signaling.request('createWebRtcTransport', { direction: 'send' });
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
      transport.on('producedata', ({ sctpStreamParameters, label, protocol, appData }, callback, errback) => {
        signaling
          .request('produceData', {
            transportId: transport.id,
            sctpStreamParameters: sctpStreamParameters as unknown as Record<string, unknown>,
            ...(label !== undefined ? { label } : {}),
            ...(protocol !== undefined ? { protocol } : {}),
            appData,
          })
          .then(callback, errback);
      });
      this.sendTransport = transport;
    }
    if (this.#opts.permissions.subscribe) {
      const info = await signaling.request('createWebRtcTransport', { direction: 'recv' });
      if (this.#closed) return;
      const transport = this.device.createRecvTransport({ ...(info as types.TransportOptions), ...base });
      this.#wireConnect(transport);
      transport.on('connectionstatechange', (state) => {
        this.#recvState = state as RTCPeerConnectionState;
        this.#opts.onConnectionState(this.#recvState);
      });
      this.recvTransport = transport;
      await signaling.request('setRtpCapabilities', {
        rtpCapabilities: this.device.rtpCapabilities as unknown as Record<string, unknown>,
      });
    }
    if (this.#stream) await this.#syncProducers();
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
    return this.#enqueue(() => this.#syncProducers());
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
        appData: { source: kind === 'video' ? 'camera' : 'mic' },
      });
      this.#producers.set(kind, created);
      if (this.#muted[kind]) await this.#setProducerPaused(created, true);
    }
  }

  /** Muting also pauses the producer, so the SFU stops forwarding and the others are told. */
  setMuted(kind: MediaKind, muted: boolean): void {
    this.#muted[kind] = muted;
    void this.#enqueue(async () => {
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
        void this.#enqueue(() => this.#consume(data));
        break;
      }
      case 'consumerClosed': {
        const { consumerId } = notification.data;
        void this.#enqueue(async () => this.#closeConsumer(consumerId));
        break;
      }
      case 'consumerPaused':
      case 'consumerResumed': {
        const paused = notification.method === 'consumerPaused';
        const { consumerId } = notification.data;
        void this.#enqueue(async () => {
          const remote = this.#consumers.get(consumerId);
          if (remote) this.#opts.onRemotePaused(remote.peerId, remote.consumer.kind as MediaKind, paused);
        });
        break;
      }
      case 'activeSpeaker':
        this.#opts.onActiveSpeaker?.(notification.data.peerId);
        break;
      default:
        break;
    }
  }

  async #consume(data: NewConsumerData): Promise<void> {
    const transport = this.recvTransport;
    if (transport === null) return;
    if (this.#consumers.has(data.id)) {
      // Announced again after a reconnect: it may have missed its resume.
      await this.#opts.signaling.request('resumeConsumer', { consumerId: data.id });
      return;
    }
    const consumer = await transport.consume({
      id: data.id,
      producerId: data.producerId,
      kind: data.kind,
      rtpParameters: data.rtpParameters as types.RtpParameters,
    });
    if (this.#closed) return;
    this.#consumers.set(consumer.id, { consumer, peerId: data.peerId });
    this.#opts.onTrack(data.peerId, consumer.track);
    if (data.producerPaused) this.#opts.onRemotePaused(data.peerId, data.kind, true);
    await this.#opts.signaling.request('resumeConsumer', { consumerId: consumer.id });
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
    void this.#enqueue(async () => {
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
    return this.#enqueue(async () => {
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

  /** Forgets a participant who left (the server closes their consumers too). */
  removePeer(peerId: string): void {
    for (const [id, remote] of [...this.#consumers]) {
      if (remote.peerId === peerId) {
        this.#consumers.delete(id);
        remote.consumer.close();
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
    for (const transport of [this.sendTransport, this.recvTransport]) {
      if (transport === null) continue;
      void this.#enqueue(async () => {
        const { iceParameters } = await this.#opts.signaling.request('restartIce', {
          transportId: transport.id,
        });
        await transport.restartIce({ iceParameters: iceParameters as types.IceParameters });
      });
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { consumer } of this.#consumers.values()) consumer.close();
    this.#consumers.clear();
    this.#producers.clear();
    this.sendTransport?.close();
    this.recvTransport?.close();
  }
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
