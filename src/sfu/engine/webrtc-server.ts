import type { Socket as TcpSocket } from 'node:net';
import { StunAttr } from '../../wire/stun/constants.js';
import { getAttribute, isStun, parseStun, StunParseError } from '../../wire/stun/message.js';
import type { EngineContext, Handler } from './context.js';
import type { TransportListenInfo } from './listen-info.js';
import type { RouterEngine } from './router.js';
import { closeQuietly, type Tuple } from './transport.js';
import {
  bindListeners,
  type Listener,
  readListener,
  type WebRtcTransportEngine,
} from './webrtc-transport.js';

function tupleHash(tuple: Tuple): string {
  return `${tuple.protocol}:${tuple.localPort}:${tuple.remoteIp}:${tuple.remotePort}`;
}

/** The local ICE username fragment of a STUN request ("local:remote" in USERNAME), if any. */
function localUsernameFragment(data: Buffer): string | undefined {
  if (!isStun(data)) return undefined;
  const message = parseStun(data);
  if (message instanceof StunParseError) return undefined;
  const username = getAttribute(message, StunAttr.Username);
  if (!username) return undefined;
  const text = username.toString('utf8');
  const colon = text.indexOf(':');
  return colon > 0 ? text.slice(0, colon) : undefined;
}

/**
 * Shared listeners for many WebRtcTransports of one worker. A datagram from an unknown 5-tuple
 * goes to the transport whose ICE username fragment its STUN request names; later datagrams of
 * that 5-tuple go to the same transport (which authenticates them in its media plane).
 */
export class WebRtcServerEngine implements Handler {
  readonly id: string;
  readonly listeners: Listener[];
  readonly #transports = new Map<string, { transport: WebRtcTransportEngine; router: RouterEngine }>();
  readonly #tuples = new Map<string, WebRtcTransportEngine>();
  readonly #tcpConnections = new Set<TcpSocket>();

  private constructor(ctx: EngineContext, id: string, listeners: Listener[]) {
    this.id = id;
    this.listeners = listeners;
    for (const listener of listeners) {
      readListener(listener, ctx, this.#tcpConnections, (data, tuple, reply) =>
        this.#route(data, tuple, reply),
      );
    }
  }

  static async create(
    ctx: EngineContext,
    id: string,
    infos: TransportListenInfo[],
  ): Promise<WebRtcServerEngine> {
    return new WebRtcServerEngine(ctx, id, await bindListeners(infos, ctx));
  }

  #route(data: Buffer, tuple: Tuple, reply: (data: Buffer) => void): void {
    const hash = tupleHash(tuple);
    let transport = this.#tuples.get(hash);
    if (transport?.closed) {
      this.#tuples.delete(hash);
      transport = undefined;
    }
    if (!transport) {
      const ufrag = localUsernameFragment(data);
      if (ufrag === undefined) return;
      transport = this.#openTransports().find((t) => t.usernameFragments.includes(ufrag));
      if (!transport) return;
      this.#tuples.set(hash, transport);
    }
    transport.receiveDatagram(data, tuple, reply);
  }

  #openTransports(): WebRtcTransportEngine[] {
    // Transports closed by their router leave the table here.
    for (const [id, { transport }] of this.#transports) if (transport.closed) this.#transports.delete(id);
    return [...this.#transports.values()].map((t) => t.transport);
  }

  addTransport(transport: WebRtcTransportEngine, router: RouterEngine): void {
    this.#transports.set(transport.id, { transport, router });
  }

  /** Closes the sockets and every transport using them. */
  close(): void {
    for (const { transport, router } of this.#transports.values()) router.closeTransportById(transport.id);
    this.#transports.clear();
    this.#tuples.clear();
    for (const socket of this.#tcpConnections) socket.destroy();
    closeQuietly(this.listeners.flatMap((l) => [l.udp, l.tcp]));
  }

  handleRequest(method: string): unknown {
    if (method !== 'webRtcServer.dump') throw new Error(`unknown method ${method}`);
    const transports = this.#openTransports();
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
      tupleHashes: [...this.#tuples]
        .filter(([, t]) => !t.closed)
        .map(([hash, t]) => ({ tupleHash: hash, webRtcTransportId: t.id })),
    };
  }
}
