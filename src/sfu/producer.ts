import type { Channel } from './channel.js';
import { EnhancedEventEmitter } from './emitter.js';
import type { MediaKind, RtpParameters } from './engine/rtp-parameters.js';
import { channelEvent } from './fbs-notification.js';
import type { AppData } from './types.js';
import { checkAppData, checkStringArray } from './validate.js';

export type ProducerType = 'simple' | 'simulcast' | 'svc';
export type ProducerTraceEventType = 'rtp' | 'keyframe' | 'nack' | 'pli' | 'fir' | 'sr';

export interface ProducerScore {
  encodingIdx: number;
  ssrc: number;
  rid?: string;
  score: number;
}

export interface ProducerVideoOrientation {
  camera: boolean;
  flip: boolean;
  rotation: number;
}

export type ProducerEvents = {
  transportclose: [];
  score: [ProducerScore[]];
  videoorientationchange: [ProducerVideoOrientation];
  trace: [unknown];
  listenererror: [string, Error];
  '@close': [];
};

export type ProducerObserverEvents = {
  close: [];
  pause: [];
  resume: [];
  score: [ProducerScore[]];
  videoorientationchange: [ProducerVideoOrientation];
  trace: [unknown];
};

interface ProducerInit<A> {
  transportId: string;
  producerId: string;
  channel: Channel;
  kind: MediaKind;
  rtpParameters: RtpParameters;
  type: ProducerType;
  consumableRtpParameters: RtpParameters;
  paused: boolean;
  appData?: A;
}

/** Media sent by an endpoint into a router. */
export class Producer<
  ProducerAppData extends AppData = AppData,
> extends EnhancedEventEmitter<ProducerEvents> {
  readonly #transportId: string;
  readonly #id: string;
  readonly #channel: Channel;
  readonly #kind: MediaKind;
  readonly #rtpParameters: RtpParameters;
  readonly #type: ProducerType;
  readonly #consumableRtpParameters: RtpParameters;
  #closed = false;
  #paused: boolean;
  #score: ProducerScore[] = [];
  #appData: ProducerAppData;
  readonly #observer = new EnhancedEventEmitter<ProducerObserverEvents>();

  /** @private */
  constructor(init: ProducerInit<ProducerAppData>) {
    super();
    this.#transportId = init.transportId;
    this.#id = init.producerId;
    this.#channel = init.channel;
    this.#kind = init.kind;
    this.#rtpParameters = init.rtpParameters;
    this.#type = init.type;
    this.#consumableRtpParameters = init.consumableRtpParameters;
    this.#paused = init.paused;
    this.#appData = init.appData ?? ({} as ProducerAppData);
    this.#channel.on(this.#id, (event: unknown, data: unknown) => {
      const translated = channelEvent(event, data);
      if (translated) this.#handleEvent(translated.event, translated.data);
    });
  }

  get id(): string {
    return this.#id;
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

  get type(): ProducerType {
    return this.#type;
  }

  /** @private What Consumers of this Producer may receive (router payload types and SSRCs). */
  get consumableRtpParameters(): RtpParameters {
    return this.#consumableRtpParameters;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get score(): ProducerScore[] {
    return this.#score;
  }

  get appData(): ProducerAppData {
    return this.#appData;
  }

  set appData(appData: ProducerAppData) {
    checkAppData(appData);
    this.#appData = appData;
  }

  get observer(): EnhancedEventEmitter<ProducerObserverEvents> {
    return this.#observer;
  }

  /** @private */
  get channelForTesting(): Channel {
    return this.#channel;
  }

  #handleEvent(event: string, data: unknown): void {
    switch (event) {
      case 'score':
        this.#score = data as ProducerScore[];
        this.safeEmit('score', this.#score);
        this.#observer.safeEmit('score', this.#score);
        return;
      case 'videoorientationchange':
        this.safeEmit('videoorientationchange', data as ProducerVideoOrientation);
        this.#observer.safeEmit('videoorientationchange', data as ProducerVideoOrientation);
        return;
      case 'trace':
        this.safeEmit('trace', data);
        this.#observer.safeEmit('trace', data);
        return;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#channel.removeAllListeners(this.#id);
    this.#channel
      .request('transport.closeProducer', this.#transportId, { producerId: this.#id })
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
    return this.#channel.request('producer.dump', this.#id);
  }

  async getStats(): Promise<unknown[]> {
    return this.#channel.request('producer.getStats', this.#id);
  }

  async pause(): Promise<void> {
    await this.#channel.request('producer.pause', this.#id);
    const wasPaused = this.#paused;
    this.#paused = true;
    if (!wasPaused) this.#observer.safeEmit('pause');
  }

  async resume(): Promise<void> {
    await this.#channel.request('producer.resume', this.#id);
    const wasPaused = this.#paused;
    this.#paused = false;
    if (wasPaused) this.#observer.safeEmit('resume');
  }

  async enableTraceEvent(types: ProducerTraceEventType[] = []): Promise<void> {
    checkStringArray(types, 'types');
    await this.#channel.request('producer.enableTraceEvent', this.#id, { types });
  }

  /** Injects an RTP packet (Producers of a DirectTransport only). */
  send(rtpPacket: Buffer): void {
    if (!Buffer.isBuffer(rtpPacket)) throw new TypeError('rtpPacket must be a Buffer');
    this.#channel.notify('producer.send', this.#id, rtpPacket);
  }
}
