import type { Channel } from './channel.js';
import type { SctpStreamParameters } from './engine/rtp-parameters.js';
import { DataTransportChild } from './transport-child.js';
import type { AppData } from './types.js';

export type DataProducerType = 'sctp' | 'direct';

/** WebRTC data channel PPIDs (RFC 8831): string, binary, and their empty-message variants. */
export const PPID = { STRING: 51, BINARY: 53, STRING_EMPTY: 56, BINARY_EMPTY: 57 } as const;

/** The PPID a message gets when none is given: string or binary, empty or not. */
export function defaultPpid(message: string | Buffer): number {
  if (typeof message === 'string') return message.length > 0 ? PPID.STRING : PPID.STRING_EMPTY;
  return message.length > 0 ? PPID.BINARY : PPID.BINARY_EMPTY;
}

/** The bytes sent for a message: an empty one cannot travel in SCTP, so one placeholder byte stands for it. */
export function messagePayload(message: string | Buffer, ppid: number): Buffer {
  if (ppid === PPID.STRING_EMPTY || ppid === PPID.BINARY_EMPTY) return Buffer.alloc(1);
  return typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
}

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
export class DataProducer<DataProducerAppData extends AppData = AppData> extends DataTransportChild<
  DataProducerAppData,
  DataProducerEvents,
  DataProducerObserverEvents
> {
  /** @private */
  constructor(init: DataProducerInit<DataProducerAppData>) {
    super('dataProducer', { ...init, id: init.dataProducerId });
  }

  /**
   * Sends a message (DirectTransport DataProducers only). `subchannels` and `requiredSubchannel`
   * select which DataConsumers receive it.
   */
  send(message: string | Buffer, ppid?: number, subchannels?: number[], requiredSubchannel?: number): void {
    if (typeof message !== 'string' && !Buffer.isBuffer(message))
      throw new TypeError('message must be a string or a Buffer');
    if (ppid === undefined) ppid = defaultPpid(message);
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
    const data = messagePayload(message, ppid);
    this.channel.notify('dataProducer.send', this.id, { ppid, data, subchannels, requiredSubchannel });
  }
}
