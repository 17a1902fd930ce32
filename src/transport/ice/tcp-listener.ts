/**
 * ICE-TCP passive listener (RFC 6544) with RFC 4571 framing: each packet on the stream is
 * preceded by its 16-bit length. Each accepted connection is one tuple. A connection must carry
 * an authenticated Binding request for some server within bindTimeout, and until then may carry
 * nothing but STUN; buffering is bounded by one frame (at most 65 535 bytes) per connection.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../common/logger.js';
import { silentLogger } from '../../common/logger.js';
import { getAttribute, parseStun, StunAttr, StunClass, StunParseError } from '../../wire/stun/index.js';
import { localUsernameFragment } from './binding.js';
import type { IceListener, IceTuple, IceTupleOwner } from './tuple.js';
import { bindInRange, type IceListenOptions } from './udp-listener.js';

export interface TcpListenOptions extends IceListenOptions {
  /** Most simultaneous connections (default 1024). */
  maxConnections?: number;
  /** Milliseconds a connection may stay without a validated tuple (default 10 000). */
  bindTimeout?: number;
  /** Bytes queued for sending beyond which packets are dropped rather than buffered (default 1 MiB). */
  maxWriteBuffer?: number;
}

const EMPTY = Buffer.alloc(0);

class TcpTuple implements IceTuple {
  readonly protocol = 'tcp' as const;
  owner: IceTupleOwner | undefined;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  private readonly header = Buffer.alloc(2);
  private headerFill = 0;
  /** The frame being reassembled across chunks, allocated once at its announced length. */
  private frame: Buffer | undefined;
  private frameFill = 0;
  private bindTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly listener: TcpIceListener,
    private readonly socket: Socket,
    bindTimeout: number,
    private readonly maxWriteBuffer: number,
  ) {
    this.localAddress = socket.localAddress ?? '';
    this.localPort = socket.localPort ?? 0;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.onClose());
    this.bindTimer = setTimeout(() => this.socket.destroy(), bindTimeout);
    this.bindTimer.unref();
  }

  send(data: Uint8Array): void {
    if (this.socket.destroyed || data.length > 0xffff) return;
    if (this.socket.writableLength > this.maxWriteBuffer) return;
    // One write per packet: write() keeps a reference, so header and body go out as one copy.
    const framed = Buffer.allocUnsafe(2 + data.length);
    framed.writeUInt16BE(data.length, 0);
    framed.set(data, 2);
    this.socket.write(framed);
  }

  attach(owner: IceTupleOwner): void {
    const previous = this.owner;
    this.owner = owner;
    if (this.bindTimer) clearTimeout(this.bindTimer);
    this.bindTimer = undefined;
    if (previous && previous !== owner) previous.handleTupleClosed(this);
  }

  detach(owner: IceTupleOwner): void {
    if (this.owner !== owner) return;
    this.owner = undefined;
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end && !this.socket.destroyed) {
      if (this.frame) {
        const n = Math.min(this.frame.length - this.frameFill, end - pos);
        chunk.copy(this.frame, this.frameFill, pos, pos + n);
        this.frameFill += n;
        pos += n;
        if (this.frameFill === this.frame.length) {
          const frame = this.frame;
          this.frame = undefined;
          this.onFrame(frame);
        }
        continue;
      }
      let length: number;
      if (this.headerFill === 0 && end - pos >= 2) {
        length = chunk.readUInt16BE(pos);
        pos += 2;
        if (end - pos >= length) {
          // Whole frame inside this chunk: hand out a view, no copy.
          const frame = chunk.subarray(pos, pos + length);
          pos += length;
          this.onFrame(frame);
          continue;
        }
      } else {
        this.header[this.headerFill++] = chunk[pos++]!;
        if (this.headerFill < 2) continue;
        this.headerFill = 0;
        length = this.header.readUInt16BE(0);
        if (length === 0) {
          this.onFrame(EMPTY);
          continue;
        }
      }
      this.frame = Buffer.allocUnsafe(length);
      this.frameFill = 0;
    }
  }

  private onFrame(frame: Buffer): void {
    if (frame.length > 0 && frame[0]! < 4) {
      this.listener.routeStun(frame, this);
      return;
    }
    if (this.owner) this.owner.handlePacket(frame, this);
    // Media before a validated check: not an ICE peer.
    else this.socket.destroy();
  }

  private onClose(): void {
    if (this.bindTimer) clearTimeout(this.bindTimer);
    this.bindTimer = undefined;
    this.frame = undefined;
    this.listener.forget(this);
    const owner = this.owner;
    this.owner = undefined;
    owner?.handleTupleClosed(this);
  }
}

