/**
 * RTCP (RFC 3550) compound packets: a zero-allocation walker over the packets of a datagram, typed
 * parsers for SR, RR, SDES, BYE, generic NACK (RFC 4585), PLI, FIR (RFC 5104), REMB
 * (draft-alvestrand-rmcat-remb), transport-wide CC feedback (draft-holmer-rmcat-transport-wide-cc-
 * extensions-01) and XR RRTR/DLRR (RFC 3611), and builders for the same. Parsers never throw:
 * malformed input yields an error code.
 */

export const RtcpType = {
  SR: 200,
  RR: 201,
  SDES: 202,
  BYE: 203,
  APP: 204,
  RTPFB: 205,
  PSFB: 206,
  XR: 207,
} as const;

/** FMT values of transport-layer feedback (PT 205). */
export const RtpfbFmt = { NACK: 1, TransportCC: 15 } as const;
/** FMT values of payload-specific feedback (PT 206). */
export const PsfbFmt = { PLI: 1, FIR: 4, AFB: 15 } as const;

export const RtcpError = {
  Ok: 0,
  TooShort: 1,
  BadVersion: 2,
  LengthOverflow: 3,
  BadPadding: 4,
  Malformed: 5,
} as const;
export type RtcpErrorCode = (typeof RtcpError)[keyof typeof RtcpError];

/** RFC 5761 §4 demultiplexing: RTP version and a second byte in the RTCP packet type range. */
export function isRtcp(buf: Buffer): boolean {
  return buf.length >= 4 && buf[0]! >> 6 === 2 && buf[1]! >= 192 && buf[1]! <= 223;
}

/**
 * Walks the packets of a compound RTCP datagram without allocating. After `next()` returns
 * true: `packetType`, `fmt` (the 5-bit count/FMT field), `offset` of the packet's first byte,
 * `length` in bytes as declared by the header, and `contentLength` without padding.
 */
export class RtcpReader {
  buf: Buffer = Buffer.alloc(0);
  packetType = 0;
  fmt = 0;
  offset = 0;
  length = 0;
  contentLength = 0;
  /** Set when `next()` stopped on malformed input (Ok at a clean end). */
  error: RtcpErrorCode = RtcpError.Ok;
  private cursor = 0;
  private end = 0;

  reset(buf: Buffer, offset = 0, length = buf.length - offset): this {
    this.buf = buf;
    // Clamp into the buffer; NaN or fractional arguments give an empty walk.
    const start = Number.isInteger(offset) ? Math.max(0, Math.min(offset, buf.length)) : buf.length;
    this.cursor = start;
    this.end = Number.isInteger(length)
      ? Math.max(start, Math.min(start + Math.max(0, length), buf.length))
      : start;
    this.error = RtcpError.Ok;
    return this;
  }

  next(): boolean {
    const remaining = this.end - this.cursor;
    if (remaining === 0 || this.error !== RtcpError.Ok) return false;
    if (remaining < 4) return this.stop(RtcpError.TooShort);
    const buf = this.buf;
    const at = this.cursor;
    const b0 = buf[at]!;
    if (b0 >> 6 !== 2) return this.stop(RtcpError.BadVersion);
    const length = (buf.readUInt16BE(at + 2) + 1) * 4;
    if (length > remaining) return this.stop(RtcpError.LengthOverflow);
    let contentLength = length;
    if (b0 & 0x20) {
      const padding = buf[at + length - 1]!;
      if (padding === 0 || padding > length - 4) return this.stop(RtcpError.BadPadding);
      contentLength -= padding;
    }
    this.packetType = buf[at + 1]!;
    this.fmt = b0 & 0x1f;
    this.offset = at;
    this.length = length;
    this.contentLength = contentLength;
    this.cursor = at + length;
    return true;
  }

  private stop(error: RtcpErrorCode): false {
    this.error = error;
    return false;
  }
}

export interface ReportBlock {
  ssrc: number;
  /** Fraction lost since the previous report, 0..255 (/256). */
  fractionLost: number;
  /** Cumulative packets lost (24-bit signed). */
  packetsLost: number;
  highestSeq: number;
  jitter: number;
  lastSr: number;
  delaySinceLastSr: number;
}

