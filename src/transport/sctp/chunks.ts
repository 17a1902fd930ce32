/**
 * SCTP wire format (RFC 9260 §3): the common header, chunk framing and the chunks and
 * parameters this stack uses, plus FORWARD-TSN (RFC 3758) and RE-CONFIG (RFC 6525).
 * Parsers are total: malformed input yields undefined (or an SctpParseError), never a throw.
 */
import { sctpChecksum } from './crc32c.js';

export const ChunkType = {
  DATA: 0,
  INIT: 1,
  INIT_ACK: 2,
  SACK: 3,
  HEARTBEAT: 4,
  HEARTBEAT_ACK: 5,
  ABORT: 6,
  SHUTDOWN: 7,
  SHUTDOWN_ACK: 8,
  ERROR: 9,
  COOKIE_ECHO: 10,
  COOKIE_ACK: 11,
  SHUTDOWN_COMPLETE: 14,
  RE_CONFIG: 130,
  FORWARD_TSN: 192,
} as const;

export const ParamType = {
  HEARTBEAT_INFO: 1,
  STATE_COOKIE: 7,
  UNRECOGNIZED: 8,
  COOKIE_PRESERVATIVE: 9,
  SUPPORTED_ADDRESS_TYPES: 12,
  OUTGOING_SSN_RESET: 13,
  INCOMING_SSN_RESET: 14,
  RECONFIG_RESPONSE: 16,
  SUPPORTED_EXTENSIONS: 0x8008,
  FORWARD_TSN_SUPPORTED: 0xc000,
} as const;

/** RFC 6525 §4.4 result codes. */
export const ReconfigResult = {
  SUCCESS_NOTHING_TO_DO: 0,
  SUCCESS_PERFORMED: 1,
  DENIED: 2,
  ERROR_WRONG_SSN: 3,
  ERROR_REQUEST_IN_PROGRESS: 4,
  ERROR_BAD_SEQUENCE_NUMBER: 5,
  IN_PROGRESS: 6,
} as const;

export const DATA_FLAG_END = 0x01;
export const DATA_FLAG_BEGIN = 0x02;
export const DATA_FLAG_UNORDERED = 0x04;
export const DATA_FLAG_IMMEDIATE = 0x08;
/** ABORT / SHUTDOWN-COMPLETE: the verification tag is the sender's own (reflected). */
export const FLAG_T = 0x01;

export const COMMON_HEADER_SIZE = 12;
export const CHUNK_HEADER_SIZE = 4;
export const DATA_HEADER_SIZE = 16;

export class SctpParseError extends Error {
  override name = 'SctpParseError';
}

export interface CommonHeader {
  sourcePort: number;
  destinationPort: number;
  verificationTag: number;
}

/** A chunk as a view: value = bytes after the 4-byte header, without padding. */
export interface ChunkView {
  type: number;
  flags: number;
  /** Offset of the chunk header in the packet. */
  offset: number;
  /** The chunk length field (header included, padding excluded). */
  length: number;
}

export interface ParsedPacket extends CommonHeader {
  chunks: ChunkView[];
}

/**
 * Checks a packet's checksum and chunk framing without allocating: the number of chunks, or 0
 * when the packet must be dropped. Walk the chunks afterwards with nextChunk().
 */
export function validatePacket(packet: Buffer, verifyChecksum = true): number {
  if (packet.length < COMMON_HEADER_SIZE + CHUNK_HEADER_SIZE) return 0;
  if (verifyChecksum && packet.readUInt32LE(8) !== sctpChecksum(packet)) return 0;
  let count = 0;
  let offset = COMMON_HEADER_SIZE;
  while (offset + CHUNK_HEADER_SIZE <= packet.length) {
    const length = packet.readUInt16BE(offset + 2);
    if (length < CHUNK_HEADER_SIZE || offset + length > packet.length) return 0;
    count++;
    offset += (length + 3) & ~3;
  }
  return count;
}

