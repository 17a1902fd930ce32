import type { RtpView } from '../../wire/rtp/rtp.js';
import type { ConsumerEngine } from './consumer.js';
import { type EngineContext, type Handler, requireId } from './context.js';
import type { DataConsumerEngine, DataMessage, DataProducerEngine } from './data.js';
import { DirectTransportEngine } from './direct-transport.js';
import { mapToKeyValues } from './dump.js';
import { normaliseListenInfo } from './listen-info.js';
import type { WebRtcMediaPlaneFactory } from './media-plane.js';
import { PlainTransportEngine } from './plain-transport.js';
import type { ProducerEngine } from './producer.js';
import { RtpObserverEngine } from './rtp-observer.js';
import type { RtpCapabilities } from './rtp-parameters.js';
import type { RouterLink, TransportEngine } from './transport.js';
import type { WebRtcServerEngine } from './webrtc-server.js';
import { bindListeners, WebRtcTransportEngine } from './webrtc-transport.js';

export interface RouterHost {
  getWebRtcServer(id: string): WebRtcServerEngine | undefined;
  mediaPlaneFactory?: WebRtcMediaPlaneFactory;
}

/** Worker side of a Router: the Producer → Consumers fan-out and the bookkeeping of its children. */
export class RouterEngine implements Handler, RouterLink {
  readonly id: string;
  readonly rtpCapabilities: RtpCapabilities;
  readonly transports = new Map<string, TransportEngine>();
  readonly #ctx: EngineContext;
  readonly #host: RouterHost;
  readonly #producers = new Map<string, ProducerEngine>();
  readonly #consumersByProducer = new Map<string, Set<ConsumerEngine>>();
  readonly #consumerTransport = new Map<ConsumerEngine, TransportEngine>();
  readonly #dataProducers = new Map<string, DataProducerEngine>();
  readonly #dataConsumersByProducer = new Map<string, Set<DataConsumerEngine>>();
  readonly #rtpObservers = new Map<string, RtpObserverEngine>();
  /** The forwarded packet's header, put back after each consumer that rewrote it in place. */
  #savedHeader = new Uint8Array(256);

  constructor(ctx: EngineContext, host: RouterHost, routerId: string, rtpCapabilities: RtpCapabilities) {
    this.#ctx = ctx;
    this.#host = host;
    this.id = routerId;
    this.rtpCapabilities = rtpCapabilities;
  }

  close(): void {
    for (const transport of this.transports.values()) this.#closeTransport(transport);
    for (const observer of this.#rtpObservers.values()) {
      observer.close();
      this.#ctx.unregister(observer.id);
    }
    this.#rtpObservers.clear();
  }

