/**
 * WebRTC data channels (RFC 8831) over an SctpAssociation: the Data Channel Establishment
 * Protocol (RFC 8832) for in-band channels, negotiated channels on an agreed stream id, PPIDs,
 * bufferedAmount, and closing by outgoing stream reset.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../common/logger.js';
import { silentLogger } from '../../common/logger.js';
import type { SctpAssociation, SendOptions } from './association.js';

/** Payload protocol identifiers (RFC 8831 §8, IANA). */
export const Ppid = {
  DCEP: 50,
  STRING: 51,
  /** Deprecated partial string (never sent; reassembled as a whole message by SCTP anyway). */
  STRING_PARTIAL: 52,
  BINARY: 53,
  BINARY_PARTIAL: 54,
  STRING_EMPTY: 56,
  BINARY_EMPTY: 57,
} as const;

const DCEP_OPEN = 0x03;
const DCEP_ACK = 0x02;

/** RFC 8832 §5.1 channel types; bit 0x80 = unordered. */
export const ChannelType = {
  RELIABLE: 0x00,
  RELIABLE_UNORDERED: 0x80,
  PARTIAL_RELIABLE_REXMIT: 0x01,
  PARTIAL_RELIABLE_REXMIT_UNORDERED: 0x81,
  PARTIAL_RELIABLE_TIMED: 0x02,
  PARTIAL_RELIABLE_TIMED_UNORDERED: 0x82,
} as const;

export interface DataChannelInit {
  ordered?: boolean;
  maxRetransmits?: number;
  maxPacketLifeTime?: number;
  protocol?: string;
  /** Both sides agree on `id` out of band; no DCEP. */
  negotiated?: boolean;
  id?: number;
  /** RFC 8832 priority (default 256, "normal"). */
  priority?: number;
  /** Deliver every message as the received Buffer, strings undecoded (an SFU relaying by PPID). */
  raw?: boolean;
}

export type DataChannelState = 'connecting' | 'open' | 'closing' | 'closed';

export interface DataChannelEvents {
  open: [];
  /** Strings for PPID 51/56 (and 52), Buffers for binary PPIDs. ppid as received. */
  message: [data: string | Buffer, ppid: number];
  bufferedamountlow: [];
  close: [];
}

export interface DcepOpen {
  channelType: number;
  priority: number;
  reliabilityParameter: number;
  label: string;
  protocol: string;
}

/** Parses DATA_CHANNEL_OPEN (RFC 8832 §5.1). Total: undefined when malformed. */
export function parseDcepOpen(buf: Buffer): DcepOpen | undefined {
  if (buf.length < 12 || buf[0] !== DCEP_OPEN) return undefined;
  const labelLength = buf.readUInt16BE(8);
  const protocolLength = buf.readUInt16BE(10);
  if (12 + labelLength + protocolLength > buf.length) return undefined;
  return {
    channelType: buf[1]!,
    priority: buf.readUInt16BE(2),
    reliabilityParameter: buf.readUInt32BE(4),
    label: buf.toString('utf8', 12, 12 + labelLength),
    protocol: buf.toString('utf8', 12 + labelLength, 12 + labelLength + protocolLength),
  };
}

export function buildDcepOpen(open: DcepOpen): Buffer {
  const label = Buffer.from(open.label, 'utf8');
  const protocol = Buffer.from(open.protocol, 'utf8');
  const buf = Buffer.alloc(12 + label.length + protocol.length);
  buf[0] = DCEP_OPEN;
  buf[1] = open.channelType;
  buf.writeUInt16BE(open.priority, 2);
  buf.writeUInt32BE(open.reliabilityParameter >>> 0, 4);
  buf.writeUInt16BE(label.length, 8);
  buf.writeUInt16BE(protocol.length, 10);
  label.copy(buf, 12);
  protocol.copy(buf, 12 + label.length);
  return buf;
}

const DCEP_ACK_MESSAGE = Buffer.from([DCEP_ACK]);
/** SCTP cannot carry an empty message: empty ones travel as one byte under PPID 56/57. */
const EMPTY_PAYLOAD = Buffer.from([0]);

