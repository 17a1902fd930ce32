import type { Channel } from './channel.js';
import { ChannelObject } from './channel-object.js';
import type { EnhancedEventEmitter, Events } from './emitter.js';
import type { Producer } from './producer.js';
import type { AppData } from './types.js';

export type RtpObserverEvents = { routerclose: []; listenererror: [string, Error]; '@close': [] };
export type RtpObserverObserverEvents = {
  close: [];
  pause: [];
  resume: [];
  addproducer: [Producer];
  removeproducer: [Producer];
};

export interface RtpObserverContext {
  routerId: string;
  rtpObserverId: string;
  channel: Channel;
  getProducerById: (id: string) => Producer | undefined;
}

/** Base of ActiveSpeakerObserver and AudioLevelObserver: watches audio Producers of a router. */
export abstract class RtpObserver<
  RtpObserverAppData extends AppData = AppData,
  E extends Events = RtpObserverEvents,
  O extends Events = RtpObserverObserverEvents,
> extends ChannelObject<RtpObserverAppData, E, O> {
  protected readonly context: RtpObserverContext;
  #paused = false;

  protected constructor(context: RtpObserverContext, appData?: RtpObserverAppData) {
    super(context.channel, context.rtpObserverId, appData);
    this.context = context;
  }

  get paused(): boolean {
    return this.#paused;
  }

  #baseObserver(): EnhancedEventEmitter<RtpObserverObserverEvents> {
    return this.observer as unknown as EnhancedEventEmitter<RtpObserverObserverEvents>;
  }

  protected abstract override handleEvent(event: string, data: unknown): void;

  close(): void {
    this.closeThrough('router.closeRtpObserver', this.context.routerId, { rtpObserverId: this.id });
  }

  /** @private */
  routerClosed(): void {
    this.closedBy('routerclose');
  }

  async pause(): Promise<void> {
    await this.request('rtpObserver.pause');
    const wasPaused = this.#paused;
    this.#paused = true;
    if (!wasPaused) this.#baseObserver().safeEmit('pause');
  }

  async resume(): Promise<void> {
    await this.request('rtpObserver.resume');
    const wasPaused = this.#paused;
    this.#paused = false;
    if (wasPaused) this.#baseObserver().safeEmit('resume');
  }

  async addProducer({ producerId }: { producerId: string }): Promise<void> {
    const producer = this.context.getProducerById(producerId);
    if (!producer) throw new Error(`Producer with id "${producerId}" not found`);
    await this.request('rtpObserver.addProducer', { producerId });
    this.#baseObserver().safeEmit('addproducer', producer);
  }

  async removeProducer({ producerId }: { producerId: string }): Promise<void> {
    const producer = this.context.getProducerById(producerId);
    if (!producer) throw new Error(`Producer with id "${producerId}" not found`);
    await this.request('rtpObserver.removeProducer', { producerId });
    this.#baseObserver().safeEmit('removeproducer', producer);
  }
}