  #closeTransport(transport: TransportEngine): void {
    this.transports.delete(transport.id);
    this.#ctx.unregister(transport.id);
    transport.close();
  }

  /** Closes a transport without telling the controlling process (it closed it, or its WebRtcServer went away). */
  closeTransportById(transportId: string): void {
    const transport = this.transports.get(transportId);
    if (transport) this.#closeTransport(transport);
  }

  #adopt(transport: TransportEngine): TransportEngine {
    this.transports.set(transport.id, transport);
    this.#ctx.register(transport.id, transport);
    return transport;
  }

  // RouterLink: transports report their children here.

  addProducer(producer: ProducerEngine): void {
    this.#producers.set(producer.id, producer);
    this.#consumersByProducer.set(producer.id, new Set());
  }

  removeProducer(producer: ProducerEngine): void {
    this.#producers.delete(producer.id);
    for (const consumer of this.#consumersByProducer.get(producer.id) ?? []) {
      this.#consumerTransport.get(consumer)?.forgetConsumer(consumer);
      this.#consumerTransport.delete(consumer);
      this.#ctx.emit(consumer.id, 'producerclose');
    }
    this.#consumersByProducer.delete(producer.id);
    for (const observer of this.#rtpObservers.values()) observer.producers.delete(producer);
  }

  getProducer(id: string): ProducerEngine | undefined {
    return this.#producers.get(id);
  }

  addConsumer(consumer: ConsumerEngine, transport: TransportEngine): void {
    this.#consumersByProducer.get(consumer.producerId)?.add(consumer);
    this.#consumerTransport.set(consumer, transport);
  }

  removeConsumer(consumer: ConsumerEngine): void {
    this.#consumersByProducer.get(consumer.producerId)?.delete(consumer);
    this.#consumerTransport.delete(consumer);
  }

  addDataProducer(dataProducer: DataProducerEngine): void {
    this.#dataProducers.set(dataProducer.id, dataProducer);
    this.#dataConsumersByProducer.set(dataProducer.id, new Set());
  }

  removeDataProducer(dataProducer: DataProducerEngine): void {
    this.#dataProducers.delete(dataProducer.id);
    for (const dataConsumer of this.#dataConsumersByProducer.get(dataProducer.id) ?? []) {
      for (const transport of this.transports.values()) {
        if (transport.dataConsumers.get(dataConsumer.id) === dataConsumer)
          transport.forgetDataConsumer(dataConsumer);
      }
      this.#ctx.emit(dataConsumer.id, 'dataproducerclose');
    }
    this.#dataConsumersByProducer.delete(dataProducer.id);
  }

  getDataProducer(id: string): DataProducerEngine | undefined {
    return this.#dataProducers.get(id);
  }

  addDataConsumer(dataConsumer: DataConsumerEngine): void {
    this.#dataConsumersByProducer.get(dataConsumer.dataProducerId)?.add(dataConsumer);
  }

  removeDataConsumer(dataConsumer: DataConsumerEngine): void {
    this.#dataConsumersByProducer.get(dataConsumer.dataProducerId)?.delete(dataConsumer);
  }

  // ProducerSink and DataSink: the fan-out.

  onProducerRtp(producer: ProducerEngine, view: RtpView, encodingIdx: number, now: number): void {
    if (this.#rtpObservers.size > 0) {
      for (const observer of this.#rtpObservers.values()) {
        if (observer.producers.has(producer)) observer.onRtp(producer, view);
      }
    }
    const consumers = this.#consumersByProducer.get(producer.id);
    if (!consumers) return;
    // Consumers on transports that protect the packet before returning rewrite the Producer's
    // packet in place (no copy each); the header is put back after each of them.
    const headerLength = view.headerLength;
    const buf = view.buf;
    const offset = view.offset;
    if (headerLength > this.#savedHeader.length) this.#savedHeader = new Uint8Array(headerLength);
    const saved = this.#savedHeader;
    for (let i = 0; i < headerLength; i++) saved[i] = buf[offset + i]!;
    for (const consumer of consumers) {
      if (consumer.sendRtp(view, encodingIdx, now))
        for (let i = 0; i < headerLength; i++) buf[offset + i] = saved[i]!;
    }
  }

  onProducerPause(producer: ProducerEngine, paused: boolean): void {
    for (const consumer of this.#consumersByProducer.get(producer.id) ?? [])
      consumer.setProducerPaused(paused);
  }

  onDataMessage(dataProducer: DataProducerEngine, message: DataMessage): void {
    for (const dataConsumer of this.#dataConsumersByProducer.get(dataProducer.id) ?? [])
      dataConsumer.deliver(message);
  }

  onDataProducerPause(dataProducer: DataProducerEngine, paused: boolean): void {
    for (const dataConsumer of this.#dataConsumersByProducer.get(dataProducer.id) ?? []) {
      dataConsumer.setDataProducerPaused(paused);
    }
  }

  // biome-ignore lint/suspicious/noExplicitAny: request bodies from the IPC channel.
  handleRequest(method: string, data: any): unknown {
    switch (method) {
      case 'router.dump':
        return this.#dump();
      case 'router.createWebRtcTransport':
        return this.#createWebRtcTransport(data);
      case 'router.createPlainTransport':
      case 'router.createPipeTransport':
        return this.#createPlainTransport(data, method === 'router.createPipeTransport');
      case 'router.createDirectTransport': {
        const transport = new DirectTransportEngine(
          this.#ctx,
          this,
          requireId(data?.transportId, 'transportId'),
          Number(data?.maxMessageSize) || 262144,
        );
        this.#adopt(transport);
        return {};
      }
      case 'router.closeTransport':
        this.closeTransportById(String(data?.transportId));
        return undefined;
      case 'router.createActiveSpeakerObserver':
      case 'router.createAudioLevelObserver': {
        const kind = method === 'router.createActiveSpeakerObserver' ? 'activespeaker' : 'audiolevel';
        const observer = new RtpObserverEngine(this.#ctx, data, kind, (id) => this.#producers.get(id));
        this.#rtpObservers.set(observer.id, observer);
        this.#ctx.register(observer.id, observer);
        return undefined;
      }
      case 'router.closeRtpObserver': {
        const observer = this.#rtpObservers.get(String(data?.rtpObserverId));
        if (observer) {
          observer.close();
          this.#rtpObservers.delete(observer.id);
          this.#ctx.unregister(observer.id);
        }
        return undefined;
      }
      default:
        throw new Error(`unknown method ${method}`);
    }
  }

  // biome-ignore lint/suspicious/noExplicitAny: request bodies from the IPC channel.
  async #createPlainTransport(data: any, pipe: boolean): Promise<unknown> {
    requireId(data?.transportId, 'transportId');
    const listenInfo = normaliseListenInfo(data?.listenInfo, ['udp']);
    const rtcpListenInfo = data?.rtcpListenInfo
      ? normaliseListenInfo(data.rtcpListenInfo, ['udp'])
      : undefined;
    const transport = await PlainTransportEngine.create(
      this.#ctx,
      this,
      { ...data, listenInfo, rtcpListenInfo },
      pipe,
    );
    this.#adopt(transport);
    return transport.describe();
  }

  // biome-ignore lint/suspicious/noExplicitAny: request bodies from the IPC channel.
  async #createWebRtcTransport(data: any): Promise<unknown> {
    const transportId = requireId(data?.transportId, 'transportId');
    let transport: WebRtcTransportEngine;
    if (data?.webRtcServerId) {
      const server = this.#host.getWebRtcServer(data.webRtcServerId);
      if (!server) throw new Error('WebRtcServer not found');
      transport = new WebRtcTransportEngine(this.#ctx, this, {
        ...data,
        transportId,
        listeners: server.listeners,
        sharedSockets: true,
        mediaPlaneFactory: this.#host.mediaPlaneFactory,
      });
      server.addTransport(transport, this);
    } else {
      if (!Array.isArray(data?.listenInfos) || data.listenInfos.length === 0)
        throw new TypeError('missing listenInfos');
      const infos = data.listenInfos.map((info: unknown) => normaliseListenInfo(info));
      const listeners = await bindListeners(infos, this.#ctx);
      transport = new WebRtcTransportEngine(this.#ctx, this, {
        ...data,
        transportId,
        listeners,
        sharedSockets: false,
        mediaPlaneFactory: this.#host.mediaPlaneFactory,
      });
    }
    this.#adopt(transport);
    return transport.describe();
  }

  #dump(): unknown {
    const consumerToProducer = new Map<string, string>();
    for (const [producerId, consumers] of this.#consumersByProducer) {
      for (const consumer of consumers) consumerToProducer.set(consumer.id, producerId);
    }
    const dataConsumerToProducer = new Map<string, string>();
    for (const [dataProducerId, dataConsumers] of this.#dataConsumersByProducer) {
      for (const dataConsumer of dataConsumers) dataConsumerToProducer.set(dataConsumer.id, dataProducerId);
    }
    const observersByProducer = new Map<string, string[]>();
    for (const observer of this.#rtpObservers.values()) {
      for (const producer of observer.producers) {
        observersByProducer.set(producer.id, [...(observersByProducer.get(producer.id) ?? []), observer.id]);
      }
    }
    return {
      id: this.id,
      transportIds: [...this.transports.keys()],
      rtpObserverIds: [...this.#rtpObservers.keys()],
      mapProducerIdConsumerIds: mapToKeyValues(
        new Map([...this.#consumersByProducer].map(([k, v]) => [k, [...v].map((c) => c.id)])),
      ),
      mapConsumerIdProducerId: [...consumerToProducer].map(([key, value]) => ({ key, value })),
      mapProducerIdObserverIds: mapToKeyValues(observersByProducer),
      mapDataProducerIdDataConsumerIds: mapToKeyValues(
        new Map([...this.#dataConsumersByProducer].map(([k, v]) => [k, [...v].map((c) => c.id)])),
      ),
      mapDataConsumerIdDataProducerId: [...dataConsumerToProducer].map(([key, value]) => ({ key, value })),
    };
  }
}
