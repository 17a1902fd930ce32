import { randomUUID } from 'node:crypto';
import { ActiveSpeakerObserver, type ActiveSpeakerObserverOptions } from './active-speaker-observer.js';
import { AudioLevelObserver, type AudioLevelObserverOptions } from './audio-level-observer.js';
import type { Channel } from './channel.js';
import { ChannelObject } from './channel-object.js';
import type { Consumer } from './consumer.js';
import type { DataConsumer } from './data-consumer.js';
import type { DataProducer } from './data-producer.js';
import { DirectTransport, type DirectTransportOptions } from './direct-transport.js';
import { InvalidStateError } from './engine/errors.js';
import { listenIpToInfo, normaliseListenInfo, type TransportListenInfo } from './engine/listen-info.js';
import { canConsume, clone, validateNumSctpStreams, validateRtpCapabilities } from './engine/ortc.js';
import type { NumSctpStreams, RtpCapabilities, SrtpCryptoSuite } from './engine/rtp-parameters.js';
import { PipeTransport, type PipeTransportOptions } from './pipe-transport.js';
import { PlainTransport, type PlainTransportOptions } from './plain-transport.js';
import type { Producer } from './producer.js';
import type { RtpObserver } from './rtp-observer.js';
import type { Transport, TransportContext } from './transport.js';
import type { AppData } from './types.js';
import { checkAppData } from './validate.js';
import { WebRtcServer } from './webrtc-server.js';
import { WebRtcTransport, type WebRtcTransportOptions } from './webrtc-transport.js';

export interface PipeToRouterOptions {
  producerId?: string;
  dataProducerId?: string;
  router: Router;
  listenInfo?: TransportListenInfo;
  /** @deprecated Use listenInfo. */
  listenIp?: string | { ip: string; announcedIp?: string };
  enableSctp?: boolean;
  numSctpStreams?: NumSctpStreams;
  enableRtx?: boolean;
  enableSrtp?: boolean;
}

export interface PipeToRouterResult {
  pipeConsumer?: Consumer;
  pipeProducer?: Producer;
  pipeDataConsumer?: DataConsumer;
  pipeDataProducer?: DataProducer;
}

type PipeTransportPair = Record<string, PipeTransport>;

export type RouterEvents = { workerclose: []; listenererror: [string, Error]; '@close': [] };
export type RouterObserverEvents = { close: []; newtransport: [Transport]; newrtpobserver: [RtpObserver] };

const SRTP_SUITES: SrtpCryptoSuite[] = [
  'AEAD_AES_256_GCM',
  'AEAD_AES_128_GCM',
  'AES_CM_128_HMAC_SHA1_80',
  'AES_CM_128_HMAC_SHA1_32',
];

function checkSctpOptions(numSctpStreams: unknown, maxSctpMessageSize: unknown): void {
  if (numSctpStreams !== undefined) validateNumSctpStreams(numSctpStreams as NumSctpStreams);
  if (
    maxSctpMessageSize !== undefined &&
    (typeof maxSctpMessageSize !== 'number' || maxSctpMessageSize < 1)
  ) {
    throw new TypeError('invalid maxSctpMessageSize');
  }
}

/** Single-protocol (UDP) listen info from listenInfo / deprecated listenIp + port. */
function udpListenInfo(listenInfo: unknown, listenIp: unknown, port: unknown): TransportListenInfo {
  if (listenInfo !== undefined && listenIp !== undefined)
    throw new TypeError('cannot give both listenInfo and listenIp');
  if (listenInfo !== undefined) return normaliseListenInfo(listenInfo, ['udp']);
  if (listenIp === undefined) throw new TypeError('missing listenInfo and listenIp');
  if (port !== undefined && typeof port !== 'number') throw new TypeError('invalid port');
  return listenIpToInfo(listenIp, 'udp', port as number | undefined);
}

/** A media routing domain: Producers and Consumers of its transports exchange media. */
export class Router<RouterAppData extends AppData = AppData> extends ChannelObject<
  RouterAppData,
  RouterEvents,
  RouterObserverEvents
