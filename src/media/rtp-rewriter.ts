/**
 * Per-consumer-stream RTP rewriting: maps the source's sequence number, timestamp, SSRC and
 * payload type onto the consumer's outbound stream, in place.
 *
 * - Continuity: after `switchSource()` (simulcast layer change, replaced producer, resume) the
 *   next output sequence number is the last one sent + 1 and the timestamp offset places the new
 *   source's timestamps just after the last sent one, advanced by the wall-clock time elapsed
 *   since it (as mediasoup does).
 * - No holes: a source packet the consumer must not see (filtered temporal layer, padding) is
 *   passed to `drop()` and later packets shift down so the consumer never NACKs it.
 * - Reordering: packets older than the newest one are mapped with the offset that was in force
 *   for them, remembered for the last `history` offset changes; older ones are refused.
 */
import { RtpError, type RtpView } from '../wire/rtp/rtp.js';
import { copyPacket, isSeqNewer } from './seq.js';

export interface RtpRewriterOptions {
  /** The consumer's outbound SSRC. */
  ssrc: number;
  /** RTP clock rate of the codec (90000 video, 48000 opus). */
  clockRate: number;
  /** Source payload type → consumer payload type; types not listed are kept as they are. */
  payloadTypes?: ReadonlyMap<number, number>;
  /** Source extension id → consumer id (index = source id, 0 removes the element). */
  extensionIds?: Uint8Array;
  /** First output sequence number (default random). */
  initialSequenceNumber?: number;
  /** First output timestamp (default random). */
  initialTimestamp?: number;
  /** How many past offset changes are remembered for reordered packets (default 64). */
  history?: number;
}

export class RtpRewriter {
  readonly ssrc: number;
  readonly clockRate: number;
  /** Last output sequence number and timestamp, and when (ms) that packet was rewritten. */
  lastSequenceNumber: number;
  lastTimestamp: number;
  lastSentMs = -1;
  /** Packets rewritten, dropped on purpose, refused (too old to map, or not valid RTP). */
  rewritten = 0;
  dropped = 0;
  refused = 0;

  private readonly payloadTypeMap = new Int16Array(128).fill(-1);
  private readonly extensionIds: Uint8Array | undefined;
  /** Output = input + seqOffset (mod 2^16), for inputs newer than the last change point. */
  private seqOffset = 0;
  private tsOffset = 0;
  /** Newest input sequence number seen since the last sync, -1 before any. */
  private maxInput = -1;
  private syncPending = true;
  // Ring of offset changes: from input `changeSeq[i]` on, the offset is `changeOffset[i]`.
  private readonly changeSeq: Int32Array;
  private readonly changeOffset: Int32Array;
  private changeHead = 0;
  private changeCount = 0;

  constructor(options: RtpRewriterOptions) {
    this.ssrc = options.ssrc >>> 0;
    this.clockRate = options.clockRate;
    this.lastSequenceNumber =
      ((options.initialSequenceNumber ?? Math.floor(Math.random() * 0x8000)) - 1) & 0xffff;
    this.lastTimestamp = (options.initialTimestamp ?? Math.floor(Math.random() * 0x7fffffff)) >>> 0;
    if (options.payloadTypes)
      for (const [from, to] of options.payloadTypes) this.payloadTypeMap[from & 0x7f] = to & 0x7f;
    this.extensionIds = options.extensionIds;
    const history = Math.max(1, options.history ?? 64);
    this.changeSeq = new Int32Array(history);
    this.changeOffset = new Int32Array(history);
  }

  /**
   * The next packet comes from a different source (or after a pause): the output continues from
   * the last packet sent. Call before rewriting that packet.
   */
  switchSource(): void {
    this.syncPending = true;
  }