export class TcpIceListener implements IceListener {
  readonly protocol = 'tcp' as const;
  private readonly servers = new Map<string, IceTupleOwner>();
  private readonly connections = new Set<TcpTuple>();
  private isClosed = false;
  private boundPort = 0;

  private constructor(
    private readonly server: Server,
    readonly address: string,
    private readonly options: Required<
      Pick<TcpListenOptions, 'maxConnections' | 'bindTimeout' | 'maxWriteBuffer'>
    >,
    private readonly logger: Logger,
  ) {
    server.on('connection', (socket) => this.onConnection(socket));
    server.on('error', (error) => this.logger.debug({ err: error }, 'ice tcp: server error'));
  }

  static async listen(options: TcpListenOptions): Promise<TcpIceListener> {
    const logger = options.logger ?? silentLogger;
    const limits = {
      maxConnections: options.maxConnections ?? 1024,
      bindTimeout: options.bindTimeout ?? 10_000,
      maxWriteBuffer: options.maxWriteBuffer ?? 1 << 20,
    };
    const open = (port: number): Promise<TcpIceListener> =>
      new Promise((resolve, reject) => {
        const server = createServer({ noDelay: true });
        server.once('error', (error) => {
          server.close();
          reject(error);
        });
        server.listen({ host: options.address, port, exclusive: true }, () => {
          server.removeAllListeners('error');
          const listener = new TcpIceListener(server, options.address, limits, logger);
          const address = server.address();
          listener.boundPort = typeof address === 'object' && address ? address.port : 0;
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

  get connectionCount(): number {
    return this.connections.size;
  }

  addServer(server: IceTupleOwner): void {
    this.servers.set(server.usernameFragment, server);
  }

  removeServer(server: IceTupleOwner): void {
    if (this.servers.get(server.usernameFragment) === server) this.servers.delete(server.usernameFragment);
    for (const connection of this.connections) if (connection.owner === server) connection.detach(server);
  }

  renameServer(server: IceTupleOwner, oldUsernameFragment: string): void {
    if (this.servers.get(oldUsernameFragment) === server) this.servers.delete(oldUsernameFragment);
    this.servers.set(server.usernameFragment, server);
  }

  routeStun(frame: Buffer, tuple: TcpTuple): void {
    const message = parseStun(frame);
    if (message instanceof StunParseError) {
      if (!tuple.owner) tuple.destroy();
      return;
    }
    if (message.cls !== StunClass.Request) {
      tuple.owner?.handleStun(message, tuple);
      return;
    }
    const username = getAttribute(message, StunAttr.Username);
    const ufrag = username && localUsernameFragment(username);
    let server = ufrag === undefined ? undefined : this.servers.get(ufrag);
    if (!server && this.servers.size === 1) server = this.servers.values().next().value;
    if (server) server.handleStun(message, tuple);
    else if (!tuple.owner) tuple.destroy();
  }

  forget(tuple: TcpTuple): void {
    this.connections.delete(tuple);
  }

  private onConnection(socket: Socket): void {
    if (this.isClosed || this.connections.size >= this.options.maxConnections) {
      socket.destroy();
      return;
    }
    this.connections.add(new TcpTuple(this, socket, this.options.bindTimeout, this.options.maxWriteBuffer));
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const connection of [...this.connections]) connection.destroy();
    this.servers.clear();
    this.server.close();
  }
}
