import type { Channel } from './channel.js';
import { ChannelObject } from './channel-object.js';
import type { TransportListenInfo } from './engine/listen-info.js';
import type { AppData } from './types.js';
import type { WebRtcTransport } from './webrtc-transport.js';

export interface WebRtcServerOptions<WebRtcServerAppData extends AppData = AppData> {
  listenInfos: TransportListenInfo[];
  appData?: WebRtcServerAppData;
}

export type WebRtcServerEvents = { workerclose: []; listenererror: [string, Error]; '@close': [] };
export type WebRtcServerObserverEvents = {
  close: [];
  webrtctransporthandled: [WebRtcTransport];
  webrtctransportunhandled: [WebRtcTransport];
};

/** Shared UDP/TCP listeners that many WebRtcTransports of one worker use (one port for all). */
export class WebRtcServer<WebRtcServerAppData extends AppData = AppData> extends ChannelObject<
  WebRtcServerAppData,
  WebRtcServerEvents,
  WebRtcServerObserverEvents
> {
  readonly #webRtcTransports = new Map<string, WebRtcTransport>();

  /** @private */
  constructor({
    webRtcServerId,
    channel,
    appData,
  }: { webRtcServerId: string; channel: Channel; appData?: WebRtcServerAppData }) {
    super(channel, webRtcServerId, appData);
  }

  /** @private */
  get webRtcTransportsForTesting(): Map<string, WebRtcTransport> {
    return this.#webRtcTransports;
  }

  close(): void {
    this.closeThrough('worker.closeWebRtcServer', undefined, { webRtcServerId: this.id });
  }

  /** @private */
  workerClosed(): void {
    this.closedBy('workerclose');
  }

  protected override closeContents(): void {
    this.#closeTransports();
  }

  #closeTransports(): void {
    for (const transport of [...this.#webRtcTransports.values()]) {
      this.#webRtcTransports.delete(transport.id);
      transport.listenServerClosed();
      this.observer.safeEmit('webrtctransportunhandled', transport);
    }
  }

  async dump(): Promise<unknown> {
    return this.request('webRtcServer.dump');
  }

  /** @private */
  handleWebRtcTransport(transport: WebRtcTransport): void {
    this.#webRtcTransports.set(transport.id, transport);
    this.observer.safeEmit('webrtctransporthandled', transport);
    transport.on('@close', () => {
      if (!this.#webRtcTransports.delete(transport.id)) return;
      this.observer.safeEmit('webrtctransportunhandled', transport);
    });
  }
}
