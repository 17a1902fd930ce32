/**
 * The SCTP association of an SFU transport (mediasoup's SctpAssociation): over DTLS for a
 * WebRtcTransport (RFC 8261), directly over UDP for Plain and Pipe transports. Messages on a
 * stream go to the DataProducer with that stream id; DataConsumers send on their own stream id
 * with their reliability settings. Data channels are negotiated (mediasoup-client): DCEP
 * messages are ignored, as mediasoup's worker does.
 */
import { SctpAssociation, type SctpState } from '../../transport/sctp/index.js';
import type { EngineContext } from './context.js';
import type { DataConsumerEngine, DataMessage, DataProducerEngine } from './data.js';
import type { SctpParameters } from './rtp-parameters.js';

/** PPID of the Data Channel Establishment Protocol (RFC 8832). */
const PPID_DCEP = 50;

export interface SctpDataPlaneHost {
  /** The transport's id (events go to it). */
  readonly id: string;
  dataProducerForStream(streamId: number): DataProducerEngine | undefined;
  dataConsumerForStream(streamId: number): DataConsumerEngine | undefined;
  sctpStateChanged(state: SctpState): void;
  /** One SCTP packet to the remote endpoint (a DTLS record or a UDP datagram). */
  sendSctpPacket(packet: Buffer): void;
}

export interface SctpDataPlaneOptions {
  parameters: SctpParameters;
  /** Bytes queued and not yet sent once beyond which messages are refused (sctpsendbufferfull). */
  sendBufferSize: number;
  /** WebRTC data channels: a stream the peer resets is reset our way too (channel close). */
  isDataChannel: boolean;
}

export class SctpDataPlane {
  readonly association: SctpAssociation;
  readonly #ctx: EngineContext;
  readonly #host: SctpDataPlaneHost;
  readonly #sendBufferSize: number;
  readonly #maxMessageSize: number;
  /** Reused for every received message: delivery to the DataConsumers is synchronous. */
  readonly #message: DataMessage = { ppid: 0, data: Buffer.alloc(0) };
  /** Streams whose DataConsumer set a bufferedAmountLowThreshold. */
  readonly #lowThresholdStreams = new Set<number>();

  constructor(ctx: EngineContext, host: SctpDataPlaneHost, options: SctpDataPlaneOptions) {
    this.#ctx = ctx;
    this.#host = host;
    this.#sendBufferSize = options.sendBufferSize;
    this.#maxMessageSize = options.parameters.maxMessageSize;
    const association = new SctpAssociation({
      send: (packet) => host.sendSctpPacket(packet),
      localPort: options.parameters.port,
      remotePort: options.parameters.port,
      outboundStreams: options.parameters.OS,
      inboundStreams: options.parameters.MIS,
      maxMessageSize: options.parameters.maxMessageSize,
      // RFC 9260's RTO.Min (usrsctp's too): above the peers' 200 ms delayed SACK, so a burst
      // ending on an odd packet does not time out spuriously and collapse cwnd.
      rtoMin: 1000,
      // Never give up on INIT: mediasoup-client adds its data channel section only on the first
      // produceData()/consumeData(), possibly minutes after DTLS carried media. Until then our
      // INIT (every rtoMax, 10 s) is dropped; when the browser's SCTP starts, the two INITs meet.
      maxInitRetransmits: Number.POSITIVE_INFINITY,
    });
    this.association = association;
    association.onMessage = (streamId, ppid, data) => this.#onMessage(streamId, ppid, data);
    association.onBufferedAmountLow = (streamId) => {
      // Only for streams whose DataConsumer asked: each event is an IPC message, and with the
      // default threshold (0) the association reports every time a stream's queue empties.
      if (!this.#lowThresholdStreams.has(streamId)) return;
      const dataConsumer = host.dataConsumerForStream(streamId);
      if (dataConsumer) {
        ctx.emit(dataConsumer.id, 'bufferedamountlow', {
          bufferedAmount: association.bufferedAmount(streamId),
        });
      }
    };
    association.on('statechange', (state) => host.sctpStateChanged(state));
    if (options.isDataChannel) {
      // RFC 8831 §6.7: closing a channel resets both directions of its stream.
      association.on('incomingstreamreset', (streamIds) => association.resetStreams(streamIds));
    }
  }

  get state(): SctpState {
    return this.association.state;
  }

  /** The transport is connected (DTLS up, or the remote UDP address known): send INIT. */
  connect(): void {
    this.association.connect();
  }

  /** An SCTP packet from the remote endpoint. Never throws. */
  receive(packet: Buffer): void {
    this.association.handlePacket(packet);
  }

  #onMessage(streamId: number, ppid: number, data: Buffer): void {
    if (ppid === PPID_DCEP) return;
    const dataProducer = this.#host.dataProducerForStream(streamId);
    if (!dataProducer) return;
    const message = this.#message;
    message.ppid = ppid;
    message.data = data;
    dataProducer.receiveMessage(message);
  }

  /** Queues a DataConsumer's message on its stream; false if refused. */
  send(dataConsumer: DataConsumerEngine, message: DataMessage): boolean {
    const streamId = dataConsumer.sctpStreamParameters?.streamId;
    const length = message.data.length;
    if (streamId === undefined || length > this.#maxMessageSize) return false;
    const association = this.association;
    if (association.bufferedAmountTotal + length > this.#sendBufferSize) {
      this.#ctx.emit(dataConsumer.id, 'sctpsendbufferfull');
      return false;
    }
    return association.send(streamId, message.ppid, message.data, dataConsumer.sctpSendOptions);
  }

  bufferedAmount(streamId: number): number {
    return this.association.bufferedAmount(streamId);
  }

  setBufferedAmountLowThreshold(streamId: number, threshold: number): void {
    this.#lowThresholdStreams.add(streamId);
    this.association.setBufferedAmountLowThreshold(streamId, threshold);
  }

  /** A DataConsumer or data channel is gone: reset our outgoing stream (RFC 6525). */
  resetStream(streamId: number): void {
    this.#lowThresholdStreams.delete(streamId);
    this.association.setBufferedAmountLowThreshold(streamId, 0);
    this.association.resetStreams([streamId]);
  }

  /** The transport below is gone: no more packets either way. */
  close(): void {
    this.association.close();
  }

  /** The transport is closing but can still send: tell the peer (ABORT). */
  abort(): void {
    this.association.abort('transport closed');
  }
}
