import type { Socket } from 'node:dgram';
import type { Server } from 'node:net';
import { RtpError, RtpView } from '../../wire/rtp/rtp.js';
import { type ConsumerEngine, ConsumerEngine as ConsumerImpl, type RtpSender } from './consumer.js';
import type { EngineContext, Handler } from './context.js';
import {
  type DataConsumerEngine,
  DataConsumerEngine as DataConsumerImpl,
  type DataMessage,
  DataProducerEngine,
  type DataSender,
  type DataSink,
} from './data.js';
import { validateSctpStreamParameters } from './ortc.js';
import { ProducerEngine, type ProducerSink } from './producer.js';
import type {
  NumSctpStreams,
  RtpCapabilities,
  SctpParameters,
  SctpStreamParameters,
} from './rtp-parameters.js';
import { SctpDataPlane } from './sctp-data-plane.js';
import { RateCounter } from './sockets.js';

const TRACE_TYPES = ['probation', 'bwe'];

/** What a transport needs from its router. */
export interface RouterLink extends ProducerSink, DataSink {
  readonly rtpCapabilities: RtpCapabilities;
  addProducer(producer: ProducerEngine): void;
  removeProducer(producer: ProducerEngine): void;
  getProducer(id: string): ProducerEngine | undefined;
  addConsumer(consumer: ConsumerEngine, transport: TransportEngine): void;
  removeConsumer(consumer: ConsumerEngine): void;
  addDataProducer(dataProducer: DataProducerEngine): void;
  removeDataProducer(dataProducer: DataProducerEngine): void;
  getDataProducer(id: string): DataProducerEngine | undefined;
  addDataConsumer(dataConsumer: DataConsumerEngine): void;
  removeDataConsumer(dataConsumer: DataConsumerEngine): void;
}

export interface SctpOptions {
  enableSctp?: boolean;
  numSctpStreams?: NumSctpStreams;
  maxSctpMessageSize?: number;
  sctpSendBufferSize?: number;
}

export type SctpStateName = 'new' | 'connecting' | 'connected' | 'failed' | 'closed';

export interface Tuple {
  localIp: string;
  localAddress: string;
  localPort: number;
  remoteIp?: string;
  remotePort?: number;
  protocol: 'udp' | 'tcp';
}

/** Transport bookkeeping shared by every kind: producers, consumers, data, RTP demultiplexing, stats. */
export abstract class TransportEngine implements Handler, RtpSender, DataSender {
  readonly id: string;
  protected readonly ctx: EngineContext;
  protected readonly router: RouterLink;
  readonly producers = new Map<string, ProducerEngine>();
  readonly consumers = new Map<string, ConsumerEngine>();
  readonly dataProducers = new Map<string, DataProducerEngine>();
  readonly dataConsumers = new Map<string, DataConsumerEngine>();
  readonly sctpParameters?: SctpParameters;
  sctpState?: SctpStateName;
  protected readonly recvBytes = new RateCounter();
  protected readonly sendBytes = new RateCounter();
  protected readonly rtpRecvBytes = new RateCounter();
  protected readonly rtpSendBytes = new RateCounter();
  #maxIncomingBitrate?: number;

  /** setMaxIncomingBitrate(): the ceiling of the bandwidth estimate sent to the remote (REMB). */
  get maxIncomingBitrate(): number | undefined {
    return this.#maxIncomingBitrate;
  }
  #maxOutgoingBitrate = 0;
  #minOutgoingBitrate = 0;
  #traceEventTypes: string[] = [];
  readonly #ssrcTable = new Map<number, ProducerEngine>();
  readonly #midTable = new Map<string, ProducerEngine>();
  readonly #ridTable = new Map<string, ProducerEngine>();
  /** SCTP stream id → the DataProducer receiving on it. */
  readonly #sctpStreamIds = new Map<number, DataProducerEngine>();
  /** The SCTP association, when SCTP is enabled. */
  protected readonly sctp?: SctpDataPlane;
  readonly #sctpIsDataChannel: boolean;
  readonly #view = new RtpView();
  #closed = false;

