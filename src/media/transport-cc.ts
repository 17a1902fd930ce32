/**
 * Receiver side of bandwidth estimation for one transport: transport-wide congestion control
 * feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01), which lets the sender run its
 * own estimator, and a simple REMB sender for peers that only understand REMB.
 */
import { buildRemb, buildTransportCc } from '../wire/rtp/rtcp.js';
import { seqDiff } from './seq.js';

export interface TransportCcGeneratorOptions {
  /** SSRC we send RTCP from. */
  senderSsrc: number;
  /** Arrivals remembered (a power of two, default 4096): the most one feedback can cover. */
  window?: number;
}

export class TransportCcGenerator {
  /** Media SSRC put in the feedback (any stream of the transport; libwebrtc ignores it). */
  mediaSsrc = 0;
  /** Packets recorded, packets refused (too late or too far), feedback packets built. */
  recorded = 0;
  refused = 0;
  feedbackSent = 0;

  private readonly senderSsrc: number;
  private readonly mask: number;
  /** Arrival time in µs per extended sequence (slot = ext & mask), -1 when not received. */
  private readonly arrivalUs: Float64Array;
  private started = false;
  /** Next extended sequence number to report, and the highest recorded. */
  private baseExt = 0;
  private highestExt = -1;
  private feedbackCount = 0;

  constructor(options: TransportCcGeneratorOptions) {
    this.senderSsrc = options.senderSsrc >>> 0;
    let size = 256;
    while (size < (options.window ?? 4096)) size *= 2;
    this.mask = size - 1;
    this.arrivalUs = new Float64Array(size).fill(-1);
  }

  /**
   * Record a packet's transport-wide sequence number (as read, -1 when absent: refused) and
   * arrival time (ms, monotonic).
   */
  record(transportSeq: number, arrivalMs: number, mediaSsrc: number): void {
    // -1 is what RtpView.readTransportWideSeq returns when the extension is absent.
    if (!(transportSeq >= 0 && transportSeq <= 0xffff) || !Number.isFinite(arrivalMs)) {
      this.refused++;
      return;
    }
    const seq = transportSeq & 0xffff;
    if (!this.started) {
      this.started = true;
      this.baseExt = seq;
      this.highestExt = seq - 1;
    }
    const ext = this.highestExt + seqDiff(seq, this.highestExt & 0xffff);
    if (ext < this.baseExt) {
      // Already reported (as lost): too late for this feedback scheme.
      this.refused++;
      return;
    }
    if (ext - this.baseExt > this.mask) {
      // A jump beyond the window: report from the new packet on.
      if (ext - this.highestExt > this.mask) {
        this.arrivalUs.fill(-1);
        this.baseExt = ext;
      } else {
        for (let s = this.baseExt; s <= ext - this.mask - 1; s++) this.arrivalUs[s & this.mask] = -1;
        this.baseExt = ext - this.mask;
      }
    }
    if (ext > this.highestExt) {
      // Clear the slots between the old highest and this one: they are not received (yet).
      for (let s = Math.max(this.highestExt + 1, this.baseExt); s < ext; s++)
        this.arrivalUs[s & this.mask] = -1;
      this.highestExt = ext;
    }
    this.arrivalUs[ext & this.mask] = arrivalMs * 1000;
    this.mediaSsrc = mediaSsrc >>> 0;
    this.recorded++;
  }

  /** Feedback for everything recorded since the last call (call every ~100 ms); [] when nothing new. */
  buildFeedback(): Buffer[] {
    const packets: Buffer[] = [];
    if (!this.started || this.highestExt < this.baseExt) return packets;
    const arrivals: (number | undefined)[] = [];
    for (let s = this.baseExt; s <= this.highestExt; s++) {
      const t = this.arrivalUs[s & this.mask]!;
      arrivals.push(t < 0 ? undefined : t);
    }
    let from = 0;
    // Each feedback accounts for at least one entry, so this ends within arrivals.length rounds.
    while (from < arrivals.length) {
      const { packet, included } = buildTransportCc({
        senderSsrc: this.senderSsrc,
        mediaSsrc: this.mediaSsrc,
        feedbackPacketCount: this.feedbackCount,
        baseSequenceNumber: (this.baseExt + from) & 0xffff,
        arrivalsUs: from === 0 ? arrivals : arrivals.slice(from),
      });
      this.feedbackCount = (this.feedbackCount + 1) & 0xff;
      packets.push(packet);
      from += Math.max(1, included);
    }
    this.baseExt = this.highestExt + 1;
    this.feedbackSent += packets.length;
    return packets;
  }
}

