import type { TransportListenInfo } from './engine/listen-info.js';
import type { NumSctpStreams, SrtpCryptoSuite, SrtpParameters } from './engine/rtp-parameters.js';
import { NetworkTransport } from './network-transport.js';
import type {
  SctpState,
  TransportData,
  TransportEvents,
  TransportObserverEvents,
  TransportTuple,
} from './transport.js';
import type { AppData } from './types.js';

export interface PlainTransportOptions<PlainTransportAppData extends AppData = AppData> {
  listenInfo?: TransportListenInfo;
  rtcpListenInfo?: TransportListenInfo;
  /** @deprecated Use listenInfo. */
  listenIp?: string | { ip: string; announcedIp?: string };
  /** @deprecated Use listenInfo. */
  port?: number;
  rtcpMux?: boolean;
  comedia?: boolean;
  enableSctp?: boolean;
  numSctpStreams?: NumSctpStreams;
  maxSctpMessageSize?: number;
  sctpSendBufferSize?: number;
  enableSrtp?: boolean;
  srtpCryptoSuite?: SrtpCryptoSuite;
  appData?: PlainTransportAppData;
}

export interface PlainTransportConnectParams {
  ip?: string;
  port?: number;
  rtcpPort?: number;
  srtpParameters?: SrtpParameters;
}

interface PlainTransportData extends TransportData {
  rtcpMux: boolean;
  comedia: boolean;
  tuple: TransportTuple;
  rtcpTuple?: TransportTuple;
  srtpParameters?: SrtpParameters;
}

export type PlainTransportEvents = TransportEvents & {
  tuple: [TransportTuple];
  rtcptuple: [TransportTuple];
  sctpstatechange: [SctpState];
};

export type PlainTransportObserverEvents = TransportObserverEvents & {
  tuple: [TransportTuple];
  rtcptuple: [TransportTuple];
  sctpstatechange: [SctpState];
};

/** Plain RTP/RTCP over UDP (optionally SRTP with keys exchanged out of band), e.g. to FFmpeg/GStreamer. */
export class PlainTransport<PlainTransportAppData extends AppData = AppData> extends NetworkTransport<
  PlainTransportAppData,
  PlainTransportData,
  PlainTransportEvents,
  PlainTransportObserverEvents
> {
  get tuple(): TransportTuple {
    return this.transportData.tuple;
  }

  get rtcpTuple(): TransportTuple | undefined {
    return this.transportData.rtcpTuple;
  }

  get srtpParameters(): SrtpParameters | undefined {
    return this.transportData.srtpParameters;
  }

  protected override handleEvent(event: string, data: unknown): void {
    const d = data as Record<string, never>;
    switch (event) {
      case 'tuple':
        this.transportData.tuple = d.tuple;
        this.emitBoth('tuple', d.tuple);
        return;
      case 'rtcptuple':
        this.transportData.rtcpTuple = d.rtcpTuple;
        this.emitBoth('rtcptuple', d.rtcpTuple);
        return;
      default:
        super.handleEvent(event, data);
    }
  }

  override async connect({
    ip,
    port,
    rtcpPort,
    srtpParameters,
  }: PlainTransportConnectParams = {}): Promise<void> {
    const result = await this.request('transport.connect', {
      ip,
      port,
      rtcpPort,
      srtpParameters,
    });
    this.transportData.tuple = result.tuple;
    if (result.rtcpTuple) this.transportData.rtcpTuple = result.rtcpTuple;
    if (result.srtpParameters) this.transportData.srtpParameters = result.srtpParameters;
  }
}
