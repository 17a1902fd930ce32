import type { Channel } from './channel.js';
import { EnhancedEventEmitter } from './emitter.js';
import type { TransportListenInfo } from './engine/listen-info.js';
import type { AppData } from './types.js';
import { checkAppData } from './validate.js';
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
export class WebRtcServer<
  WebRtcServerAppData extends AppData = AppData,
> extends EnhancedEventEmitter<WebRtcServerEvents> {
  readonly #id: string;
  readonly #channel: Channel;
  #closed = false;
  #appData: WebRtcServerAppData;
  readonly #webRtcTransports = new Map<string, WebRtcTransport>();
  readonly #observer = new EnhancedEventEmitter<WebRtcServerObserverEvents>();

  /** @private */
  constructor({
    webRtcServerId,
    channel,
    appData,
  }: { webRtcServerId: string; channel: Channel; appData?: WebRtcServerAppData }) {
    super();
    this.#id = webRtcServerId;
    this.#channel = channel;
    this.#appData = appData ?? ({} as WebRtcServerAppData);
  }

  get id(): string {
    return this.#id;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get appData(): WebRtcServerAppData {
    return this.#appData;
  }

  set appData(appData: WebRtcServerAppData) {
    checkAppData(appData);
    this.#appData = appData;
  }

  get observer(): EnhancedEventEmitter<WebRtcServerObserverEvents> {
    return this.#observer;
  }

  /** @private */
  get webRtcTransportsForTesting(): Map<string, WebRtcTransport> {
    return this.#webRtcTransports;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#channel
      .request('worker.closeWebRtcServer', undefined, { webRtcServerId: this.#id })
      .catch(() => {});
    this.#closeTransports();
    this.emit('@close');
    this.#observer.safeEmit('close');
  }

  /** @private */
  workerClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeTransports();
    this.safeEmit('workerclose');
    this.#observer.safeEmit('close');
  }

  #closeTransports(): void {
    for (const transport of [...this.#webRtcTransports.values()]) {
      this.#webRtcTransports.delete(transport.id);
      transport.listenServerClosed();
      this.#observer.safeEmit('webrtctransportunhandled', transport);
    }
  }

  async dump(): Promise<unknown> {
    return this.#channel.request('webRtcServer.dump', this.#id);
  }

  /** @private */
  handleWebRtcTransport(transport: WebRtcTransport): void {
    this.#webRtcTransports.set(transport.id, transport);
    this.#observer.safeEmit('webrtctransporthandled', transport);
    transport.on('@close', () => {
      if (!this.#webRtcTransports.delete(transport.id)) return;
      this.#observer.safeEmit('webrtctransportunhandled', transport);
    });
  }
}
