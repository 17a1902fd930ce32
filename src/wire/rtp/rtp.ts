/**
 * Zero-copy RTP (RFC 3550) view with RFC 8285 header extensions.
 *
 * One `RtpView` is meant to be reused for every packet: `reset()` validates the fixed header,
 * CSRC list, extension block and padding without allocating, then the getters read straight from
 * the Buffer and the setters rewrite it in place (SSRC, sequence, timestamp, payload type,
 * marker, extension ids and values): exactly what an SFU needs per forwarded packet.
 */

/** Result codes of `RtpView.reset()`; `RtpError.Ok` (0) means the packet is valid. */
export const RtpError = {
  Ok: 0,
  TooShort: 1,
  BadVersion: 2,
  CsrcOverflow: 3,
  ExtensionOverflow: 4,
  BadPadding: 5,
  BadRange: 6,
} as const;
export type RtpErrorCode = (typeof RtpError)[keyof typeof RtpError];

export const RTP_FIXED_HEADER_LENGTH = 12;
/** RFC 8285 one-byte header extension profile. */
export const EXTENSION_PROFILE_ONE_BYTE = 0xbede;
/** RFC 8285 two-byte header extension profile (low 4 "appbits" are ignored). */
export const EXTENSION_PROFILE_TWO_BYTE = 0x1000;

const EMPTY = Buffer.alloc(0);

export class RtpView {
  buf: Buffer = EMPTY;
  /** Offset of the RTP packet inside `buf`. */
  offset = 0;
  /** Total packet length in bytes (header + payload + padding). */
  length = 0;
  /** Bytes of fixed header + CSRCs + extension block. */
  headerLength = 0;
  /** Absolute offset in `buf` of the payload. */
  payloadOffset = 0;
  /** Payload length without padding. */
  payloadLength = 0;
  paddingLength = 0;
  /** Extension profile (0xBEDE, 0x100X, or any other value), 0 when there is no extension block. */
  extensionProfile = 0;
  /** Absolute offset in `buf` of the extension elements (after the 4-byte block header), -1 if none. */
  extensionOffset = -1;
  /** Length in bytes of the extension elements. */
  extensionLength = 0;
  /** Length of the value found by the last successful `findExtension()`. */
  foundExtensionLength = 0;

  /** Point the view at a packet and validate it; returns `RtpError.Ok` or the reason it is invalid. */
  reset(buf: Buffer, offset = 0, length = buf.length - offset): RtpErrorCode {
    this.buf = buf;
    this.offset = offset;
    this.length = length;
    this.extensionOffset = -1;
    this.extensionLength = 0;
    this.extensionProfile = 0;
    // Also rejects NaN and fractions: byte indexes below must be exact.
    if (
      !(offset >= 0 && length >= 0 && offset + length <= buf.length) ||
      (offset | 0) !== offset ||
      (length | 0) !== length
    ) {
      this.length = 0;
      return RtpError.BadRange;
    }
    if (length < RTP_FIXED_HEADER_LENGTH) return RtpError.TooShort;
    const b0 = buf[offset]!;
    if (b0 >> 6 !== 2) return RtpError.BadVersion;
    let headerLength = RTP_FIXED_HEADER_LENGTH + (b0 & 0x0f) * 4;
    if (headerLength > length) return RtpError.CsrcOverflow;
    if (b0 & 0x10) {
      if (headerLength + 4 > length) return RtpError.ExtensionOverflow;
      const extStart = offset + headerLength;
      const words = (buf[extStart + 2]! << 8) | buf[extStart + 3]!;
      const extEnd = headerLength + 4 + words * 4;
      if (extEnd > length) return RtpError.ExtensionOverflow;
      this.extensionProfile = (buf[extStart]! << 8) | buf[extStart + 1]!;
      this.extensionOffset = extStart + 4;
      this.extensionLength = words * 4;
      headerLength = extEnd;
    }
    let padding = 0;
    if (b0 & 0x20) {
      if (length === headerLength) return RtpError.BadPadding;
      padding = buf[offset + length - 1]!;
      if (padding === 0 || headerLength + padding > length) return RtpError.BadPadding;
    }
    this.headerLength = headerLength;
    this.payloadOffset = offset + headerLength;
    this.paddingLength = padding;
    this.payloadLength = length - headerLength - padding;
    return RtpError.Ok;
  }