export class DataChannel extends EventEmitter<DataChannelEvents> {
  readonly id: number;
  readonly label: string;
  readonly protocol: string;
  readonly ordered: boolean;
  readonly maxRetransmits: number | undefined;
  readonly maxPacketLifeTime: number | undefined;
  readonly negotiated: boolean;
  readonly priority: number;
  /** Messages are delivered as Buffers whatever their PPID (see DataChannelInit.raw). */
  raw: boolean;
  private state: DataChannelState;
  /** In-band channel we opened, until DATA_CHANNEL_ACK: send ordered (RFC 8832 §6). */
  private awaitingAck: boolean;
  private lowThreshold = 0;
  private outgoingReset = false;
  private incomingReset = false;

  /** @internal created by DataChannelManager */
  constructor(
    private readonly manager: DataChannelManager,
    id: number,
    label: string,
    init: DataChannelInit,
    state: DataChannelState,
    awaitingAck: boolean,
  ) {
    super();
    this.id = id;
    this.label = label;
    this.protocol = init.protocol ?? '';
    this.ordered = init.ordered ?? true;
    this.maxRetransmits = init.maxRetransmits;
    this.maxPacketLifeTime = init.maxPacketLifeTime;
    this.negotiated = init.negotiated ?? false;
    this.priority = init.priority ?? 256;
    this.raw = init.raw ?? false;
    this.state = state;
    this.awaitingAck = awaitingAck;
  }

  get readyState(): DataChannelState {
    return this.state;
  }

  /** Bytes queued and not yet transmitted. */
  get bufferedAmount(): number {
    return this.manager.association.bufferedAmount(this.id);
  }

  get bufferedAmountLowThreshold(): number {
    return this.lowThreshold;
  }

  set bufferedAmountLowThreshold(value: number) {
    this.lowThreshold = Math.max(0, value);
    this.manager.association.setBufferedAmountLowThreshold(this.id, this.lowThreshold);
  }

  /** Sends a string (PPID 51/56) or binary (53/57). Throws when the channel is not open or the message is too big. */
  send(data: string | Uint8Array): void {
    if (typeof data === 'string') {
      const bytes = Buffer.from(data, 'utf8');
      this.sendRaw(
        bytes.length === 0 ? EMPTY_PAYLOAD : bytes,
        bytes.length === 0 ? Ppid.STRING_EMPTY : Ppid.STRING,
      );
    } else {
      const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      this.sendRaw(
        bytes.length === 0 ? EMPTY_PAYLOAD : bytes,
        bytes.length === 0 ? Ppid.BINARY_EMPTY : Ppid.BINARY,
      );
    }
  }

  /** Sends a payload under a PPID of the caller's choosing (an SFU relaying messages as they came). */
  sendRaw(payload: Buffer, ppid: number): void {
    if (this.state !== 'open') throw new Error(`data channel ${this.id} is ${this.state}`);
    if (payload.length > this.manager.association.maxMessageSize) {
      throw new RangeError(
        `message of ${payload.length} bytes exceeds ${this.manager.association.maxMessageSize}`,
      );
    }
    const ok = this.manager.association.send(this.id, ppid, payload, this.sendOptions());
    if (!ok) throw new Error(`data channel ${this.id}: the association refused the message`);
  }

  /** Closes by resetting our outgoing stream; `close` follows once both directions are reset. */
  close(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.manager.association.resetStreams([this.id]);
    if (this.manager.association.state !== 'connected') this.markClosed();
  }

  private sendOptions(): SendOptions | undefined {
    if (this.awaitingAck) return undefined;
    if (this.ordered && this.maxRetransmits === undefined && this.maxPacketLifeTime === undefined)
      return undefined;
    return {
      unordered: !this.ordered,
      maxRetransmits: this.maxRetransmits,
      maxPacketLifeTime: this.maxPacketLifeTime,
    };
  }