export interface SenderReport {
  type: 'sr';
  ssrc: number;
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  reports: ReportBlock[];
}
export interface ReceiverReport {
  type: 'rr';
  ssrc: number;
  reports: ReportBlock[];
}
export interface SdesItem {
  /** 1 CNAME, 2 NAME, ... (RFC 3550 §6.5). */
  type: number;
  value: string;
}
export interface SourceDescription {
  type: 'sdes';
  chunks: { ssrc: number; items: SdesItem[] }[];
}
export interface Goodbye {
  type: 'bye';
  ssrcs: number[];
  reason?: string;
}
export interface GenericNack {
  type: 'nack';
  senderSsrc: number;
  mediaSsrc: number;
  /** Lost sequence numbers, expanded from the PID+BLP pairs, in packet order. */
  lost: number[];
}
export interface PictureLossIndication {
  type: 'pli';
  senderSsrc: number;
  mediaSsrc: number;
}
export interface FullIntraRequest {
  type: 'fir';
  senderSsrc: number;
  entries: { ssrc: number; seq: number }[];
}
export interface Remb {
  type: 'remb';
  senderSsrc: number;
  /** Bits per second. */
  bitrate: number;
  ssrcs: number[];
}
/** Packet status symbols; 3 is reserved in the draft, read as "received, no delta" like pion. */
export const TccStatus = { NotReceived: 0, SmallDelta: 1, LargeDelta: 2, ReceivedWithoutDelta: 3 } as const;
export interface TransportCcPacket {
  sequenceNumber: number;
  status: number;
  /** Receive time in µs relative to the reference time (only when received). */
  receivedUs?: number;
}
export interface TransportCcFeedback {
  type: 'transport-cc';
  senderSsrc: number;
  mediaSsrc: number;
  baseSequenceNumber: number;
  packetStatusCount: number;
  /** 24-bit signed, in multiples of 64 ms. */
  referenceTime: number;
  feedbackPacketCount: number;
  packets: TransportCcPacket[];
}
export interface ExtendedReport {
  type: 'xr';
  ssrc: number;
  rrtr?: { ntpSeconds: number; ntpFraction: number };
  dlrr?: { ssrc: number; lastRr: number; delaySinceLastRr: number }[];
}
export interface OtherRtcp {
  type: 'other';
  packetType: number;
  fmt: number;
  /** View of the whole packet (no copy). */
  raw: Buffer;
}
export type RtcpPacket =
  | SenderReport
  | ReceiverReport
  | SourceDescription
  | Goodbye
  | GenericNack
  | PictureLossIndication
  | FullIntraRequest
  | Remb
  | TransportCcFeedback
  | ExtendedReport
  | OtherRtcp;

export interface RtcpParseResult {
  packets: RtcpPacket[];
  /** Ok when the whole datagram parsed; otherwise packets holds those before the fault. */
  error: RtcpErrorCode;
}

/** Parse every packet of a compound RTCP datagram. Total: never throws. */
export function parseRtcp(buf: Buffer): RtcpParseResult {
  const reader = new RtcpReader().reset(buf);
  const packets: RtcpPacket[] = [];
  while (reader.next()) {
    const p = parseRtcpPacket(buf, reader.offset, reader.contentLength, reader.packetType, reader.fmt);
    if (typeof p === 'number') return { packets, error: p };
    packets.push(p);
  }
  return { packets, error: reader.error };
}

