import type { Channel } from './channel.js';
import type { MediaKind, RtpParameters } from './engine/rtp-parameters.js';
import { TransportChild } from './transport-child.js';
import type { AppData } from './types.js';
import { checkStringArray } from './validate.js';

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
export class Consumer<ConsumerAppData extends AppData = AppData> extends TransportChild<
  ConsumerAppData,
  ConsumerEvents,
  ConsumerObserverEvents
> {
  readonly #producerId: string;
  readonly #kind: MediaKind;
  readonly #rtpParameters: RtpParameters;
  readonly #type: ConsumerType;
  #priority = 1;
  #score: ConsumerScore;
  #preferredLayers?: ConsumerLayers;
  #currentLayers?: ConsumerLayers;

  /** @private */
  constructor(init: ConsumerInit<ConsumerAppData>) {
    super('consumer', { ...init, id: init.consumerId });
    this.#producerId = init.producerId;
    this.#kind = init.kind;
    this.#rtpParameters = init.rtpParameters;
    this.#type = init.type;
    this.#score = init.score ?? { score: 10, producerScore: 10, producerScores: [] };
    this.#preferredLayers = init.preferredLayers;
  }

  get producerId(): string {
    return this.#producerId;
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

  get producerPaused(): boolean {
    return this.sourcePaused;
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

  /** @private */
  get channelForTesting(): Channel {
    return this.channel;
  }

  protected override handleEvent(event: string, data: unknown): void {
    switch (event) {
      case 'producerclose':
        this.closedBy('producerclose', '@producerclose');
        return;
      case 'producerpause':
        this.sourcePausedChanged(true, 'producerpause');
        return;
      case 'producerresume':
        this.sourcePausedChanged(false, 'producerresume');
        return;
      case 'score':
        this.#score = data as ConsumerScore;
        this.emitBoth('score', this.#score);
        return;
      case 'layerschange':
        this.#currentLayers = data as ConsumerLayers | undefined;
        this.emitBoth('layerschange', this.#currentLayers);
        return;
      case 'trace':
        this.emitBoth('trace', data);
        return;
      case 'rtp':
        this.safeEmit('rtp', Buffer.from(data as Uint8Array));
        return;
    }
  }

  async setPreferredLayers({ spatialLayer, temporalLayer }: ConsumerLayers): Promise<void> {
    if (typeof spatialLayer !== 'number') throw new TypeError('missing spatialLayer');
    if (temporalLayer !== undefined && typeof temporalLayer !== 'number')
      throw new TypeError('if given, temporalLayer must be a number');
    const layers = await this.request('consumer.setPreferredLayers', {
      spatialLayer,
      temporalLayer,
    });
    this.#preferredLayers = layers ?? undefined;
  }

  async setPriority(priority: number): Promise<void> {
    if (typeof priority !== 'number' || priority < 1) throw new TypeError('priority must be a number >= 1');
    const result = await this.request('consumer.setPriority', { priority });
    this.#priority = result.priority;
  }

  async unsetPriority(): Promise<void> {
    await this.setPriority(1);
  }

  async requestKeyFrame(): Promise<void> {
    await this.request('consumer.requestKeyFrame');
  }

  async enableTraceEvent(types: ConsumerTraceEventType[] = []): Promise<void> {
    checkStringArray(types, 'types');
    await this.request('consumer.enableTraceEvent', { types });
  }
}
