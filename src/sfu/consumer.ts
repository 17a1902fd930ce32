import type { Channel } from './channel.js';
import { EnhancedEventEmitter } from './emitter.js';
import type { MediaKind, RtpParameters } from './engine/rtp-parameters.js';
import { channelEvent } from './fbs-notification.js';
import type { AppData } from './types.js';
import { checkAppData, checkStringArray } from './validate.js';

export type ConsumerType = 'simple' | 'simulcast' | 'svc' | 'pipe';
export type ConsumerTraceEventType = 'rtp' | 'keyframe' | 'nack' | 'pli' | 'fir';

export interface ConsumerLayers {
  spatialLayer: number;
  temporalLayer?: number;
}

export interface ConsumerScore {
  score: number;
  producerScore: number;
  producerScores: number[];
}

export type ConsumerEvents = {
  transportclose: [];
  producerclose: [];
  producerpause: [];
  producerresume: [];
  score: [ConsumerScore];
  layerschange: [ConsumerLayers | undefined];
  trace: [unknown];
  rtp: [Buffer];
  listenererror: [string, Error];
  '@close': [];
  '@producerclose': [];
};

export type ConsumerObserverEvents = {
  close: [];
  pause: [];
  resume: [];
  score: [ConsumerScore];
  layerschange: [ConsumerLayers | undefined];
  trace: [unknown];
};

interface ConsumerInit<A> {
  transportId: string;
  consumerId: string;
  producerId: string;
  channel: Channel;
  kind: MediaKind;
  rtpParameters: RtpParameters;
  type: ConsumerType;
  paused: boolean;
  producerPaused: boolean;
  score?: ConsumerScore;
  preferredLayers?: ConsumerLayers;
  appData?: A;
}

/** Media a router sends to an endpoint, from one Producer. */
export class Consumer<
  ConsumerAppData extends AppData = AppData,