/** Parse one packet whose bytes are buf[offset .. offset+length) (padding excluded). */
export function parseRtcpPacket(
  buf: Buffer,
  offset: number,
  length: number,
  packetType: number,
  fmt: number,
): RtcpPacket | RtcpErrorCode {
  if (
    !(offset >= 0 && length >= 4 && offset + length <= buf.length) ||
    (offset | 0) !== offset ||
    (length | 0) !== length
  ) {
    return RtcpError.TooShort;
  }
  const end = offset + length;
  switch (packetType) {
    case RtcpType.SR: {
      if (length < 28 + fmt * 24) return RtcpError.Malformed;
      return {
        type: 'sr',
        ssrc: buf.readUInt32BE(offset + 4),
        ntpSeconds: buf.readUInt32BE(offset + 8),
        ntpFraction: buf.readUInt32BE(offset + 12),
        rtpTimestamp: buf.readUInt32BE(offset + 16),
        packetCount: buf.readUInt32BE(offset + 20),
        octetCount: buf.readUInt32BE(offset + 24),
        reports: readReportBlocks(buf, offset + 28, fmt),
      };
    }
    case RtcpType.RR: {
      if (length < 8 + fmt * 24) return RtcpError.Malformed;
      return {
        type: 'rr',
        ssrc: buf.readUInt32BE(offset + 4),
        reports: readReportBlocks(buf, offset + 8, fmt),
      };
    }
    case RtcpType.SDES:
      return parseSdes(buf, offset, end, fmt);
    case RtcpType.BYE: {
      if (length < 4 + fmt * 4) return RtcpError.Malformed;
      const ssrcs: number[] = [];
      for (let i = 0; i < fmt; i++) ssrcs.push(buf.readUInt32BE(offset + 4 + i * 4));
      const at = offset + 4 + fmt * 4;
      if (at < end) {
        const len = buf[at]!;
        if (at + 1 + len > end) return RtcpError.Malformed;
        return { type: 'bye', ssrcs, reason: buf.toString('utf8', at + 1, at + 1 + len) };
      }
      return { type: 'bye', ssrcs };
    }
    case RtcpType.RTPFB:
    case RtcpType.PSFB: {
      if (length < 12) return RtcpError.Malformed;
      const senderSsrc = buf.readUInt32BE(offset + 4);
      const mediaSsrc = buf.readUInt32BE(offset + 8);
      const fci = offset + 12;
      if (packetType === RtcpType.RTPFB && fmt === RtpfbFmt.NACK) {
        if ((end - fci) % 4 !== 0) return RtcpError.Malformed;
        const lost: number[] = [];
        for (let at = fci; at < end; at += 4) {
          const pid = buf.readUInt16BE(at);
          const blp = buf.readUInt16BE(at + 2);
          lost.push(pid);
          for (let bit = 0; bit < 16; bit++) if (blp & (1 << bit)) lost.push((pid + bit + 1) & 0xffff);
        }
        return { type: 'nack', senderSsrc, mediaSsrc, lost };
      }
      if (packetType === RtcpType.RTPFB && fmt === RtpfbFmt.TransportCC) {
        return parseTransportCc(buf, fci, end, senderSsrc, mediaSsrc);
      }
      if (packetType === RtcpType.PSFB && fmt === PsfbFmt.PLI) return { type: 'pli', senderSsrc, mediaSsrc };
      if (packetType === RtcpType.PSFB && fmt === PsfbFmt.FIR) {
        if ((end - fci) % 8 !== 0) return RtcpError.Malformed;
        const entries: { ssrc: number; seq: number }[] = [];
        for (let at = fci; at < end; at += 8) entries.push({ ssrc: buf.readUInt32BE(at), seq: buf[at + 4]! });
        return { type: 'fir', senderSsrc, entries };
      }
      if (
        packetType === RtcpType.PSFB &&
        fmt === PsfbFmt.AFB &&
        end - fci >= 8 &&
        buf.toString('latin1', fci, fci + 4) === 'REMB'
      ) {
        const count = buf[fci + 4]!;
        if (fci + 8 + count * 4 > end) return RtcpError.Malformed;
        const exponent = buf[fci + 5]! >> 2;
        const mantissa = ((buf[fci + 5]! & 0x03) << 16) | buf.readUInt16BE(fci + 6);
        const ssrcs: number[] = [];
        for (let i = 0; i < count; i++) ssrcs.push(buf.readUInt32BE(fci + 8 + i * 4));
        return { type: 'remb', senderSsrc, bitrate: mantissa * 2 ** exponent, ssrcs };
      }
      return { type: 'other', packetType, fmt, raw: buf.subarray(offset, end) };
    }
    case RtcpType.XR:
      return parseXr(buf, offset, end);
    default:
      return { type: 'other', packetType, fmt, raw: buf.subarray(offset, end) };
  }
}

