import type { Channel } from './channel.js';
import { EnhancedEventEmitter, type Events } from './emitter.js';
import type { Producer } from './producer.js';
import type { AppData } from './types.js';
import { checkAppData } from './validate.js';

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
> extends EnhancedEventEmitter<E> {
  protected readonly context: RtpObserverContext;
  #closed = false;
  #paused = false;
  #appData: RtpObserverAppData;
  readonly #observer = new EnhancedEventEmitter<O>();

  protected constructor(context: RtpObserverContext, appData?: RtpObserverAppData) {
    super();
    this.context = context;
    this.#appData = appData ?? ({} as RtpObserverAppData);
    context.channel.on(context.rtpObserverId, (event: string, data: unknown) =>
      this.handleEvent(event, data),
    );
  }

  get id(): string {
    return this.context.rtpObserverId;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get appData(): RtpObserverAppData {
    return this.#appData;
  }

  set appData(appData: RtpObserverAppData) {
    checkAppData(appData);
    this.#appData = appData;
  }

  get observer(): EnhancedEventEmitter<O> {
    return this.#observer;
  }

  #baseObserver(): EnhancedEventEmitter<RtpObserverObserverEvents> {
    return this.#observer as unknown as EnhancedEventEmitter<RtpObserverObserverEvents>;
  }

  protected abstract handleEvent(event: string, data: unknown): void;

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.context.channel.removeAllListeners(this.id);
    this.context.channel
      .request('router.closeRtpObserver', this.context.routerId, { rtpObserverId: this.id })
      .catch(() => {});
    this.emit('@close');
    this.#baseObserver().safeEmit('close');
  }

  /** @private */
  routerClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.context.channel.removeAllListeners(this.id);
    (this as unknown as EnhancedEventEmitter<RtpObserverEvents>).safeEmit('routerclose');
    this.#baseObserver().safeEmit('close');
  }

  async pause(): Promise<void> {
    await this.context.channel.request('rtpObserver.pause', this.id);
    const wasPaused = this.#paused;
    this.#paused = true;
    if (!wasPaused) this.#baseObserver().safeEmit('pause');
  }

  async resume(): Promise<void> {
    await this.context.channel.request('rtpObserver.resume', this.id);
    const wasPaused = this.#paused;
    this.#paused = false;
    if (wasPaused) this.#baseObserver().safeEmit('resume');
  }

  async addProducer({ producerId }: { producerId: string }): Promise<void> {
    const producer = this.context.getProducerById(producerId);
    if (!producer) throw new Error(`Producer with id "${producerId}" not found`);
    await this.context.channel.request('rtpObserver.addProducer', this.id, { producerId });
    this.#baseObserver().safeEmit('addproducer', producer);
  }

  async removeProducer({ producerId }: { producerId: string }): Promise<void> {
    const producer = this.context.getProducerById(producerId);
    if (!producer) throw new Error(`Producer with id "${producerId}" not found`);
    await this.context.channel.request('rtpObserver.removeProducer', this.id, { producerId });
    this.#baseObserver().safeEmit('removeproducer', producer);
  }
}
