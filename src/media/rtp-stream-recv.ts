/**
 * Receive side of one producer stream: RFC 3550 reception statistics (extended highest
 * sequence number, expected/lost/fraction lost, interarrival jitter, LSR/DLSR) for receiver
 * report blocks, and RTX decapsulation.
 */
import { compactNtp, type ReportBlock } from '../wire/rtp/rtcp.js';
import { type RtpView, rtxToOriginal } from '../wire/rtp/rtp.js';
import { seqDiff } from './seq.js';

/** RFC 3550 §A.1 limits: a jump beyond MAX_DROPOUT is a restart only if confirmed by its successor. */
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;

export interface RtpStreamRecvOptions {
  ssrc: number;
  /** RTP clock rate (for jitter). */
  clockRate: number;
}

export class RtpStreamRecv {
  readonly ssrc: number;
  readonly clockRate: number;
  /** Packets accepted (duplicates included, as RFC 3550 counts them), bytes of those. */
  packetsReceived = 0;
  bytesReceived = 0;
  /** Of those, packets that arrived as retransmissions (RTX or repeated on the media SSRC). */
  packetsRetransmitted = 0;
  /** Packets refused: not RTP, a jump not yet confirmed, a bad RTX. */
  packetsDiscarded = 0;
  /** Interarrival jitter in RTP timestamp units (RFC 3550 §A.8), as a float. */
  jitter = 0;

  private started = false;
  private baseSeq = 0;
  private maxSeq = 0;
  private cycles = 0;
  private badSeq = -1;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private lastArrivalTicks = 0;
  private lastTimestamp = 0;
  private lastSrCompact = 0;
  private lastSrAtMs = -1;

  constructor(options: RtpStreamRecvOptions) {
    this.ssrc = options.ssrc >>> 0;
    this.clockRate = options.clockRate;
  }

  /** Extended highest sequence number received (cycles × 65536 + highest). */
  get extendedHighestSeq(): number {
    return this.cycles + this.maxSeq;
  }

  get expected(): number {
    return this.started ? this.extendedHighestSeq - this.baseSeq + 1 : 0;
  }

  /** Cumulative packets lost (may be negative with duplicates, as RFC 3550 allows). */
  get packetsLost(): number {
    return this.expected - this.packetsReceived;
  }

  /**
   * Account one received packet. `retransmission` packets (recovered via NACK) count as received
   * but do not feed jitter. Returns the packet's extended sequence number, or -1 if refused.
   */
  receive(view: RtpView, nowMs: number, retransmission = false): number {
    if (view.length < 12) {
      this.packetsDiscarded++;
      return -1;
    }
    const seq = view.sequenceNumber;
    let extended: number;
    if (!this.started) {
      this.restart(seq);
      extended = seq;
    } else {
      const delta = seqDiff(seq, this.maxSeq);
      if (delta > 0 && delta < MAX_DROPOUT) {
        if (seq < this.maxSeq) this.cycles += 0x10000;
        this.maxSeq = seq;
        extended = this.cycles + seq;
      } else if (delta <= 0 && delta > -MAX_MISORDER) {
        extended = this.cycles + this.maxSeq + delta;
      } else if (seq === this.badSeq) {
        // Two sequential packets after a big jump: the sender restarted its sequence.
        this.restart(seq);
        extended = seq;
      } else {
        this.badSeq = (seq + 1) & 0xffff;
        this.packetsDiscarded++;
        return -1;
      }
    }
    this.packetsReceived++;
    this.bytesReceived += view.length;
    if (retransmission) {
      this.packetsRetransmitted++;
      return extended;
    }
    const ts = view.timestamp;
    const arrivalTicks = (nowMs * this.clockRate) / 1000;
    if (this.packetsReceived - this.packetsRetransmitted > 1) {
      // D(i-1,i) = (Rj − Ri) − (Sj − Si), with the RTP timestamp difference taken modulo 2^32.
      const d = arrivalTicks - this.lastArrivalTicks - ((ts - this.lastTimestamp) | 0);
      this.jitter += (Math.abs(d) - this.jitter) / 16;
    }
    this.lastArrivalTicks = arrivalTicks;
    this.lastTimestamp = ts;
    return extended;
  }

  /**
   * An RTX packet of this stream (RFC 4588): restore the original packet in place (the view
   * moves onto it) and account it as a retransmission. Returns its extended sequence number, or
   * -1 for padding-only or malformed RTX.
   */
  receiveRtx(view: RtpView, originalPayloadType: number, nowMs: number): number {
    if (view.length < 12 || !rtxToOriginal(view, this.ssrc, originalPayloadType)) {
      this.packetsDiscarded++;
      return -1;
    }
    return this.receive(view, nowMs, true);
  }

  /**
   * A retransmission that filled a hole the NACK generator still tracked: counted as received
   * without the §A.1 sequence checks (it may be more than MAX_MISORDER behind; a pair of those
   * must not look like a restart).
   */
  receiveRepaired(view: RtpView): void {
    if (!this.started) return;
    this.packetsReceived++;
    this.packetsRetransmitted++;
    this.bytesReceived += view.length;
  }

  /** Note a Sender Report from this stream's source, for LSR/DLSR in our reports. */
  receiveSenderReport(ntpSeconds: number, ntpFraction: number, nowMs: number): void {
    this.lastSrCompact = compactNtp(ntpSeconds, ntpFraction);
    this.lastSrAtMs = nowMs;
  }

  /**
   * Fill a report block (RFC 3550 §6.4.1) into `out` and start a new reporting interval.
   * Returns false (nothing written) before the first packet.
   */
  fillReportBlock(out: ReportBlock, nowMs: number): boolean {
    if (!this.started) return false;
    const expected = this.expected;
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.packetsReceived - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.packetsReceived;
    const lostInterval = expectedInterval - receivedInterval;
    out.ssrc = this.ssrc;
    out.fractionLost =
      expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval * 256) / expectedInterval);
    out.packetsLost = Math.max(-0x800000, Math.min(0x7fffff, this.packetsLost));
    out.highestSeq = this.extendedHighestSeq >>> 0;
    out.jitter = Math.floor(this.jitter) >>> 0;
    out.lastSr = this.lastSrCompact;
    out.delaySinceLastSr =
      this.lastSrAtMs < 0 ? 0 : Math.floor(((nowMs - this.lastSrAtMs) * 65536) / 1000) >>> 0;
    return true;
  }

  private restart(seq: number): void {
    this.started = true;
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.cycles = 0;
    this.badSeq = -1;
    this.packetsReceived = 0;
    this.packetsRetransmitted = 0;
    this.expectedPrior = 0;
    this.receivedPrior = 0;
  }
}