function readReportBlocks(buf: Buffer, at: number, count: number): ReportBlock[] {
  const reports: ReportBlock[] = [];
  for (let i = 0; i < count; i++, at += 24) {
    reports.push({
      ssrc: buf.readUInt32BE(at),
      fractionLost: buf[at + 4]!,
      packetsLost: buf.readIntBE(at + 5, 3),
      highestSeq: buf.readUInt32BE(at + 8),
      jitter: buf.readUInt32BE(at + 12),
      lastSr: buf.readUInt32BE(at + 16),
      delaySinceLastSr: buf.readUInt32BE(at + 20),
    });
  }
  return reports;
}

function parseSdes(
  buf: Buffer,
  offset: number,
  end: number,
  count: number,
): SourceDescription | RtcpErrorCode {
  let at = offset + 4;
  const chunks: SourceDescription['chunks'] = [];
  for (let c = 0; c < count; c++) {
    if (at + 4 > end) return RtcpError.Malformed;
    const ssrc = buf.readUInt32BE(at);
    at += 4;
    const items: SdesItem[] = [];
    for (;;) {
      if (at >= end) return RtcpError.Malformed;
      const type = buf[at]!;
      if (type === 0) {
        // The null item ends the chunk, which is then padded to a 32-bit boundary of the packet.
        at = offset + ((at - offset + 4) & ~3);
        break;
      }
      if (at + 2 > end) return RtcpError.Malformed;
      const len = buf[at + 1]!;
      if (at + 2 + len > end) return RtcpError.Malformed;
      items.push({ type, value: buf.toString('utf8', at + 2, at + 2 + len) });
      at += 2 + len;
    }
    if (at > end) return RtcpError.Malformed;
    chunks.push({ ssrc, items });
  }
  return { type: 'sdes', chunks };
}

function parseTransportCc(
  buf: Buffer,
  at: number,
  end: number,
  senderSsrc: number,
  mediaSsrc: number,
): TransportCcFeedback | RtcpErrorCode {
  if (at + 8 > end) return RtcpError.Malformed;
  const baseSequenceNumber = buf.readUInt16BE(at);
  const packetStatusCount = buf.readUInt16BE(at + 2);
  const referenceTime = buf.readIntBE(at + 4, 3);
  const feedbackPacketCount = buf[at + 7]!;
  at += 8;
  const statuses = new Uint8Array(packetStatusCount);
  let n = 0;
  while (n < packetStatusCount) {
    if (at + 2 > end) return RtcpError.Malformed;
    const chunk = buf.readUInt16BE(at);
    at += 2;
    if ((chunk & 0x8000) === 0) {
      // Run length chunk: 2-bit symbol, 13-bit run.
      const symbol = (chunk >> 13) & 0x03;
      const run = chunk & 0x1fff;
      for (let i = 0; i < run && n < packetStatusCount; i++) statuses[n++] = symbol;
    } else if ((chunk & 0x4000) === 0) {
      // Status vector, 14 one-bit symbols.
      for (let i = 13; i >= 0 && n < packetStatusCount; i--) statuses[n++] = (chunk >> i) & 0x01;
    } else {
      // Status vector, 7 two-bit symbols.
      for (let i = 6; i >= 0 && n < packetStatusCount; i--) statuses[n++] = (chunk >> (i * 2)) & 0x03;
    }
  }
  const packets: TransportCcPacket[] = [];
  let timeUs = 0;
  for (let i = 0; i < packetStatusCount; i++) {
    const status = statuses[i]!;
    const sequenceNumber = (baseSequenceNumber + i) & 0xffff;
    if (status === TccStatus.NotReceived) {
      packets.push({ sequenceNumber, status });
      continue;
    }
    if (status === TccStatus.SmallDelta) {
      if (at + 1 > end) return RtcpError.Malformed;
      timeUs += buf[at]! * 250;
      at += 1;
    } else if (status === TccStatus.LargeDelta) {
      if (at + 2 > end) return RtcpError.Malformed;
      timeUs += buf.readInt16BE(at) * 250;
      at += 2;
    } else {
      packets.push({ sequenceNumber, status });
      continue;
    }
    packets.push({ sequenceNumber, status, receivedUs: timeUs });
  }
  return {
    type: 'transport-cc',
    senderSsrc,
    mediaSsrc,
    baseSequenceNumber,
    packetStatusCount,
    referenceTime,
    feedbackPacketCount,
    packets,
  };
}