> extends EnhancedEventEmitter<ConsumerEvents> {
  readonly #transportId: string;
  readonly #id: string;
  readonly #producerId: string;
  readonly #channel: Channel;
  readonly #kind: MediaKind;
  readonly #rtpParameters: RtpParameters;
  readonly #type: ConsumerType;
  #closed = false;
  #paused: boolean;
  #producerPaused: boolean;
  #priority = 1;
  #score: ConsumerScore;
  #preferredLayers?: ConsumerLayers;
  #currentLayers?: ConsumerLayers;
  #appData: ConsumerAppData;
  readonly #observer = new EnhancedEventEmitter<ConsumerObserverEvents>();

  /** @private */
  constructor(init: ConsumerInit<ConsumerAppData>) {
    super();
    this.#transportId = init.transportId;
    this.#id = init.consumerId;
    this.#producerId = init.producerId;
    this.#channel = init.channel;
    this.#kind = init.kind;
    this.#rtpParameters = init.rtpParameters;
    this.#type = init.type;
    this.#paused = init.paused;
    this.#producerPaused = init.producerPaused;
    this.#score = init.score ?? { score: 10, producerScore: 10, producerScores: [] };
    this.#preferredLayers = init.preferredLayers;
    this.#appData = init.appData ?? ({} as ConsumerAppData);
    this.#channel.on(this.#id, (event: unknown, data: unknown) => {
      const translated = channelEvent(event, data);
      if (translated) this.#handleEvent(translated.event, translated.data);
    });
  }

  get id(): string {
    return this.#id;
  }

  get producerId(): string {
    return this.#producerId;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get kind(): MediaKind {
    return this.#kind;
  }

  get rtpParameters(): RtpParameters {
    return this.#rtpParameters;
  }

  get type(): ConsumerType {
    return this.#type;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get producerPaused(): boolean {
    return this.#producerPaused;
  }

  get priority(): number {
    return this.#priority;
  }

  get score(): ConsumerScore {
    return this.#score;
  }

  get preferredLayers(): ConsumerLayers | undefined {
    return this.#preferredLayers;
  }

  get currentLayers(): ConsumerLayers | undefined {
    return this.#currentLayers;
  }

  get appData(): ConsumerAppData {
    return this.#appData;
  }

  set appData(appData: ConsumerAppData) {
    checkAppData(appData);
    this.#appData = appData;
  }

  get observer(): EnhancedEventEmitter<ConsumerObserverEvents> {
    return this.#observer;
  }

  /** @private */
  get channelForTesting(): Channel {
    return this.#channel;
  }

  #handleEvent(event: string, data: unknown): void {
    switch (event) {
      case 'producerclose':
        if (this.#closed) return;
        this.#closed = true;
        this.#channel.removeAllListeners(this.#id);
        this.emit('@producerclose');
        this.safeEmit('producerclose');
        this.#observer.safeEmit('close');
        return;
      case 'producerpause':
        if (this.#producerPaused) return;
        this.#producerPaused = true;
        this.safeEmit('producerpause');
        if (!this.#paused) this.#observer.safeEmit('pause');
        return;
      case 'producerresume':
        if (!this.#producerPaused) return;
        this.#producerPaused = false;
        this.safeEmit('producerresume');
        if (!this.#paused) this.#observer.safeEmit('resume');
        return;
      case 'score':
        this.#score = data as ConsumerScore;
        this.safeEmit('score', this.#score);
        this.#observer.safeEmit('score', this.#score);
        return;
      case 'layerschange':
        this.#currentLayers = data as ConsumerLayers | undefined;
        this.safeEmit('layerschange', this.#currentLayers);
        this.#observer.safeEmit('layerschange', this.#currentLayers);
        return;
      case 'trace':
        this.safeEmit('trace', data);
        this.#observer.safeEmit('trace', data);
        return;
      case 'rtp':
        this.safeEmit('rtp', Buffer.from(data as Uint8Array));
        return;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#channel.removeAllListeners(this.#id);
    this.#channel
      .request('transport.closeConsumer', this.#transportId, { consumerId: this.#id })
      .catch(() => {});
    this.emit('@close');
    this.#observer.safeEmit('close');
  }

  /** @private */
  transportClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#channel.removeAllListeners(this.#id);
    this.safeEmit('transportclose');
    this.#observer.safeEmit('close');
  }

  async dump(): Promise<unknown> {
    return this.#channel.request('consumer.dump', this.#id);
  }

  async getStats(): Promise<unknown[]> {
    return this.#channel.request('consumer.getStats', this.#id);
  }

  async pause(): Promise<void> {
    await this.#channel.request('consumer.pause', this.#id);
    const wasPaused = this.#paused;
    this.#paused = true;
    if (!wasPaused && !this.#producerPaused) this.#observer.safeEmit('pause');
  }

  async resume(): Promise<void> {
    await this.#channel.request('consumer.resume', this.#id);
    const wasPaused = this.#paused;
    this.#paused = false;
    if (wasPaused && !this.#producerPaused) this.#observer.safeEmit('resume');
  }

  async setPreferredLayers({ spatialLayer, temporalLayer }: ConsumerLayers): Promise<void> {
    if (typeof spatialLayer !== 'number') throw new TypeError('missing spatialLayer');
    if (temporalLayer !== undefined && typeof temporalLayer !== 'number')
      throw new TypeError('if given, temporalLayer must be a number');
    const layers = await this.#channel.request('consumer.setPreferredLayers', this.#id, {
      spatialLayer,
      temporalLayer,
    });
    this.#preferredLayers = layers ?? undefined;
  }

  async setPriority(priority: number): Promise<void> {
    if (typeof priority !== 'number' || priority < 1) throw new TypeError('priority must be a number >= 1');
    const result = await this.#channel.request('consumer.setPriority', this.#id, { priority });
    this.#priority = result.priority;
  }

  async unsetPriority(): Promise<void> {
    await this.setPriority(1);
  }

  async requestKeyFrame(): Promise<void> {
    await this.#channel.request('consumer.requestKeyFrame', this.#id);
  }

  async enableTraceEvent(types: ConsumerTraceEventType[] = []): Promise<void> {
    checkStringArray(types, 'types');
    await this.#channel.request('consumer.enableTraceEvent', this.#id, { types });
  }
}
