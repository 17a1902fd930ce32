import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import type { Server, Socket as TcpSocket } from 'node:net';
import type { ConsumerEngine } from './consumer.js';
import type { EngineContext } from './context.js';
import type { TransportListenInfo } from './listen-info.js';
import type { WebRtcMediaPlane, WebRtcMediaPlaneFactory } from './media-plane.js';
import { bindUdp, listenTcp } from './sockets.js';
import { closeQuietly, type RouterLink, type SctpOptions, TransportEngine, type Tuple } from './transport.js';

const ICE_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomIceString(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ICE_CHARS[b % ICE_CHARS.length];
  return out;
}

export function newIceParameters() {
  return { usernameFragment: randomIceString(16), password: randomIceString(32), iceLite: true };
}

/** RFC 8445 priority of a host candidate: type preference 126 would be standard; mediasoup uses 64 for host. */
function candidatePriority(localPreference: number): number {
  return 2 ** 24 * 64 + 2 ** 8 * localPreference + (256 - 1);
}

export interface IceCandidate {
  foundation: string;
  priority: number;
  ip: string;
  address: string;
  protocol: 'udp' | 'tcp';
  port: number;
  type: 'host';
  tcpType?: 'passive';
}

/** One bound socket of a transport or WebRtcServer, with the candidate it yields. */
export interface Listener {
  info: TransportListenInfo;
  udp?: Socket;
  tcp?: Server;
  port: number;
}

export async function bindListeners(infos: TransportListenInfo[], ctx: EngineContext): Promise<Listener[]> {
  const listeners: Listener[] = [];
  try {
    for (const info of infos) {
      if (info.protocol === 'udp') {
        const udp = await bindUdp(info, ctx.portRange());
        listeners.push({ info, udp, port: udp.address().port });
      } else {
        const tcp = await listenTcp(info, ctx.portRange());
        const address = tcp.address();
        listeners.push({ info, tcp, port: typeof address === 'object' && address ? address.port : 0 });
      }
    }
  } catch (error) {
    closeQuietly(listeners.flatMap((l) => [l.udp, l.tcp]));
    throw error;
  }
  return listeners;
}

export function candidatesOf(listeners: Listener[], preferUdp: boolean, preferTcp: boolean): IceCandidate[] {
  return listeners.map((listener, i) => {
    const protocol = listener.info.protocol;
    // Listen order decides; the preferred protocol only breaks ties within one step.
    const penalty = (preferUdp && protocol === 'tcp') || (preferTcp && protocol === 'udp') ? 50 : 0;
    const address = listener.info.announcedAddress ?? listener.info.ip;
    const candidate: IceCandidate = {
      foundation: `${protocol}candidate`,
      priority: candidatePriority(65535 - i * 100 - penalty),
      ip: address,
      address,
      protocol,
      port: listener.port,
      type: 'host',
    };
    if (protocol === 'tcp') candidate.tcpType = 'passive';
    return candidate;
  });
}

export type DatagramHandler = (data: Buffer, tuple: Tuple, reply: (data: Buffer) => void) => void;

/**
 * Reads a listener's UDP datagrams and ICE-TCP frames (RFC 4571: a 16-bit length before each
 * packet) and passes each with its 5-tuple and a way to answer on the same path.
 */
export function readListener(
  listener: Listener,
  ctx: EngineContext,
  tcpConnections: Set<TcpSocket>,
  onDatagram: DatagramHandler,
): void {
  const localAddress = listener.info.announcedAddress ?? listener.info.ip;
  const local = { localIp: localAddress, localAddress, localPort: listener.port };
  listener.udp?.on('message', (data, rinfo) => {
    const tuple: Tuple = { ...local, remoteIp: rinfo.address, remotePort: rinfo.port, protocol: 'udp' };
    onDatagram(data, tuple, (reply) => listener.udp?.send(reply, rinfo.port, rinfo.address));
  });
  listener.udp?.on('error', (error) => ctx.log.warn({ err: error }, 'UDP socket error'));
  listener.tcp?.on('connection', (socket) => {
    tcpConnections.add(socket);
    socket.on('close', () => tcpConnections.delete(socket));
    socket.on('error', () => socket.destroy());
    const tuple: Tuple = {
      ...local,
      remoteIp: socket.remoteAddress,
      remotePort: socket.remotePort,
      protocol: 'tcp',
    };
    const reply = (data: Buffer) => {
      const header = Buffer.alloc(2);
      header.writeUInt16BE(data.length);
      socket.write(Buffer.concat([header, data]));
    };
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const frame = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        onDatagram(frame, tuple, reply);
      }
    });
  });
  listener.tcp?.on('error', (error) => ctx.log.warn({ err: error }, 'TCP server error'));
}

