import type { Channel } from './channel.js';
import { EnhancedEventEmitter } from './emitter.js';
import type { SctpStreamParameters } from './engine/rtp-parameters.js';
import type { AppData } from './types.js';
import { checkAppData } from './validate.js';

export type DataProducerType = 'sctp' | 'direct';

/** WebRTC data channel PPIDs (RFC 8831): string, binary, and their empty-message variants. */
export const PPID = { STRING: 51, BINARY: 53, STRING_EMPTY: 56, BINARY_EMPTY: 57 } as const;

export type DataProducerEvents = { transportclose: []; listenererror: [string, Error]; '@close': [] };
export type DataProducerObserverEvents = { close: []; pause: []; resume: [] };

interface DataProducerInit<A> {
  transportId: string;
  dataProducerId: string;
  channel: Channel;
  type: DataProducerType;
  sctpStreamParameters?: SctpStreamParameters;
  label: string;
  protocol: string;
  paused: boolean;
  appData?: A;
}

/** Data messages sent by an endpoint (data channel) or by the application (DirectTransport). */
export class DataProducer<
  DataProducerAppData extends AppData = AppData,
> extends EnhancedEventEmitter<DataProducerEvents> {
  readonly #transportId: string;
  readonly #id: string;
  readonly #channel: Channel;
  readonly #type: DataProducerType;
  readonly #sctpStreamParameters?: SctpStreamParameters;
  readonly #label: string;
  readonly #protocol: string;
  #closed = false;
  #paused: boolean;
  #appData: DataProducerAppData;
  readonly #observer = new EnhancedEventEmitter<DataProducerObserverEvents>();

  /** @private */
  constructor(init: DataProducerInit<DataProducerAppData>) {
    super();
    this.#transportId = init.transportId;
    this.#id = init.dataProducerId;
    this.#channel = init.channel;
    this.#type = init.type;
    this.#sctpStreamParameters = init.sctpStreamParameters;
    this.#label = init.label;
    this.#protocol = init.protocol;
    this.#paused = init.paused;
    this.#appData = init.appData ?? ({} as DataProducerAppData);
  }

  get id(): string {
    return this.#id;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get type(): DataProducerType {
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

  get appData(): DataProducerAppData {
    return this.#appData;
  }

  set appData(appData: DataProducerAppData) {
    checkAppData(appData);
    this.#appData = appData;
  }

  get observer(): EnhancedEventEmitter<DataProducerObserverEvents> {
    return this.#observer;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#channel
      .request('transport.closeDataProducer', this.#transportId, { dataProducerId: this.#id })
      .catch(() => {});
    this.emit('@close');
    this.#observer.safeEmit('close');
  }

  /** @private */
  transportClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.safeEmit('transportclose');
    this.#observer.safeEmit('close');
  }

  async dump(): Promise<unknown> {
    return this.#channel.request('dataProducer.dump', this.#id);
  }

  async getStats(): Promise<unknown[]> {
    return this.#channel.request('dataProducer.getStats', this.#id);
  }

  async pause(): Promise<void> {
    await this.#channel.request('dataProducer.pause', this.#id);
    const wasPaused = this.#paused;
    this.#paused = true;
    if (!wasPaused) this.#observer.safeEmit('pause');
  }

  async resume(): Promise<void> {
    await this.#channel.request('dataProducer.resume', this.#id);
    const wasPaused = this.#paused;
    this.#paused = false;
    if (wasPaused) this.#observer.safeEmit('resume');
  }

  /**
   * Sends a message (DirectTransport DataProducers only). `subchannels` and `requiredSubchannel`
   * select which DataConsumers receive it.
   */
  send(message: string | Buffer, ppid?: number, subchannels?: number[], requiredSubchannel?: number): void {
    if (typeof message !== 'string' && !Buffer.isBuffer(message))
      throw new TypeError('message must be a string or a Buffer');
    if (ppid === undefined) {
      if (typeof message === 'string') ppid = message.length > 0 ? PPID.STRING : PPID.STRING_EMPTY;
      else ppid = message.length > 0 ? PPID.BINARY : PPID.BINARY_EMPTY;
    }
    if (typeof ppid !== 'number') throw new TypeError('ppid must be a number');
    if (
      subchannels !== undefined &&
      (!Array.isArray(subchannels) || subchannels.some((s) => typeof s !== 'number'))
    ) {
      throw new TypeError('subchannels must be an array of numbers');
    }
    if (requiredSubchannel !== undefined && typeof requiredSubchannel !== 'number') {
      throw new TypeError('requiredSubchannel must be a number');
    }
    // An empty message cannot travel in SCTP: one placeholder byte stands for it (PPID 56/57).
    let data = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
    if (ppid === PPID.STRING_EMPTY || ppid === PPID.BINARY_EMPTY) data = Buffer.alloc(1);
    this.#channel.notify('dataProducer.send', this.#id, { ppid, data, subchannels, requiredSubchannel });
  }
}