/** Fills `view` with the chunk at `offset` of a validated packet; returns the next chunk's offset. */
export function nextChunk(packet: Buffer, offset: number, view: ChunkView): number {
  view.type = packet[offset]!;
  view.flags = packet[offset + 1]!;
  view.offset = offset;
  view.length = packet.readUInt16BE(offset + 2);
  return offset + ((view.length + 3) & ~3);
}

/** Checks the checksum and framing of a packet; returns the chunks as views. */
export function parsePacket(packet: Buffer, verifyChecksum = true): ParsedPacket | SctpParseError {
  if (packet.length < COMMON_HEADER_SIZE + CHUNK_HEADER_SIZE) return new SctpParseError('packet too short');
  if (verifyChecksum && packet.readUInt32LE(8) !== sctpChecksum(packet)) {
    return new SctpParseError('bad checksum');
  }
  const count = validatePacket(packet, false);
  if (count === 0) return new SctpParseError('bad chunk length');
  const chunks: ChunkView[] = [];
  for (let i = 0, offset = COMMON_HEADER_SIZE; i < count; i++) {
    const view: ChunkView = { type: 0, flags: 0, offset: 0, length: 0 };
    offset = nextChunk(packet, offset, view);
    chunks.push(view);
  }
  return {
    sourcePort: packet.readUInt16BE(0),
    destinationPort: packet.readUInt16BE(2),
    verificationTag: packet.readUInt32BE(4),
    chunks,
  };
}

export interface DataChunk {
  flags: number;
  tsn: number;
  streamId: number;
  ssn: number;
  ppid: number;
  /** A view into the packet. */
  payload: Buffer;
}

export function parseData(packet: Buffer, chunk: ChunkView): DataChunk | undefined {
  // A DATA chunk without user data is a protocol violation (RFC 9260 §6.2); drop it.
  if (chunk.length <= DATA_HEADER_SIZE) return undefined;
  const o = chunk.offset;
  return {
    flags: chunk.flags,
    tsn: packet.readUInt32BE(o + 4),
    streamId: packet.readUInt16BE(o + 8),
    ssn: packet.readUInt16BE(o + 10),
    ppid: packet.readUInt32BE(o + 12),
    payload: packet.subarray(o + DATA_HEADER_SIZE, o + chunk.length),
  };
}

export interface InitChunk {
  initiateTag: number;
  advertisedReceiverWindow: number;
  outboundStreams: number;
  inboundStreams: number;
  initialTsn: number;
  /** STATE-COOKIE parameter (INIT-ACK). */
  cookie: Buffer | undefined;
  forwardTsnSupported: boolean;
  reconfigSupported: boolean;
}

/** INIT and INIT-ACK share a layout (RFC 9260 §3.3.2, §3.3.3). */
export function parseInit(packet: Buffer, chunk: ChunkView): InitChunk | undefined {
  if (chunk.length < 20) return undefined;
  const o = chunk.offset;
  const init: InitChunk = {
    initiateTag: packet.readUInt32BE(o + 4),
    advertisedReceiverWindow: packet.readUInt32BE(o + 8),
    outboundStreams: packet.readUInt16BE(o + 12),
    inboundStreams: packet.readUInt16BE(o + 14),
    initialTsn: packet.readUInt32BE(o + 16),
    cookie: undefined,
    forwardTsnSupported: false,
    reconfigSupported: false,
  };
  // RFC 9260 §3.3.2: a zero Initiate Tag or zero stream counts are invalid.
  if (init.initiateTag === 0 || init.outboundStreams === 0 || init.inboundStreams === 0) return undefined;
  const end = o + chunk.length;
  let p = o + 20;
  while (p + 4 <= end) {
    const type = packet.readUInt16BE(p);
    const length = packet.readUInt16BE(p + 2);
    if (length < 4 || p + length > end) return undefined;
    if (type === ParamType.STATE_COOKIE) init.cookie = packet.subarray(p + 4, p + length);
    else if (type === ParamType.FORWARD_TSN_SUPPORTED) init.forwardTsnSupported = true;
    else if (type === ParamType.SUPPORTED_EXTENSIONS) {
      for (let i = p + 4; i < p + length; i++) {
        if (packet[i] === ChunkType.FORWARD_TSN) init.forwardTsnSupported = true;
        else if (packet[i] === ChunkType.RE_CONFIG) init.reconfigSupported = true;
      }
    }
    p += (length + 3) & ~3;
  }
  return init;
}

