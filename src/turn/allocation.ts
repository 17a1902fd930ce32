/** Per-allocation state of the TURN server (RFC 8656 §5). */
import type { Socket as UdpSocket } from 'node:dgram';

/** Where the client of an allocation is and how to reach it. */
export interface ClientEndpoint {
  readonly transport: 'udp' | 'tcp' | 'tls';
  readonly address: string;
  readonly port: number;
  /** Sends one STUN message or a framed ChannelData message to the client. */
  send(message: Buffer): void;
  /** Sends ChannelData: header then payload (the stream transports add padding). */
  sendChannelData(header: Buffer, payload: Buffer): void;
}

export interface ChannelBinding {
  readonly channel: number;
  readonly peerAddress: string;
  readonly peerPort: number;
  expiresAt: number;
}

export class Allocation {
  /** Permissions by peer IP: expiry time in ms. */
  readonly permissions = new Map<string, number>();
  readonly channels = new Map<number, ChannelBinding>();
  /** Channel bindings by peer IP, then port: the peer→client hot path looks up here. */
  readonly channelsByPeer = new Map<string, Map<number, ChannelBinding>>();
  expiresAt: number;
  /** Bandwidth cap: bytes still allowed in the current refill window (Infinity when uncapped). */
  byteBudget = Number.POSITIVE_INFINITY;
  /** Set once deleted: its relay socket is closed and stream clients must drop their reference. */
  deleted = false;

  constructor(
    readonly client: ClientEndpoint,
    readonly relaySocket: UdpSocket,
    readonly relayPort: number,
    /** Later requests on this allocation must be signed by the same user (441 otherwise). */
    readonly username: string,
    /** Transaction id and response of the Allocate, for retransmissions. */
    readonly allocateTransactionId: Buffer,
    readonly allocateResponse: Buffer,
    lifetimeMs: number,
    now: number,
  ) {
    this.expiresAt = now + lifetimeMs;
  }

  hasPermission(ip: string, now: number): boolean {
    const expiry = this.permissions.get(ip);
    return expiry !== undefined && expiry > now;
  }

  channelForPeer(ip: string, port: number): ChannelBinding | undefined {
    return this.channelsByPeer.get(ip)?.get(port);
  }

  bindChannel(binding: ChannelBinding): void {
    this.channels.set(binding.channel, binding);
    let byPort = this.channelsByPeer.get(binding.peerAddress);
    if (!byPort) {
      byPort = new Map();
      this.channelsByPeer.set(binding.peerAddress, byPort);
    }
    byPort.set(binding.peerPort, binding);
  }

  unbindChannel(binding: ChannelBinding): void {
    this.channels.delete(binding.channel);
    const byPort = this.channelsByPeer.get(binding.peerAddress);
    if (!byPort) return;
    byPort.delete(binding.peerPort);
    if (byPort.size === 0) this.channelsByPeer.delete(binding.peerAddress);
  }

  /** Drops expired permissions and channel bindings. */
  sweep(now: number): void {
    for (const [ip, expiry] of this.permissions) if (expiry <= now) this.permissions.delete(ip);
    for (const binding of this.channels.values()) if (binding.expiresAt <= now) this.unbindChannel(binding);
  }
}
