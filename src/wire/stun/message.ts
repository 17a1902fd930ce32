/** Zero-copy STUN message parser (RFC 8489 §5, §14). Total: returns StunParseError, never throws. */
import { formatIPv4, formatIPv6 } from './address.js';
import {
  AddressFamily,
  classOf,
  HEADER_LENGTH,
  MAGIC_COOKIE,
  methodOf,
  StunAttr,
  type StunClass,
} from './constants.js';

/** A parse or decode failure. Not an Error subclass: no stack capture on hostile input. */
export class StunParseError {
  /** Discriminant: keeps `instanceof` narrowing sound against look-alike result objects. */
  readonly isStunParseError = true;
  constructor(readonly reason: string) {}
}

export interface StunAttribute {
  readonly type: number;
  /** Subarray of the message buffer, without padding. */
  readonly value: Buffer;
  /** Offset of this attribute's 4-byte header within StunMessage.raw. */
  readonly offset: number;
}

export interface StunMessage {
  /** The 14-bit message type. */
  readonly type: number;
  readonly method: number;
  readonly cls: StunClass;
  /** 12-byte subarray of raw. */
  readonly transactionId: Buffer;
  /** The whole message (header + attributes), a subarray of the input. */
  readonly raw: Buffer;
  readonly attributes: readonly StunAttribute[];
  /** Offset in raw of MESSAGE-INTEGRITY's header, or -1. */
  readonly integrityOffset: number;
  /** Offset in raw of MESSAGE-INTEGRITY-SHA256's header, or -1. */
  readonly integritySha256Offset: number;
  /** Offset in raw of FINGERPRINT's header, or -1. */
  readonly fingerprintOffset: number;
}

export interface TransportAddress {
  family: 4 | 6;
  address: string;
  port: number;
}

/** RFC 7983 demux: first byte 0..3 and the magic cookie at bytes 4..8. */
export function isStun(buf: Uint8Array): boolean {
  return (
    buf.length >= HEADER_LENGTH &&
    buf[0]! < 4 &&
    buf[4] === 0x21 &&
    buf[5] === 0x12 &&
    buf[6] === 0xa4 &&
    buf[7] === 0x42
  );
}

/**
 * Parses one STUN message starting at buf[0]. Trailing bytes beyond the declared length are
 * ignored (the caller frames streams with stunFrameLength). Attributes that follow
 * MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are dropped, as RFC 8489
 * §14.5 requires; nothing may follow FINGERPRINT.
 */
export function parseStun(buf: Buffer): StunMessage | StunParseError {
  if (buf.length < HEADER_LENGTH) return new StunParseError('shorter than a STUN header');
  if ((buf[0]! & 0xc0) !== 0) return new StunParseError('first two bits not zero');
  if (buf.readUInt32BE(4) !== MAGIC_COOKIE) return new StunParseError('bad magic cookie');
  const length = buf.readUInt16BE(2);
  if ((length & 3) !== 0) return new StunParseError('length not a multiple of 4');
  if (HEADER_LENGTH + length > buf.length) return new StunParseError('length exceeds buffer');
  const type = buf.readUInt16BE(0);
  const raw = buf.length === HEADER_LENGTH + length ? buf : buf.subarray(0, HEADER_LENGTH + length);
  const attributes: StunAttribute[] = [];
  let integrityOffset = -1;
  let integritySha256Offset = -1;
  let fingerprintOffset = -1;
  let pos = HEADER_LENGTH;
  const end = HEADER_LENGTH + length;
  while (pos < end) {
    if (end - pos < 4) return new StunParseError('truncated attribute header');
    if (fingerprintOffset >= 0) return new StunParseError('attribute after FINGERPRINT');
    const attrType = raw.readUInt16BE(pos);
    const attrLen = raw.readUInt16BE(pos + 2);
    const padded = (attrLen + 3) & ~3;
    if (pos + 4 + padded > end) return new StunParseError('attribute overruns message');
    const afterIntegrity = integrityOffset >= 0 || integritySha256Offset >= 0;
    if (attrType === StunAttr.MessageIntegrity) {
      if (attrLen !== 20) return new StunParseError('MESSAGE-INTEGRITY length not 20');
      if (afterIntegrity) {
        pos += 4 + padded;
        continue;
      }
      integrityOffset = pos;
    } else if (attrType === StunAttr.MessageIntegritySha256) {
      if (attrLen < 16 || attrLen > 32 || (attrLen & 3) !== 0) {
        return new StunParseError('MESSAGE-INTEGRITY-SHA256 bad length');
      }
      if (integritySha256Offset >= 0) {
        pos += 4 + padded;
        continue;
      }
      integritySha256Offset = pos;
    } else if (attrType === StunAttr.Fingerprint) {
      if (attrLen !== 4) return new StunParseError('FINGERPRINT length not 4');
      fingerprintOffset = pos;
    } else if (afterIntegrity) {
      pos += 4 + padded;
      continue;
    }
    attributes.push({ type: attrType, value: raw.subarray(pos + 4, pos + 4 + attrLen), offset: pos });
    pos += 4 + padded;
  }
  return {
    type,
    method: methodOf(type),
    cls: classOf(type),
    transactionId: raw.subarray(8, 20),
    raw,
    attributes,
    integrityOffset,
    integritySha256Offset,
    fingerprintOffset,
  };
}