export interface WebRtcTransportInit extends SctpOptions {
  transportId: string;
  listeners: Listener[];
  /** Set when the sockets belong to a WebRtcServer (closing the transport must not close them). */
  sharedSockets: boolean;
  preferUdp?: boolean;
  preferTcp?: boolean;
  enableUdp?: boolean;
  enableTcp?: boolean;
  mediaPlaneFactory?: WebRtcMediaPlaneFactory;
}

/**
 * Worker side of a WebRtcTransport: owns (or shares) its sockets and routes their datagrams to
 * the media plane, which the transport layer provides. Without one, datagrams are counted and dropped.
 */
export class WebRtcTransportEngine extends TransportEngine {
  iceParameters = newIceParameters();
  readonly iceCandidates: IceCandidate[];
  iceState: 'new' | 'connected' | 'completed' | 'disconnected' | 'closed' = 'new';
  iceSelectedTuple?: Tuple;
  dtlsState: 'new' | 'connecting' | 'connected' | 'failed' | 'closed' = 'new';
  dtlsRole: 'auto' | 'client' | 'server' = 'auto';
  /** Every username fragment this transport answered to (restartIce keeps the old ones). */
  readonly usernameFragments: string[];
  readonly #listeners: Listener[];
  readonly #sharedSockets: boolean;
  readonly #mediaPlaneFactory?: WebRtcMediaPlaneFactory;
  #mediaPlane?: WebRtcMediaPlane;
  #connected = false;
  readonly #tcpConnections = new Set<TcpSocket>();

  constructor(ctx: EngineContext, router: RouterLink, init: WebRtcTransportInit) {
    super(ctx, router, init.transportId, init, true);
    this.#listeners = init.listeners.filter((l) =>
      l.info.protocol === 'udp' ? init.enableUdp !== false : init.enableTcp !== false,
    );
    this.#sharedSockets = init.sharedSockets;
    this.#mediaPlaneFactory = init.mediaPlaneFactory;
    this.iceCandidates = candidatesOf(this.#listeners, Boolean(init.preferUdp), Boolean(init.preferTcp));
    this.usernameFragments = [this.iceParameters.usernameFragment];
    if (!this.#sharedSockets) {
      for (const listener of this.#listeners) {
        readListener(listener, this.ctx, this.#tcpConnections, (data, tuple, reply) =>
          this.receiveDatagram(data, tuple, reply),
        );
      }
    }
  }

  /** A datagram for this transport (own socket or routed by a WebRtcServer). */
  receiveDatagram(data: Buffer, tuple: Tuple, reply: (data: Buffer) => void): void {
    this.recvBytes.add(data.length);
    this.#mediaPlane?.receive(data, tuple, reply);
  }

  /** The media plane protects (copies) each packet before sendRtp returns. */
  readonly readsRtpDuringSendOnly = true;

