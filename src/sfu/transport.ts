import { randomUUID } from 'node:crypto';
import type { Channel } from './channel.js';
import { ChannelObject } from './channel-object.js';
import { Consumer, type ConsumerLayers } from './consumer.js';
import { DataConsumer } from './data-consumer.js';
import { DataProducer } from './data-producer.js';
import type { EnhancedEventEmitter } from './emitter.js';
import {
  clone,
  getConsumableRtpParameters,
  getConsumerRtpParameters,
  getProducerRtpParametersMapping,
  validateRtpCapabilities,
  validateRtpParameters,
  validateSctpStreamParameters,
} from './engine/ortc.js';
import type {
  MediaKind,
  RtpCapabilities,
  RtpParameters,
  SctpParameters,
  SctpStreamParameters,
} from './engine/rtp-parameters.js';
import { Producer } from './producer.js';
import type { AppData } from './types.js';
import { checkAppData, checkStringArray } from './validate.js';

export type TransportTraceEventType = 'probation' | 'bwe';
export type SctpState = 'new' | 'connecting' | 'connected' | 'failed' | 'closed';
export type TransportProtocol = 'udp' | 'tcp';

export interface TransportTuple {
  /** @deprecated Use localAddress. */
  localIp: string;
  localAddress: string;
  localPort: number;
  remoteIp?: string;
  remotePort?: number;
  protocol: TransportProtocol;
}

export interface ProducerOptions<ProducerAppData extends AppData = AppData> {
  id?: string;
  kind: MediaKind;
  rtpParameters: RtpParameters;
  paused?: boolean;
  keyFrameRequestDelay?: number;
  appData?: ProducerAppData;
}

export interface ConsumerOptions<ConsumerAppData extends AppData = AppData> {
  producerId: string;
  rtpCapabilities: RtpCapabilities;
  paused?: boolean;
  mid?: string;
  preferredLayers?: ConsumerLayers;
  ignoreDtx?: boolean;
  enableRtx?: boolean;
  pipe?: boolean;
  appData?: ConsumerAppData;
}

export interface DataProducerOptions<DataProducerAppData extends AppData = AppData> {
  id?: string;
  sctpStreamParameters?: SctpStreamParameters;
  label?: string;
  protocol?: string;
  paused?: boolean;
  appData?: DataProducerAppData;
}

export interface DataConsumerOptions<DataConsumerAppData extends AppData = AppData> {
  dataProducerId: string;
  ordered?: boolean;
  maxPacketLifeTime?: number;
  maxRetransmits?: number;
  paused?: boolean;
  subchannels?: number[];
  appData?: DataConsumerAppData;
}

/** What a transport needs from its router. */
export interface TransportContext {
  routerId: string;
  channel: Channel;
  getRouterRtpCapabilities: () => RtpCapabilities;
  getProducerById: (id: string) => Producer | undefined;
  getDataProducerById: (id: string) => DataProducer | undefined;
}

export type TransportEvents = {
  routerclose: [];
  listenserverclose: [];
  trace: [unknown];
  listenererror: [string, Error];
  '@close': [];
  '@listenserverclose': [];
  '@newproducer': [Producer];
  '@producerclose': [Producer];
  '@newdataproducer': [DataProducer];
  '@dataproducerclose': [DataProducer];
};

export type TransportObserverEvents = {
  close: [];
  newproducer: [Producer];
  newconsumer: [Consumer];
  newdataproducer: [DataProducer];
  newdataconsumer: [DataConsumer];
  trace: [unknown];
};

/** Fields every transport's worker answer carries. */
export interface TransportData {
  sctpParameters?: SctpParameters;
  sctpState?: SctpState;
}

const MAX_MID = 100_000_000;

/** Base of WebRtcTransport, PlainTransport, PipeTransport and DirectTransport. */
export abstract class Transport<
  TransportAppData extends AppData = AppData,
  E extends TransportEvents = TransportEvents,
  O extends TransportObserverEvents = TransportObserverEvents,