export interface SackChunk {
  cumulativeTsnAck: number;
  advertisedReceiverWindow: number;
  /** Pairs of offsets from cumulativeTsnAck: [start0, end0, start1, end1, …]. */
  gapBlocks: number[];
  duplicateTsns: number[];
}

export function parseSack(packet: Buffer, chunk: ChunkView): SackChunk | undefined {
  if (chunk.length < 16) return undefined;
  const o = chunk.offset;
  const gaps = packet.readUInt16BE(o + 12);
  const dups = packet.readUInt16BE(o + 14);
  if (16 + gaps * 4 + dups * 4 > chunk.length) return undefined;
  const gapBlocks: number[] = new Array(gaps * 2);
  let p = o + 16;
  for (let i = 0; i < gaps * 2; i++, p += 2) gapBlocks[i] = packet.readUInt16BE(p);
  const duplicateTsns: number[] = new Array(dups);
  for (let i = 0; i < dups; i++, p += 4) duplicateTsns[i] = packet.readUInt32BE(p);
  return {
    cumulativeTsnAck: packet.readUInt32BE(o + 4),
    advertisedReceiverWindow: packet.readUInt32BE(o + 8),
    gapBlocks,
    duplicateTsns,
  };
}

export interface ForwardTsnChunk {
  newCumulativeTsn: number;
  /** Pairs [streamId, ssn, …] of ordered streams whose messages up to ssn were skipped. */
  streams: number[];
}

export function parseForwardTsn(packet: Buffer, chunk: ChunkView): ForwardTsnChunk | undefined {
  if (chunk.length < 8 || (chunk.length - 8) % 4 !== 0) return undefined;
  const o = chunk.offset;
  const streams: number[] = [];
  for (let p = o + 8; p < o + chunk.length; p += 4) {
    streams.push(packet.readUInt16BE(p), packet.readUInt16BE(p + 2));
  }
  return { newCumulativeTsn: packet.readUInt32BE(o + 4), streams };
}

export type ReconfigParam =
  | { type: 13; requestSeq: number; responseSeq: number; senderLastTsn: number; streams: number[] }
  | { type: 16; responseSeq: number; result: number }
  | { type: number; unknown: true };

export function parseReconfig(packet: Buffer, chunk: ChunkView): ReconfigParam[] | undefined {
  const params: ReconfigParam[] = [];
  const end = chunk.offset + chunk.length;
  let p = chunk.offset + 4;
  while (p + 4 <= end) {
    const type = packet.readUInt16BE(p);
    const length = packet.readUInt16BE(p + 2);
    if (length < 4 || p + length > end) return undefined;
    if (type === ParamType.OUTGOING_SSN_RESET) {
      if (length < 16 || length % 2 !== 0) return undefined;
      const streams: number[] = [];
      for (let i = p + 16; i < p + length; i += 2) streams.push(packet.readUInt16BE(i));
      params.push({
        type: 13,
        requestSeq: packet.readUInt32BE(p + 4),
        responseSeq: packet.readUInt32BE(p + 8),
        senderLastTsn: packet.readUInt32BE(p + 12),
        streams,
      });
    } else if (type === ParamType.RECONFIG_RESPONSE) {
      if (length < 12) return undefined;
      params.push({ type: 16, responseSeq: packet.readUInt32BE(p + 4), result: packet.readUInt32BE(p + 8) });
    } else {
      params.push({ type, unknown: true });
    }
    p += (length + 3) & ~3;
  }
  return params.length > 0 ? params : undefined;
}

/**
 * Builds outgoing packets: chunks are appended into one buffer sized for the MTU, then
 * finish() writes the checksum and returns a fresh Buffer the caller may keep.
 */
export class PacketWriter {
  private buf: Buffer;
  private pos = COMMON_HEADER_SIZE;

  constructor(
    readonly mtu: number,
    private readonly sourcePort: number,
    private readonly destinationPort: number,
  ) {
    this.buf = Buffer.allocUnsafe(mtu);
  }