  get version(): number {
    return this.buf[this.offset]! >> 6;
  }
  get padding(): boolean {
    return (this.buf[this.offset]! & 0x20) !== 0;
  }
  get hasExtension(): boolean {
    return (this.buf[this.offset]! & 0x10) !== 0;
  }
  get csrcCount(): number {
    return this.buf[this.offset]! & 0x0f;
  }
  get marker(): boolean {
    return (this.buf[this.offset + 1]! & 0x80) !== 0;
  }
  get payloadType(): number {
    return this.buf[this.offset + 1]! & 0x7f;
  }
  // Fields are read and written byte by byte: Buffer's readUInt*/writeUInt* re-validate their
  // arguments on every call, and reset() already proved the header is in bounds.
  get sequenceNumber(): number {
    const b = this.buf;
    const o = this.offset;
    return (b[o + 2]! << 8) | b[o + 3]!;
  }
  get timestamp(): number {
    return readU32(this.buf, this.offset + 4);
  }
  get ssrc(): number {
    return readU32(this.buf, this.offset + 8);
  }
  /** The i-th CSRC (0-based); callers keep i below `csrcCount`. */
  csrc(i: number): number {
    return readU32(this.buf, this.offset + 12 + i * 4);
  }
  /** A view (no copy) of the payload without padding. */
  payload(): Buffer {
    return this.buf.subarray(this.payloadOffset, this.payloadOffset + this.payloadLength);
  }

  setMarker(marker: boolean): void {
    const i = this.offset + 1;
    this.buf[i] = marker ? this.buf[i]! | 0x80 : this.buf[i]! & 0x7f;
  }
  setPayloadType(pt: number): void {
    const i = this.offset + 1;
    this.buf[i] = (this.buf[i]! & 0x80) | (pt & 0x7f);
  }
  setSequenceNumber(seq: number): void {
    const b = this.buf;
    const o = this.offset;
    b[o + 2] = seq >>> 8;
    b[o + 3] = seq;
  }
  setTimestamp(ts: number): void {
    writeU32(this.buf, this.offset + 4, ts);
  }
  setSsrc(ssrc: number): void {
    writeU32(this.buf, this.offset + 8, ssrc);
  }

  /**
   * Absolute offset of the value of extension `id`, or -1 when absent or malformed; the value's
   * length is left in `foundExtensionLength`. Works for the one-byte and two-byte forms.
   */
  findExtension(id: number): number {
    if (this.extensionOffset < 0) return -1;
    const buf = this.buf;
    const end = this.extensionOffset + this.extensionLength;
    let i = this.extensionOffset;
    if (this.extensionProfile === EXTENSION_PROFILE_ONE_BYTE) {
      while (i < end) {
        const b = buf[i]!;
        if (b === 0) {
          i++;
          continue;
        }
        const elementId = b >> 4;
        // id 15 is reserved: RFC 8285 says stop processing the block there.
        if (elementId === 15) return -1;
        const len = (b & 0x0f) + 1;
        if (i + 1 + len > end) return -1;
        if (elementId === id) {
          this.foundExtensionLength = len;
          return i + 1;
        }
        i += 1 + len;
      }
      return -1;
    }
    if ((this.extensionProfile & 0xfff0) === EXTENSION_PROFILE_TWO_BYTE) {
      while (i < end) {
        const elementId = buf[i]!;
        if (elementId === 0) {
          i++;
          continue;
        }
        if (i + 2 > end) return -1;
        const len = buf[i + 1]!;
        if (i + 2 + len > end) return -1;
        if (elementId === id) {
          this.foundExtensionLength = len;
          return i + 2;
        }
        i += 2 + len;
      }
    }
    return -1;
  }

