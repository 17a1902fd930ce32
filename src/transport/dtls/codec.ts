/**
 * Byte-level reading and writing for TLS/DTLS structures (RFC 5246 §4 presentation language).
 * The Reader throws DecodeError on short input; every exported parser catches it at its
 * boundary and returns an error value, so parsers stay total.
 */

export class DecodeError extends Error {
  override name = 'DecodeError';
}

export class Reader {
  offset: number;
  readonly end: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    end = buf.length,
  ) {
    this.offset = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number): void {
    if (this.offset + n > this.end) throw new DecodeError(`need ${n} bytes, have ${this.end - this.offset}`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.offset++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  u24(): number {
    this.need(3);
    const v = this.buf.readUIntBE(this.offset, 3);
    this.offset += 3;
    return v;
  }

  /** A view (no copy) of the next n bytes. */
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  /** A vector with a length prefix of 1, 2 or 3 bytes. */
  vector(lengthBytes: 1 | 2 | 3): Buffer {
    const n = lengthBytes === 1 ? this.u8() : lengthBytes === 2 ? this.u16() : this.u24();
    return this.bytes(n);
  }

  /** A sub-reader over a length-prefixed vector. */
  sub(lengthBytes: 1 | 2 | 3): Reader {
    const v = this.vector(lengthBytes);
    return new Reader(v);
  }

  expectEnd(): void {
    if (this.offset !== this.end) throw new DecodeError(`${this.end - this.offset} trailing bytes`);
  }
}

/** Growable writer; used for handshake messages (not the record hot path). */
export class Writer {
  private buf: Buffer;
  length = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.length);
    this.length += 2;
    return this;
  }

  u24(v: number): this {
    this.ensure(3);
    this.buf.writeUIntBE(v, this.length, 3);
    this.length += 3;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  vector(lengthBytes: 1 | 2 | 3, b: Uint8Array): this {
    const max = 2 ** (8 * lengthBytes) - 1;
    if (b.length > max) throw new RangeError(`vector of ${b.length} bytes exceeds ${max}`);
    if (lengthBytes === 1) this.u8(b.length);
    else if (lengthBytes === 2) this.u16(b.length);
    else this.u24(b.length);
    return this.bytes(b);
  }

  /** Writes a length-prefixed block whose content is produced by fill. */
  block(lengthBytes: 1 | 2 | 3, fill: (w: Writer) => void): this {
    const inner = new Writer();
    fill(inner);
    return this.vector(lengthBytes, inner.finish());
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}
