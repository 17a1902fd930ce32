import type { SendOptions } from '../../transport/sctp/index.js';
import type { EngineContext, Handler } from './context.js';
import type { SctpStreamParameters } from './rtp-parameters.js';

export type DataType = 'sctp' | 'direct';

export interface DataMessage {
  ppid: number;
  data: Buffer;
  subchannels?: number[];
  requiredSubchannel?: number;
}

/** Who delivers a DataProducer's messages: the router, to the DataConsumers of that producer. */
export interface DataSink {
  onDataMessage(dataProducer: DataProducerEngine, message: DataMessage): void;
  onDataProducerPause(dataProducer: DataProducerEngine, paused: boolean): void;
}

/** Where a DataConsumer's messages go: its transport. */
export interface DataSender {
  sendData(dataConsumer: DataConsumerEngine, message: DataMessage): boolean;
  /** Bytes of this DataConsumer's messages queued and not yet sent (SCTP). */
  dataBufferedAmount(dataConsumer: DataConsumerEngine): number;
  setDataBufferedAmountLowThreshold(dataConsumer: DataConsumerEngine, threshold: number): void;
}

/** How an SCTP DataConsumer's messages are sent (RFC 8831 §6.6 reliability settings). */
function sendOptionsOf(params: SctpStreamParameters | undefined): SendOptions | undefined {
  if (!params) return undefined;
  // A partially reliable stream is unordered unless said otherwise (mediasoup's default).
  const partial = params.maxPacketLifeTime !== undefined || params.maxRetransmits !== undefined;
  return {
    unordered: params.ordered === undefined ? partial : !params.ordered,
    maxRetransmits: params.maxRetransmits,
    maxPacketLifeTime: params.maxPacketLifeTime,
  };
}

/** Subchannels are 16-bit on the wire (as in mediasoup's FlatBuffers schema), without duplicates. */
export function normaliseSubchannels(subchannels: unknown): number[] {
  if (!Array.isArray(subchannels)) return [];
  return [...new Set(subchannels.filter((s) => typeof s === 'number').map((s) => s & 0xffff))];
}

export class DataProducerEngine implements Handler {
  readonly id: string;
  readonly type: DataType;
  readonly sctpStreamParameters?: SctpStreamParameters;
  readonly label: string;
  readonly protocol: string;
  paused: boolean;
  #messagesReceived = 0;
  #bytesReceived = 0;
  readonly #sink: DataSink;

  constructor(
    init: {
      dataProducerId: string;
      type: DataType;
      sctpStreamParameters?: SctpStreamParameters;
      label: string;
      protocol: string;
      paused: boolean;
    },
    sink: DataSink,
  ) {
    this.id = init.dataProducerId;
    this.type = init.type;
    this.sctpStreamParameters = init.sctpStreamParameters;
    this.label = init.label;
    this.protocol = init.protocol;
    this.paused = init.paused;
    this.#sink = sink;
  }

  /** A message from the endpoint (SCTP) or the application (DirectTransport). */
  receiveMessage(message: DataMessage): void {
    this.#messagesReceived++;
    this.#bytesReceived += message.data.length;
    if (this.paused) return;
    this.#sink.onDataMessage(this, message);
  }

  handleRequest(method: string): unknown {
    switch (method) {
      case 'dataProducer.dump':
        return {
          id: this.id,
          type: this.type,
          sctpStreamParameters: this.sctpStreamParameters,
          label: this.label,
          protocol: this.protocol,
          paused: this.paused,
        };
      case 'dataProducer.getStats':
        return [
          {
            type: 'data-producer',
            timestamp: Date.now(),
            label: this.label,
            protocol: this.protocol,
            messagesReceived: this.#messagesReceived,
            bytesReceived: this.#bytesReceived,
          },
        ];
      case 'dataProducer.pause':
        if (!this.paused) {
          this.paused = true;
          this.#sink.onDataProducerPause(this, true);
        }
        return undefined;
      case 'dataProducer.resume':
        if (this.paused) {
          this.paused = false;
          this.#sink.onDataProducerPause(this, false);
        }
        return undefined;
      default:
        throw new Error(`unknown method ${method}`);
    }
  }

  handleNotification(
    method: string,
    data: { ppid?: unknown; data?: unknown; subchannels?: unknown; requiredSubchannel?: unknown },
  ): void {
    if (method !== 'dataProducer.send' || this.type !== 'direct') return;
    if (
      typeof data !== 'object' ||
      data === null ||
      !(data.data instanceof Uint8Array) ||
      typeof data.ppid !== 'number'
    )
      return;
    this.receiveMessage({
      ppid: data.ppid,
      data: Buffer.from(data.data.buffer, data.data.byteOffset, data.data.byteLength),
      subchannels: Array.isArray(data.subchannels) ? normaliseSubchannels(data.subchannels) : undefined,
      requiredSubchannel:
        typeof data.requiredSubchannel === 'number' ? data.requiredSubchannel & 0xffff : undefined,
    });
  }
}

