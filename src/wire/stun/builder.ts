/** STUN message builder (RFC 8489 §5, §14). Writes into one growable buffer; build() copies out. */
import { randomFillSync } from 'node:crypto';
import { writeIPv4, writeIPv6 } from './address.js';
import {
  AddressFamily,
  HEADER_LENGTH,
  MAGIC_COOKIE,
  StunAttr,
  type StunClass,
  stunType,
} from './constants.js';
import { computeHmac, fingerprintOf } from './integrity.js';
import type { StunMessage } from './message.js';

export function randomTransactionId(): Buffer {
  return randomFillSync(Buffer.allocUnsafe(12));
}

export class StunBuilder {
  private buf: Buffer;
  private len = HEADER_LENGTH;

  constructor(method: number, cls: StunClass, transactionId: Uint8Array = randomTransactionId()) {
    if (transactionId.length !== 12) throw new TypeError('transaction id must be 12 bytes');
    this.buf = Buffer.allocUnsafe(256);
    this.buf.writeUInt16BE(stunType(method, cls), 0);
    this.buf.writeUInt16BE(0, 2);
    this.buf.writeUInt32BE(MAGIC_COOKIE, 4);
    this.buf.set(transactionId, 8);
  }

  /** A response (success or error) to a request: same method and transaction id. */
  static responseTo(request: StunMessage, cls: StunClass): StunBuilder {
    return new StunBuilder(request.method, cls, request.transactionId);
  }

  get transactionId(): Buffer {
    return this.buf.subarray(8, 20);
  }

  private reserve(type: number, valueLength: number): number {
    if (valueLength > 0xffff) throw new RangeError('STUN attribute value longer than 65535 bytes');
    const padded = (valueLength + 3) & ~3;
    const need = this.len + 4 + padded;
    if (need - HEADER_LENGTH > 0xffff) throw new RangeError('STUN message longer than 65535 bytes');
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    const at = this.len;
    this.buf.writeUInt16BE(type, at);
    this.buf.writeUInt16BE(valueLength, at + 2);
    if (padded !== valueLength) this.buf.fill(0, at + 4 + valueLength, at + 4 + padded);
    this.len = need;
    this.buf.writeUInt16BE(this.len - HEADER_LENGTH, 2);
    return at + 4;
  }

  /** Any attribute with raw bytes, or a UTF-8 string (USERNAME, REALM, NONCE, SOFTWARE…). */
  add(type: number, value: Uint8Array | string): this {
    if (typeof value === 'string') {
      const byteLength = Buffer.byteLength(value, 'utf8');
      const at = this.reserve(type, byteLength);
      this.buf.write(value, at, byteLength, 'utf8');
    } else {
      const at = this.reserve(type, value.length);
      this.buf.set(value, at);
    }
    return this;
  }

  /** Zero-length attributes: USE-CANDIDATE, DONT-FRAGMENT. */
  addFlag(type: number): this {
    this.reserve(type, 0);
    return this;
  }

  /** LIFETIME, PRIORITY, NOMINATION and other 32-bit values. */
  addUint32(type: number, value: number): this {
    this.buf.writeUInt32BE(value >>> 0, this.reserve(type, 4));
    return this;
  }

  /** ICE-CONTROLLED / ICE-CONTROLLING tie-breakers, RESERVATION-TOKEN. */
  addUint64(type: number, value: bigint | Uint8Array): this {
    const at = this.reserve(type, 8);
    if (typeof value === 'bigint') this.buf.writeBigUInt64BE(BigInt.asUintN(64, value), at);
    else if (value.length === 8) this.buf.set(value, at);
    else throw new TypeError('64-bit attribute needs 8 bytes');
    return this;
  }

  /** MAPPED-ADDRESS-style (not XORed). */
  addAddress(type: number, ip: string, port: number): this {
    return this.writeAddress(type, ip, port, false);
  }

  /** XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS. */
  addXorAddress(type: number, ip: string, port: number): this {
    return this.writeAddress(type, ip, port, true);
  }

