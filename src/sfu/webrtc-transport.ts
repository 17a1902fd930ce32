import type { TransportListenInfo, TransportListenIp } from './engine/listen-info.js';
import type { NumSctpStreams } from './engine/rtp-parameters.js';
import { NetworkTransport } from './network-transport.js';
import type {
  SctpState,
  TransportData,
  TransportEvents,
  TransportObserverEvents,
  TransportProtocol,
  TransportTuple,
} from './transport.js';
import type { AppData } from './types.js';
import type { WebRtcServer } from './webrtc-server.js';

export interface WebRtcTransportOptions<WebRtcTransportAppData extends AppData = AppData> {
  webRtcServer?: WebRtcServer;
  listenInfos?: TransportListenInfo[];
  /** @deprecated Use listenInfos. */
  listenIps?: (TransportListenIp | string)[];
  /** @deprecated Use listenInfos. */
  port?: number;
  enableUdp?: boolean;
  enableTcp?: boolean;
  preferUdp?: boolean;
  preferTcp?: boolean;
  iceConsentTimeout?: number;
  initialAvailableOutgoingBitrate?: number;
  enableSctp?: boolean;
  numSctpStreams?: NumSctpStreams;
  maxSctpMessageSize?: number;
  sctpSendBufferSize?: number;
  appData?: WebRtcTransportAppData;
}

export interface IceParameters {
  usernameFragment: string;
  password: string;
  iceLite?: boolean;
}

export interface IceCandidate {
  foundation: string;
  priority: number;
  /** @deprecated Use address. */
  ip: string;
  address: string;
  protocol: TransportProtocol;
  port: number;
  type: 'host';
  tcpType?: 'passive';
}

export type DtlsRole = 'auto' | 'client' | 'server';
export type FingerprintAlgorithm = 'sha-1' | 'sha-224' | 'sha-256' | 'sha-384' | 'sha-512';

export interface DtlsFingerprint {
  algorithm: FingerprintAlgorithm;
  value: string;
}

export interface DtlsParameters {
  role?: DtlsRole;
  fingerprints: DtlsFingerprint[];
}

export type IceState = 'new' | 'connected' | 'completed' | 'disconnected' | 'closed';
export type DtlsState = 'new' | 'connecting' | 'connected' | 'failed' | 'closed';

interface WebRtcTransportData extends TransportData {
  iceRole: 'controlled';
  iceParameters: IceParameters;
  iceCandidates: IceCandidate[];
  iceState: IceState;
  iceSelectedTuple?: TransportTuple;
  dtlsParameters: DtlsParameters;
  dtlsState: DtlsState;
  dtlsRemoteCert?: string;
}

export type WebRtcTransportEvents = TransportEvents & {
  icestatechange: [IceState];
  iceselectedtuplechange: [TransportTuple];
  dtlsstatechange: [DtlsState];
  sctpstatechange: [SctpState];
};

export type WebRtcTransportObserverEvents = TransportObserverEvents & {
  icestatechange: [IceState];
  iceselectedtuplechange: [TransportTuple];
  dtlsstatechange: [DtlsState];
  sctpstatechange: [SctpState];
};

const DTLS_ROLES: DtlsRole[] = ['auto', 'client', 'server'];
const FINGERPRINT_ALGORITHMS: FingerprintAlgorithm[] = ['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512'];

function checkDtlsParameters(dtlsParameters: unknown): void {
  if (typeof dtlsParameters !== 'object' || dtlsParameters === null)
    throw new TypeError('missing dtlsParameters');
  const { role, fingerprints } = dtlsParameters as DtlsParameters;
  if (role !== undefined && !DTLS_ROLES.includes(role)) throw new TypeError('invalid dtlsParameters.role');
  if (!Array.isArray(fingerprints) || fingerprints.length === 0)
    throw new TypeError('missing dtlsParameters.fingerprints');
  for (const fp of fingerprints) {
    if (typeof fp !== 'object' || fp === null || !FINGERPRINT_ALGORITHMS.includes(fp.algorithm)) {
      throw new TypeError('invalid fingerprint algorithm');
    }
    if (typeof fp.value !== 'string') throw new TypeError('invalid fingerprint value');
  }
}

/** An ICE-lite + DTLS transport to a WebRTC endpoint (browser, mediasoup-client). */
export class WebRtcTransport<WebRtcTransportAppData extends AppData = AppData> extends NetworkTransport<
  WebRtcTransportAppData,
  WebRtcTransportData,
  WebRtcTransportEvents,
  WebRtcTransportObserverEvents
> {
  get iceRole(): 'controlled' {
    return this.transportData.iceRole;
  }

  get iceParameters(): IceParameters {
    return this.transportData.iceParameters;
  }

  get iceCandidates(): IceCandidate[] {
    return this.transportData.iceCandidates;
  }

  get iceState(): IceState {
    return this.transportData.iceState;
  }

  get iceSelectedTuple(): TransportTuple | undefined {
    return this.transportData.iceSelectedTuple;
  }

  get dtlsParameters(): DtlsParameters {
    return this.transportData.dtlsParameters;
  }

  get dtlsState(): DtlsState {
    return this.transportData.dtlsState;
  }

  get dtlsRemoteCert(): string | undefined {
    return this.transportData.dtlsRemoteCert;
  }

  protected override onClosed(): void {
    this.transportData.iceState = 'closed';
    this.transportData.iceSelectedTuple = undefined;
    this.transportData.dtlsState = 'closed';
    super.onClosed();
  }

  protected override handleEvent(event: string, data: unknown): void {
    const d = data as Record<string, never>;
    switch (event) {
      case 'icestatechange':
        this.transportData.iceState = d.iceState;
        this.emitBoth('icestatechange', d.iceState);
        return;
      case 'iceselectedtuplechange':
        this.transportData.iceSelectedTuple = d.iceSelectedTuple;
        this.emitBoth('iceselectedtuplechange', d.iceSelectedTuple);
        return;
      case 'dtlsstatechange':
        this.transportData.dtlsState = d.dtlsState;
        if (d.dtlsRemoteCert) this.transportData.dtlsRemoteCert = d.dtlsRemoteCert;
        this.emitBoth('dtlsstatechange', d.dtlsState);
        return;
      default:
        super.handleEvent(event, data);
    }
  }

  /** Gives the remote DTLS parameters; the transport takes the opposite DTLS role. */
  override async connect({ dtlsParameters }: { dtlsParameters: DtlsParameters }): Promise<void> {
    checkDtlsParameters(dtlsParameters);
    const { dtlsLocalRole } = await this.request('transport.connect', {
      dtlsParameters,
    });
    this.transportData.dtlsParameters.role = dtlsLocalRole;
  }

  /** New ICE username fragment and password; the old ones stay valid until the peer switches. */
  async restartIce(): Promise<IceParameters> {
    const { iceParameters } = await this.request('transport.restartIce');
    this.transportData.iceParameters = iceParameters;
    return iceParameters;
  }
}
