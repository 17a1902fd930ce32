import type { Channel } from './channel.js';
import { ChannelObject } from './channel-object.js';
import type { EnhancedEventEmitter, Events } from './emitter.js';
import type { SctpStreamParameters } from './engine/rtp-parameters.js';
import type { AppData } from './types.js';

type TransportChildKind = 'producer' | 'consumer' | 'dataProducer' | 'dataConsumer';

/** The request a transport's handler closes each kind of child with. */
const CLOSE_METHOD: Record<TransportChildKind, string> = {
  producer: 'transport.closeProducer',
  consumer: 'transport.closeConsumer',
  dataProducer: 'transport.closeDataProducer',
  dataConsumer: 'transport.closeDataConsumer',
};

export interface TransportChildInit<A> {
  channel: Channel;
  transportId: string;
  id: string;
  paused: boolean;
  /** Consumers only: whether the Producer they consume is paused. */
  producerPaused?: boolean;
  appData?: A;
}

/**
 * Base of Producer, Consumer, DataProducer and DataConsumer: what a transport owns, closed with it.
 * Worker requests are named after the kind (`consumer.pause`, `dataProducer.dump`, ...).
 */
export abstract class TransportChild<
  A extends AppData,
  E extends Events,
  O extends Events,
> extends ChannelObject<A, E, O> {
  readonly #kind: TransportChildKind;
  readonly #transportId: string;
  #paused: boolean;
  #producerPaused: boolean;

  protected constructor(kind: TransportChildKind, init: TransportChildInit<A>) {
    super(init.channel, init.id, init.appData);
    this.#kind = kind;
    this.#transportId = init.transportId;
    this.#paused = init.paused;
    this.#producerPaused = init.producerPaused ?? false;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** For consumers: the Producer (or DataProducer) they consume is paused. */
  protected get sourcePaused(): boolean {
    return this.#producerPaused;
  }

  close(): void {
    this.closeThrough(CLOSE_METHOD[this.#kind], this.#transportId, { [`${this.#kind}Id`]: this.id });
  }

  /** @private */
  transportClosed(): void {
    this.closedBy('transportclose');
  }

  async dump(): Promise<unknown> {
    return this.request(`${this.#kind}.dump`);
  }

  async getStats(): Promise<unknown[]> {
    return this.request(`${this.#kind}.getStats`);
  }

  /** The observer says 'pause' only when media actually stops: not if the source was paused already. */
  async pause(): Promise<void> {
    await this.request(`${this.#kind}.pause`);
    const wasPaused = this.#paused;
    this.#paused = true;
    if (!wasPaused && !this.#producerPaused) this.#observer().safeEmit('pause');
  }

  async resume(): Promise<void> {
    await this.request(`${this.#kind}.resume`);
    const wasPaused = this.#paused;
    this.#paused = false;
    if (wasPaused && !this.#producerPaused) this.#observer().safeEmit('resume');
  }

  /**
   * Consumers: the worker says the source paused or resumed. `event` on this object, and the
   * observer's 'pause'/'resume' unless this consumer is paused itself (then nothing flows anyway).
   */
  protected sourcePausedChanged(paused: boolean, event: string): void {
    if (this.#producerPaused === paused) return;
    this.#producerPaused = paused;
    (this as unknown as EnhancedEventEmitter<Events>).safeEmit(event);
    if (!this.#paused) this.#observer().safeEmit(paused ? 'pause' : 'resume');
  }

  #observer(): EnhancedEventEmitter<Events> {
    return this.observer as unknown as EnhancedEventEmitter<Events>;
  }
}

export interface DataTransportChildInit<A> extends TransportChildInit<A> {
  type: 'sctp' | 'direct';
  sctpStreamParameters?: SctpStreamParameters;
  label: string;
  protocol: string;
}

/** Base of DataProducer and DataConsumer: the data stream's type, SCTP parameters, label and protocol. */
export abstract class DataTransportChild<
  A extends AppData,
  E extends Events,
  O extends Events,
> extends TransportChild<A, E, O> {
  readonly #type: 'sctp' | 'direct';
  readonly #sctpStreamParameters?: SctpStreamParameters;
  readonly #label: string;
  readonly #protocol: string;

  protected constructor(kind: 'dataProducer' | 'dataConsumer', init: DataTransportChildInit<A>) {
    super(kind, init);
    this.#type = init.type;
    this.#sctpStreamParameters = init.sctpStreamParameters;
    this.#label = init.label;
    this.#protocol = init.protocol;
  }

  get type(): 'sctp' | 'direct' {
    return this.#type;
  }

  get sctpStreamParameters(): SctpStreamParameters | undefined {
    return this.#sctpStreamParameters;
  }

  get label(): string {
    return this.#label;
  }

  get protocol(): string {
    return this.#protocol;
  }
}