> {
  readonly #rtpCapabilities: RtpCapabilities;
  readonly #transports = new Map<string, Transport>();
  readonly #producers = new Map<string, Producer>();
  readonly #rtpObservers = new Map<string, RtpObserver>();
  readonly #dataProducers = new Map<string, DataProducer>();
  readonly #pipeTransportPairs = new Map<string, Promise<PipeTransportPair>>();

  /** @private */
  constructor({
    routerId,
    channel,
    rtpCapabilities,
    appData,
  }: { routerId: string; channel: Channel; rtpCapabilities: RtpCapabilities; appData?: RouterAppData }) {
    super(channel, routerId, appData);
    this.#rtpCapabilities = rtpCapabilities;
  }

  get rtpCapabilities(): RtpCapabilities {
    return this.#rtpCapabilities;
  }

  /** @private */
  get transportsForTesting(): Map<string, Transport> {
    return this.#transports;
  }

  close(): void {
    this.closeThrough('worker.closeRouter', undefined, { routerId: this.id });
  }

  /** @private */
  workerClosed(): void {
    this.closedBy('workerclose');
  }

  protected override closeContents(): void {
    this.#closeChildren();
  }

  #closeChildren(): void {
    for (const transport of [...this.#transports.values()]) transport.routerClosed();
    this.#transports.clear();
    this.#producers.clear();
    for (const observer of [...this.#rtpObservers.values()]) observer.routerClosed();
    this.#rtpObservers.clear();
    this.#dataProducers.clear();
    this.#pipeTransportPairs.clear();
  }

  async dump(): Promise<unknown> {
    return this.request('router.dump');
  }

  #context(): TransportContext {
    return {
      routerId: this.id,
      channel: this.channel,
      getRouterRtpCapabilities: () => this.#rtpCapabilities,
      getProducerById: (id) => this.#producers.get(id),
      getDataProducerById: (id) => this.#dataProducers.get(id),
    };
  }

  #adopt<T extends Transport>(transport: T): T {
    this.#transports.set(transport.id, transport);
    transport.on('@close', () => this.#transports.delete(transport.id));
    transport.on('@listenserverclose', () => this.#transports.delete(transport.id));
    transport.on('@newproducer', (producer: Producer) => this.#producers.set(producer.id, producer));
    transport.on('@producerclose', (producer: Producer) => this.#producers.delete(producer.id));
    transport.on('@newdataproducer', (dataProducer: DataProducer) =>
      this.#dataProducers.set(dataProducer.id, dataProducer),
    );
    transport.on('@dataproducerclose', (dataProducer: DataProducer) =>
      this.#dataProducers.delete(dataProducer.id),
    );
    this.observer.safeEmit('newtransport', transport);
    return transport;
  }

  #assertOpen(): void {
    if (this.closed) throw new InvalidStateError('Router closed');
  }

  async createWebRtcTransport<A extends AppData = AppData>(
    options: WebRtcTransportOptions<A>,
  ): Promise<WebRtcTransport<A>> {
    this.#assertOpen();
    if (typeof options !== 'object' || options === null) throw new TypeError('options is not an object');
    const {
      webRtcServer,
      listenInfos,
      listenIps,
      port,
      enableUdp,
      enableTcp,
      preferUdp = false,
      preferTcp = false,
      initialAvailableOutgoingBitrate = 600000,
      enableSctp = false,
      numSctpStreams = { OS: 1024, MIS: 1024 },
      maxSctpMessageSize = 262144,
      sctpSendBufferSize = 262144,
      iceConsentTimeout = 30,
      appData,
    } = options;
    const sources = [webRtcServer, listenInfos, listenIps].filter((s) => s !== undefined).length;
    if (sources !== 1)
      throw new TypeError('exactly one of webRtcServer, listenInfos and listenIps must be given');
    if (webRtcServer !== undefined && !(webRtcServer instanceof WebRtcServer))
      throw new TypeError('invalid webRtcServer');
    checkAppData(appData);
    if (enableSctp) checkSctpOptions(numSctpStreams, maxSctpMessageSize);
    if (typeof iceConsentTimeout !== 'number') throw new TypeError('invalid iceConsentTimeout');
    // Deprecated listenIps: UDP only unless TCP is asked for (listenInfos say it explicitly).
    const udp = enableUdp ?? true;
    const tcp = enableTcp ?? false;
    let infos: TransportListenInfo[] | undefined;
    if (listenInfos !== undefined) {
      if (!Array.isArray(listenInfos) || listenInfos.length === 0) throw new TypeError('invalid listenInfos');
      infos = listenInfos.map((info) => normaliseListenInfo(info));
    } else if (listenIps !== undefined) {
      if (!Array.isArray(listenIps) || listenIps.length === 0) throw new TypeError('invalid listenIps');
      infos = [];
      for (const listenIp of listenIps) {
        if (udp) infos.push(listenIpToInfo(listenIp, 'udp', port));
        if (tcp) infos.push(listenIpToInfo(listenIp, 'tcp', port));
      }
    }
    const transportId = randomUUID();
    const data = await this.request('router.createWebRtcTransport', {
      transportId,
      webRtcServerId: webRtcServer?.id,
      listenInfos: infos,
      // listenInfos and a WebRtcServer list their protocols: both are on unless disabled.
      enableUdp: listenIps ? udp : (enableUdp ?? true),
      enableTcp: listenIps ? tcp : (enableTcp ?? true),
      preferUdp,
      preferTcp,
      initialAvailableOutgoingBitrate,
      enableSctp,
      numSctpStreams,
      maxSctpMessageSize,
      sctpSendBufferSize,
      iceConsentTimeout,
    });
    const transport = new WebRtcTransport<A>(this.#context(), transportId, data, appData);
    this.#adopt(transport);
    webRtcServer?.handleWebRtcTransport(transport as WebRtcTransport);
    return transport;
  }

  async createPlainTransport<A extends AppData = AppData>(
    options: PlainTransportOptions<A>,
  ): Promise<PlainTransport<A>> {
    this.#assertOpen();
    if (typeof options !== 'object' || options === null) throw new TypeError('options is not an object');
    const {
      listenInfo,
      rtcpListenInfo,
      listenIp,
      port,
      rtcpMux = true,
      comedia = false,
      enableSctp = false,
      numSctpStreams = { OS: 1024, MIS: 1024 },
      maxSctpMessageSize = 262144,
      sctpSendBufferSize = 262144,
      enableSrtp = false,
      srtpCryptoSuite = 'AES_CM_128_HMAC_SHA1_80',
      appData,
    } = options;
    const info = udpListenInfo(listenInfo, listenIp, port);
    let rtcpInfo: TransportListenInfo | undefined;
    // A separate RTCP socket when RTCP is not muxed, or when the application gives its address.
    if (rtcpListenInfo !== undefined) rtcpInfo = normaliseListenInfo(rtcpListenInfo, ['udp']);
    else if (!rtcpMux) rtcpInfo = { ...info, port: undefined };
    checkAppData(appData);
    if (enableSctp) checkSctpOptions(numSctpStreams, maxSctpMessageSize);
    if (enableSrtp && !SRTP_SUITES.includes(srtpCryptoSuite)) throw new TypeError('invalid srtpCryptoSuite');
    const transportId = randomUUID();
    const data = await this.request('router.createPlainTransport', {
      transportId,
      listenInfo: info,
      rtcpListenInfo: rtcpInfo,
      rtcpMux: Boolean(rtcpMux) && rtcpInfo === undefined,
      comedia: Boolean(comedia),
      enableSctp,
      numSctpStreams,
      maxSctpMessageSize,
      sctpSendBufferSize,
      enableSrtp,
      srtpCryptoSuite,
    });
    return this.#adopt(new PlainTransport<A>(this.#context(), transportId, data, appData));
  }

  async createPipeTransport<A extends AppData = AppData>(
    options: PipeTransportOptions<A>,
  ): Promise<PipeTransport<A>> {
    this.#assertOpen();
    if (typeof options !== 'object' || options === null) throw new TypeError('options is not an object');
    const {
      listenInfo,
      listenIp,
      port,
      enableSctp = false,
      numSctpStreams = { OS: 1024, MIS: 1024 },
      maxSctpMessageSize = 268435456,
      sctpSendBufferSize = 268435456,
      enableRtx = false,
      enableSrtp = false,
      appData,
    } = options;
    const info = udpListenInfo(listenInfo, listenIp, port);
    checkAppData(appData);
    if (enableSctp) checkSctpOptions(numSctpStreams, maxSctpMessageSize);
    const transportId = randomUUID();
    const data = await this.request('router.createPipeTransport', {
      transportId,
      listenInfo: info,
      enableSctp,
      numSctpStreams,
      maxSctpMessageSize,
      sctpSendBufferSize,
      enableRtx: Boolean(enableRtx),
      enableSrtp: Boolean(enableSrtp),
    });
    return this.#adopt(new PipeTransport<A>(this.#context(), transportId, data, appData));
  }

  async createDirectTransport<A extends AppData = AppData>({
    maxMessageSize = 262144,
    appData,
  }: DirectTransportOptions<A> = {}): Promise<DirectTransport<A>> {
    this.#assertOpen();
    if (typeof maxMessageSize !== 'number' || !Number.isInteger(maxMessageSize) || maxMessageSize < 0) {
      throw new TypeError('if given, maxMessageSize must be a positive integer');
    }
    checkAppData(appData);
    const transportId = randomUUID();
    const data = await this.request('router.createDirectTransport', {
      transportId,
      maxMessageSize,
    });
    return this.#adopt(new DirectTransport<A>(this.#context(), transportId, data, appData));
  }

  /** Pipes a Producer or DataProducer of this router into another router (of another worker). */
  async pipeToRouter({
    producerId,
    dataProducerId,
    router,
    listenInfo,
    listenIp,
    enableSctp = true,
    numSctpStreams = { OS: 1024, MIS: 1024 },
    enableRtx = false,
    enableSrtp = false,
  }: PipeToRouterOptions): Promise<PipeToRouterResult> {
    this.#assertOpen();
    if (listenInfo !== undefined && listenIp !== undefined)
      throw new TypeError('cannot give both listenInfo and listenIp');
    const info: TransportListenInfo =
      listenInfo ??
      (listenIp !== undefined ? listenIpToInfo(listenIp, 'udp') : { protocol: 'udp', ip: '127.0.0.1' });
    if (!producerId && !dataProducerId) throw new TypeError('missing producerId or dataProducerId');
    if (producerId && dataProducerId) throw new TypeError('just producerId or dataProducerId can be given');
    if (!(router instanceof Router)) throw new TypeError('Router not found');
    if (router === this) throw new TypeError('cannot use this Router as destination');
    const producer = producerId ? this.#producers.get(producerId) : undefined;
    const dataProducer = dataProducerId ? this.#dataProducers.get(dataProducerId) : undefined;
    if (producerId && !producer) throw new TypeError('Producer not found');
    if (dataProducerId && !dataProducer) throw new TypeError('DataProducer not found');

    const key = router.id;
    let pairPromise = this.#pipeTransportPairs.get(key);
    if (!pairPromise) {
      pairPromise = this.#createPipeTransportPair(router, {
        listenInfo: info,
        enableSctp,
        numSctpStreams,
        enableRtx,
        enableSrtp,
      });
      this.#pipeTransportPairs.set(key, pairPromise);
      pairPromise.catch(() => this.#pipeTransportPairs.delete(key));
      router.addPipeTransportPair(this.id, pairPromise);
    }
    const pair = await pairPromise;
    const local = pair[this.id]!;
    const remote = pair[router.id]!;

    if (producer) {
      let pipeConsumer: Consumer | undefined;
      let pipeProducer: Producer | undefined;
      try {
        pipeConsumer = await local.consume({ producerId: producer.id });
        pipeProducer = await remote.produce({
          id: producer.id,
          kind: pipeConsumer.kind,
          rtpParameters: pipeConsumer.rtpParameters,
          paused: pipeConsumer.producerPaused,
          appData: producer.appData,
        });
        if (producer.closed) throw new InvalidStateError('original Producer closed');
        if (pipeConsumer.closed) throw new InvalidStateError('pipe Consumer closed');
        const consumer = pipeConsumer;
        const piped = pipeProducer;
        consumer.observer.on('close', () => piped.close());
        consumer.observer.on('pause', () => void piped.pause().catch(() => {}));
        consumer.observer.on('resume', () => void piped.resume().catch(() => {}));
        piped.observer.on('close', () => consumer.close());
        return { pipeConsumer, pipeProducer };
      } catch (error) {
        pipeConsumer?.close();
        pipeProducer?.close();
        throw error;
      }
    }
    let pipeDataConsumer: DataConsumer | undefined;
    let pipeDataProducer: DataProducer | undefined;
    try {
      pipeDataConsumer = await local.consumeData({ dataProducerId: dataProducer!.id });
      pipeDataProducer = await remote.produceData({
        id: dataProducer!.id,
        sctpStreamParameters: pipeDataConsumer.sctpStreamParameters,
        label: pipeDataConsumer.label,
        protocol: pipeDataConsumer.protocol,
        appData: dataProducer!.appData,
      });
      if (dataProducer!.closed) throw new InvalidStateError('original DataProducer closed');
      if (pipeDataConsumer.closed) throw new InvalidStateError('pipe DataConsumer closed');
      const consumer = pipeDataConsumer;
      const piped = pipeDataProducer;
      consumer.observer.on('close', () => piped.close());
      piped.observer.on('close', () => consumer.close());
      return { pipeDataConsumer, pipeDataProducer };
    } catch (error) {
      pipeDataConsumer?.close();
      pipeDataProducer?.close();
      throw error;
    }
  }

  async #createPipeTransportPair(
    router: Router,
    options: Omit<PipeTransportOptions, 'appData'>,
  ): Promise<PipeTransportPair> {
    let local: PipeTransport | undefined;
    let remote: PipeTransport | undefined;
    try {
      [local, remote] = await Promise.all([
        this.createPipeTransport(options),
        router.createPipeTransport(options),
      ]);
      const l = local;
      const r = remote;
      await Promise.all([
        l.connect({ ip: r.tuple.localAddress, port: r.tuple.localPort, srtpParameters: r.srtpParameters }),
        r.connect({ ip: l.tuple.localAddress, port: l.tuple.localPort, srtpParameters: l.srtpParameters }),
      ]);
      l.observer.on('close', () => {
        r.close();
        this.#pipeTransportPairs.delete(router.id);
      });
      r.observer.on('close', () => {
        l.close();
        this.#pipeTransportPairs.delete(router.id);
      });
      return { [this.id]: l, [router.id]: r };
    } catch (error) {
      local?.close();
      remote?.close();
      throw error;
    }
  }

  /** @private The other router of a pipe pair registers it here so both directions share it. */
  addPipeTransportPair(key: string, pairPromise: Promise<PipeTransportPair>): void {
    if (this.#pipeTransportPairs.has(key))
      throw new Error('given pipeTransportPairKey already exists in this Router');
    this.#pipeTransportPairs.set(key, pairPromise);
    pairPromise
      .then((pair) => pair[this.id]!.observer.on('close', () => this.#pipeTransportPairs.delete(key)))
      .catch(() => this.#pipeTransportPairs.delete(key));
  }

  async createActiveSpeakerObserver<A extends AppData = AppData>({
    interval = 300,
    appData,
  }: ActiveSpeakerObserverOptions<A> = {}): Promise<ActiveSpeakerObserver<A>> {
    this.#assertOpen();
    if (typeof interval !== 'number') throw new TypeError('if given, interval must be a number');
    checkAppData(appData);
    const rtpObserverId = randomUUID();
    await this.request('router.createActiveSpeakerObserver', { rtpObserverId, interval });
    const observer = new ActiveSpeakerObserver<A>(this.#observerContext(rtpObserverId), appData);
    return this.#adoptObserver(observer);
  }

  async createAudioLevelObserver<A extends AppData = AppData>({
    maxEntries = 1,
    threshold = -80,
    interval = 1000,
    appData,
  }: AudioLevelObserverOptions<A> = {}): Promise<AudioLevelObserver<A>> {
    this.#assertOpen();
    if (typeof maxEntries !== 'number' || maxEntries <= 0)
      throw new TypeError('if given, maxEntries must be a positive number');
    if (typeof threshold !== 'number' || threshold < -127 || threshold > 0) {
      throw new TypeError('if given, threshold must be a negative number greater than -127');
    }
    if (typeof interval !== 'number') throw new TypeError('if given, interval must be a number');
    checkAppData(appData);
    const rtpObserverId = randomUUID();
    await this.request('router.createAudioLevelObserver', {
      rtpObserverId,
      maxEntries,
      threshold,
      interval,
    });
    const observer = new AudioLevelObserver<A>(this.#observerContext(rtpObserverId), appData);
    return this.#adoptObserver(observer);
  }

  #observerContext(rtpObserverId: string) {
    return {
      routerId: this.id,
      rtpObserverId,
      channel: this.channel,
      getProducerById: (id: string) => this.#producers.get(id),
    };
  }

  #adoptObserver<T extends RtpObserver>(observer: T): T {
    this.#rtpObservers.set(observer.id, observer);
    observer.on('@close', () => this.#rtpObservers.delete(observer.id));
    this.observer.safeEmit('newrtpobserver', observer);
    return observer;
  }

  /** Whether a device with these capabilities can consume the given Producer. */
  canConsume({
    producerId,
    rtpCapabilities,
  }: {
    producerId: string;
    rtpCapabilities: RtpCapabilities;
  }): boolean {
    const producer = this.#producers.get(producerId);
    if (!producer) return false;
    try {
      const caps = clone(rtpCapabilities);
      validateRtpCapabilities(caps);
      return canConsume(producer.consumableRtpParameters, caps);
    } catch {
      return false;
    }
  }
}
