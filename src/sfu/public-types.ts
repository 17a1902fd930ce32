/** Everything `types` exposes: mediasoup applications import their type names from here. */
export type {
  ActiveSpeakerObserver,
  ActiveSpeakerObserverDominantSpeaker,
  ActiveSpeakerObserverEvents,
  ActiveSpeakerObserverObserverEvents,
  ActiveSpeakerObserverOptions,
} from './active-speaker-observer.js';
export type {
  AudioLevelObserver,
  AudioLevelObserverEvents,
  AudioLevelObserverObserverEvents,
  AudioLevelObserverOptions,
  AudioLevelObserverVolume,
} from './audio-level-observer.js';
export type {
  Consumer,
  ConsumerEvents,
  ConsumerLayers,
  ConsumerObserverEvents,
  ConsumerScore,
  ConsumerTraceEventType,
  ConsumerType,
} from './consumer.js';
export type {
  DataConsumer,
  DataConsumerEvents,
  DataConsumerObserverEvents,
  DataConsumerType,
} from './data-consumer.js';
export type {
  DataProducer,
  DataProducerEvents,
  DataProducerObserverEvents,
  DataProducerType,
} from './data-producer.js';
export type {
  DirectTransport,
  DirectTransportEvents,
  DirectTransportObserverEvents,
  DirectTransportOptions,
} from './direct-transport.js';
export { InvalidStateError, UnsupportedError } from './engine/errors.js';
export type { TransportListenInfo, TransportListenIp } from './engine/listen-info.js';
export type {
  MediaKind,
  NumSctpStreams,
  RtcpFeedback,
  RtcpParameters,
  RtpCapabilities,
  RtpCodecCapability,
  RtpCodecParameters,
  RtpCodecParametersParameters,
  RtpEncodingParameters,
  RtpHeaderExtension,
  RtpHeaderExtensionDirection,
  RtpHeaderExtensionParameters,
  RtpHeaderExtensionUri,
  RtpParameters,
  SctpCapabilities,
  SctpParameters,
  SctpStreamParameters,
  SrtpCryptoSuite,
  SrtpParameters,
} from './engine/rtp-parameters.js';
export type { ScalabilityMode } from './engine/scalability-mode.js';
export type {
  PipeConsumerOptions,
  PipeTransport,
  PipeTransportEvents,
  PipeTransportObserverEvents,
  PipeTransportOptions,
} from './pipe-transport.js';
export type {
  PlainTransport,
  PlainTransportConnectParams,
  PlainTransportEvents,
  PlainTransportObserverEvents,
  PlainTransportOptions,
} from './plain-transport.js';
export type {
  Producer,
  ProducerEvents,
  ProducerObserverEvents,
  ProducerScore,
  ProducerTraceEventType,
  ProducerType,
  ProducerVideoOrientation,
} from './producer.js';
export type {
  PipeToRouterOptions,
  PipeToRouterResult,
  Router,
  RouterEvents,
  RouterObserverEvents,
} from './router.js';
export type { RtpObserver, RtpObserverEvents, RtpObserverObserverEvents } from './rtp-observer.js';
export type {
  ConsumerOptions,
  DataConsumerOptions,
  DataProducerOptions,
  ProducerOptions,
  SctpState,
  Transport,
  TransportEvents,
  TransportObserverEvents,
  TransportProtocol,
  TransportTraceEventType,
  TransportTuple,
} from './transport.js';
export type { AppData } from './types.js';
export type {
  WebRtcServer,
  WebRtcServerEvents,
  WebRtcServerObserverEvents,
  WebRtcServerOptions,
} from './webrtc-server.js';
export type {
  DtlsFingerprint,
  DtlsParameters,
  DtlsRole,
  DtlsState,
  FingerprintAlgorithm,
  IceCandidate,
  IceParameters,
  IceState,
  WebRtcTransport,
  WebRtcTransportEvents,
  WebRtcTransportObserverEvents,
  WebRtcTransportOptions,
} from './webrtc-transport.js';
export type {
  RouterOptions,
  Worker,
  WorkerEvents,
  WorkerLogLevel,
  WorkerLogTag,
  WorkerObserverEvents,
  WorkerResourceUsage,
  WorkerSettings,
  WorkerUpdateableSettings,
} from './worker.js';
