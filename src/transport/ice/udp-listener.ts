/**
 * A UDP socket carrying ICE for one or many ICE-lite servers (mediasoup's WebRtcServer model).
 * Binding requests are routed by the local ufrag in USERNAME; everything else by the remote
 * address and port of a tuple some server validated. Unvalidated non-STUN traffic is dropped.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Logger } from '../../common/logger.js';
import { silentLogger } from '../../common/logger.js';
import { getAttribute, parseStun, StunAttr, StunClass, StunParseError } from '../../wire/stun/index.js';
import { localUsernameFragment } from './binding.js';
import type { IceListener, IceTuple, IceTupleOwner } from './tuple.js';

export interface PortRange {
  min: number;
  max: number;
}

export interface IceListenOptions {
  /** Local IP to bind (127.0.0.1 in tests). */
  address: string;
  /** Explicit port; 0 or absent with no portRange lets the OS pick. */
  port?: number;
  /** Try ports from this range (starting at a random one) until one binds. */
  portRange?: PortRange;
  logger?: Logger;
}

export interface UdpListenOptions extends IceListenOptions {
  recvBufferSize?: number;
  sendBufferSize?: number;
  /** SO_REUSEADDR (mediasoup's udpReusePort flag maps here on Node 20). Default false. */
  reuseAddr?: boolean;
}

class UdpTuple implements IceTuple {
  readonly protocol = 'udp' as const;
  owner: IceTupleOwner | undefined;

  constructor(
    private readonly listener: UdpIceListener,
    readonly remoteAddress: string,
    readonly remotePort: number,
  ) {}

  get localAddress(): string {
    return this.listener.address;
  }

  get localPort(): number {
    return this.listener.port;
  }

  send(data: Uint8Array): void {
    this.listener.sendTo(data, this.remotePort, this.remoteAddress);
  }

  attach(owner: IceTupleOwner): void {
    const previous = this.owner;
    if (previous === owner) return;
    this.owner = owner;
    this.listener.bindTuple(this);
    // A remote address moved from one server to another: the old one must forget it.
    previous?.handleTupleClosed(this);
  }

  detach(owner: IceTupleOwner): void {
    if (this.owner !== owner) return;
    this.owner = undefined;
    this.listener.unbindTuple(this);
  }
}

/** Bounded attempt count over a port range, starting at a random port. */
export async function bindInRange<T>(range: PortRange, attempt: (port: number) => Promise<T>): Promise<T> {
  const { min, max } = range;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535 || min > max) {
    throw new TypeError('bad port range');
  }
  const size = max - min + 1;
  const start = Math.floor(Math.random() * size);
  let lastError: unknown;
  for (let i = 0; i < size; i++) {
    try {
      return await attempt(min + ((start + i) % size));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      lastError = error;
    }
  }
  throw lastError ?? new Error('no port available in range');
}

export class UdpIceListener implements IceListener {
  readonly protocol = 'udp' as const;
  private readonly servers = new Map<string, IceTupleOwner>();
  /** remote address → remote port → tuple: looked up per packet without building a key string. */
  private readonly tuples = new Map<string, Map<number, UdpTuple>>();
  private isClosed = false;
  private boundPort = 0;

  private constructor(
    private readonly socket: Socket,
    readonly address: string,
    private readonly logger: Logger,
  ) {
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    // Send errors (no callback given) and ICMP-driven errors land here; none is fatal.
    socket.on('error', (error) => this.logger.debug({ err: error }, 'ice udp: socket error'));
  }

  static async listen(options: UdpListenOptions): Promise<UdpIceListener> {
    const logger = options.logger ?? silentLogger;
    const type = options.address.includes(':') ? 'udp6' : 'udp4';
    const open = (port: number): Promise<UdpIceListener> =>
      new Promise((resolve, reject) => {
        const socket = createSocket({
          type,
          reuseAddr: options.reuseAddr ?? false,
          recvBufferSize: options.recvBufferSize,
          sendBufferSize: options.sendBufferSize,
        });
        socket.once('error', (error) => {
          socket.close();
          reject(error);
        });
        socket.bind({ address: options.address, port, exclusive: !options.reuseAddr }, () => {
          socket.removeAllListeners('error');
          const listener = new UdpIceListener(socket, options.address, logger);
          listener.boundPort = socket.address().port;
          resolve(listener);
        });
      });
    if (options.portRange && !options.port) return bindInRange(options.portRange, open);
    return open(options.port ?? 0);
  }

  get port(): number {
    return this.boundPort;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Number of tuples currently routed to some server. */
  get tupleCount(): number {
    let n = 0;
    for (const byPort of this.tuples.values()) n += byPort.size;
    return n;
  }

  addServer(server: IceTupleOwner): void {
    this.servers.set(server.usernameFragment, server);
  }

  removeServer(server: IceTupleOwner): void {
    if (this.servers.get(server.usernameFragment) === server) this.servers.delete(server.usernameFragment);
    for (const byPort of this.tuples.values()) {
      for (const tuple of byPort.values()) if (tuple.owner === server) tuple.detach(server);
    }
  }

  renameServer(server: IceTupleOwner, oldUsernameFragment: string): void {
    if (this.servers.get(oldUsernameFragment) === server) this.servers.delete(oldUsernameFragment);
    this.servers.set(server.usernameFragment, server);
  }

  sendTo(data: Uint8Array, port: number, address: string): void {
    if (this.isClosed) return;
    this.socket.send(data, port, address);
  }

  bindTuple(tuple: UdpTuple): void {
    let byPort = this.tuples.get(tuple.remoteAddress);
    if (!byPort) {
      byPort = new Map();
      this.tuples.set(tuple.remoteAddress, byPort);
    }
    byPort.set(tuple.remotePort, tuple);
  }

  unbindTuple(tuple: UdpTuple): void {
    const byPort = this.tuples.get(tuple.remoteAddress);
    if (byPort?.get(tuple.remotePort) !== tuple) return;
    byPort.delete(tuple.remotePort);
    if (byPort.size === 0) this.tuples.delete(tuple.remoteAddress);
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    const tuple = this.tuples.get(rinfo.address)?.get(rinfo.port);
    if (msg.length > 0 && msg[0]! < 4) {
      this.onStun(msg, rinfo, tuple);
      return;
    }
    if (tuple?.owner) tuple.owner.handlePacket(msg, tuple);
  }

  private onStun(msg: Buffer, rinfo: RemoteInfo, tuple: UdpTuple | undefined): void {
    const message = parseStun(msg);
    if (message instanceof StunParseError) return;
    if (message.cls !== StunClass.Request) {
      tuple?.owner?.handleStun(message, tuple);
      return;
    }
    const username = getAttribute(message, StunAttr.Username);
    const ufrag = username && localUsernameFragment(username);
    let server = ufrag === undefined ? undefined : this.servers.get(ufrag);
    // With a single server the request goes to it even unmatched, so it can answer 400/401.
    if (!server && this.servers.size === 1) server = this.servers.values().next().value;
    if (!server) return;
    server.handleStun(message, tuple ?? new UdpTuple(this, rinfo.address, rinfo.port));
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const byPort of this.tuples.values()) {
      for (const tuple of byPort.values()) {
        const owner = tuple.owner;
        tuple.owner = undefined;
        owner?.handleTupleClosed(tuple);
      }
    }
    this.tuples.clear();
    this.servers.clear();
    this.socket.close();
  }
}