  /**
   * Rewrite `view`'s packet in place for this consumer. Returns false (nothing written) when the
   * packet cannot be mapped: older than the remembered history, or an old packet after a switch.
   */
  rewrite(view: RtpView, nowMs: number): boolean {
    if (view.length < 12) {
      this.refused++;
      return false;
    }
    const seq = view.sequenceNumber;
    if (this.syncPending) {
      this.syncPending = false;
      this.seqOffset = (this.lastSequenceNumber + 1 - seq) & 0xffff;
      // Place the new source just after the last sent timestamp, moved on by the time elapsed.
      const elapsed = this.lastSentMs < 0 ? 0 : Math.max(0, nowMs - this.lastSentMs);
      const advance = Math.max(1, Math.round((elapsed * this.clockRate) / 1000));
      this.tsOffset = (this.lastTimestamp + advance - view.timestamp) >>> 0;
      this.maxInput = seq;
      this.changeCount = 0;
      this.recordChange(seq);
    }
    let offset = this.seqOffset;
    if (isSeqNewer(seq, this.maxInput)) this.maxInput = seq;
    else if (seq !== this.maxInput) {
      const found = this.offsetFor(seq);
      if (found < 0) {
        this.refused++;
        return false;
      }
      offset = found;
    }
    const outSeq = (seq + offset) & 0xffff;
    const outTs = (view.timestamp + this.tsOffset) >>> 0;
    view.setSequenceNumber(outSeq);
    view.setTimestamp(outTs);
    view.setSsrc(this.ssrc);
    const pt = this.payloadTypeMap[view.payloadType]!;
    if (pt >= 0) view.setPayloadType(pt);
    if (this.extensionIds) view.remapExtensionIds(this.extensionIds);
    if (isSeqNewer(outSeq, this.lastSequenceNumber) || this.lastSentMs < 0) {
      this.lastSequenceNumber = outSeq;
      this.lastTimestamp = outTs;
      this.lastSentMs = nowMs;
    }
    this.rewritten++;
    return true;
  }

  /**
   * Copy the packet in `source` into `out` (at offset 0), point `outView` at the copy and rewrite
   * it: the producer's packet stays untouched for the other consumers. False when refused or
   * when `out` is too small.
   */
  rewriteInto(source: RtpView, out: Buffer, outView: RtpView, nowMs: number): boolean {
    const length = source.length;
    if (length > out.length) {
      this.refused++;
      return false;
    }
    copyPacket(source, out);
    if (outView.reset(out, 0, length) !== RtpError.Ok) {
      this.refused++;
      return false;
    }
    return this.rewrite(outView, nowMs);
  }

  /**
   * A source packet that will not be forwarded (filtered layer, padding-only): later packets
   * shift down by one so the consumer sees no gap. Only the newest packet can be absorbed; an
   * older one already has its output number reserved.
   */
  drop(sequenceNumber: number): void {
    this.dropped++;
    if (this.syncPending) return;
    const seq = sequenceNumber & 0xffff;
    if (!isSeqNewer(seq, this.maxInput)) return;
    // Inputs between maxInput and seq were not seen yet: they keep the old offset, seq itself
    // is absorbed, and what follows it moves down by one.
    this.maxInput = seq;
    this.seqOffset = (this.seqOffset - 1) & 0xffff;
    this.recordChange((seq + 1) & 0xffff);
  }

  private recordChange(fromSeq: number): void {
    const size = this.changeSeq.length;
    this.changeSeq[this.changeHead] = fromSeq;
    this.changeOffset[this.changeHead] = this.seqOffset;
    this.changeHead = (this.changeHead + 1) % size;
    if (this.changeCount < size) this.changeCount++;
  }

  /** The offset in force for an input older than maxInput, or -1 when before the history. */
  private offsetFor(seq: number): number {
    const size = this.changeSeq.length;
    for (let n = 1; n <= this.changeCount; n++) {
      const i = (this.changeHead - n + size) % size;
      const from = this.changeSeq[i]!;
      if (seq === from || isSeqNewer(seq, from)) return this.changeOffset[i]!;
    }
    return -1;
  }
}
