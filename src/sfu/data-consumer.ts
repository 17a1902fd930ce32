import type { Channel } from './channel.js';
import { PPID } from './data-producer.js';
import { EnhancedEventEmitter } from './emitter.js';
import type { SctpStreamParameters } from './engine/rtp-parameters.js';
import type { AppData } from './types.js';
import { checkAppData } from './validate.js';

export type DataConsumerType = 'sctp' | 'direct';

export type DataConsumerEvents = {
  transportclose: [];
  dataproducerclose: [];
  dataproducerpause: [];
  dataproducerresume: [];
  message: [Buffer, number];
  sctpsendbufferfull: [];
  bufferedamountlow: [number];
  listenererror: [string, Error];
  '@close': [];
  '@dataproducerclose': [];
};

export type DataConsumerObserverEvents = { close: []; pause: []; resume: [] };

interface DataConsumerInit<A> {
  transportId: string;
  dataConsumerId: string;
  dataProducerId: string;
  channel: Channel;
  type: DataConsumerType;
  sctpStreamParameters?: SctpStreamParameters;
  label: string;
  protocol: string;
  paused: boolean;
  dataProducerPaused: boolean;
  subchannels: number[];
  appData?: A;
}

/** Data messages a router delivers to an endpoint or to the application, from one DataProducer. */
export class DataConsumer<
  DataConsumerAppData extends AppData = AppData,