export class DataConsumerEngine implements Handler {
  readonly id: string;
  readonly dataProducerId: string;
  readonly type: DataType;
  readonly sctpStreamParameters?: SctpStreamParameters;
  /** Computed once: the SCTP send path passes it with every message. */
  readonly sctpSendOptions?: SendOptions;
  readonly label: string;
  readonly protocol: string;
  paused: boolean;
  dataProducerPaused: boolean;
  #subchannels: Set<number>;
  #bufferedAmountLowThreshold = 0;
  #messagesSent = 0;
  #bytesSent = 0;
  readonly #ctx: EngineContext;
  readonly #sender: DataSender;

  constructor(
    ctx: EngineContext,
    init: {
      dataConsumerId: string;
      dataProducerId: string;
      type: DataType;
      sctpStreamParameters?: SctpStreamParameters;
      label: string;
      protocol: string;
      paused: boolean;
      subchannels?: unknown;
    },
    dataProducer: DataProducerEngine,
    sender: DataSender,
  ) {
    this.#ctx = ctx;
    this.#sender = sender;
    this.id = init.dataConsumerId;
    this.dataProducerId = init.dataProducerId;
    this.type = init.type;
    this.sctpStreamParameters = init.sctpStreamParameters;
    this.sctpSendOptions = sendOptionsOf(init.sctpStreamParameters);
    this.label = init.label;
    this.protocol = init.protocol;
    this.paused = Boolean(init.paused);
    this.dataProducerPaused = dataProducer.paused;
    this.#subchannels = new Set(normaliseSubchannels(init.subchannels));
  }

  get subchannels(): number[] {
    return [...this.#subchannels].sort((a, b) => a - b);
  }

  /** Delivers a message unless paused or filtered out by subchannels. */
  deliver(message: DataMessage): void {
    if (this.paused || this.dataProducerPaused) return;
    if (message.requiredSubchannel !== undefined && !this.#subchannels.has(message.requiredSubchannel))
      return;
    if (message.subchannels && message.subchannels.length > 0) {
      if (!message.subchannels.some((s) => this.#subchannels.has(s))) return;
    }
    if (!this.#sender.sendData(this, message)) return;
    this.#messagesSent++;
    this.#bytesSent += message.data.length;
  }

  setDataProducerPaused(paused: boolean): void {
    if (this.dataProducerPaused === paused) return;
    this.dataProducerPaused = paused;
    this.#ctx.emit(this.id, paused ? 'dataproducerpause' : 'dataproducerresume');
  }

  handleRequest(method: string, data: Record<string, unknown>): unknown {
    switch (method) {
      case 'dataConsumer.dump':
        return {
          id: this.id,
          dataProducerId: this.dataProducerId,
          type: this.type,
          sctpStreamParameters: this.sctpStreamParameters,
          label: this.label,
          protocol: this.protocol,
          bufferedAmountLowThreshold: this.#bufferedAmountLowThreshold,
          paused: this.paused,
          dataProducerPaused: this.dataProducerPaused,
          subchannels: this.subchannels,
        };
      case 'dataConsumer.getStats':
        return [
          {
            type: 'data-consumer',
            timestamp: Date.now(),
            label: this.label,
            protocol: this.protocol,
            messagesSent: this.#messagesSent,
            bytesSent: this.#bytesSent,
            bufferedAmount: this.#sender.dataBufferedAmount(this),
          },
        ];
      case 'dataConsumer.pause':
        this.paused = true;
        return undefined;
      case 'dataConsumer.resume':
        this.paused = false;
        return undefined;
      case 'dataConsumer.setBufferedAmountLowThreshold':
        this.#bufferedAmountLowThreshold = Number(data.threshold) || 0;
        this.#sender.setDataBufferedAmountLowThreshold(this, this.#bufferedAmountLowThreshold);
        return undefined;
      case 'dataConsumer.getBufferedAmount':
        return { bufferedAmount: this.#sender.dataBufferedAmount(this) };
      case 'dataConsumer.send': {
        if (this.type !== 'sctp') throw new Error('send() is only for SCTP DataConsumers');
        const payload = data.data;
        if (!(payload instanceof Uint8Array) || typeof data.ppid !== 'number')
          throw new TypeError('invalid message');
        const message = { ppid: data.ppid, data: Buffer.from(payload) };
        if (this.paused || this.dataProducerPaused || !this.#sender.sendData(this, message))
          throw new Error('message send failed');
        this.#messagesSent++;
        this.#bytesSent += message.data.length;
        return undefined;
      }
      case 'dataConsumer.setSubchannels':
        this.#subchannels = new Set(normaliseSubchannels(data.subchannels));
        return { subchannels: this.subchannels };
      case 'dataConsumer.addSubchannel':
        this.#subchannels.add(Number(data.subchannel) & 0xffff);
        return { subchannels: this.subchannels };
      case 'dataConsumer.removeSubchannel':
        this.#subchannels.delete(Number(data.subchannel) & 0xffff);
        return { subchannels: this.subchannels };
      default:
        throw new Error(`unknown method ${method}`);
    }
  }
}