  /** @internal */
  handleMessage(ppid: number, data: Buffer): void {
    if (this.state !== 'open' && this.state !== 'closing') return;
    // Any message from the peer on an in-band channel implies it got our OPEN (RFC 8832 §6).
    this.awaitingAck = false;
    if (this.raw) {
      const empty = ppid === Ppid.STRING_EMPTY || ppid === Ppid.BINARY_EMPTY;
      this.emit('message', empty ? Buffer.alloc(0) : data, ppid);
      return;
    }
    switch (ppid) {
      case Ppid.STRING:
      case Ppid.STRING_PARTIAL:
        this.emit('message', data.toString('utf8'), ppid);
        return;
      case Ppid.STRING_EMPTY:
        this.emit('message', '', ppid);
        return;
      case Ppid.BINARY_EMPTY:
        this.emit('message', Buffer.alloc(0), ppid);
        return;
      default:
        this.emit('message', data, ppid);
    }
  }

  /** @internal */
  handleAck(): void {
    this.awaitingAck = false;
  }

  /** @internal */
  setOpen(): void {
    if (this.state !== 'connecting') return;
    this.state = 'open';
    // Asynchronous, as in browsers: whoever created the channel can still add listeners.
    queueMicrotask(() => {
      if (this.state === 'open') this.emit('open');
    });
  }

  /** @internal the peer reset its outgoing stream (our incoming). */
  handleIncomingReset(): void {
    this.incomingReset = true;
    if (this.state === 'open' || this.state === 'connecting') {
      // The peer closed: close our direction too (RFC 8831 §6.7).
      this.state = 'closing';
      this.manager.association.resetStreams([this.id]);
    }
    this.maybeClosed();
  }

  /** @internal our outgoing reset was performed. */
  handleOutgoingReset(): void {
    this.outgoingReset = true;
    this.maybeClosed();
  }

  private maybeClosed(): void {
    if (this.outgoingReset && this.incomingReset) this.markClosed();
  }

  /** @internal */
  markClosed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.manager.forget(this);
    this.emit('close');
  }
}

export interface DataChannelManagerEvents {
  /** The peer opened an in-band channel (DATA_CHANNEL_OPEN). */
  datachannel: [channel: DataChannel];
}

export interface DataChannelManagerOptions {
  /** Our DTLS role: the client uses even stream ids, the server odd ones (RFC 8832 §6). */
  dtlsRole: 'client' | 'server';
  logger?: Logger;
}

/** The data channels of one association. */
export class DataChannelManager extends EventEmitter<DataChannelManagerEvents> {
  private readonly channels = new Map<number, DataChannel>();
  private readonly logger: Logger;
  private readonly parity: number;
  private nextId: number;

  constructor(
    readonly association: SctpAssociation,
    options: DataChannelManagerOptions,
  ) {
    super();
    this.logger = options.logger ?? silentLogger;
    this.parity = options.dtlsRole === 'client' ? 0 : 1;
    this.nextId = this.parity;
    association.onMessage = (streamId, ppid, data) => this.onMessage(streamId, ppid, data);
    association.onBufferedAmountLow = (streamId) => this.channels.get(streamId)?.emit('bufferedamountlow');
    association.on('incomingstreamreset', (ids) => {
      for (const id of ids) this.channels.get(id)?.handleIncomingReset();
    });
    association.on('outgoingstreamreset', (ids) => {
      for (const id of ids) this.channels.get(id)?.handleOutgoingReset();
    });
    association.on('statechange', (state) => {
      if (state === 'connected') {
        for (const channel of this.channels.values()) this.openChannel(channel);
      }
    });
    association.on('close', () => {
      for (const channel of [...this.channels.values()]) channel.markClosed();
    });
  }

  get size(): number {
    return this.channels.size;
  }

  get(id: number): DataChannel | undefined {
    return this.channels.get(id);
  }

  /**
   * Creates a channel: in-band (DCEP OPEN on the next free id of our parity) or, with
   * `negotiated: true`, on the given id with no signalling. Before the association is up the
   * channel stays 'connecting' and opens with it.
   */
  createDataChannel(label: string, init: DataChannelInit = {}): DataChannel {
    if (init.maxRetransmits !== undefined && init.maxPacketLifeTime !== undefined) {
      throw new TypeError('maxRetransmits and maxPacketLifeTime are exclusive');
    }
    let id = init.id;
    if (init.negotiated) {
      if (id === undefined || !Number.isInteger(id) || id < 0 || id > 65534) {
        throw new TypeError('a negotiated channel needs an id in 0..65534');
      }
    } else if (id === undefined) {
      id = this.allocateId();
    }
    if (this.channels.has(id)) throw new Error(`stream ${id} is in use`);
    const channel = new DataChannel(this, id, label, init, 'connecting', !init.negotiated);
    this.channels.set(id, channel);
    if (this.association.state === 'connected') this.openChannel(channel);
    return channel;
  }

