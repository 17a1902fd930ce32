/**
 * Send-side retransmission for one consumer stream: keeps the last packets sent (bounded by
 * count and age) in pooled fixed-size slots, and answers a generic NACK (RFC 4585 §6.2.1) by
 * re-sending each stored packet as it was, or RTX-encapsulated (RFC 4588) when the consumer
 * negotiated RTX. A packet is re-sent at most once per RTT.
 *
 * With `fetch`, the buffer keeps no bytes, only which sequence numbers were sent and when: an
 * SFU stores each Producer packet once (RtpPacketStore) and rebuilds a consumer's packet from it
 * on a NACK, instead of a copy per consumer. It also remembers the holes the stream skipped
 * (sequence numbers behind the newest that were never sent, e.g. a repair the SFU received too
 * late to forward) and when: a NACK for one is answered from `fetch` if it has the packet.
 */
import type { RtpView } from '../wire/rtp/rtp.js';
import { copyPacket, seqDiff } from './seq.js';

const MAX_PACKET_SIZE = 1500;
/** Retransmissions are sent synchronously (`send` is valid during the call): one scratch each will do. */
const fetchScratch = Buffer.allocUnsafeSlow(0xffff);
const rtxScratch = Buffer.allocUnsafeSlow(0xffff + 2);

/**
 * The last packets of one RTP stream by sequence number (an SFU's Producer stream, stored once
 * for all its consumers): fixed-size slots in one lazily touched block.
 */
export class RtpPacketStore {
  private readonly mask: number;
  private readonly maxPacketSize: number;
  private readonly data: Buffer;
  private readonly slotSeq: Int32Array;
  private readonly slotLength: Uint16Array;

  constructor(maxPackets = 512, maxPacketSize = MAX_PACKET_SIZE) {
    const wanted = Math.min(32768, Math.max(16, maxPackets));
    let size = 16;
    while (size < wanted) size *= 2;
    this.mask = size - 1;
    this.maxPacketSize = Math.min(0xffff, maxPacketSize);
    this.data = Buffer.allocUnsafeSlow(size * this.maxPacketSize);
    this.slotSeq = new Int32Array(size).fill(-1);
    this.slotLength = new Uint16Array(size);
  }

  /**
   * Copies the packet in; packets longer than the slot size are not kept. `late`: a packet that
   * arrived out of order (a retransmission), kept only if it does not evict a newer one.
   */
  store(view: RtpView, late = false): void {
    const length = view.length;
    if (length < 12 || length > this.maxPacketSize) return;
    const seq = view.sequenceNumber;
    const i = seq & this.mask;
    if (late && this.slotSeq[i]! >= 0 && seqDiff(this.slotSeq[i]!, seq) > 0) return;
    const at = i * this.maxPacketSize;
    view.buf.copy(this.data, at, view.offset, view.offset + length);
    this.slotSeq[i] = seq;
    this.slotLength[i] = length;
  }

  /** Copies the packet with sequence number `seq` to the start of `out`: its length, or -1. */
  read(seq: number, out: Buffer): number {
    const i = seq & this.mask;
    if (this.slotSeq[i] !== seq) return -1;
    const length = this.slotLength[i]!;
    if (length > out.length) return -1;
    const at = i * this.maxPacketSize;
    this.data.copy(out, 0, at, at + length);
    return length;
  }
}

export interface RetransmissionBufferOptions {
  /** Packets kept; rounded up to a power of two (default 2500 → 4096 slots, at most 32768). */
  maxPackets?: number;
  /** Packets older than this are not re-sent (default 2000 ms). */
  maxAgeMs?: number;
  /** Largest packet stored; longer ones are not kept (default 1500 bytes). */
  maxPacketSize?: number;
  /** RTX stream: when given, retransmissions go out RTX-encapsulated. */
  rtx?: { ssrc: number; payloadType: number; initialSequenceNumber?: number };
  /** Receives each retransmission: `buf[0 .. length)` is the RTP packet, valid during the call. */
  send: (buf: Buffer, length: number) => void;
  /**
   * Rebuilds the packet sent with sequence number `seq` into `out` (its length, or -1 when it is
   * gone). When given, store() keeps no bytes.
   */
  fetch?: (seq: number, out: Buffer) => number;
}