  private writeAddress(type: number, ip: string, port: number, xor: boolean): this {
    const v6 = ip.includes(':');
    const at = this.reserve(type, v6 ? 20 : 8);
    const b = this.buf;
    b[at] = 0;
    b[at + 1] = v6 ? AddressFamily.IPv6 : AddressFamily.IPv4;
    b.writeUInt16BE((xor ? port ^ (MAGIC_COOKIE >>> 16) : port) & 0xffff, at + 2);
    const ok = v6 ? writeIPv6(ip, b, at + 4) : writeIPv4(ip, b, at + 4);
    if (!ok) throw new TypeError(`not an IP address: ${ip}`);
    if (xor) {
      // The cookie and transaction id are contiguous at header bytes 4..20.
      const n = v6 ? 16 : 4;
      for (let i = 0; i < n; i++) b[at + 4 + i]! ^= b[4 + i]!;
    }
    return this;
  }

  /** ERROR-CODE (RFC 8489 §14.8). */
  addErrorCode(code: number, reason: string): this {
    const byteLength = Buffer.byteLength(reason, 'utf8');
    const at = this.reserve(StunAttr.ErrorCode, 4 + byteLength);
    this.buf.writeUInt16BE(0, at);
    this.buf[at + 2] = Math.floor(code / 100) & 0x07;
    this.buf[at + 3] = code % 100;
    this.buf.write(reason, at + 4, byteLength, 'utf8');
    return this;
  }

  addUnknownAttributes(types: readonly number[]): this {
    const at = this.reserve(StunAttr.UnknownAttributes, types.length * 2);
    for (let i = 0; i < types.length; i++) this.buf.writeUInt16BE(types[i]!, at + 2 * i);
    return this;
  }

  /** CHANNEL-NUMBER: the number then 2 RFFU bytes. */
  addChannelNumber(channel: number): this {
    const at = this.reserve(StunAttr.ChannelNumber, 4);
    this.buf.writeUInt16BE(channel, at);
    this.buf.writeUInt16BE(0, at + 2);
    return this;
  }

  /** REQUESTED-TRANSPORT: protocol number (17 = UDP) then 3 RFFU bytes. */
  addRequestedTransport(protocol = 17): this {
    this.buf.writeUInt32BE((protocol << 24) >>> 0, this.reserve(StunAttr.RequestedTransport, 4));
    return this;
  }

  /** REQUESTED-ADDRESS-FAMILY or ADDITIONAL-ADDRESS-FAMILY: family then 3 RFFU bytes. */
  addAddressFamily(type: number, family: 4 | 6): this {
    const code = family === 6 ? AddressFamily.IPv6 : AddressFamily.IPv4;
    this.buf.writeUInt32BE((code << 24) >>> 0, this.reserve(type, 4));
    return this;
  }

  /** EVEN-PORT: R bit asks the server to reserve the next port too. */
  addEvenPort(reserveNext: boolean): this {
    this.buf[this.reserve(StunAttr.EvenPort, 1)] = reserveNext ? 0x80 : 0;
    return this;
  }

  /** PASSWORD-ALGORITHM (single, empty parameters). */
  addPasswordAlgorithm(algorithm: number): this {
    this.buf.writeUInt32BE((algorithm << 16) >>> 0, this.reserve(StunAttr.PasswordAlgorithm, 4));
    return this;
  }

  /** PASSWORD-ALGORITHMS (list, empty parameters). */
  addPasswordAlgorithms(algorithms: readonly number[]): this {
    const at = this.reserve(StunAttr.PasswordAlgorithms, algorithms.length * 4);
    for (let i = 0; i < algorithms.length; i++)
      this.buf.writeUInt32BE((algorithms[i]! << 16) >>> 0, at + 4 * i);
    return this;
  }

  /** MESSAGE-INTEGRITY: HMAC-SHA1 over everything so far, header length counting this attribute. */
  addMessageIntegrity(key: Uint8Array): this {
    const at = this.reserve(StunAttr.MessageIntegrity, 20);
    computeHmac('sha1', this.buf, at - 4, key).copy(this.buf, at);
    return this;
  }

  /** MESSAGE-INTEGRITY-SHA256 (full 32 bytes). */
  addMessageIntegritySha256(key: Uint8Array): this {
    const at = this.reserve(StunAttr.MessageIntegritySha256, 32);
    computeHmac('sha256', this.buf, at - 4, key).copy(this.buf, at);
    return this;
  }

  /** FINGERPRINT: must be the last attribute. */
  addFingerprint(): this {
    const at = this.reserve(StunAttr.Fingerprint, 4);
    this.buf.writeUInt32BE(fingerprintOf(this.buf, at - 4), at);
    return this;
  }

  /** A fresh Buffer holding the encoded message. */
  build(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }

  /** The encoded bytes as a view over the builder's own buffer (valid until the next add). */
  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}
