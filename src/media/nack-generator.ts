/**
 * Receive-side NACK generation for one producer stream (RFC 4585 generic NACK). On a gap the
 * missing sequence numbers are NACKed at once, then again every RTT up to `maxRetries` times.
 * When the list would overflow, or a missing packet gets too old to be worth recovering, the
 * list is cleared and a keyframe is asked for instead. A missing packet is asked for during at
 * most `maxAgeMs` (retries late under load would only bring stale packets back).
 *
 * `received()` also says whether a packet is worth forwarding: new, or filling a hole still asked
 * for. A packet behind the newest that is not (a duplicate, a repeated retransmission, or one
 * given up on) is stale: forwarding it would hand receivers an old packet — several in a row
 * look like a sequence restart to an RFC 3550 receiver (MAX_MISORDER 100).
 */
import { seqDiff } from './seq.js';

/** What `received()` found: a stale packet (drop it), a new one, or a hole it filled. */
export const NackReceived = { Stale: 0, New: 1, Repaired: 2 } as const;
export type NackReceived = (typeof NackReceived)[keyof typeof NackReceived];

export interface NackGeneratorOptions {
  /** Receives the sequence numbers to NACK now (a reused array, valid during the call). */
  sendNack: (seqs: readonly number[]) => void;
  /** Called when recovery by NACK is abandoned and only a keyframe can repair the stream. */
  requestKeyFrame: () => void;
  /** Most missing packets tracked (default 1000). */
  maxPackets?: number;
  /** Missing packets further than this behind the newest are abandoned (default 10000). */
  maxAge?: number;
  /** NACKs per missing packet (default 10). */
  maxRetries?: number;
  /** A missing packet is given up this long after it was first NACKed (default 1000 ms). */
  maxAgeMs?: number;
  /**
   * A hole filled further than this behind the newest packet is accounted as recovered but
   * reported stale (default 100, RFC 3550's MAX_MISORDER: such receivers refuse it, and a burst
   * of them, as after a backlog drains, looks to them like a sequence restart).
   */
  maxMisorder?: number;
  /** Initial RTT for the retry interval (default 100 ms); update with `rttMs`. */
  rttMs?: number;
}

export class NackGenerator {
  rttMs: number;
  /** Sequence numbers NACKed (counting retries), recovered, given up on, keyframes asked for. */
  nacksSent = 0;
  recovered = 0;
  abandoned = 0;
  keyFramesRequested = 0;
  /** Packets behind the newest that were not asked for (any more): duplicates, late ones. */
  stale = 0;

  private readonly sendNack: (seqs: readonly number[]) => void;
  private readonly requestKeyFrame: () => void;
  private readonly maxAge: number;
  private readonly maxRetries: number;
  private readonly maxAgeMs: number;
  private readonly maxMisorder: number;
  // Missing packets, ring in increasing extended-sequence order; removed ones are marked 0 retries.
  private readonly pendingSeq: Float64Array;
  private readonly pendingSentAt: Float64Array;
  private readonly pendingFirstAt: Float64Array;
  private readonly pendingRetries: Uint8Array;
  private head = 0;
  private count = 0;
  private readonly batch: number[] = [];
  private newest = -1;

  constructor(options: NackGeneratorOptions) {
    this.sendNack = options.sendNack;
    this.requestKeyFrame = options.requestKeyFrame;
    const capacity = Math.max(1, options.maxPackets ?? 1000);
    this.maxAge = options.maxAge ?? 10000;
    this.maxRetries = Math.min(255, options.maxRetries ?? 10);
    this.maxAgeMs = options.maxAgeMs ?? 1000;
    this.maxMisorder = options.maxMisorder ?? 100;
    this.rttMs = options.rttMs ?? 100;
    this.pendingSeq = new Float64Array(capacity);
    this.pendingSentAt = new Float64Array(capacity);
    this.pendingFirstAt = new Float64Array(capacity);
    this.pendingRetries = new Uint8Array(capacity);
  }

  /** Missing packets still being asked for. */
  get pending(): number {
    let n = 0;
    const capacity = this.pendingSeq.length;
    for (let k = 0; k < this.count; k++) if (this.pendingRetries[(this.head + k) % capacity]! > 0) n++;
    return n;
  }