/**
 * For stream transports: the byte length of the STUN message at the start of buf, or 0 if
 * fewer than 4 bytes are buffered. Does not validate beyond the header length field.
 */
export function stunFrameLength(buf: Uint8Array): number {
  if (buf.length < 4) return 0;
  return HEADER_LENGTH + ((buf[2]! << 8) | buf[3]!);
}

/** The first attribute of the given type, or undefined. */
export function getAttribute(msg: StunMessage, type: number): Buffer | undefined {
  const attrs = msg.attributes;
  for (let i = 0; i < attrs.length; i++) if (attrs[i]!.type === type) return attrs[i]!.value;
  return undefined;
}

export function hasAttribute(msg: StunMessage, type: number): boolean {
  return getAttribute(msg, type) !== undefined;
}

function decodeAddressValue(value: Buffer, xorTxId: Buffer | null): TransportAddress | StunParseError {
  if (value.length < 4) return new StunParseError('address attribute too short');
  const family = value[1];
  let port = value.readUInt16BE(2);
  if (xorTxId) port ^= MAGIC_COOKIE >>> 16;
  if (family === AddressFamily.IPv4) {
    if (value.length !== 8) return new StunParseError('IPv4 address attribute length not 8');
    if (!xorTxId) return { family: 4, address: formatIPv4(value, 4), port };
    const bytes = Buffer.allocUnsafe(4);
    const x = (value.readUInt32BE(4) ^ MAGIC_COOKIE) >>> 0;
    bytes.writeUInt32BE(x, 0);
    return { family: 4, address: formatIPv4(bytes, 0), port };
  }
  if (family === AddressFamily.IPv6) {
    if (value.length !== 20) return new StunParseError('IPv6 address attribute length not 20');
    if (!xorTxId) return { family: 6, address: formatIPv6(value, 4), port };
    const bytes = Buffer.allocUnsafe(16);
    bytes.writeUInt32BE((value.readUInt32BE(4) ^ MAGIC_COOKIE) >>> 0, 0);
    for (let i = 0; i < 12; i++) bytes[4 + i] = value[8 + i]! ^ xorTxId[i]!;
    return { family: 6, address: formatIPv6(bytes, 0), port };
  }
  return new StunParseError('unknown address family');
}

/** Decodes MAPPED-ADDRESS-style values (plain). */
export function decodeAddress(value: Buffer): TransportAddress | StunParseError {
  return decodeAddressValue(value, null);
}

/** Decodes XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS values. */
export function decodeXorAddress(value: Buffer, transactionId: Buffer): TransportAddress | StunParseError {
  return decodeAddressValue(value, transactionId);
}

export interface StunErrorCode {
  code: number;
  reason: string;
}

export function decodeErrorCode(value: Buffer): StunErrorCode | StunParseError {
  if (value.length < 4) return new StunParseError('ERROR-CODE too short');
  const cls = value[2]! & 0x07;
  const num = value[3]!;
  if (cls < 3 || cls > 6 || num > 99) return new StunParseError('ERROR-CODE out of range');
  return { code: cls * 100 + num, reason: value.toString('utf8', 4) };
}

/** A 32-bit big-endian value (LIFETIME, PRIORITY, FINGERPRINT, NOMINATION…), or -1 if not 4 bytes. */
export function decodeUint32(value: Buffer): number {
  return value.length === 4 ? value.readUInt32BE(0) : -1;
}

/** The attribute types listed in UNKNOWN-ATTRIBUTES. */
export function decodeUnknownAttributes(value: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < value.length; i += 2) out.push(value.readUInt16BE(i));
  return out;
}

/** PASSWORD-ALGORITHMS entries (algorithm number and parameters). */
export function decodePasswordAlgorithms(
  value: Buffer,
): { algorithm: number; parameters: Buffer }[] | StunParseError {
  const out: { algorithm: number; parameters: Buffer }[] = [];
  let pos = 0;
  while (pos < value.length) {
    if (value.length - pos < 4) return new StunParseError('PASSWORD-ALGORITHMS truncated');
    const algorithm = value.readUInt16BE(pos);
    const len = value.readUInt16BE(pos + 2);
    const padded = (len + 3) & ~3;
    if (pos + 4 + len > value.length) return new StunParseError('PASSWORD-ALGORITHMS entry overruns');
    out.push({ algorithm, parameters: value.subarray(pos + 4, pos + 4 + len) });
    pos += 4 + padded;
  }
  return out;
}
