import { UnsupportedError } from './engine/errors.js';
import type { SctpParameters } from './engine/rtp-parameters.js';
import {
  Transport,
  type TransportContext,
  type TransportEvents,
  type TransportObserverEvents,
} from './transport.js';
import type { AppData } from './types.js';

export interface DirectTransportOptions<DirectTransportAppData extends AppData = AppData> {
  maxMessageSize?: number;
  appData?: DirectTransportAppData;
}

export type DirectTransportEvents = TransportEvents & { rtcp: [Buffer] };
export type DirectTransportObserverEvents = TransportObserverEvents & { rtcp: [Buffer] };

/** RTP, RTCP and data messages exchanged with the controlling process itself (no network). */
export class DirectTransport<DirectTransportAppData extends AppData = AppData> extends Transport<
  DirectTransportAppData,
  DirectTransportEvents,
  DirectTransportObserverEvents
> {
  /** @private */
  constructor(
    context: TransportContext,
    transportId: string,
    _data: unknown,
    appData?: DirectTransportAppData,
  ) {
    super(context, transportId, appData);
  }

  protected override get sctpParametersForStreams(): SctpParameters | undefined {
    return undefined;
  }

  protected override get usesSctp(): boolean {
    return false;
  }

  protected override handleEvent(event: string, data: unknown): void {
    if (event === 'rtcp') {
      const packet = Buffer.from(data as Uint8Array);
      this.safeEmit('rtcp', packet);
      return;
    }
    super.handleEvent(event, data);
  }

  /** Nothing to connect: resolves at once. */
  override async connect(): Promise<void> {}

  override async setMaxIncomingBitrate(): Promise<void> {
    throw new UnsupportedError('setMaxIncomingBitrate() not implemented in DirectTransport');
  }

  override async setMaxOutgoingBitrate(): Promise<void> {
    throw new UnsupportedError('setMaxOutgoingBitrate() not implemented in DirectTransport');
  }

  override async setMinOutgoingBitrate(): Promise<void> {
    throw new UnsupportedError('setMinOutgoingBitrate() not implemented in DirectTransport');
  }

  /** Sends an RTCP packet to the router (e.g. feedback for its Consumers). */
  sendRtcp(rtcpPacket: Buffer): void {
    if (!Buffer.isBuffer(rtcpPacket)) throw new TypeError('rtcpPacket must be a Buffer');
    this.channel.notify('transport.sendRtcp', this.id, rtcpPacket);
  }
}