export class RetransmissionBuffer {
  /** Packets stored, NACKed seqs resent (first re-sends of a packet also count as repaired), NACKed seqs not found (or too old), throttled. */
  stored = 0;
  retransmitted = 0;
  repaired = 0;
  missing = 0;
  throttled = 0;
  /** Round-trip time used for the resend throttle; update from RTCP (RtpStreamSend.rtt). */
  rttMs = 100;

  private readonly mask: number;
  private readonly maxAgeMs: number;
  private readonly maxPacketSize: number;
  private readonly slots: (Buffer | undefined)[];
  private readonly slotSeq: Int32Array;
  private readonly slotLength: Uint16Array;
  private readonly storedAt: Float64Array;
  private readonly resentAt: Float64Array;
  private readonly sendFn: (buf: Buffer, length: number) => void;
  private readonly rtxSsrc: number;
  private readonly rtxPayloadType: number;
  private rtxSeq: number;
  private readonly rtx: boolean;
  private readonly fetch: ((seq: number, out: Buffer) => number) | undefined;
  /** Fetch mode: the newest sequence number stored (-1 before the first). */
  private newest = -1;

  constructor(options: RetransmissionBufferOptions) {
    const wanted = Math.min(32768, Math.max(16, options.maxPackets ?? 2500));
    let size = 16;
    while (size < wanted) size *= 2;
    this.mask = size - 1;
    this.maxAgeMs = options.maxAgeMs ?? 2000;
    this.maxPacketSize = Math.min(0xffff, options.maxPacketSize ?? MAX_PACKET_SIZE);
    this.fetch = options.fetch;
    this.slots = this.fetch ? [] : new Array(size).fill(undefined);
    this.slotSeq = new Int32Array(size).fill(-1);
    this.slotLength = new Uint16Array(size);
    this.storedAt = new Float64Array(size);
    this.resentAt = new Float64Array(size).fill(-Infinity);
    this.sendFn = options.send;
    this.rtxSsrc = (options.rtx?.ssrc ?? 0) >>> 0;
    this.rtxPayloadType = (options.rtx?.payloadType ?? 0) & 0x7f;
    this.rtxSeq = (options.rtx?.initialSequenceNumber ?? Math.floor(Math.random() * 0x8000)) & 0xffff;
    this.rtx = options.rtx !== undefined;
  }

  get capacity(): number {
    return this.mask + 1;
  }

  /** Store a packet as sent to the consumer (after rewriting). Copies it into a pooled slot. */
  store(view: RtpView, nowMs: number): void {
    const length = view.length;
    if (length < 12 || length > this.maxPacketSize) return;
    const seq = view.sequenceNumber;
    const i = seq & this.mask;
    if (this.fetch) {
      this.markSkipped(seq, nowMs);
      this.slotSeq[i] = seq;
      this.storedAt[i] = nowMs;
      this.resentAt[i] = -Infinity;
      this.stored++;
      return;
    }
    let slot = this.slots[i];
    if (slot === undefined) {
      slot = Buffer.allocUnsafe(this.maxPacketSize);
      this.slots[i] = slot;
    }
    copyPacket(view, slot);
    this.slotSeq[i] = seq;
    this.slotLength[i] = length;
    this.storedAt[i] = nowMs;
    this.resentAt[i] = -Infinity;
    this.stored++;
  }

  /**
   * Fetch mode: `seq` is sent. When it is ahead of the newest by more than one, the sequence
   * numbers in between (at most a window's worth) are marked skipped (~seq) as of now: a NACK for
   * one may be answered from `fetch`. Consecutive packets (the usual case) skip the loop.
   */
  private markSkipped(seq: number, nowMs: number): void {
    const newest = this.newest;
    if (newest >= 0) {
      const gap = seqDiff(seq, newest);
      // Older than the newest (a late packet sent after all): the newest stays.
      if (gap <= 0 && gap >= -this.mask) return;
      const skipped = Math.min(gap - 1, this.mask);
      for (let k = 1; k <= skipped; k++) {
        const s = (seq - k) & 0xffff;
        const j = s & this.mask;
        this.slotSeq[j] = ~s;
        this.storedAt[j] = nowMs;
        this.resentAt[j] = -Infinity;
      }
    }
    this.newest = seq;
  }

