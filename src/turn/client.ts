/**
 * A minimal TURN client over UDP (RFC 8656 §6–12): long-term auth with nonce handling,
 * Allocate, Refresh, CreatePermission, ChannelBind, Send indications and ChannelData.
 * Used by our tests and the benchmark load generator; small enough to read in one sitting.
 */
import dgram from 'node:dgram';
import { type Logger, silentLogger } from '../common/logger.js';
import {
  decodeErrorCode,
  decodeUint32,
  decodeXorAddress,
  getAttribute,
  longTermKey,
  parseStun,
  StunAttr,
  StunBuilder,
  StunClass,
  type StunMessage,
  StunMethod,
  StunParseError,
  type TransportAddress,
  verifyMessageIntegrity,
} from '../wire/stun/index.js';

export interface TurnClientOptions {
  serverAddress: string;
  serverPort: number;
  username: string;
  password: string;
  /** Local address to bind. Default '127.0.0.1'. */
  localAddress?: string;
  /** Per-attempt timeout; a request is sent up to 4 times. Default 250 ms. */
  retransmitMs?: number;
  logger?: Logger;
}

/** A TURN request answered with an error response (or not answered at all: code 0). */
export class TurnRequestError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`TURN error ${code} ${reason}`);
  }
}

interface Pending {
  resolve: (msg: StunMessage) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class TurnClient {
  /** Data from peers: channel is 0 for Data indications. */
  onData: ((data: Buffer, peer: TransportAddress | undefined, channel: number) => void) | undefined;
  relayed: TransportAddress | undefined;
  mapped: TransportAddress | undefined;

  private readonly log: Logger;
  private readonly pending = new Map<string, Pending>();
  private realm = '';
  private nonce = '';
  private key: Buffer | undefined;
  private readonly channelPeers = new Map<number, TransportAddress>();
  private closed = false;

  private constructor(
    private readonly opts: TurnClientOptions,
    private readonly socket: dgram.Socket,
  ) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'turn-client' });
    socket.on('message', (msg) => this.onMessage(msg));
    socket.on('error', (err) => this.log.debug({ err }, 'client socket error'));
  }

  static async connect(opts: TurnClientOptions): Promise<TurnClient> {
    const local = opts.localAddress ?? '127.0.0.1';
    const socket = dgram.createSocket(local.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, local, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new TurnClient(opts, socket);
  }

  get localPort(): number {
    return this.socket.address().port;
  }

  async allocate(opts: { lifetime?: number; evenPort?: boolean; transport?: number } = {}): Promise<{
    relayed: TransportAddress;
    mapped: TransportAddress;
    lifetime: number;
  }> {
    const res = await this.request(StunMethod.Allocate, (b) => {
      b.addRequestedTransport(opts.transport ?? 17);
      if (opts.lifetime !== undefined) b.addUint32(StunAttr.Lifetime, opts.lifetime);
      if (opts.evenPort !== undefined) b.addEvenPort(opts.evenPort);
    });
    const relayed = decodeXorAddress(
      getAttribute(res, StunAttr.XorRelayedAddress) ?? Buffer.alloc(0),
      res.transactionId,
    );
    const mapped = decodeXorAddress(
      getAttribute(res, StunAttr.XorMappedAddress) ?? Buffer.alloc(0),
      res.transactionId,
    );
    if (relayed instanceof StunParseError || mapped instanceof StunParseError) {
      throw new TurnRequestError(0, 'Allocate response without addresses');
    }
    this.relayed = relayed;
    this.mapped = mapped;
    return {
      relayed,
      mapped,
      lifetime: decodeUint32(getAttribute(res, StunAttr.Lifetime) ?? Buffer.alloc(0)),
    };
  }

  async refresh(lifetime: number): Promise<number> {
    const res = await this.request(StunMethod.Refresh, (b) => b.addUint32(StunAttr.Lifetime, lifetime));
    return decodeUint32(getAttribute(res, StunAttr.Lifetime) ?? Buffer.alloc(0));
  }

  async createPermission(peerAddresses: string[]): Promise<void> {
    await this.request(StunMethod.CreatePermission, (b) => {
      for (const address of peerAddresses) b.addXorAddress(StunAttr.XorPeerAddress, address, 0);
    });
  }

  async channelBind(channel: number, peer: { address: string; port: number }): Promise<void> {
    await this.request(StunMethod.ChannelBind, (b) =>
      b.addChannelNumber(channel).addXorAddress(StunAttr.XorPeerAddress, peer.address, peer.port),
    );
    this.channelPeers.set(channel, { family: peer.address.includes(':') ? 6 : 4, ...peer });
  }

  sendIndication(peer: { address: string; port: number }, data: Buffer): void {
    const msg = new StunBuilder(StunMethod.Send, StunClass.Indication)
      .addXorAddress(StunAttr.XorPeerAddress, peer.address, peer.port)
      .add(StunAttr.Data, data)
      .build();
    this.sendRaw(msg);
  }

  /** Sends a ChannelData message; `frame` may be reused by the caller once this returns. */
  sendChannelData(channel: number, data: Buffer): void {
    const frame = Buffer.allocUnsafe(4 + data.length);
    frame.writeUInt16BE(channel, 0);
    frame.writeUInt16BE(data.length, 2);
    data.copy(frame, 4);
    this.sendRaw(frame);
  }

  /** Sends bytes as they are (ChannelData already framed, or anything for negative tests). */
  sendRaw(bytes: Buffer): void {
    if (!this.closed) this.socket.send(bytes, this.opts.serverPort, this.opts.serverAddress);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new TurnRequestError(0, 'client closed'));
    }
    this.pending.clear();
    this.socket.close();
  }

  /** Sends an authenticated request, answering one 401/438 challenge; resolves with the success response. */
  private async request(method: number, fill: (b: StunBuilder) => void): Promise<StunMessage> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const b = new StunBuilder(method, StunClass.Request);
      fill(b);
      if (this.key) {
        b.add(StunAttr.Username, this.opts.username)
          .add(StunAttr.Realm, this.realm)
          .add(StunAttr.Nonce, this.nonce);
        b.addMessageIntegrity(this.key);
      }
      b.addFingerprint();
      const res = await this.transact(b.build(), b.transactionId);
      if (res.cls === StunClass.SuccessResponse) {
        if (this.key && !verifyMessageIntegrity(res, this.key))
          throw new TurnRequestError(0, 'bad response integrity');
        return res;
      }
      const errorValue = getAttribute(res, StunAttr.ErrorCode);
      const error = errorValue ? decodeErrorCode(errorValue) : new StunParseError('no ERROR-CODE');
      if (error instanceof StunParseError) throw new TurnRequestError(0, error.reason);
      const realm = getAttribute(res, StunAttr.Realm);
      const nonce = getAttribute(res, StunAttr.Nonce);
      const retriable = (error.code === 401 && !this.key) || error.code === 438;
      if (retriable && realm && nonce) {
        this.realm = realm.toString('utf8');
        this.nonce = nonce.toString('utf8');
        this.key = longTermKey(this.opts.username, this.realm, this.opts.password);
        continue;
      }
      throw new TurnRequestError(error.code, error.reason);
    }
    throw new TurnRequestError(0, 'authentication did not converge');
  }

  private transact(bytes: Buffer, transactionId: Buffer): Promise<StunMessage> {
    const id = transactionId.toString('hex');
    const rto = this.opts.retransmitMs ?? 250;
    return new Promise((resolve, reject) => {
      let sent = 0;
      const send = (): void => {
        if (sent++ >= 4) {
          this.pending.delete(id);
          reject(new TurnRequestError(0, 'request timed out'));
          return;
        }
        this.sendRaw(bytes);
        entry.timer = setTimeout(send, rto);
      };
      const entry: Pending = { resolve, reject, timer: setTimeout(() => {}, 0) };
      this.pending.set(id, entry);
      send();
    });
  }

  private onMessage(msg: Buffer): void {
    if (msg.length >= 4 && (msg[0]! & 0xf0) === 0x40) {
      const channel = msg.readUInt16BE(0);
      const length = msg.readUInt16BE(2);
      if (4 + length <= msg.length)
        this.onData?.(msg.subarray(4, 4 + length), this.channelPeers.get(channel), channel);
      return;
    }
    const parsed = parseStun(msg);
    if (parsed instanceof StunParseError) return;
    if (parsed.cls === StunClass.Indication && parsed.method === StunMethod.Data) {
      const data = getAttribute(parsed, StunAttr.Data);
      const peerValue = getAttribute(parsed, StunAttr.XorPeerAddress);
      const peer = peerValue ? decodeXorAddress(peerValue, parsed.transactionId) : undefined;
      if (data) this.onData?.(data, peer instanceof StunParseError ? undefined : peer, 0);
      return;
    }
    const entry = this.pending.get(parsed.transactionId.toString('hex'));
    if (!entry) return;
    this.pending.delete(parsed.transactionId.toString('hex'));
    clearTimeout(entry.timer);
    entry.resolve(parsed);
  }
}