function parseXr(buf: Buffer, offset: number, end: number): ExtendedReport | RtcpErrorCode {
  if (offset + 8 > end) return RtcpError.Malformed;
  const xr: ExtendedReport = { type: 'xr', ssrc: buf.readUInt32BE(offset + 4) };
  let at = offset + 8;
  while (at < end) {
    if (at + 4 > end) return RtcpError.Malformed;
    const blockType = buf[at]!;
    const blockEnd = at + 4 + buf.readUInt16BE(at + 2) * 4;
    if (blockEnd > end) return RtcpError.Malformed;
    if (blockType === 4) {
      if (blockEnd - at !== 12) return RtcpError.Malformed;
      xr.rrtr = { ntpSeconds: buf.readUInt32BE(at + 4), ntpFraction: buf.readUInt32BE(at + 8) };
    } else if (blockType === 5) {
      if ((blockEnd - at - 4) % 12 !== 0) return RtcpError.Malformed;
      const dlrr = xr.dlrr ?? [];
      for (let s = at + 4; s < blockEnd; s += 12) {
        dlrr.push({
          ssrc: buf.readUInt32BE(s),
          lastRr: buf.readUInt32BE(s + 4),
          delaySinceLastRr: buf.readUInt32BE(s + 8),
        });
      }
      xr.dlrr = dlrr;
    }
    at = blockEnd;
  }
  return xr;
}

/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2208988800;

/** NTP timestamp (seconds, 2^-32 fraction) of a Unix time in milliseconds, as SR and RRTR carry. */
export function ntpFromUnixMs(ms: number): { ntpSeconds: number; ntpFraction: number } {
  const seconds = Math.floor(ms / 1000);
  return {
    ntpSeconds: (seconds + NTP_UNIX_OFFSET_S) >>> 0,
    ntpFraction: Math.floor(((ms - seconds * 1000) / 1000) * 2 ** 32) >>> 0,
  };
}

/** The middle 32 bits of an NTP timestamp (units of 1/65536 s): LSR and LRR fields. */
export function compactNtp(ntpSeconds: number, ntpFraction: number): number {
  return (((ntpSeconds & 0xffff) << 16) | (ntpFraction >>> 16)) >>> 0;
}

/**
 * Round-trip time in ms from a report block (RFC 3550 §6.4.1): now − LSR − DLSR, all in
 * compact NTP. `nowCompact` is compactNtp of the time the report arrived. Undefined when the
 * block has no LSR yet or the result is negative (clock steps, bogus reports).
 */
export function rttFromReport(
  nowCompact: number,
  lastSr: number,
  delaySinceLastSr: number,
): number | undefined {
  if (lastSr === 0) return undefined;
  const rtt = (nowCompact - lastSr - delaySinceLastSr) >>> 0;
  // Anything above ~18 hours is a negative difference wrapped around 2^32.
  if (rtt > 0x7fffffff) return undefined;
  return (rtt * 1000) / 65536;
}

// ---------------------------------------------------------------------------------------------
// Builders. They allocate (RTCP is a few packets per second per stream) and throw RangeError only
// on arguments that cannot be encoded, which is a caller bug rather than network input.

function header(buf: Buffer, fmt: number, packetType: number): Buffer {
  if (buf.length % 4 !== 0) throw new RangeError('RTCP packet length must be a multiple of 4');
  buf[0] = 0x80 | (fmt & 0x1f);
  buf[1] = packetType;
  buf.writeUInt16BE(buf.length / 4 - 1, 2);
  return buf;
}

function writeReportBlocks(buf: Buffer, at: number, reports: readonly ReportBlock[]): void {
  for (const r of reports) {
    buf.writeUInt32BE(r.ssrc >>> 0, at);
    buf[at + 4] = r.fractionLost & 0xff;
    buf.writeIntBE(Math.max(-0x800000, Math.min(0x7fffff, r.packetsLost)), at + 5, 3);
    buf.writeUInt32BE(r.highestSeq >>> 0, at + 8);
    buf.writeUInt32BE(r.jitter >>> 0, at + 12);
    buf.writeUInt32BE(r.lastSr >>> 0, at + 16);
    buf.writeUInt32BE(r.delaySinceLastSr >>> 0, at + 20);
    at += 24;
  }
}

