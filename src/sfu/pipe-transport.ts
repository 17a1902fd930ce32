import type { Consumer } from './consumer.js';
import type { TransportListenInfo } from './engine/listen-info.js';
import { getPipeConsumerRtpParameters } from './engine/ortc.js';
import type { NumSctpStreams, SrtpParameters } from './engine/rtp-parameters.js';
import { NetworkTransport } from './network-transport.js';
import type {
  SctpState,
  TransportData,
  TransportEvents,
  TransportObserverEvents,
  TransportTuple,
} from './transport.js';
import type { AppData } from './types.js';
import { checkAppData } from './validate.js';

export interface PipeTransportOptions<PipeTransportAppData extends AppData = AppData> {
  listenInfo?: TransportListenInfo;
  /** @deprecated Use listenInfo. */
  listenIp?: string | { ip: string; announcedIp?: string };
  /** @deprecated Use listenInfo. */
  port?: number;
  enableSctp?: boolean;
  numSctpStreams?: NumSctpStreams;
  maxSctpMessageSize?: number;
  sctpSendBufferSize?: number;
  enableRtx?: boolean;
  enableSrtp?: boolean;
  appData?: PipeTransportAppData;
}

export interface PipeConsumerOptions<ConsumerAppData extends AppData = AppData> {
  producerId: string;
  appData?: ConsumerAppData;
}

interface PipeTransportData extends TransportData {
  tuple: TransportTuple;
  rtx: boolean;
  srtpParameters?: SrtpParameters;
}

export type PipeTransportEvents = TransportEvents & { sctpstatechange: [SctpState] };
export type PipeTransportObserverEvents = TransportObserverEvents & { sctpstatechange: [SctpState] };

/** Carries Producers between routers (usually of different workers) over UDP. */
export class PipeTransport<PipeTransportAppData extends AppData = AppData> extends NetworkTransport<
  PipeTransportAppData,
  PipeTransportData,
  PipeTransportEvents,
  PipeTransportObserverEvents
> {
  get tuple(): TransportTuple {
    return this.transportData.tuple;
  }

  get srtpParameters(): SrtpParameters | undefined {
    return this.transportData.srtpParameters;
  }

  /** Piped Producers keep their own CNAME. */
  protected override get overridesProducerCname(): boolean {
    return false;
  }

  override async connect({
    ip,
    port,
    srtpParameters,
  }: {
    ip: string;
    port: number;
    srtpParameters?: SrtpParameters;
  }): Promise<void> {
    const result = await this.request('transport.connect', {
      ip,
      port,
      srtpParameters,
    });
    this.transportData.tuple = result.tuple;
  }

  /** A pipe Consumer: every encoding of the Producer, forwarded as is to the other router. */
  override async consume<A extends AppData = AppData>({
    producerId,
    appData,
  }: PipeConsumerOptions<A>): Promise<Consumer<A>> {
    if (!producerId || typeof producerId !== 'string') throw new TypeError('missing producerId');
    checkAppData(appData);
    const producer = this.context.getProducerById(producerId);
    if (!producer) throw new Error(`Producer with id "${producerId}" not found`);
    const rtpParameters = getPipeConsumerRtpParameters({
      consumableRtpParameters: producer.consumableRtpParameters,
      enableRtx: this.transportData.rtx,
    });
    return this.requestConsume(
      producer,
      rtpParameters,
      'pipe',
      { paused: false, ignoreDtx: false, appData },
      true,
    );
  }
}
