import type { Channel } from './channel.js';
import { defaultPpid, messagePayload } from './data-producer.js';
import type { SctpStreamParameters } from './engine/rtp-parameters.js';
import { DataTransportChild } from './transport-child.js';
import type { AppData } from './types.js';

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
export class DataConsumer<DataConsumerAppData extends AppData = AppData> extends DataTransportChild<
  DataConsumerAppData,
  DataConsumerEvents,
  DataConsumerObserverEvents
> {
  readonly #dataProducerId: string;
  #subchannels: number[];

  /** @private */
  constructor(init: DataConsumerInit<DataConsumerAppData>) {
    super('dataConsumer', { ...init, id: init.dataConsumerId, producerPaused: init.dataProducerPaused });
    this.#dataProducerId = init.dataProducerId;
    this.#subchannels = init.subchannels;
  }

  get dataProducerId(): string {
    return this.#dataProducerId;
  }

  get dataProducerPaused(): boolean {
    return this.sourcePaused;
  }

  get subchannels(): number[] {
    return this.#subchannels;
  }

  protected override handleEvent(event: string, data: unknown): void {
    switch (event) {
      case 'dataproducerclose':
        this.closedBy('dataproducerclose', '@dataproducerclose');
        return;
      case 'dataproducerpause':
        this.sourcePausedChanged(true, 'dataproducerpause');
        return;
      case 'dataproducerresume':
        this.sourcePausedChanged(false, 'dataproducerresume');
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

  async setBufferedAmountLowThreshold(threshold: number): Promise<void> {
    if (typeof threshold !== 'number' || threshold < 0)
      throw new TypeError('threshold must be a number >= 0');
    await this.request('dataConsumer.setBufferedAmountLowThreshold', { threshold });
  }

  async getBufferedAmount(): Promise<number> {
    const { bufferedAmount } = await this.request('dataConsumer.getBufferedAmount');
    return bufferedAmount;
  }

  /** Sends a message to the endpoint of this DataConsumer (SCTP DataConsumers only). */
  async send(message: string | Buffer, ppid?: number): Promise<void> {
    if (typeof message !== 'string' && !Buffer.isBuffer(message))
      throw new TypeError('message must be a string or a Buffer');
    if (ppid === undefined) ppid = defaultPpid(message);
    await this.request('dataConsumer.send', { ppid, data: messagePayload(message, ppid) });
  }

  async setSubchannels(subchannels: number[]): Promise<void> {
    if (!Array.isArray(subchannels) || subchannels.some((s) => typeof s !== 'number')) {
      throw new TypeError('subchannels must be an array of numbers');
    }
    const result = await this.request('dataConsumer.setSubchannels', { subchannels });
    this.#subchannels = result.subchannels;
  }

  async addSubchannel(subchannel: number): Promise<void> {
    if (typeof subchannel !== 'number') throw new TypeError('subchannel must be a number');
    const result = await this.request('dataConsumer.addSubchannel', { subchannel });
    this.#subchannels = result.subchannels;
  }

  async removeSubchannel(subchannel: number): Promise<void> {
    if (typeof subchannel !== 'number') throw new TypeError('subchannel must be a number');
    const result = await this.request('dataConsumer.removeSubchannel', { subchannel });
    this.#subchannels = result.subchannels;
  }
}