  /**
   * Rewrite extension ids in place: `table[oldId]` is the new id; 0 (or an id the block's form
   * cannot carry) removes the element by overwriting it with padding bytes. Returns false when
   * the block is malformed (the elements before the fault are already rewritten).
   */
  remapExtensionIds(table: Uint8Array): boolean {
    if (this.extensionOffset < 0) return true;
    const buf = this.buf;
    const end = this.extensionOffset + this.extensionLength;
    let i = this.extensionOffset;
    if (this.extensionProfile === EXTENSION_PROFILE_ONE_BYTE) {
      while (i < end) {
        const b = buf[i]!;
        if (b === 0) {
          i++;
          continue;
        }
        if (b >> 4 === 15) return true;
        const len = (b & 0x0f) + 1;
        if (i + 1 + len > end) return false;
        const newId = table[b >> 4] ?? 0;
        if (newId === 0 || newId > 14) buf.fill(0, i, i + 1 + len);
        else buf[i] = (newId << 4) | (b & 0x0f);
        i += 1 + len;
      }
      return true;
    }
    if ((this.extensionProfile & 0xfff0) === EXTENSION_PROFILE_TWO_BYTE) {
      while (i < end) {
        const elementId = buf[i]!;
        if (elementId === 0) {
          i++;
          continue;
        }
        if (i + 2 > end) return false;
        const len = buf[i + 1]!;
        if (i + 2 + len > end) return false;
        const newId = table[elementId] ?? 0;
        if (newId === 0) buf.fill(0, i, i + 2 + len);
        else buf[i] = newId;
        i += 2 + len;
      }
    }
    return true;
  }

  /** Calls `fn(id, valueOffset, valueLength)` for each well-formed element (diagnostics, tests). */
  forEachExtension(fn: (id: number, valueOffset: number, valueLength: number) => void): void {
    if (this.extensionOffset < 0) return;
    const buf = this.buf;
    const end = this.extensionOffset + this.extensionLength;
    let i = this.extensionOffset;
    const oneByte = this.extensionProfile === EXTENSION_PROFILE_ONE_BYTE;
    if (!oneByte && (this.extensionProfile & 0xfff0) !== EXTENSION_PROFILE_TWO_BYTE) return;
    while (i < end) {
      const b = buf[i]!;
      if (b === 0) {
        i++;
        continue;
      }
      if (oneByte) {
        if (b >> 4 === 15) return;
        const len = (b & 0x0f) + 1;
        if (i + 1 + len > end) return;
        fn(b >> 4, i + 1, len);
        i += 1 + len;
      } else {
        if (i + 2 > end) return;
        const len = buf[i + 1]!;
        if (i + 2 + len > end) return;
        fn(b, i + 2, len);
        i += 2 + len;
      }
    }
  }

  /** Transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions), or -1. */
  readTransportWideSeq(id: number): number {
    const at = this.findExtension(id);
    if (at < 0 || this.foundExtensionLength < 2) return -1;
    return (this.buf[at]! << 8) | this.buf[at + 1]!;
  }
  writeTransportWideSeq(id: number, seq: number): boolean {
    const at = this.findExtension(id);
    if (at < 0 || this.foundExtensionLength < 2) return false;
    this.buf[at] = seq >>> 8;
    this.buf[at + 1] = seq;
    return true;
  }
  /** abs-send-time: 24-bit 6.18 fixed-point seconds, or -1. */
  readAbsSendTime(id: number): number {
    const at = this.findExtension(id);
    if (at < 0 || this.foundExtensionLength < 3) return -1;
    return this.buf.readUIntBE(at, 3);
  }
  writeAbsSendTime(id: number, value: number): boolean {
    const at = this.findExtension(id);
    if (at < 0 || this.foundExtensionLength < 3) return false;
    this.buf.writeUIntBE(value & 0xffffff, at, 3);
    return true;
  }
  /** RFC 6464 audio level: `level` in -dBov (0..127) and the voice-activity flag, or level -1. */
  readAudioLevel(id: number, out: { level: number; voice: boolean }): boolean {
    const at = this.findExtension(id);
    if (at < 0) {
      out.level = -1;
      out.voice = false;
      return false;
    }
    const b = this.buf[at]!;
    out.level = b & 0x7f;
    out.voice = (b & 0x80) !== 0;
    return true;
  }
  /** RFC 8843 MID / RFC 8852 RID values are short ASCII strings; undefined when absent. */
  readStringExtension(id: number): string | undefined {
    const at = this.findExtension(id);
    if (at < 0) return undefined;
    let end = at + this.foundExtensionLength;
    // One-byte form cannot express 0 length, so senders may pad a string with NULs.
    while (end > at && this.buf[end - 1] === 0) end--;
    return this.buf.toString('latin1', at, end);
  }