> extends ChannelObject<TransportAppData, E, O> {
  protected readonly context: TransportContext;
  readonly #producers = new Map<string, Producer>();
  readonly #consumers = new Map<string, Consumer>();
  readonly #dataProducers = new Map<string, DataProducer>();
  readonly #dataConsumers = new Map<string, DataConsumer>();
  #cnameForProducers?: string;
  #nextMidForConsumers = 0;
  #sctpStreamIds?: Uint8Array;
  #nextSctpStreamId = 0;

  protected constructor(context: TransportContext, transportId: string, appData?: TransportAppData) {
    super(context.channel, transportId, appData);
    this.context = context;
  }

  /** @private The channel to the worker. */
  get channelForTesting(): Channel {
    return this.channel;
  }

  protected abstract get sctpParametersForStreams(): SctpParameters | undefined;

  /** Subclasses react to their worker notifications here. */
  protected override handleEvent(event: string, data: unknown): void {
    if (event === 'trace') this.emitBoth('trace', data as E['trace'][0]);
  }

  /** Subclasses update their state (ICE/DTLS/SCTP 'closed') before the close events fire. */
  protected onClosed(): void {}

  protected override closeContents(): void {
    this.onClosed();
    this.#closeChildren();
  }

  close(): void {
    this.closeThrough('router.closeTransport', this.context.routerId, { transportId: this.id });
  }

  /** @private */
  routerClosed(): void {
    this.closedBy('routerclose');
  }

  /** @private The WebRtcServer this transport listened through was closed. */
  listenServerClosed(): void {
    this.closedBy('listenserverclose', '@listenserverclose');
  }

  #closeChildren(): void {
    for (const producer of this.#producers.values()) {
      producer.transportClosed();
      this.emit('@producerclose', producer);
    }
    this.#producers.clear();
    for (const consumer of this.#consumers.values()) consumer.transportClosed();
    this.#consumers.clear();
    for (const dataProducer of this.#dataProducers.values()) {
      dataProducer.transportClosed();
      this.emit('@dataproducerclose', dataProducer);
    }
    this.#dataProducers.clear();
    for (const dataConsumer of this.#dataConsumers.values()) dataConsumer.transportClosed();
    this.#dataConsumers.clear();
  }

  async dump(): Promise<unknown> {
    return this.request('transport.dump');
  }

  async getStats(): Promise<unknown[]> {
    return this.request('transport.getStats');
  }

  abstract connect(params: unknown): Promise<void>;

  async setMaxIncomingBitrate(bitrate: number): Promise<void> {
    await this.request('transport.setMaxIncomingBitrate', { bitrate });
  }

  async setMaxOutgoingBitrate(bitrate: number): Promise<void> {
    await this.request('transport.setMaxOutgoingBitrate', { bitrate });
  }

  async setMinOutgoingBitrate(bitrate: number): Promise<void> {
    await this.request('transport.setMinOutgoingBitrate', { bitrate });
  }

  async enableTraceEvent(types: TransportTraceEventType[] = []): Promise<void> {
    checkStringArray(types, 'types');
    await this.request('transport.enableTraceEvent', { types });
  }

  /** Whether CNAMEs of Producers are rewritten to one per transport (all but PipeTransport). */
  protected get overridesProducerCname(): boolean {
    return true;
  }

  async produce<A extends AppData = AppData>({
    id,
    kind,
    rtpParameters,
    paused = false,
    keyFrameRequestDelay,
    appData,
  }: ProducerOptions<A>): Promise<Producer<A>> {
    if (id && this.#producers.has(id)) throw new TypeError(`a Producer with same id "${id}" already exists`);
    if (kind !== 'audio' && kind !== 'video') throw new TypeError(`invalid kind "${String(kind)}"`);
    checkAppData(appData);
    const params = clone(rtpParameters);
    validateRtpParameters(params);
    // No encodings means one, demultiplexed by MID (the worker rejects it if there is no MID either).
    if (!params.encodings || params.encodings.length === 0) params.encodings = [{}];
    if (this.overridesProducerCname) {
      // All Producers of a transport share one CNAME, as they come from one endpoint.
      if (!this.#cnameForProducers && rtpParameters.rtcp?.cname)
        this.#cnameForProducers = rtpParameters.rtcp.cname;
      else if (!this.#cnameForProducers) this.#cnameForProducers = randomUUID().slice(0, 8);
      params.rtcp = { ...params.rtcp, cname: this.#cnameForProducers };
    }
    const routerCaps = this.context.getRouterRtpCapabilities();
    const rtpMapping = getProducerRtpParametersMapping(params, routerCaps);
    const consumableRtpParameters = getConsumableRtpParameters(kind, params, routerCaps, rtpMapping);
    const producerId = id || randomUUID();
    const { type } = await this.request('transport.produce', {
      producerId,
      kind,
      rtpParameters: params,
      rtpMapping,
      consumableRtpParameters,
      keyFrameRequestDelay,
      paused,
    });
    const producer = new Producer<A>({
      transportId: this.id,
      producerId,
      channel: this.context.channel,
      kind,
      rtpParameters: params,
      type,
      consumableRtpParameters,
      paused,
      appData,
    });
    this.#producers.set(producerId, producer);
    producer.on('@close', () => {
      this.#producers.delete(producerId);
      this.emit('@producerclose', producer);
    });
    this.emit('@newproducer', producer);
    this.#baseObserver().safeEmit('newproducer', producer);
    return producer;
  }

  async consume<A extends AppData = AppData>({
    producerId,
    rtpCapabilities,
    paused = false,
    mid,
    preferredLayers,
    ignoreDtx = false,
    enableRtx,
    pipe = false,
    appData,
  }: ConsumerOptions<A>): Promise<Consumer<A>> {
    if (!producerId || typeof producerId !== 'string') throw new TypeError('missing producerId');
    checkAppData(appData);
    if (mid !== undefined && (typeof mid !== 'string' || mid.length === 0)) {
      throw new TypeError('if given, mid must be non empty string');
    }
    const caps = clone(rtpCapabilities);
    validateRtpCapabilities(caps);
    const producer = this.context.getProducerById(producerId);
    if (!producer) throw new Error(`Producer with id "${producerId}" not found`);
    const rtpParameters = getConsumerRtpParameters({
      consumableRtpParameters: producer.consumableRtpParameters,
      remoteRtpCapabilities: caps,
      pipe,
      // Retransmissions cost a send buffer: on by default for video only, as mediasoup does.
      enableRtx: enableRtx ?? producer.kind === 'video',
    });
    if (!pipe) {
      if (mid !== undefined) {
        rtpParameters.mid = mid;
      } else {
        rtpParameters.mid = `${this.#nextMidForConsumers++}`;
        if (this.#nextMidForConsumers === MAX_MID) this.#nextMidForConsumers = 0;
      }
    }
    return this.requestConsume(producer, rtpParameters, pipe ? 'pipe' : producer.type, {
      paused,
      preferredLayers,
      ignoreDtx,
      appData,
    });
  }

  protected async requestConsume<A extends AppData>(
    producer: Producer,
    rtpParameters: RtpParameters,
    type: string,
    {
      paused,
      preferredLayers,
      ignoreDtx,
      appData,
    }: { paused: boolean; preferredLayers?: ConsumerLayers; ignoreDtx: boolean; appData?: A },
    keepDefaultScore = false,
  ): Promise<Consumer<A>> {
    const consumerId = randomUUID();
    const status = await this.request('transport.consume', {
      consumerId,
      producerId: producer.id,
      kind: producer.kind,
      rtpParameters,
      type,
      consumableRtpEncodings: producer.consumableRtpParameters.encodings,
      paused,
      preferredLayers,
      ignoreDtx,
    });
    const consumer = new Consumer<A>({
      transportId: this.id,
      consumerId,
      producerId: producer.id,
      channel: this.context.channel,
      kind: producer.kind,
      rtpParameters,
      type: type as Consumer['type'],
      paused: status.paused,
      producerPaused: status.producerPaused,
      score: keepDefaultScore ? undefined : status.score,
      preferredLayers: keepDefaultScore ? undefined : status.preferredLayers,
      appData,
    });
    this.#consumers.set(consumerId, consumer);
    const forget = () => this.#consumers.delete(consumerId);
    consumer.on('@close', forget);
    consumer.on('@producerclose', forget);
    this.#baseObserver().safeEmit('newconsumer', consumer);
    return consumer;
  }

  /** Whether this transport carries data over SCTP (all but DirectTransport). */
  protected get usesSctp(): boolean {
    return true;
  }

  async produceData<A extends AppData = AppData>({
    id,
    sctpStreamParameters,
    label = '',
    protocol = '',
    paused = false,
    appData,
  }: DataProducerOptions<A> = {}): Promise<DataProducer<A>> {
    if (id && this.#dataProducers.has(id))
      throw new TypeError(`a DataProducer with same id "${id}" already exists`);
    checkAppData(appData);
    if (typeof label !== 'string') throw new TypeError('label must be a string');
    if (typeof protocol !== 'string') throw new TypeError('protocol must be a string');
    let params: SctpStreamParameters | undefined;
    if (this.usesSctp) {
      if (sctpStreamParameters === undefined) throw new TypeError('missing sctpStreamParameters');
      params = clone(sctpStreamParameters);
      validateSctpStreamParameters(params);
    }
    const dataProducerId = id || randomUUID();
    const type = this.usesSctp ? 'sctp' : 'direct';
    await this.request('transport.produceData', {
      dataProducerId,
      type,
      sctpStreamParameters: params,
      label,
      protocol,
      paused,
    });
    const dataProducer = new DataProducer<A>({
      transportId: this.id,
      dataProducerId,
      channel: this.context.channel,
      type,
      sctpStreamParameters: params,
      label,
      protocol,
      paused,
      appData,
    });
    this.#dataProducers.set(dataProducerId, dataProducer);
    dataProducer.on('@close', () => {
      this.#dataProducers.delete(dataProducerId);
      this.emit('@dataproducerclose', dataProducer);
    });
    this.emit('@newdataproducer', dataProducer);
    this.#baseObserver().safeEmit('newdataproducer', dataProducer);
    return dataProducer;
  }

  async consumeData<A extends AppData = AppData>({
    dataProducerId,
    ordered,
    maxPacketLifeTime,
    maxRetransmits,
    paused = false,
    subchannels,
    appData,
  }: DataConsumerOptions<A>): Promise<DataConsumer<A>> {
    if (!dataProducerId || typeof dataProducerId !== 'string') throw new TypeError('missing dataProducerId');
    checkAppData(appData);
    if (
      subchannels !== undefined &&
      (!Array.isArray(subchannels) || subchannels.some((s) => typeof s !== 'number'))
    ) {
      throw new TypeError('if given, subchannels must be an array of numbers');
    }
    const dataProducer = this.context.getDataProducerById(dataProducerId);
    if (!dataProducer) throw new Error(`DataProducer with id "${dataProducerId}" not found`);
    let sctpStreamParameters: SctpStreamParameters | undefined;
    let streamId: number | undefined;
    if (this.usesSctp) {
      sctpStreamParameters = clone(dataProducer.sctpStreamParameters) ?? { streamId: 0 };
      if (ordered !== undefined) sctpStreamParameters.ordered = ordered;
      if (maxPacketLifeTime !== undefined) sctpStreamParameters.maxPacketLifeTime = maxPacketLifeTime;
      if (maxRetransmits !== undefined) sctpStreamParameters.maxRetransmits = maxRetransmits;
      // A partially reliable consumer of a reliable producer cannot deliver in order.
      if (maxPacketLifeTime !== undefined || maxRetransmits !== undefined) {
        if (ordered === undefined) sctpStreamParameters.ordered = false;
      }
      streamId = this.#allocateSctpStreamId();
      sctpStreamParameters.streamId = streamId;
    }
    const dataConsumerId = randomUUID();
    const type = this.usesSctp ? 'sctp' : 'direct';
    let status: { paused: boolean; dataProducerPaused: boolean; subchannels: number[] };
    try {
      status = await this.request('transport.consumeData', {
        dataConsumerId,
        dataProducerId,
        type,
        sctpStreamParameters,
        label: dataProducer.label,
        protocol: dataProducer.protocol,
        paused,
        subchannels,
      });
    } catch (error) {
      if (streamId !== undefined) this.#sctpStreamIds![streamId] = 0;
      throw error;
    }
    const dataConsumer = new DataConsumer<A>({
      transportId: this.id,
      dataConsumerId,
      dataProducerId,
      channel: this.context.channel,
      type,
      sctpStreamParameters,
      label: dataProducer.label,
      protocol: dataProducer.protocol,
      paused: status.paused,
      dataProducerPaused: status.dataProducerPaused,
      subchannels: status.subchannels,
      appData,
    });
    this.#dataConsumers.set(dataConsumerId, dataConsumer);
    const forget = () => {
      this.#dataConsumers.delete(dataConsumerId);
      if (streamId !== undefined && this.#sctpStreamIds) this.#sctpStreamIds[streamId] = 0;
    };
    dataConsumer.on('@close', forget);
    dataConsumer.on('@dataproducerclose', forget);
    this.#baseObserver().safeEmit('newdataconsumer', dataConsumer);
    return dataConsumer;
  }

  #baseObserver(): EnhancedEventEmitter<TransportObserverEvents> {
    return this.observer as unknown as EnhancedEventEmitter<TransportObserverEvents>;
  }

  #allocateSctpStreamId(): number {
    const sctp = this.sctpParametersForStreams;
    if (!sctp) throw new Error('SCTP not enabled in this transport');
    this.#sctpStreamIds ??= new Uint8Array(sctp.MIS);
    const ids = this.#sctpStreamIds;
    for (let i = 0; i < ids.length; ++i) {
      const candidate = (this.#nextSctpStreamId + i) % ids.length;
      if (!ids[candidate]) {
        ids[candidate] = 1;
        this.#nextSctpStreamId = (candidate + 1) % ids.length;
        return candidate;
      }
    }
    throw new Error('no sctpStreamId available');
  }
}