> extends EnhancedEventEmitter<DataConsumerEvents> {
  readonly #transportId: string;
  readonly #id: string;
  readonly #dataProducerId: string;
  readonly #channel: Channel;
  readonly #type: DataConsumerType;
  readonly #sctpStreamParameters?: SctpStreamParameters;
  readonly #label: string;
  readonly #protocol: string;
  #closed = false;
  #paused: boolean;
  #dataProducerPaused: boolean;
  #subchannels: number[];
  #appData: DataConsumerAppData;
  readonly #observer = new EnhancedEventEmitter<DataConsumerObserverEvents>();

  /** @private */
  constructor(init: DataConsumerInit<DataConsumerAppData>) {
    super();
    this.#transportId = init.transportId;
    this.#id = init.dataConsumerId;
    this.#dataProducerId = init.dataProducerId;
    this.#channel = init.channel;
    this.#type = init.type;
    this.#sctpStreamParameters = init.sctpStreamParameters;
    this.#label = init.label;
    this.#protocol = init.protocol;
    this.#paused = init.paused;
    this.#dataProducerPaused = init.dataProducerPaused;
    this.#subchannels = init.subchannels;
    this.#appData = init.appData ?? ({} as DataConsumerAppData);
    this.#channel.on(this.#id, (event: string, data: unknown) => this.#handleEvent(event, data));
  }

  get id(): string {
    return this.#id;
  }

  get dataProducerId(): string {
    return this.#dataProducerId;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get type(): DataConsumerType {
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

  get paused(): boolean {
    return this.#paused;
  }

  get dataProducerPaused(): boolean {
    return this.#dataProducerPaused;
  }

  get subchannels(): number[] {
    return this.#subchannels;
  }

  get appData(): DataConsumerAppData {
    return this.#appData;
  }

  set appData(appData: DataConsumerAppData) {
    checkAppData(appData);
    this.#appData = appData;
  }

  get observer(): EnhancedEventEmitter<DataConsumerObserverEvents> {
    return this.#observer;
  }

  #handleEvent(event: string, data: unknown): void {
    switch (event) {
      case 'dataproducerclose':
        if (this.#closed) return;
        this.#closed = true;
        this.#channel.removeAllListeners(this.#id);
        this.emit('@dataproducerclose');
        this.safeEmit('dataproducerclose');
        this.#observer.safeEmit('close');
        return;
      case 'dataproducerpause':
        if (this.#dataProducerPaused) return;
        this.#dataProducerPaused = true;
        this.safeEmit('dataproducerpause');
        if (!this.#paused) this.#observer.safeEmit('pause');
        return;
      case 'dataproducerresume':
        if (!this.#dataProducerPaused) return;
        this.#dataProducerPaused = false;
        this.safeEmit('dataproducerresume');
        if (!this.#paused) this.#observer.safeEmit('resume');
        return;
      case 'message': {
        const { ppid, data: payload } = data as { ppid: number; data: Uint8Array };
        this.safeEmit('message', Buffer.from(payload), ppid);
        return;
      }
      case 'sctpsendbufferfull':
        this.safeEmit('sctpsendbufferfull');
        return;
      case 'bufferedamountlow':
        this.safeEmit('bufferedamountlow', (data as { bufferedAmount: number }).bufferedAmount);
        return;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#channel.removeAllListeners(this.#id);
    this.#channel
      .request('transport.closeDataConsumer', this.#transportId, { dataConsumerId: this.#id })
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
    return this.#channel.request('dataConsumer.dump', this.#id);
  }

  async getStats(): Promise<unknown[]> {
    return this.#channel.request('dataConsumer.getStats', this.#id);
  }

  async pause(): Promise<void> {
    await this.#channel.request('dataConsumer.pause', this.#id);
    const wasPaused = this.#paused;
    this.#paused = true;
    if (!wasPaused && !this.#dataProducerPaused) this.#observer.safeEmit('pause');
  }

  async resume(): Promise<void> {
    await this.#channel.request('dataConsumer.resume', this.#id);
    const wasPaused = this.#paused;
    this.#paused = false;
    if (wasPaused && !this.#dataProducerPaused) this.#observer.safeEmit('resume');
  }

  async setBufferedAmountLowThreshold(threshold: number): Promise<void> {
    if (typeof threshold !== 'number' || threshold < 0)
      throw new TypeError('threshold must be a number >= 0');
    await this.#channel.request('dataConsumer.setBufferedAmountLowThreshold', this.#id, { threshold });
  }

  async getBufferedAmount(): Promise<number> {
    const { bufferedAmount } = await this.#channel.request('dataConsumer.getBufferedAmount', this.#id);
    return bufferedAmount;
  }

  /** Sends a message to the endpoint of this DataConsumer (SCTP DataConsumers only). */
  async send(message: string | Buffer, ppid?: number): Promise<void> {
    if (typeof message !== 'string' && !Buffer.isBuffer(message))
      throw new TypeError('message must be a string or a Buffer');
    if (ppid === undefined) {
      if (typeof message === 'string') ppid = message.length > 0 ? PPID.STRING : PPID.STRING_EMPTY;
      else ppid = message.length > 0 ? PPID.BINARY : PPID.BINARY_EMPTY;
    }
    let data = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
    if (ppid === PPID.STRING_EMPTY || ppid === PPID.BINARY_EMPTY) data = Buffer.alloc(1);
    await this.#channel.request('dataConsumer.send', this.#id, { ppid, data });
  }

  async setSubchannels(subchannels: number[]): Promise<void> {
    if (!Array.isArray(subchannels) || subchannels.some((s) => typeof s !== 'number')) {
      throw new TypeError('subchannels must be an array of numbers');
    }
    const result = await this.#channel.request('dataConsumer.setSubchannels', this.#id, { subchannels });
    this.#subchannels = result.subchannels;
  }

  async addSubchannel(subchannel: number): Promise<void> {
    if (typeof subchannel !== 'number') throw new TypeError('subchannel must be a number');
    const result = await this.#channel.request('dataConsumer.addSubchannel', this.#id, { subchannel });
    this.#subchannels = result.subchannels;
  }

  async removeSubchannel(subchannel: number): Promise<void> {
    if (typeof subchannel !== 'number') throw new TypeError('subchannel must be a number');
    const result = await this.#channel.request('dataConsumer.removeSubchannel', this.#id, { subchannel });
    this.#subchannels = result.subchannels;
  }
}
