import type { EngineContext, Handler } from './context.js';
import type { TransportListenInfo } from './listen-info.js';
import type { RouterEngine } from './router.js';
import { closeQuietly } from './transport.js';
import { bindListeners, type Listener, type WebRtcTransportEngine } from './webrtc-transport.js';

/**
 * Shared listeners for many WebRtcTransports. Datagrams go to a transport by the ICE username
 * fragment of the first STUN request from a 5-tuple, then by that 5-tuple (once the media plane
 * authenticates it). Until the media plane arrives, the server only keeps the tables.
 */
export class WebRtcServerEngine implements Handler {
  readonly id: string;
  readonly listeners: Listener[];
  readonly #transports = new Map<string, { transport: WebRtcTransportEngine; router: RouterEngine }>();

  private constructor(id: string, listeners: Listener[]) {
    this.id = id;
    this.listeners = listeners;
  }

  static async create(
    ctx: EngineContext,
    id: string,
    infos: TransportListenInfo[],
  ): Promise<WebRtcServerEngine> {
    return new WebRtcServerEngine(id, await bindListeners(infos, ctx));
  }

  addTransport(transport: WebRtcTransportEngine, router: RouterEngine): void {
    this.#transports.set(transport.id, { transport, router });
  }

  /** Closes the sockets and every transport using them. */
  close(): void {
    for (const { transport, router } of this.#transports.values()) router.closeTransportById(transport.id);
    this.#transports.clear();
    closeQuietly(this.listeners.flatMap((l) => [l.udp, l.tcp]));
  }

  handleRequest(method: string): unknown {
    if (method !== 'webRtcServer.dump') throw new Error(`unknown method ${method}`);
    // Transports closed by their router leave the table here.
    for (const [id, { transport }] of this.#transports) if (transport.closed) this.#transports.delete(id);
    const transports = [...this.#transports.values()].map((t) => t.transport);
    return {
      id: this.id,
      udpSockets: this.listeners.filter((l) => l.udp).map((l) => ({ ip: l.info.ip, port: l.port })),
      tcpServers: this.listeners.filter((l) => l.tcp).map((l) => ({ ip: l.info.ip, port: l.port })),
      webRtcTransportIds: transports.map((t) => t.id),
      localIceUsernameFragments: transports.flatMap((t) =>
        t.usernameFragments.map((localIceUsernameFragment) => ({
          localIceUsernameFragment,
          webRtcTransportId: t.id,
        })),
      ),
      tupleHashes: [],
    };
  }
}