  /**
   * Overwrite extension `id` with `value` in place (e.g. a consumer's MID). Fits when the value is
   * no longer than the present one: a shorter value shrinks the element and the freed bytes become
   * padding. Returns false when absent or too long; then rebuild with `rebuildRtpPacket`.
   */
  writeExtension(id: number, value: Buffer): boolean {
    const at = this.findExtension(id);
    const old = this.foundExtensionLength;
    if (at < 0 || value.length > old) return false;
    const oneByte = this.extensionProfile === EXTENSION_PROFILE_ONE_BYTE;
    // The one-byte form cannot carry an empty value.
    if (oneByte && value.length === 0) return false;
    value.copy(this.buf, at);
    this.buf.fill(0, at + value.length, at + old);
    if (oneByte) this.buf[at - 1] = (id << 4) | (value.length - 1);
    else this.buf[at - 1] = value.length;
    return true;
  }
}

/**
 * RFC 4588 §4: the retransmission of the packet in `view` on an RTX stream. A new buffer: same
 * header (extensions and CSRCs kept), RTX SSRC / payload type / sequence number, the original
 * sequence number (OSN) in front of the payload, the padding kept.
 */
export function buildRtxPacket(
  view: RtpView,
  rtxSsrc: number,
  rtxPayloadType: number,
  rtxSequenceNumber: number,
): Buffer {
  const out = Buffer.allocUnsafe(view.length + 2);
  const start = view.offset;
  view.buf.copy(out, 0, start, view.payloadOffset);
  const hl = view.headerLength;
  out[hl] = view.buf[start + 2]!;
  out[hl + 1] = view.buf[start + 3]!;
  view.buf.copy(out, hl + 2, view.payloadOffset, start + view.length);
  out[1] = (out[1]! & 0x80) | (rtxPayloadType & 0x7f);
  out[2] = rtxSequenceNumber >>> 8;
  out[3] = rtxSequenceNumber;
  writeU32(out, 8, rtxSsrc);
  return out;
}

/**
 * RFC 4588: recover the original packet from the RTX packet in `view`, in place and without
 * copying the payload: the header moves 2 bytes forward over the OSN, takes the OSN as its
 * sequence number and the original SSRC and payload type, and `view` is reset onto it (its
 * `offset` grows by 2). False, with nothing changed, when there is no OSN (padding-only probes).
 */
export function rtxToOriginal(view: RtpView, originalSsrc: number, originalPayloadType: number): boolean {
  if (view.payloadLength < 2) return false;
  const buf = view.buf;
  const start = view.offset;
  const length = view.length;
  const osnHigh = buf[view.payloadOffset]!;
  const osnLow = buf[view.payloadOffset + 1]!;
  buf.copyWithin(start + 2, start, view.payloadOffset);
  const at = start + 2;
  buf[at + 1] = (buf[at + 1]! & 0x80) | (originalPayloadType & 0x7f);
  buf[at + 2] = osnHigh;
  buf[at + 3] = osnLow;
  writeU32(buf, at + 8, originalSsrc);
  return view.reset(buf, at, length - 2) === RtpError.Ok;
}

/**
 * A copy of the packet in `view` with its header extensions replaced by `extensions` (same
 * fixed header, CSRCs, payload and padding). Allocates: for the rare rewrite that does not fit
 * in place.
 */
export function rebuildRtpPacket(view: RtpView, extensions: readonly RtpExtensionValue[]): Buffer {
  const csrcs: number[] = [];
  for (let i = 0; i < view.csrcCount; i++) csrcs.push(view.csrc(i));
  const out = buildRtpPacket(
    {
      payloadType: view.payloadType,
      sequenceNumber: view.sequenceNumber,
      timestamp: view.timestamp,
      ssrc: view.ssrc,
      marker: view.marker,
      csrcs,
      extensions,
      padding: view.paddingLength,
    },
    view.payload(),
  );
  // Keep the original padding bytes, not zeros (some senders put data there for probing).
  if (view.paddingLength > 0) {
    const end = view.offset + view.length;
    view.buf.copy(out, out.length - view.paddingLength, end - view.paddingLength, end);
  }
  return out;
}