  /**
   * Serve one generic NACK packet: `buf[offset .. offset+length)` is the whole RTCP feedback
   * packet (header, sender and media SSRC, then PID+BLP items). Returns packets re-sent.
   */
  handleNack(buf: Buffer, offset: number, length: number, nowMs: number): number {
    if (
      !(Number.isInteger(offset) && Number.isInteger(length) && offset >= 0 && offset + length <= buf.length)
    )
      return 0;
    let sent = 0;
    const end = offset + length - 3;
    for (let at = offset + 12; at < end; at += 4) {
      const pid = (buf[at]! << 8) | buf[at + 1]!;
      const blp = (buf[at + 2]! << 8) | buf[at + 3]!;
      if (this.resend(pid, nowMs)) sent++;
      for (let bit = 0; bit < 16; bit++)
        if (blp & (1 << bit) && this.resend((pid + bit + 1) & 0xffff, nowMs)) sent++;
    }
    return sent;
  }

  /**
   * Re-send one sequence number if stored (or, in fetch mode, skipped within the window behind
   * the newest and `fetch` has it), young enough and not re-sent within an RTT.
   */
  resend(seq: number, nowMs: number): boolean {
    const i = seq & this.mask;
    const held = this.slotSeq[i]!;
    if (
      (held !== seq && !(held === ~seq && this.isSkipped(seq))) ||
      nowMs - this.storedAt[i]! > this.maxAgeMs
    ) {
      this.missing++;
      return false;
    }
    if (nowMs - this.resentAt[i]! < this.rttMs) {
      this.throttled++;
      return false;
    }
    let slot: Buffer | undefined;
    let length: number;
    if (this.fetch) {
      slot = fetchScratch;
      length = this.fetch(seq, slot);
    } else {
      slot = this.slots[i];
      length = this.slotLength[i]!;
    }
    if (slot === undefined || length < 12) {
      this.missing++;
      return false;
    }
    if (this.resentAt[i] === -Infinity) this.repaired++;
    // A skipped packet now sent: it is known from here on (and throttled like the others).
    this.slotSeq[i] = seq;
    this.resentAt[i] = nowMs;
    if (!this.rtx) this.sendFn(slot, length);
    else this.sendFn(rtxScratch, this.encapsulate(slot, length, rtxScratch));
    this.retransmitted++;
    return true;
  }

  /** A skipped sequence number still within the window behind the newest (never ahead of it). */
  private isSkipped(seq: number): boolean {
    const behind = seqDiff(this.newest, seq);
    return this.fetch !== undefined && behind > 0 && behind <= this.mask;
  }

  /** RFC 4588 §4: RTX SSRC, PT and own sequence number; the OSN in front of the payload. */
  private encapsulate(packet: Buffer, length: number, out: Buffer): number {
    let header = 12 + (packet[0]! & 0x0f) * 4;
    if (packet[0]! & 0x10) header += 4 + ((packet[header + 2]! << 8) | packet[header + 3]!) * 4;
    packet.copy(out, 0, 0, header);
    out[header] = packet[2]!;
    out[header + 1] = packet[3]!;
    packet.copy(out, header + 2, header, length);
    out[1] = (packet[1]! & 0x80) | this.rtxPayloadType;
    this.rtxSeq = (this.rtxSeq + 1) & 0xffff;
    out[2] = this.rtxSeq >>> 8;
    out[3] = this.rtxSeq;
    out[8] = this.rtxSsrc >>> 24;
    out[9] = this.rtxSsrc >>> 16;
    out[10] = this.rtxSsrc >>> 8;
    out[11] = this.rtxSsrc;
    return length + 2;
  }
}