export interface RembSenderOptions {
  senderSsrc: number;
  /** Estimate to start from, floor and ceiling, bits/s (defaults 300 k, 100 k, 10 M). */
  initialBitrate?: number;
  minBitrate?: number;
  maxBitrate?: number;
  /** Time between REMB packets (default 1000 ms; sooner when the estimate drops). */
  intervalMs?: number;
}

const BUCKET_MS = 100;
/** Ten complete buckets make the one-second window; one more is the bucket being filled. */
const BUCKETS = 11;

/**
 * Incoming bitrate over the last second in 100 ms buckets, and a loss-driven estimate: +8 % per
 * report while loss stays under 2 % (and at least 1.5× what arrives, so the sender can probe
 * upwards), down in proportion to loss above 10 %.
 */
export class RembSender {
  estimate: number;
  /** Set from the receiver reports' fraction lost (0..1) of the transport's streams. */
  lossFraction = 0;
  /** Bounds of the estimate, bits/s; may be changed at any time (e.g. a transport's max incoming bitrate). */
  minBitrate: number;
  maxBitrate: number;

  private readonly senderSsrc: number;
  private readonly intervalMs: number;
  private readonly bucketBytes = new Float64Array(BUCKETS);
  private bucketIndex = 0;
  private bucketStartMs = -1;
  private lastSentMs = -Infinity;

  constructor(options: RembSenderOptions) {
    this.senderSsrc = options.senderSsrc >>> 0;
    this.minBitrate = options.minBitrate ?? 100_000;
    this.maxBitrate = options.maxBitrate ?? 10_000_000;
    this.estimate = options.initialBitrate ?? 300_000;
    this.intervalMs = options.intervalMs ?? 1000;
  }

  /** Account a received packet of `bytes` on the transport. */
  record(bytes: number, nowMs: number): void {
    this.advance(nowMs);
    this.bucketBytes[this.bucketIndex]! += bytes;
  }

  /** Bits per second arrived over the last complete second (100 ms granularity). */
  incomingBitrate(nowMs: number): number {
    this.advance(nowMs);
    let sum = 0;
    for (let i = 0; i < BUCKETS; i++) if (i !== this.bucketIndex) sum += this.bucketBytes[i]!;
    return (sum * 8 * 1000) / ((BUCKETS - 1) * BUCKET_MS);
  }

  /** A REMB for `ssrcs` when one is due, else undefined. */
  maybeBuild(nowMs: number, ssrcs: readonly number[]): Buffer | undefined {
    if (nowMs - this.lastSentMs < this.intervalMs) return undefined;
    const incoming = this.incomingBitrate(nowMs);
    if (this.lossFraction > 0.1) this.estimate = incoming * (1 - 0.5 * this.lossFraction);
    else if (this.lossFraction < 0.02) this.estimate = Math.max(this.estimate * 1.08, incoming * 1.5);
    this.estimate = Math.min(this.maxBitrate, Math.max(this.minBitrate, this.estimate));
    this.lastSentMs = nowMs;
    return buildRemb(this.senderSsrc, this.estimate, ssrcs);
  }

  private advance(nowMs: number): void {
    if (this.bucketStartMs < 0) {
      this.bucketStartMs = nowMs;
      return;
    }
    // Bounded: at most BUCKETS buckets are cleared however long the pause was.
    let steps = Math.floor((nowMs - this.bucketStartMs) / BUCKET_MS);
    if (steps <= 0) return;
    this.bucketStartMs += steps * BUCKET_MS;
    if (steps > BUCKETS) steps = BUCKETS;
    for (let k = 0; k < steps; k++) {
      this.bucketIndex = (this.bucketIndex + 1) % BUCKETS;
      this.bucketBytes[this.bucketIndex] = 0;
    }
  }
}