  get size(): number {
    return this.pos;
  }

  get empty(): boolean {
    return this.pos === COMMON_HEADER_SIZE;
  }

  /** Bytes left for chunks in this packet. */
  get room(): number {
    return this.buf.length - this.pos;
  }

  /** Reserves a chunk of `length` bytes (header included) and returns its offset; pads to 4. */
  beginChunk(type: number, flags: number, length: number): number {
    const padded = (length + 3) & ~3;
    if (this.pos + padded > this.buf.length) {
      // Only a chunk bigger than the MTU (INIT-ACK with a long cookie, large HEARTBEAT) gets here.
      const grown = Buffer.allocUnsafe(this.pos + padded);
      this.buf.copy(grown, 0, 0, this.pos);
      this.buf = grown;
    }
    const o = this.pos;
    this.buf[o] = type;
    this.buf[o + 1] = flags;
    this.buf.writeUInt16BE(length, o + 2);
    for (let i = o + length; i < o + padded; i++) this.buf[i] = 0;
    this.pos += padded;
    return o;
  }

  get buffer(): Buffer {
    return this.buf;
  }

  /** Finishes the packet with the given verification tag; the writer starts empty again. */
  finish(verificationTag: number): Buffer {
    const out = this.buf.subarray(0, this.pos);
    out.writeUInt16BE(this.sourcePort, 0);
    out.writeUInt16BE(this.destinationPort, 2);
    out.writeUInt32BE(verificationTag >>> 0, 4);
    out.writeUInt32LE(sctpChecksum(out), 8);
    this.buf = Buffer.allocUnsafe(this.mtu);
    this.pos = COMMON_HEADER_SIZE;
    return out;
  }
}

/** Writes one DATA chunk header + payload. */
export function writeData(
  w: PacketWriter,
  flags: number,
  tsn: number,
  streamId: number,
  ssn: number,
  ppid: number,
  payload: Uint8Array,
): void {
  const o = w.beginChunk(ChunkType.DATA, flags, DATA_HEADER_SIZE + payload.length);
  const b = w.buffer;
  b.writeUInt32BE(tsn >>> 0, o + 4);
  b.writeUInt16BE(streamId, o + 8);
  b.writeUInt16BE(ssn & 0xffff, o + 10);
  b.writeUInt32BE(ppid >>> 0, o + 12);
  b.set(payload, o + DATA_HEADER_SIZE);
}

export interface InitFields {
  initiateTag: number;
  advertisedReceiverWindow: number;
  outboundStreams: number;
  inboundStreams: number;
  initialTsn: number;
  cookie?: Buffer;
}

/** INIT or INIT-ACK with Supported Extensions (FORWARD-TSN, RE-CONFIG) and Forward-TSN-Supported. */
export function writeInit(w: PacketWriter, type: 1 | 2, init: InitFields): void {
  const extensions = 4 + 2; // two chunk types
  const cookieLength = init.cookie ? 4 + init.cookie.length : 0;
  const length = 20 + ((extensions + 3) & ~3) + 4 + ((cookieLength + 3) & ~3);
  const o = w.beginChunk(type, 0, length);
  const b = w.buffer;
  b.writeUInt32BE(init.initiateTag >>> 0, o + 4);
  b.writeUInt32BE(init.advertisedReceiverWindow >>> 0, o + 8);
  b.writeUInt16BE(init.outboundStreams, o + 12);
  b.writeUInt16BE(init.inboundStreams, o + 14);
  b.writeUInt32BE(init.initialTsn >>> 0, o + 16);
  let p = o + 20;
  b.writeUInt16BE(ParamType.SUPPORTED_EXTENSIONS, p);
  b.writeUInt16BE(extensions, p + 2);
  b[p + 4] = ChunkType.RE_CONFIG;
  b[p + 5] = ChunkType.FORWARD_TSN;
  b[p + 6] = 0;
  b[p + 7] = 0;
  p += 8;
  b.writeUInt16BE(ParamType.FORWARD_TSN_SUPPORTED, p);
  b.writeUInt16BE(4, p + 2);
  p += 4;
  if (init.cookie) {
    b.writeUInt16BE(ParamType.STATE_COOKIE, p);
    b.writeUInt16BE(cookieLength, p + 2);
    init.cookie.copy(b, p + 4);
    for (let i = p + cookieLength; i < o + length; i++) b[i] = 0;
  }
}