function readU32(b: Buffer, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** Typed-array stores truncate to 8 bits, so no masking is needed. */
function writeU32(b: Buffer, at: number, value: number): void {
  b[at] = value >>> 24;
  b[at + 1] = value >>> 16;
  b[at + 2] = value >>> 8;
  b[at + 3] = value;
}

/** abs-send-time value (6.18 fixed point, wraps every 64 s) for a time in milliseconds. */
export function absSendTimeFromMs(ms: number): number {
  return Math.round((ms * (1 << 18)) / 1000) & 0xffffff;
}

/** RFC 3550 RTP version check plus RFC 5761 payload-type range: true if it may be RTP. */
export function looksLikeRtp(buf: Buffer): boolean {
  if (buf.length < RTP_FIXED_HEADER_LENGTH || buf[0]! >> 6 !== 2) return false;
  const pt = buf[1]! & 0x7f;
  return pt < 64 || pt > 95;
}

export interface RtpExtensionValue {
  id: number;
  value: Buffer;
}

export interface RtpPacketFields {
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  marker?: boolean;
  csrcs?: readonly number[];
  extensions?: readonly RtpExtensionValue[];
  /** Bytes of padding to append (1..255); the last one holds the count. */
  padding?: number;
}

/**
 * Serialize an RTP packet (allocates; for tests, probes and generated packets, not forwarding).
 * Extensions use the one-byte form when every id is 1..14 and every value 1..16 bytes, else
 * the two-byte form. Throws RangeError on fields that cannot be encoded (caller bug, not input).
 */
export function buildRtpPacket(fields: RtpPacketFields, payload: Buffer): Buffer {
  const csrcs = fields.csrcs ?? [];
  if (csrcs.length > 15) throw new RangeError('at most 15 CSRCs');
  const extensions = fields.extensions ?? [];
  const oneByte = extensions.every(
    (e) => e.id >= 1 && e.id <= 14 && e.value.length >= 1 && e.value.length <= 16,
  );
  let extBytes = 0;
  for (const e of extensions) {
    if (e.id < 1 || e.id > 255 || e.value.length > 255) throw new RangeError('extension cannot be encoded');
    extBytes += (oneByte ? 1 : 2) + e.value.length;
  }
  const extBlock = extensions.length > 0 ? 4 + Math.ceil(extBytes / 4) * 4 : 0;
  const padding = fields.padding ?? 0;
  if (padding < 0 || padding > 255) throw new RangeError('padding must be 0..255');
  const headerLength = 12 + csrcs.length * 4 + extBlock;
  const out = Buffer.alloc(headerLength + payload.length + padding);
  out[0] = 0x80 | (padding > 0 ? 0x20 : 0) | (extBlock > 0 ? 0x10 : 0) | csrcs.length;
  out[1] = (fields.marker ? 0x80 : 0) | (fields.payloadType & 0x7f);
  out.writeUInt16BE(fields.sequenceNumber & 0xffff, 2);
  out.writeUInt32BE(fields.timestamp >>> 0, 4);
  out.writeUInt32BE(fields.ssrc >>> 0, 8);
  let i = 12;
  for (const c of csrcs) {
    out.writeUInt32BE(c >>> 0, i);
    i += 4;
  }
  if (extBlock > 0) {
    out.writeUInt16BE(oneByte ? EXTENSION_PROFILE_ONE_BYTE : EXTENSION_PROFILE_TWO_BYTE, i);
    out.writeUInt16BE((extBlock - 4) / 4, i + 2);
    i += 4;
    for (const e of extensions) {
      if (oneByte) out[i++] = (e.id << 4) | (e.value.length - 1);
      else {
        out[i++] = e.id;
        out[i++] = e.value.length;
      }
      e.value.copy(out, i);
      i += e.value.length;
    }
  }
  payload.copy(out, headerLength);
  if (padding > 0) out[out.length - 1] = padding;
  return out;
}