export function buildSenderReport(sr: Omit<SenderReport, 'type'>): Buffer {
  if (sr.reports.length > 31) throw new RangeError('at most 31 report blocks');
  const buf = Buffer.alloc(28 + sr.reports.length * 24);
  buf.writeUInt32BE(sr.ssrc >>> 0, 4);
  buf.writeUInt32BE(sr.ntpSeconds >>> 0, 8);
  buf.writeUInt32BE(sr.ntpFraction >>> 0, 12);
  buf.writeUInt32BE(sr.rtpTimestamp >>> 0, 16);
  buf.writeUInt32BE(sr.packetCount >>> 0, 20);
  buf.writeUInt32BE(sr.octetCount >>> 0, 24);
  writeReportBlocks(buf, 28, sr.reports);
  return header(buf, sr.reports.length, RtcpType.SR);
}

export function buildReceiverReport(rr: Omit<ReceiverReport, 'type'>): Buffer {
  if (rr.reports.length > 31) throw new RangeError('at most 31 report blocks');
  const buf = Buffer.alloc(8 + rr.reports.length * 24);
  buf.writeUInt32BE(rr.ssrc >>> 0, 4);
  writeReportBlocks(buf, 8, rr.reports);
  return header(buf, rr.reports.length, RtcpType.RR);
}

/** SDES with one chunk per source; `items` default to a CNAME. */
export function buildSdes(
  chunks: readonly { ssrc: number; cname?: string; items?: readonly SdesItem[] }[],
): Buffer {
  if (chunks.length > 31) throw new RangeError('at most 31 SDES chunks');
  const parts: Buffer[] = [];
  for (const chunk of chunks) {
    const items = chunk.items ?? [{ type: 1, value: chunk.cname ?? '' }];
    const encoded = items.map((i) => ({ type: i.type, value: Buffer.from(i.value, 'utf8') }));
    let size = 4;
    for (const e of encoded) {
      if (e.value.length > 255) throw new RangeError('SDES item longer than 255 bytes');
      size += 2 + e.value.length;
    }
    // At least one null octet, then pad to 32 bits.
    size = (size + 4) & ~3;
    const b = Buffer.alloc(size);
    b.writeUInt32BE(chunk.ssrc >>> 0, 0);
    let at = 4;
    for (const e of encoded) {
      b[at] = e.type;
      b[at + 1] = e.value.length;
      e.value.copy(b, at + 2);
      at += 2 + e.value.length;
    }
    parts.push(b);
  }
  return header(Buffer.concat([Buffer.alloc(4), ...parts]), chunks.length, RtcpType.SDES);
}

export function buildBye(ssrcs: readonly number[], reason?: string): Buffer {
  if (ssrcs.length > 31) throw new RangeError('at most 31 SSRCs');
  const text = reason === undefined ? undefined : Buffer.from(reason, 'utf8');
  if (text && text.length > 255) throw new RangeError('BYE reason longer than 255 bytes');
  const base = 4 + ssrcs.length * 4;
  const buf = Buffer.alloc(text ? (base + 1 + text.length + 3) & ~3 : base);
  for (let i = 0; i < ssrcs.length; i++) buf.writeUInt32BE(ssrcs[i]! >>> 0, 4 + i * 4);
  if (text) {
    buf[base] = text.length;
    text.copy(buf, base + 1);
  }
  return header(buf, ssrcs.length, RtcpType.BYE);
}

function feedback(
  fmt: number,
  packetType: number,
  senderSsrc: number,
  mediaSsrc: number,
  fciLength: number,
): Buffer {
  const buf = Buffer.alloc(12 + fciLength);
  buf.writeUInt32BE(senderSsrc >>> 0, 4);
  buf.writeUInt32BE(mediaSsrc >>> 0, 8);
  return header(buf, fmt, packetType);
}