export function writeSack(
  w: PacketWriter,
  cumulativeTsnAck: number,
  advertisedReceiverWindow: number,
  gapBlocks: readonly number[],
  duplicateTsns: readonly number[],
): void {
  const o = w.beginChunk(ChunkType.SACK, 0, 16 + gapBlocks.length * 2 + duplicateTsns.length * 4);
  const b = w.buffer;
  b.writeUInt32BE(cumulativeTsnAck >>> 0, o + 4);
  b.writeUInt32BE(advertisedReceiverWindow >>> 0, o + 8);
  b.writeUInt16BE(gapBlocks.length / 2, o + 12);
  b.writeUInt16BE(duplicateTsns.length, o + 14);
  let p = o + 16;
  for (const g of gapBlocks) {
    b.writeUInt16BE(g, p);
    p += 2;
  }
  for (const d of duplicateTsns) {
    b.writeUInt32BE(d >>> 0, p);
    p += 4;
  }
}

/** A chunk whose value is raw bytes (COOKIE-ECHO, HEARTBEAT(-ACK) parameters, ABORT causes). */
export function writeRawChunk(w: PacketWriter, type: number, flags: number, value?: Uint8Array): void {
  const o = w.beginChunk(type, flags, 4 + (value?.length ?? 0));
  if (value) w.buffer.set(value, o + 4);
}

export function writeForwardTsn(w: PacketWriter, newCumulativeTsn: number, streams: readonly number[]): void {
  const o = w.beginChunk(ChunkType.FORWARD_TSN, 0, 8 + streams.length * 2);
  const b = w.buffer;
  b.writeUInt32BE(newCumulativeTsn >>> 0, o + 4);
  for (let i = 0; i < streams.length; i++) b.writeUInt16BE(streams[i]!, o + 8 + i * 2);
}

/** RE-CONFIG with an Outgoing SSN Reset Request and/or a Re-configuration Response. */
export function writeReconfig(
  w: PacketWriter,
  request:
    | { requestSeq: number; responseSeq: number; senderLastTsn: number; streams: readonly number[] }
    | undefined,
  response: { responseSeq: number; result: number } | undefined,
): void {
  const requestLength = request ? 16 + request.streams.length * 2 : 0;
  const paddedRequest = (requestLength + 3) & ~3;
  const o = w.beginChunk(ChunkType.RE_CONFIG, 0, 4 + paddedRequest + (response ? 12 : 0));
  const b = w.buffer;
  let p = o + 4;
  if (request) {
    b.writeUInt16BE(ParamType.OUTGOING_SSN_RESET, p);
    b.writeUInt16BE(requestLength, p + 2);
    b.writeUInt32BE(request.requestSeq >>> 0, p + 4);
    b.writeUInt32BE(request.responseSeq >>> 0, p + 8);
    b.writeUInt32BE(request.senderLastTsn >>> 0, p + 12);
    for (let i = 0; i < request.streams.length; i++) b.writeUInt16BE(request.streams[i]!, p + 16 + i * 2);
    for (let i = p + requestLength; i < p + paddedRequest; i++) b[i] = 0;
    p += paddedRequest;
  }
  if (response) {
    b.writeUInt16BE(ParamType.RECONFIG_RESPONSE, p);
    b.writeUInt16BE(12, p + 2);
    b.writeUInt32BE(response.responseSeq >>> 0, p + 4);
    b.writeUInt32BE(response.result >>> 0, p + 8);
  }
}

/** Serial number arithmetic (RFC 1982) on 32-bit TSNs: a < b. */
export function tsnLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** a <= b in 32-bit serial arithmetic. */
export function tsnLte(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** a > b on 16-bit SSNs. */
export function ssnGt(a: number, b: number): boolean {
  return (((a - b) & 0xffff) << 16) >> 16 > 0;
}