  /**
   * Account a received packet (media or retransmission); NACKs any gap it reveals. Returns
   * whether it is new, fills a hole still asked for, or is stale (not to be forwarded).
   */
  received(sequenceNumber: number, nowMs: number): NackReceived {
    const seq = sequenceNumber & 0xffff;
    if (this.newest < 0) {
      this.newest = seq;
      return NackReceived.New;
    }
    const ext = this.newest + seqDiff(seq, this.newest & 0xffff);
    if (ext <= this.newest) {
      if (ext < this.newest && this.remove(ext)) {
        this.recovered++;
        if (this.newest - ext <= this.maxMisorder) return NackReceived.Repaired;
      }
      this.stale++;
      return NackReceived.Stale;
    }
    const capacity = this.pendingSeq.length;
    const missing = ext - this.newest - 1;
    this.newest = ext;
    if (missing > 0) {
      if (missing + this.count > capacity || missing > this.maxAge) {
        this.giveUp(missing);
        return NackReceived.New;
      }
      this.batch.length = 0;
      for (let s = ext - missing; s < ext; s++) {
        const i = (this.head + this.count) % capacity;
        this.pendingSeq[i] = s;
        this.pendingSentAt[i] = nowMs;
        this.pendingFirstAt[i] = nowMs;
        this.pendingRetries[i] = 1;
        this.count++;
        this.batch.push(s & 0xffff);
      }
      this.nacksSent += this.batch.length;
      this.sendNack(this.batch);
    }
    this.dropTooOld();
    return NackReceived.New;
  }

  /** A keyframe arrived at `sequenceNumber`: what is missing before it is no longer needed. */
  keyFrameReceived(sequenceNumber: number): void {
    if (this.newest < 0) return;
    const ext = this.newest + seqDiff(sequenceNumber & 0xffff, this.newest & 0xffff);
    const capacity = this.pendingSeq.length;
    while (this.count > 0 && this.pendingSeq[this.head]! < ext) {
      this.head = (this.head + 1) % capacity;
      this.count--;
    }
  }

  /** Retry due NACKs; call every ~20–40 ms. */
  tick(nowMs: number): void {
    const capacity = this.pendingSeq.length;
    this.batch.length = 0;
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % capacity;
      const retries = this.pendingRetries[i]!;
      if (retries === 0 || nowMs - this.pendingSentAt[i]! < this.rttMs) continue;
      if (retries >= this.maxRetries || nowMs - this.pendingFirstAt[i]! >= this.maxAgeMs) {
        this.pendingRetries[i] = 0;
        this.abandoned++;
        continue;
      }
      this.pendingRetries[i] = retries + 1;
      this.pendingSentAt[i] = nowMs;
      this.batch.push(this.pendingSeq[i]! & 0xffff);
    }
    this.compact();
    if (this.batch.length > 0) {
      this.nacksSent += this.batch.length;
      this.sendNack(this.batch);
    }
  }

  reset(): void {
    this.head = 0;
    this.count = 0;
    this.newest = -1;
  }

  private giveUp(extra: number): void {
    this.abandoned += this.pending + extra;
    this.head = 0;
    this.count = 0;
    this.keyFramesRequested++;
    this.requestKeyFrame();
  }

  private dropTooOld(): void {
    const capacity = this.pendingSeq.length;
    let tooOld = false;
    while (this.count > 0 && this.newest - this.pendingSeq[this.head]! > this.maxAge) {
      if (this.pendingRetries[this.head]! > 0) {
        tooOld = true;
        this.abandoned++;
      }
      this.head = (this.head + 1) % capacity;
      this.count--;
    }
    if (tooOld) {
      this.keyFramesRequested++;
      this.requestKeyFrame();
    }
  }

  /** Binary search in the sorted ring; marks the entry done. */
  private remove(ext: number): boolean {
    const capacity = this.pendingSeq.length;
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const i = (this.head + mid) % capacity;
      const s = this.pendingSeq[i]!;
      if (s === ext) {
        if (this.pendingRetries[i] === 0) return false;
        this.pendingRetries[i] = 0;
        this.compact();
        return true;
      }
      if (s < ext) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  private compact(): void {
    const capacity = this.pendingSeq.length;
    while (this.count > 0 && this.pendingRetries[this.head] === 0) {
      this.head = (this.head + 1) % capacity;
      this.count--;
    }
  }
}
