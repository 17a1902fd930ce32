/** A 5-tuple the ICE-lite server can validate and select, and what owns its inbound traffic. */
import type { StunMessage } from '../../wire/stun/index.js';

export type IceProtocol = 'udp' | 'tcp';

export interface IceTuple {
  readonly protocol: IceProtocol;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Sends one packet (for TCP, framed per RFC 4571). Never throws; drops after close. */
  send(data: Uint8Array): void;
  /** Routes this tuple's non-STUN packets to owner from now on (the listener keeps the tuple). */
  attach(owner: IceTupleOwner): void;
  /** Stops routing to the owner; a TCP connection is closed too. */
  detach(owner: IceTupleOwner): void;
}

/** What a listener hands packets to: an IceLiteServer. */
export interface IceTupleOwner {
  readonly usernameFragment: string;
  /** A STUN message that arrived on tuple (requests are routed by USERNAME, the rest by tuple). */
  handleStun(message: StunMessage, tuple: IceTuple): void;
  /** Any non-STUN packet from an attached tuple. buf is only valid during the call. */
  handlePacket(buf: Buffer, tuple: IceTuple): void;
  /** The tuple went away underneath (TCP connection closed, listener closed). */
  handleTupleClosed(tuple: IceTuple): void;
}

/** A listener other components attach ICE servers to (UDP socket or ICE-TCP passive listener). */
export interface IceListener {
  readonly protocol: IceProtocol;
  readonly address: string;
  readonly port: number;
  readonly closed: boolean;
  /** Starts routing Binding requests whose USERNAME begins `<server ufrag>:` to server. */
  addServer(server: IceTupleOwner): void;
  removeServer(server: IceTupleOwner): void;
  /** Re-keys a server after an ICE restart changed its username fragment. */
  renameServer(server: IceTupleOwner, oldUsernameFragment: string): void;
  close(): void;
}

export function tupleToString(tuple: IceTuple): string {
  return `${tuple.protocol}:${tuple.remoteAddress}:${tuple.remotePort}->${tuple.localAddress}:${tuple.localPort}`;
}
