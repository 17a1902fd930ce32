/**
 * ICE for sockets owned elsewhere (an SFU engine that binds its own UDP/TCP sockets and routes
 * datagrams itself): each datagram arrives with its 5-tuple and a reply function. STUN goes to
 * the server; other packets only from tuples the server validated. Unvalidated senders leave no
 * state behind: a tuple is kept only while the server has it attached.
 */
import { parseStun, StunClass, StunParseError } from '../../wire/stun/index.js';
import type { IceProtocol, IceTuple, IceTupleOwner } from './tuple.js';

/** Where a datagram came from, as the socket owner describes it (mediasoup's tuple shape fits). */
export interface ExternalTupleInfo {
  protocol: IceProtocol;
  localAddress?: string;
  localPort?: number;
  /** mediasoup's name for the remote address. */
  remoteIp?: string;
  remoteAddress?: string;
  remotePort?: number;
}

export type ReplyFunction = (data: Buffer) => void;

class ExternalTuple implements IceTuple {
  owner: IceTupleOwner | undefined;

  constructor(
    private readonly table: ExternalIceTransport,
    readonly protocol: IceProtocol,
    readonly localAddress: string,
    readonly localPort: number,
    readonly remoteAddress: string,
    readonly remotePort: number,
    public reply: ReplyFunction,
  ) {}

  send(data: Uint8Array): void {
    if (this.table.closed) return;
    this.reply(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length));
  }

  attach(owner: IceTupleOwner): void {
    this.owner = owner;
    this.table.keep(this);
  }

  detach(owner: IceTupleOwner): void {
    if (this.owner !== owner) return;
    this.owner = undefined;
    this.table.forget(this);
  }
}

type TupleMap = Map<string, Map<number, ExternalTuple>>;

export class ExternalIceTransport {
  private readonly udp: TupleMap = new Map();
  private readonly tcp: TupleMap = new Map();
  private isClosed = false;

  constructor(private readonly server: IceTupleOwner) {}

  get closed(): boolean {
    return this.isClosed;
  }

  /** One datagram (or RFC 4571 frame) from the socket owner; reply sends back on the same tuple. */
  receive(data: Buffer, info: ExternalTupleInfo, reply: ReplyFunction): void {
    if (this.isClosed) return;
    const remoteAddress = info.remoteIp ?? info.remoteAddress ?? '';
    const remotePort = info.remotePort ?? 0;
    let tuple = (info.protocol === 'tcp' ? this.tcp : this.udp).get(remoteAddress)?.get(remotePort);
    if (data.length > 0 && data[0]! < 4) {
      const message = parseStun(data);
      if (message instanceof StunParseError) return;
      if (tuple) tuple.reply = reply;
      else if (message.cls === StunClass.Request) {
        tuple = new ExternalTuple(
          this,
          info.protocol,
          info.localAddress ?? '',
          info.localPort ?? 0,
          remoteAddress,
          remotePort,
          reply,
        );
      } else return;
      this.server.handleStun(message, tuple);
      return;
    }
    if (!tuple?.owner) return;
    tuple.reply = reply;
    tuple.owner.handlePacket(data, tuple);
  }

  /** The socket owner lost a tuple (TCP connection closed). */
  closeTuple(info: ExternalTupleInfo): void {
    const tuple = (info.protocol === 'tcp' ? this.tcp : this.udp)
      .get(info.remoteIp ?? info.remoteAddress ?? '')
      ?.get(info.remotePort ?? 0);
    if (!tuple) return;
    this.forget(tuple);
    const owner = tuple.owner;
    tuple.owner = undefined;
    owner?.handleTupleClosed(tuple);
  }

  keep(tuple: ExternalTuple): void {
    const map = tuple.protocol === 'tcp' ? this.tcp : this.udp;
    let byPort = map.get(tuple.remoteAddress);
    if (!byPort) {
      byPort = new Map();
      map.set(tuple.remoteAddress, byPort);
    }
    byPort.set(tuple.remotePort, tuple);
  }

  forget(tuple: ExternalTuple): void {
    const map = tuple.protocol === 'tcp' ? this.tcp : this.udp;
    const byPort = map.get(tuple.remoteAddress);
    if (byPort?.get(tuple.remotePort) !== tuple) return;
    byPort.delete(tuple.remotePort);
    if (byPort.size === 0) map.delete(tuple.remoteAddress);
  }

  close(): void {
    this.isClosed = true;
    this.udp.clear();
    this.tcp.clear();
  }
}