  /** @internal */
  forget(channel: DataChannel): void {
    if (this.channels.get(channel.id) === channel) this.channels.delete(channel.id);
  }

  private allocateId(): number {
    const limit = Math.max(this.association.streams.outbound, 1024);
    for (let i = 0; i < limit / 2; i++) {
      const id = this.nextId;
      this.nextId += 2;
      if (this.nextId >= limit) this.nextId = this.parity;
      if (!this.channels.has(id)) return id;
    }
    throw new Error('no free stream id');
  }

  private openChannel(channel: DataChannel): void {
    if (channel.readyState !== 'connecting') return;
    if (channel.id >= this.association.streams.outbound) {
      this.logger.debug({ id: channel.id }, 'datachannel: id beyond the negotiated streams');
      channel.markClosed();
      return;
    }
    if (!channel.negotiated) {
      let channelType: number = ChannelType.RELIABLE;
      let reliabilityParameter = 0;
      if (channel.maxRetransmits !== undefined) {
        channelType = ChannelType.PARTIAL_RELIABLE_REXMIT;
        reliabilityParameter = channel.maxRetransmits;
      } else if (channel.maxPacketLifeTime !== undefined) {
        channelType = ChannelType.PARTIAL_RELIABLE_TIMED;
        reliabilityParameter = channel.maxPacketLifeTime;
      }
      if (!channel.ordered) channelType |= 0x80;
      const open = buildDcepOpen({
        channelType,
        priority: channel.priority,
        reliabilityParameter,
        label: channel.label,
        protocol: channel.protocol,
      });
      if (!this.association.send(channel.id, Ppid.DCEP, open)) {
        channel.markClosed();
        return;
      }
    }
    channel.setOpen();
  }

  private onMessage(streamId: number, ppid: number, data: Buffer): void {
    if (ppid === Ppid.DCEP) {
      this.onDcep(streamId, data);
      return;
    }
    const channel = this.channels.get(streamId);
    if (!channel) {
      this.logger.debug({ streamId, ppid }, 'datachannel: message on a stream without a channel');
      return;
    }
    channel.handleMessage(ppid, data);
  }

  private onDcep(streamId: number, data: Buffer): void {
    if (data.length === 1 && data[0] === DCEP_ACK) {
      this.channels.get(streamId)?.handleAck();
      return;
    }
    const open = parseDcepOpen(data);
    if (!open) {
      this.logger.debug({ streamId }, 'datachannel: malformed DCEP message');
      return;
    }
    // The opener picks ids of its parity; an OPEN on one of ours, or a used one, is refused.
    if (
      streamId % 2 === this.parity ||
      this.channels.has(streamId) ||
      streamId >= this.association.streams.outbound
    ) {
      this.logger.debug({ streamId }, 'datachannel: OPEN on an unusable stream id');
      return;
    }
    const type = open.channelType & 0x7f;
    const init: DataChannelInit = {
      ordered: (open.channelType & 0x80) === 0,
      protocol: open.protocol,
      priority: open.priority,
      maxRetransmits: type === ChannelType.PARTIAL_RELIABLE_REXMIT ? open.reliabilityParameter : undefined,
      maxPacketLifeTime: type === ChannelType.PARTIAL_RELIABLE_TIMED ? open.reliabilityParameter : undefined,
    };
    const channel = new DataChannel(this, streamId, open.label, init, 'connecting', false);
    this.channels.set(streamId, channel);
    this.association.send(streamId, Ppid.DCEP, DCEP_ACK_MESSAGE);
    channel.setOpen();
    this.emit('datachannel', channel);
  }
}