  /** `isDataChannel`: WebRTC data channels (SCTP over DTLS) rather than SCTP over UDP. */
  protected constructor(
    ctx: EngineContext,
    router: RouterLink,
    transportId: string,
    sctp: SctpOptions,
    isDataChannel = false,
  ) {
    this.ctx = ctx;
    this.router = router;
    this.id = transportId;
    this.#sctpIsDataChannel = isDataChannel;
    if (sctp.enableSctp) {
      this.sctpParameters = {
        port: 5000,
        OS: sctp.numSctpStreams?.OS ?? 1024,
        MIS: sctp.numSctpStreams?.MIS ?? 1024,
        maxMessageSize: sctp.maxSctpMessageSize ?? 262144,
      };
      this.sctpState = 'new';
      this.sctp = new SctpDataPlane(
        ctx,
        {
          id: transportId,
          dataProducerForStream: (streamId) => this.#sctpStreamIds.get(streamId),
          dataConsumerForStream: (streamId) => {
            for (const dataConsumer of this.dataConsumers.values())
              if (dataConsumer.sctpStreamParameters?.streamId === streamId) return dataConsumer;
            return undefined;
          },
          sctpStateChanged: (state) => {
            if (this.#closed) return;
            this.sctpState = state;
            this.ctx.emit(this.id, 'sctpstatechange', { sctpState: state });
          },
          sendSctpPacket: (packet) => this.sendSctpPacket(packet),
        },
        {
          parameters: this.sctpParameters,
          sendBufferSize: Number(sctp.sctpSendBufferSize) || 262144,
          isDataChannel,
        },
      );
    }
  }

  /** Sends one SCTP packet to the remote endpoint (DTLS record or UDP datagram). */
  protected sendSctpPacket(_packet: Buffer): void {}

  /** An SCTP packet from the remote endpoint. */
  protected receiveSctp(packet: Buffer): void {
    this.sctp?.receive(packet);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The transport's own fields for dump(). */
  protected abstract dumpSpecific(): Record<string, unknown>;
  /** The transport's own fields for getStats(). */
  protected abstract statsSpecific(): Record<string, unknown>;
  protected abstract get statsType(): string;
  protected abstract get direct(): boolean;

  /** Releases sockets and children; the router has already forgotten this transport. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const producer of this.producers.values()) this.#dropProducer(producer);
    for (const consumer of this.consumers.values()) this.#dropConsumer(consumer);
    for (const dataProducer of this.dataProducers.values()) this.#dropDataProducer(dataProducer);
    for (const dataConsumer of this.dataConsumers.values()) this.#dropDataConsumer(dataConsumer);
    this.producers.clear();
    this.consumers.clear();
    this.dataProducers.clear();
    this.dataConsumers.clear();
    if (this.sctpState) this.sctpState = 'closed';
    // ABORT while the path below still exists, so the peer's channels close at once.
    this.sctp?.abort();
    this.releaseResources();
  }

  protected abstract releaseResources(): void;

  /** Packets a Consumer of this transport sends. */
  abstract sendRtp(consumer: ConsumerEngine, packet: Buffer): void;

  /** RTCP towards the remote endpoint (key frame requests for its Producers). */
  abstract sendRtcp(packet: Buffer): void;

  /** Messages a DataConsumer of this transport sends; false when they cannot be sent. */
  sendData(dataConsumer: DataConsumerEngine, message: DataMessage): boolean {
    return this.sctp?.send(dataConsumer, message) ?? false;
  }

  dataBufferedAmount(dataConsumer: DataConsumerEngine): number {
    const streamId = dataConsumer.sctpStreamParameters?.streamId;
    return streamId === undefined || !this.sctp ? 0 : this.sctp.bufferedAmount(streamId);
  }

  setDataBufferedAmountLowThreshold(dataConsumer: DataConsumerEngine, threshold: number): void {
    const streamId = dataConsumer.sctpStreamParameters?.streamId;
    if (streamId !== undefined) this.sctp?.setBufferedAmountLowThreshold(streamId, threshold);
  }

  /**
   * An RTP packet received from the network: find its Producer (SSRC, then MID, then RID).
   * `storeOnly`: a late repair, for the Producer's packet store only (not forwarded).
   */
  protected receiveRtp(packet: Buffer, storeOnly = false): void {
    const view = this.#view;
    if (view.reset(packet) !== RtpError.Ok) return;
    this.rtpRecvBytes.add(packet.length);
    let producer = this.#ssrcTable.get(view.ssrc);
    if (!producer) {
      for (const candidate of this.producers.values()) {
        if (candidate.midExtensionId && candidate.rtpParameters.mid) {
          if (view.readStringExtension(candidate.midExtensionId) === candidate.rtpParameters.mid)
            producer = candidate;
        } else if (candidate.ridExtensionId) {
          const rid = view.readStringExtension(candidate.ridExtensionId);
          if (rid !== undefined && this.#ridTable.get(rid) === candidate) producer = candidate;
        }
        if (producer) break;
      }
      if (!producer) return;
      this.#ssrcTable.set(view.ssrc, producer);
    }
    producer.receiveRtp(packet, storeOnly);
  }

  #registerStreams(producer: ProducerEngine): void {
    const params = producer.rtpParameters;
    const ssrcs: number[] = [];
    for (const encoding of params.encodings ?? []) {
      if (encoding.ssrc !== undefined) ssrcs.push(encoding.ssrc);
      if (encoding.rtx?.ssrc !== undefined) ssrcs.push(encoding.rtx.ssrc);
    }
    for (const ssrc of ssrcs) {
      if (this.#ssrcTable.has(ssrc)) throw new Error(`ssrc already exists in RTP listener [ssrc:${ssrc}]`);
    }
    if (params.mid && this.#midTable.has(params.mid))
      throw new Error(`MID already exists in RTP listener [mid:${params.mid}]`);
    const rids = params.mid
      ? []
      : (params.encodings ?? []).map((e) => e.rid).filter((r): r is string => Boolean(r));
    for (const rid of rids)
      if (this.#ridTable.has(rid)) throw new Error(`RID already exists in RTP listener [rid:${rid}]`);
    for (const ssrc of ssrcs) this.#ssrcTable.set(ssrc, producer);
    if (params.mid) this.#midTable.set(params.mid, producer);
    for (const rid of rids) this.#ridTable.set(rid, producer);
  }

  #unregisterStreams(producer: ProducerEngine): void {
    for (const table of [this.#ssrcTable, this.#midTable, this.#ridTable] as Map<unknown, ProducerEngine>[]) {
      for (const [key, value] of table) if (value === producer) table.delete(key);
    }
  }

  #dropProducer(producer: ProducerEngine): void {
    producer.close();
    this.#unregisterStreams(producer);
    this.ctx.unregister(producer.id);
    this.ctx.producerIds.delete(producer.id);
    this.router.removeProducer(producer);
  }

  #dropConsumer(consumer: ConsumerEngine): void {
    consumer.close();
    this.ctx.unregister(consumer.id);
    this.router.removeConsumer(consumer);
  }

  #dropDataProducer(dataProducer: DataProducerEngine): void {
    const streamId = dataProducer.sctpStreamParameters?.streamId;
    if (streamId !== undefined) {
      this.#sctpStreamIds.delete(streamId);
      // A data channel is one stream both ways: close the remote's channel too (as mediasoup).
      if (this.#sctpIsDataChannel && !this.#closed) this.sctp?.resetStream(streamId);
    }
    this.ctx.unregister(dataProducer.id);
    this.ctx.dataProducerIds.delete(dataProducer.id);
    this.router.removeDataProducer(dataProducer);
  }

  #dropDataConsumer(dataConsumer: DataConsumerEngine): void {
    this.#resetConsumerStream(dataConsumer);
    this.ctx.unregister(dataConsumer.id);
    this.router.removeDataConsumer(dataConsumer);
  }

  /** The router closed a Consumer because its Producer is gone. */
  forgetConsumer(consumer: ConsumerEngine): void {
    this.consumers.delete(consumer.id);
    consumer.close();
    this.ctx.unregister(consumer.id);
  }

  forgetDataConsumer(dataConsumer: DataConsumerEngine): void {
    this.dataConsumers.delete(dataConsumer.id);
    this.#resetConsumerStream(dataConsumer);
    this.ctx.unregister(dataConsumer.id);
  }

  /** The remote's channel for a closed DataConsumer closes too (RFC 6525 outgoing reset). */
  #resetConsumerStream(dataConsumer: DataConsumerEngine): void {
    const streamId = dataConsumer.sctpStreamParameters?.streamId;
    if (streamId !== undefined && !this.#closed) this.sctp?.resetStream(streamId);
  }

  protected dumpCommon(): Record<string, unknown> {
    return {
      id: this.id,
      direct: this.direct,
      producerIds: [...this.producers.keys()],
      consumerIds: [...this.consumers.keys()],
      mapSsrcConsumerId: [...this.consumers.values()].map((c) => ({
        key: c.rtpParameters.encodings?.[0]?.ssrc,
        value: c.id,
      })),
      mapRtxSsrcConsumerId: [],
      dataProducerIds: [...this.dataProducers.keys()],
      dataConsumerIds: [...this.dataConsumers.keys()],
      recvRtpHeaderExtensions: {},
      rtpListener: {
        ssrcTable: [...this.#ssrcTable].map(([key, p]) => ({ key, value: p.id })),
        midTable: [...this.#midTable].map(([key, p]) => ({ key, value: p.id })),
        ridTable: [...this.#ridTable].map(([key, p]) => ({ key, value: p.id })),
      },
      maxMessageSize: this.sctpParameters?.maxMessageSize ?? 262144,
      sctpParameters: this.sctpParameters,
      sctpState: this.sctpState,
      sctpListener: this.sctpParameters
        ? { streamIdTable: [...this.#sctpStreamIds].map(([key, p]) => ({ key, value: p.id })) }
        : undefined,
      traceEventTypes: this.#traceEventTypes,
    };
  }

  // biome-ignore lint/suspicious/noExplicitAny: request bodies from the IPC channel, checked below.
  handleRequest(method: string, data: any): unknown {
    switch (method) {
      case 'transport.dump':
        return { ...this.dumpCommon(), ...this.dumpSpecific() };
      case 'transport.getStats': {
        const now = Date.now();
        return [
          {
            type: this.statsType,
            transportId: this.id,
            timestamp: now,
            ...(this.sctpState ? { sctpState: this.sctpState } : {}),
            bytesReceived: this.recvBytes.total,
            recvBitrate: this.recvBytes.rate(now),
            bytesSent: this.sendBytes.total,
            sendBitrate: this.sendBytes.rate(now),
            rtpBytesReceived: this.rtpRecvBytes.total,
            rtpRecvBitrate: this.rtpRecvBytes.rate(now),
            rtpBytesSent: this.rtpSendBytes.total,
            rtpSendBitrate: this.rtpSendBytes.rate(now),
            rtxBytesReceived: 0,
            rtxRecvBitrate: 0,
            rtxBytesSent: 0,
            rtxSendBitrate: 0,
            probationBytesSent: 0,
            probationSendBitrate: 0,
            ...(this.#maxIncomingBitrate ? { maxIncomingBitrate: this.#maxIncomingBitrate } : {}),
            ...this.statsSpecific(),
          },
        ];
      }
      case 'transport.setMaxIncomingBitrate':
        this.#maxIncomingBitrate = Number(data?.bitrate) || undefined;
        return undefined;
      case 'transport.setMaxOutgoingBitrate': {
        const bitrate = Number(data?.bitrate) || 0;
        if (bitrate && this.#minOutgoingBitrate && bitrate < this.#minOutgoingBitrate) {
          throw new Error('maxOutgoingBitrate must be >= minOutgoingBitrate');
        }
        this.#maxOutgoingBitrate = bitrate;
        return undefined;
      }
      case 'transport.setMinOutgoingBitrate': {
        const bitrate = Number(data?.bitrate) || 0;
        if (bitrate && this.#maxOutgoingBitrate && bitrate > this.#maxOutgoingBitrate) {
          throw new Error('minOutgoingBitrate must be <= maxOutgoingBitrate');
        }
        this.#minOutgoingBitrate = bitrate;
        return undefined;
      }
      case 'transport.enableTraceEvent':
        this.#traceEventTypes = (Array.isArray(data?.types) ? data.types : []).filter((t: unknown) =>
          TRACE_TYPES.includes(t as string),
        );
        return undefined;
      case 'transport.produce':
        return this.#produce(data);
      case 'transport.consume':
        return this.#consume(data);
      case 'transport.produceData':
        return this.#produceData(data);
      case 'transport.consumeData':
        return this.#consumeData(data);
      case 'transport.closeProducer': {
        const producer = this.producers.get(data?.producerId);
        if (producer) {
          this.producers.delete(producer.id);
          this.#dropProducer(producer);
        }
        return undefined;
      }
      case 'transport.closeConsumer': {
        const consumer = this.consumers.get(data?.consumerId);
        if (consumer) {
          this.consumers.delete(consumer.id);
          this.#dropConsumer(consumer);
        }
        return undefined;
      }
      case 'transport.closeDataProducer': {
        const dataProducer = this.dataProducers.get(data?.dataProducerId);
        if (dataProducer) {
          this.dataProducers.delete(dataProducer.id);
          this.#dropDataProducer(dataProducer);
        }
        return undefined;
      }
      case 'transport.closeDataConsumer': {
        const dataConsumer = this.dataConsumers.get(data?.dataConsumerId);
        if (dataConsumer) {
          this.dataConsumers.delete(dataConsumer.id);
          this.#dropDataConsumer(dataConsumer);
        }
        return undefined;
      }
      default:
        return this.handleSpecificRequest(method, data);
    }
  }

  // biome-ignore lint/suspicious/noExplicitAny: as above.
  protected handleSpecificRequest(method: string, _data: any): unknown {
    throw new Error(`unknown method ${method}`);
  }

  handleNotification(method: string, _data: unknown): void {
    if (method === 'transport.sendRtcp') {
      // RTCP from the application (DirectTransport): nothing consumes it until RTCP feedback is implemented.
    }
  }

  // biome-ignore lint/suspicious/noExplicitAny: as above.
  #produce(data: any): { type: string } {
    if (typeof data?.producerId !== 'string') throw new TypeError('missing producerId');
    if (this.ctx.producerIds.has(data.producerId))
      throw new Error(`a Producer with same producerId already exists [producerId:${data.producerId}]`);
    const producer = new ProducerEngine(this.ctx, data, this.router.rtpCapabilities, this.router, (packet) =>
      this.sendRtcp(packet),
    );
    this.#registerStreams(producer);
    this.producers.set(producer.id, producer);
    this.ctx.producerIds.add(producer.id);
    this.ctx.register(producer.id, producer);
    this.router.addProducer(producer);
    return { type: producer.type };
  }

  // biome-ignore lint/suspicious/noExplicitAny: as above.
  #consume(data: any): unknown {
    if (typeof data?.consumerId !== 'string') throw new TypeError('missing consumerId');
    const producer = this.router.getProducer(data.producerId);
    if (!producer) throw new Error(`Producer not found [producerId:${data.producerId}]`);
    const consumer = new ConsumerImpl(this.ctx, data, producer, this);
    this.consumers.set(consumer.id, consumer);
    this.ctx.register(consumer.id, consumer);
    this.router.addConsumer(consumer, this);
    return {
      paused: consumer.paused,
      producerPaused: consumer.producerPaused,
      score: consumer.score(),
      preferredLayers: consumer.preferredLayers,
    };
  }

  // biome-ignore lint/suspicious/noExplicitAny: as above.
  #produceData(data: any): unknown {
    if (typeof data?.dataProducerId !== 'string') throw new TypeError('missing dataProducerId');
    if (this.ctx.dataProducerIds.has(data.dataProducerId))
      throw new Error('a DataProducer with same dataProducerId already exists');
    let params: SctpStreamParameters | undefined;
    if (data.type === 'sctp') {
      if (!this.sctpParameters) throw new Error('SCTP not enabled in this transport');
      params = structuredClone(data.sctpStreamParameters);
      validateSctpStreamParameters(params!);
      if (this.#sctpStreamIds.has(params!.streamId))
        throw new Error(`streamId already in use [streamId:${params!.streamId}]`);
    } else if (data.type !== 'direct') {
      throw new TypeError('invalid type');
    }
    const dataProducer = new DataProducerEngine(
      {
        dataProducerId: data.dataProducerId,
        type: data.type,
        sctpStreamParameters: params,
        label: String(data.label ?? ''),
        protocol: String(data.protocol ?? ''),
        paused: Boolean(data.paused),
      },
      this.router,
    );
    if (params) this.#sctpStreamIds.set(params.streamId, dataProducer);
    this.dataProducers.set(dataProducer.id, dataProducer);
    this.ctx.dataProducerIds.add(dataProducer.id);
    this.ctx.register(dataProducer.id, dataProducer);
    this.router.addDataProducer(dataProducer);
    return undefined;
  }

  // biome-ignore lint/suspicious/noExplicitAny: as above.
  #consumeData(data: any): unknown {
    if (typeof data?.dataConsumerId !== 'string') throw new TypeError('missing dataConsumerId');
    const dataProducer = this.router.getDataProducer(data.dataProducerId);
    if (!dataProducer) throw new Error(`DataProducer not found [dataProducerId:${data.dataProducerId}]`);
    if (data.type === 'sctp' && !this.sctpParameters) throw new Error('SCTP not enabled in this transport');
    const dataConsumer = new DataConsumerImpl(this.ctx, data, dataProducer, this);
    this.dataConsumers.set(dataConsumer.id, dataConsumer);
    this.ctx.register(dataConsumer.id, dataConsumer);
    this.router.addDataConsumer(dataConsumer);
    return {
      paused: dataConsumer.paused,
      dataProducerPaused: dataConsumer.dataProducerPaused,
      subchannels: dataConsumer.subchannels,
    };
  }
}

/** Closes sockets and servers without throwing (already closed is fine). */
export function closeQuietly(resources: (Socket | Server | undefined)[]): void {
  for (const resource of resources) {
    try {
      resource?.close();
    } catch {
      // Already closed.
    }
  }
}