/** Generic NACK: consecutive lost sequence numbers within 16 of a PID share its BLP. */
export function buildNack(senderSsrc: number, mediaSsrc: number, lost: readonly number[]): Buffer {
  const pairs: number[] = [];
  let pid = -1;
  let blp = 0;
  for (const raw of lost) {
    const seq = raw & 0xffff;
    const diff = pid < 0 ? -1 : (seq - pid) & 0xffff;
    if (diff >= 1 && diff <= 16) blp |= 1 << (diff - 1);
    else if (diff !== 0) {
      if (pid >= 0) pairs.push(pid, blp);
      pid = seq;
      blp = 0;
    }
  }
  if (pid >= 0) pairs.push(pid, blp);
  const buf = feedback(RtpfbFmt.NACK, RtcpType.RTPFB, senderSsrc, mediaSsrc, pairs.length * 2);
  for (let i = 0; i < pairs.length; i++) buf.writeUInt16BE(pairs[i]!, 12 + i * 2);
  return buf;
}

export function buildPli(senderSsrc: number, mediaSsrc: number): Buffer {
  return feedback(PsfbFmt.PLI, RtcpType.PSFB, senderSsrc, mediaSsrc, 0);
}

export function buildFir(senderSsrc: number, entries: readonly { ssrc: number; seq: number }[]): Buffer {
  const buf = feedback(PsfbFmt.FIR, RtcpType.PSFB, senderSsrc, 0, entries.length * 8);
  entries.forEach((e, i) => {
    buf.writeUInt32BE(e.ssrc >>> 0, 12 + i * 8);
    buf[16 + i * 8] = e.seq & 0xff;
  });
  return buf;
}

/** REMB; the bitrate is rounded down to what an 18-bit mantissa and 6-bit exponent can carry. */
export function buildRemb(senderSsrc: number, bitrate: number, ssrcs: readonly number[]): Buffer {
  if (ssrcs.length > 255) throw new RangeError('at most 255 SSRCs');
  let mantissa = Math.max(0, Math.floor(bitrate));
  let exponent = 0;
  while (mantissa > 0x3ffff) {
    mantissa = Math.floor(mantissa / 2);
    exponent++;
  }
  if (exponent > 63) throw new RangeError('bitrate too large');
  const buf = feedback(PsfbFmt.AFB, RtcpType.PSFB, senderSsrc, 0, 8 + ssrcs.length * 4);
  buf.write('REMB', 12, 'latin1');
  buf[16] = ssrcs.length;
  buf[17] = (exponent << 2) | (mantissa >> 16);
  buf.writeUInt16BE(mantissa & 0xffff, 18);
  for (let i = 0; i < ssrcs.length; i++) buf.writeUInt32BE(ssrcs[i]! >>> 0, 20 + i * 4);
  return buf;
}

export interface TransportCcInput {
  senderSsrc: number;
  mediaSsrc: number;
  feedbackPacketCount: number;
  /** Base sequence number: the first packet reported. */
  baseSequenceNumber: number;
  /**
   * Arrival time in µs for each sequence number from the base on, index i ↔ base+i;
   * `undefined` (or a hole) means not received. Times only need a common origin.
   */
  arrivalsUs: readonly (number | undefined)[];
}

export interface TransportCcBuilt {
  packet: Buffer;
  /**
   * How many entries of `arrivalsUs` this packet accounts for (at least 1 unless the input is
   * empty); build the rest, from base + included, into another packet.
   */
  included: number;
}

/**
 * Build transport-wide CC feedback. The reference time is the first arrival floored to 64 ms;
 * deltas are 250 µs ticks from the previous received packet, one byte when 0..255, else two
 * (signed). A packet whose delta does not fit in 16 bits ends this feedback (see `included`).
 */
