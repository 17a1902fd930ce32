import type { TransportListenInfo } from './engine/listen-info.js';
import type {
  NumSctpStreams,
  SctpParameters,
  SrtpCryptoSuite,
  SrtpParameters,
} from './engine/rtp-parameters.js';
import {
  type SctpState,
  Transport,
  type TransportContext,
  type TransportData,
  type TransportEvents,
  type TransportObserverEvents,
  type TransportTuple,
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
export class PlainTransport<PlainTransportAppData extends AppData = AppData> extends Transport<
  PlainTransportAppData,
  PlainTransportEvents,
  PlainTransportObserverEvents
> {
  readonly #data: PlainTransportData;

  /** @private */
  constructor(
    context: TransportContext,
    transportId: string,
    data: PlainTransportData,
    appData?: PlainTransportAppData,
  ) {
    super(context, transportId, appData);
    this.#data = data;
  }

  get tuple(): TransportTuple {
    return this.#data.tuple;
  }

  get rtcpTuple(): TransportTuple | undefined {
    return this.#data.rtcpTuple;
  }

  get sctpParameters(): SctpParameters | undefined {
    return this.#data.sctpParameters;
  }

  get sctpState(): SctpState | undefined {
    return this.#data.sctpState;
  }

  get srtpParameters(): SrtpParameters | undefined {
    return this.#data.srtpParameters;
  }

  protected override get sctpParametersForStreams(): SctpParameters | undefined {
    return this.#data.sctpParameters;
  }

  protected override onClosed(): void {
    if (this.#data.sctpState) this.#data.sctpState = 'closed';
  }

  protected override handleEvent(event: string, data: unknown): void {
    const d = data as Record<string, never>;
    switch (event) {
      case 'tuple':
        this.#data.tuple = d.tuple;
        this.emitBoth('tuple', d.tuple);
        return;
      case 'rtcptuple':
        this.#data.rtcpTuple = d.rtcpTuple;
        this.emitBoth('rtcptuple', d.rtcpTuple);
        return;
      case 'sctpstatechange':
        this.#data.sctpState = d.sctpState;
        this.emitBoth('sctpstatechange', d.sctpState);
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
    this.#data.tuple = result.tuple;
    if (result.rtcpTuple) this.#data.rtcpTuple = result.rtcpTuple;
    if (result.srtpParameters) this.#data.srtpParameters = result.srtpParameters;
  }
}