  override sendRtp(_consumer: ConsumerEngine, packet: Buffer): void {
    if (!this.#mediaPlane) return;
    this.rtpSendBytes.add(packet.length);
    this.sendBytes.add(packet.length);
    this.#mediaPlane.sendRtp(packet);
  }

  override sendRtcp(packet: Buffer): void {
    if (!this.#mediaPlane?.sendRtcp) return;
    this.sendBytes.add(packet.length);
    this.#mediaPlane.sendRtcp(packet);
  }

  protected override sendSctpPacket(packet: Buffer): void {
    if (this.#mediaPlane?.sendApplicationData?.(packet)) this.sendBytes.add(packet.length);
  }

  protected override get statsType(): string {
    return 'webrtc-transport';
  }

  protected override get direct(): boolean {
    return false;
  }

  protected override dumpSpecific(): Record<string, unknown> {
    return {
      iceRole: 'controlled',
      iceParameters: this.iceParameters,
      iceCandidates: this.iceCandidates,
      iceState: this.iceState,
      iceSelectedTuple: this.iceSelectedTuple,
      dtlsParameters: { role: this.dtlsRole, fingerprints: this.ctx.dtlsFingerprints },
      dtlsState: this.dtlsState,
    };
  }

  protected override statsSpecific(): Record<string, unknown> {
    return {
      iceRole: 'controlled',
      iceState: this.iceState,
      dtlsState: this.dtlsState,
      ...(this.iceSelectedTuple ? { iceSelectedTuple: this.iceSelectedTuple } : {}),
    };
  }

  /** What the API object is built from. */
  describe(): Record<string, unknown> {
    return {
      iceRole: 'controlled',
      iceParameters: { ...this.iceParameters },
      iceCandidates: this.iceCandidates,
      iceState: this.iceState,
      dtlsParameters: { role: 'auto', fingerprints: this.ctx.dtlsFingerprints },
      dtlsState: this.dtlsState,
      sctpParameters: this.sctpParameters,
      sctpState: this.sctpState,
    };
  }

  // biome-ignore lint/suspicious/noExplicitAny: request bodies from the IPC channel.
  protected override handleSpecificRequest(method: string, data: any): unknown {
    switch (method) {
      case 'transport.connect': {
        if (this.#connected) throw new Error('connect() already called');
        const remote = data?.dtlsParameters;
        if (!remote || !Array.isArray(remote.fingerprints) || remote.fingerprints.length === 0) {
          throw new TypeError('missing dtlsParameters.fingerprints');
        }
        const remoteRole = remote.role ?? 'auto';
        // We are ICE-lite (controlled): with 'auto' the remote side is expected to be the DTLS client.
        this.dtlsRole = remoteRole === 'server' ? 'client' : 'server';
        this.#connected = true;
        if (this.#mediaPlaneFactory) {
          this.#mediaPlane = this.#mediaPlaneFactory(
            {
              iceParameters: this.iceParameters,
              remoteDtlsParameters: { role: remoteRole, fingerprints: remote.fingerprints },
              dtlsRole: this.dtlsRole,
            },
            {
              transport: this,
              deliverRtp: (packet, storeOnly) => this.receiveRtp(packet, storeOnly),
              deliverApplicationData: (data) => this.receiveSctp(data),
              emit: (event, payload) => {
                this.ctx.emit(this.id, event, payload);
                if (event !== 'dtlsstatechange') return;
                // SCTP runs over DTLS (RFC 8261): it starts and ends with it.
                const { dtlsState } = payload as { dtlsState: string };
                if (dtlsState === 'connected') this.sctp?.connect();
                else if (dtlsState === 'closed' || dtlsState === 'failed') this.sctp?.close();
              },
            },
          );
        }
        return { dtlsLocalRole: this.dtlsRole };
      }
      case 'transport.restartIce':
        this.iceParameters = newIceParameters();
        this.usernameFragments.push(this.iceParameters.usernameFragment);
        this.#mediaPlane?.restartIce?.(this.iceParameters);
        return { iceParameters: { ...this.iceParameters } };
      default:
        return super.handleSpecificRequest(method, data);
    }
  }

  protected override releaseResources(): void {
    this.iceState = 'closed';
    this.dtlsState = 'closed';
    this.#mediaPlane?.close();
    for (const socket of this.#tcpConnections) socket.destroy();
    if (!this.#sharedSockets) closeQuietly(this.#listeners.flatMap((l) => [l.udp, l.tcp]));
  }
}