export function buildTransportCc(input: TransportCcInput): TransportCcBuilt {
  const arrivals = input.arrivalsUs;
  const first = arrivals.find((t) => t !== undefined);
  const referenceTicks = first === undefined ? 0 : Math.floor(first / 64000);
  const statuses: number[] = [];
  const deltas: number[] = [];
  let previousUs = referenceTicks * 64000;
  // Entries of arrivalsUs this packet accounts for, including lost ones it need not list.
  let consumed = 0;
  for (; consumed < arrivals.length && consumed < 0xffff; consumed++) {
    const t = arrivals[consumed];
    if (t === undefined) {
      statuses.push(TccStatus.NotReceived);
      continue;
    }
    const ticks = Math.round((t - previousUs) / 250);
    if (!(ticks >= -32768 && ticks <= 32767)) break;
    statuses.push(ticks >= 0 && ticks <= 255 ? TccStatus.SmallDelta : TccStatus.LargeDelta);
    deltas.push(ticks);
    // Accumulate the encoded value, not the exact time, so rounding errors do not build up.
    previousUs += ticks * 250;
  }
  // Trailing not-received entries carry no information.
  while (statuses.length > 0 && statuses[statuses.length - 1] === TccStatus.NotReceived) statuses.pop();
  const chunks = encodeStatusChunks(statuses);
  let deltaBytes = 0;
  for (const s of statuses) deltaBytes += s === TccStatus.SmallDelta ? 1 : s === TccStatus.LargeDelta ? 2 : 0;
  const fciLength = (8 + chunks.length * 2 + deltaBytes + 3) & ~3;
  const buf = feedback(RtpfbFmt.TransportCC, RtcpType.RTPFB, input.senderSsrc, input.mediaSsrc, fciLength);
  buf.writeUInt16BE(input.baseSequenceNumber & 0xffff, 12);
  buf.writeUInt16BE(statuses.length, 14);
  buf.writeIntBE(((referenceTicks << 8) >> 8) | 0, 16, 3);
  buf[19] = input.feedbackPacketCount & 0xff;
  let at = 20;
  for (const c of chunks) {
    buf.writeUInt16BE(c, at);
    at += 2;
  }
  let d = 0;
  for (const s of statuses) {
    if (s === TccStatus.SmallDelta) buf[at++] = deltas[d++]!;
    else if (s === TccStatus.LargeDelta) {
      buf.writeInt16BE(deltas[d++]!, at);
      at += 2;
    }
  }
  return { packet: buf, included: consumed };
}

/** Run-length chunks for runs of 7 or more, status vectors otherwise. */
function encodeStatusChunks(statuses: readonly number[]): number[] {
  const chunks: number[] = [];
  let i = 0;
  while (i < statuses.length) {
    let run = 1;
    while (i + run < statuses.length && statuses[i + run] === statuses[i] && run < 0x1fff) run++;
    if (run >= 7) {
      chunks.push((statuses[i]! << 13) | run);
      i += run;
      continue;
    }
    let oneBit = true;
    for (let j = i; j < i + 14 && j < statuses.length; j++) if (statuses[j]! > 1) oneBit = false;
    if (oneBit) {
      let chunk = 0x8000;
      for (let j = 0; j < 14; j++) chunk |= (statuses[i + j] ?? 0) << (13 - j);
      chunks.push(chunk);
      i += 14;
    } else {
      let chunk = 0xc000;
      for (let j = 0; j < 7; j++) chunk |= (statuses[i + j] ?? 0) << (2 * (6 - j));
      chunks.push(chunk);
      i += 7;
    }
  }
  return chunks;
}

export function buildXr(xr: Omit<ExtendedReport, 'type'>): Buffer {
  const dlrr = xr.dlrr ?? [];
  const size = 8 + (xr.rrtr ? 12 : 0) + (dlrr.length > 0 ? 4 + dlrr.length * 12 : 0);
  const buf = Buffer.alloc(size);
  buf.writeUInt32BE(xr.ssrc >>> 0, 4);
  let at = 8;
  if (xr.rrtr) {
    buf[at] = 4;
    buf.writeUInt16BE(2, at + 2);
    buf.writeUInt32BE(xr.rrtr.ntpSeconds >>> 0, at + 4);
    buf.writeUInt32BE(xr.rrtr.ntpFraction >>> 0, at + 8);
    at += 12;
  }
  if (dlrr.length > 0) {
    buf[at] = 5;
    buf.writeUInt16BE(dlrr.length * 3, at + 2);
    at += 4;
    for (const d of dlrr) {
      buf.writeUInt32BE(d.ssrc >>> 0, at);
      buf.writeUInt32BE(d.lastRr >>> 0, at + 4);
      buf.writeUInt32BE(d.delaySinceLastRr >>> 0, at + 8);
      at += 12;
    }
  }
  return header(buf, 0, RtcpType.XR);
}
