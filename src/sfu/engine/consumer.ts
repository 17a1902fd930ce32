import { inspectH264, inspectVp8, inspectVp9, PayloadInfo } from '../../media/codecs.js';
import { seqDiff } from '../../media/seq.js';
import { RtpError, RtpView } from '../../wire/rtp/rtp.js';
import type { EngineContext, Handler } from './context.js';
import { canonicalMimeType, dumpRtpParameters } from './dump.js';
import { isRtxCodec } from './ortc.js';
import { createRtpStreamFeedback, type ProducerEngine, type RtpStreamFeedback } from './producer.js';
import type { MediaKind, RtpEncodingParameters, RtpParameters } from './rtp-parameters.js';
import { parseScalabilityMode } from './scalability-mode.js';
import { RateCounter } from './sockets.js';

const TRACE_TYPES = ['rtp', 'keyframe', 'nack', 'pli', 'fir'];

export type ConsumerType = 'simple' | 'simulcast' | 'svc' | 'pipe';

export interface Layers {
  spatialLayer: number;
  temporalLayer: number;
}

/** Where a Consumer's packets go: its transport. */
export interface RtpSender {
  sendRtp(consumer: ConsumerEngine, packet: Buffer): void;
  /**
   * True when sendRtp reads the packet only during the call (it protects or copies it before
   * returning): the Consumer then rewrites the Producer's packet in place instead of copying it.
   */
  readonly readsRtpDuringSendOnly?: boolean;
}

/** Source-to-output mappings remembered for retransmissions (one per simulcast switch). */
const MAX_EPOCHS = 8;
/**
 * A source packet further than this behind the newest one forwarded is dropped, not sent
 * (RFC 3550 §A.1's MAX_MISORDER): such receivers refuse it, and old packets in a row look to
 * them like a sequence restart.
 */
const MAX_SEQ_BEHIND = 100;
/**
 * A forward jump of the source's sequence number larger than this is not passed on: the output
 * continues right after the last packet sent (receivers take a jump > 3000 for a restart).
 */
const MAX_SEQ_GAP = 1000;

/** From `startSeq` on, output seq = source seq + seqOffset of encoding `encodingIdx`. */
interface Epoch {
  startSeq: number;
  seqOffset: number;
  tsOffset: number;
  encodingIdx: number;
}

export interface ConsumerInit {
  consumerId: string;
  producerId: string;
  kind: MediaKind;
  rtpParameters: RtpParameters;
  type: ConsumerType;
  consumableRtpEncodings: RtpEncodingParameters[];
  paused: boolean;
  preferredLayers?: { spatialLayer: number; temporalLayer?: number };
}

/**
 * Worker side of a Consumer: picks the packets it should send (pause state, simulcast layer),
 * rewrites SSRC, sequence number and timestamp so the receiver sees one continuous stream, and
 * hands them to its transport.
 */
export class ConsumerEngine implements Handler {
  readonly id: string;
  readonly producerId: string;
  readonly kind: MediaKind;
  readonly rtpParameters: RtpParameters;
  readonly type: ConsumerType;
  readonly consumableRtpEncodings: RtpEncodingParameters[];
  paused: boolean;
  producerPaused: boolean;
  priority = 1;
  preferredLayers?: Layers;
  readonly #ctx: EngineContext;
  readonly #producer: ProducerEngine;
  readonly #sender: RtpSender;
  readonly #payloadTypes: Set<number>;
  readonly #extensionIds = new Uint8Array(256);
  readonly #clockRate: number;
  readonly #maxSpatialLayer: number;
  readonly #maxTemporalLayer: number;
  readonly #view = new RtpView();
  readonly #bytes = new RateCounter();
  #packets = 0;
  #traceEventTypes: string[] = [];
  #currentSpatialLayer = -1;
  // Simulcast layer we are switching to, waiting for its key frame (-1: none).
  #pendingSpatialLayer = -1;
  #pendingRequestedAt = 0;
  // Key frame detection for the codec, undefined when we cannot inspect it (switch at once).
  readonly #inspectPayload?: (buf: Uint8Array, offset: number, length: number, out: PayloadInfo) => boolean;
  readonly #payloadInfo = new PayloadInfo();
  // Output stream continuity across source switches (simulcast layers).
  #sourceSsrc = -1;
  #seqOffset = 0;
  #tsOffset = 0;
  #lastSeq = 0;
  #lastTs = 0;
  #lastSentAt = 0;
  // Resumed (consumer or producer): the next packet continues the output right after the last
  // sent, so the receiver does not NACK what was held back.
  #resync = false;
  // Newest source sequence number forwarded, and where the current mapping (epoch) started.
  #maxInput = 0;
  #epochInput = 0;
  readonly #epochs: Epoch[] = [];
  /** What the receiver reported and asked for; counted by the media plane. */
  readonly feedback: RtpStreamFeedback = createRtpStreamFeedback();
  readonly #inPlace: boolean;
  readonly #outputSsrc: number;
  #closed = false;

  constructor(ctx: EngineContext, init: ConsumerInit, producer: ProducerEngine, sender: RtpSender) {
    this.#ctx = ctx;
    this.#producer = producer;
    this.#sender = sender;
    this.#inPlace = sender.readsRtpDuringSendOnly === true;
    this.id = init.consumerId;
    this.producerId = init.producerId;
    this.kind = init.kind;
    this.rtpParameters = init.rtpParameters;
    this.type = init.type;
    this.consumableRtpEncodings = init.consumableRtpEncodings ?? [];
    this.paused = init.paused;
    this.producerPaused = producer.paused;
    if (!init.rtpParameters.encodings?.length) throw new TypeError('empty rtpParameters.encodings');
    this.#payloadTypes = new Set(
      init.rtpParameters.codecs.filter((c) => !isRtxCodec(c)).map((c) => c.payloadType),
    );
    for (const ext of init.rtpParameters.headerExtensions ?? []) {
      if (ext.id > 0 && ext.id < 256) this.#extensionIds[ext.id] = ext.id;
    }
    this.#clockRate = init.rtpParameters.codecs[0]?.clockRate ?? 90000;
    const mimeType = init.rtpParameters.codecs[0]?.mimeType.toLowerCase();
    this.#inspectPayload =
      mimeType === 'video/vp8'
        ? inspectVp8
        : mimeType === 'video/h264'
          ? inspectH264
          : mimeType === 'video/vp9'
            ? inspectVp9
            : undefined;
    const encoding = init.rtpParameters.encodings[0]!;
    this.#outputSsrc = (encoding.ssrc ?? 0) >>> 0;
    const mode = parseScalabilityMode(encoding.scalabilityMode);
    this.#maxSpatialLayer =
      this.type === 'simulcast'
        ? this.consumableRtpEncodings.length - 1
        : this.type === 'svc'
          ? mode.spatialLayers - 1
          : 0;
    this.#maxTemporalLayer = mode.temporalLayers - 1;
    if (this.type === 'simulcast' || this.type === 'svc') {
      this.preferredLayers = this.#clampLayers(init.preferredLayers);
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    this.#closed = true;
  }

  #clampLayers(layers?: { spatialLayer: number; temporalLayer?: number }): Layers {
    const spatialLayer = Math.min(
      Math.max(0, layers?.spatialLayer ?? this.#maxSpatialLayer),
      this.#maxSpatialLayer,
    );
    const temporalLayer =
      layers?.temporalLayer === undefined
        ? this.#maxTemporalLayer
        : Math.min(Math.max(0, layers.temporalLayer), this.#maxTemporalLayer);
    return { spatialLayer, temporalLayer };
  }

  score() {
    return {
      score: this.feedback.score,
      producerScore: this.type === 'pipe' ? 10 : 0,
      producerScores: this.consumableRtpEncodings.map(() => 0),
    };
  }

  /** The receiver's reports changed the score: 'score' as mediasoup emits it. */
  updateScore(score: number): void {
    if (this.feedback.score === score) return;
    this.feedback.score = score;
    this.#ctx.emit(this.id, 'score', this.score());
  }

  /** Simulcast: the highest active encoding not above the preferred one (else the lowest active). */
  #targetSpatialLayer(now: number): number {
    const preferred = this.preferredLayers?.spatialLayer ?? this.#maxSpatialLayer;
    for (let i = preferred; i >= 0; i--) if (this.#producer.isStreamActive(i, now)) return i;
    for (let i = preferred + 1; i <= this.#maxSpatialLayer; i++)
      if (this.#producer.isStreamActive(i, now)) return i;
    return -1;
  }

  #startsKeyFrame(source: RtpView): boolean {
    const inspect = this.#inspectPayload;
    if (inspect === undefined) return true;
    return (
      inspect(source.buf, source.payloadOffset, source.payloadLength, this.#payloadInfo) &&
      this.#payloadInfo.keyFrame
    );
  }

  /**
   * Sends one packet of the Producer (already in router payload types and extension ids). Returns
   * true when it rewrote `source` in place (the router puts the header back).
   */
  sendRtp(source: RtpView, encodingIdx: number, now: number = Date.now()): boolean {
    if (this.#closed || this.paused || this.producerPaused) return false;
    if (!this.#payloadTypes.has(source.payloadType)) return false;
    if (this.type === 'simulcast') {
      const target = this.#targetSpatialLayer(now);
      if (target !== this.#currentSpatialLayer && target >= 0) {
        // The receiver cannot decode the new layer before its key frame: keep forwarding the
        // current layer, ask for a key frame of the target (again each second), switch on it.
        if (target !== this.#pendingSpatialLayer || now - this.#pendingRequestedAt >= 1000) {
          this.#pendingSpatialLayer = target;
          this.#pendingRequestedAt = now;
          this.#producer.requestKeyFrame(target, now);
        }
        if (encodingIdx === target && this.#startsKeyFrame(source)) {
          this.#currentSpatialLayer = target;
          this.#pendingSpatialLayer = -1;
          this.#ctx.emit(this.id, 'layerschange', {
            spatialLayer: target,
            temporalLayer: this.#maxTemporalLayer,
          });
        }
      } else this.#pendingSpatialLayer = -1;
      if (encodingIdx !== this.#currentSpatialLayer) return false;
    }
    const inPlace = this.#inPlace && source.offset === 0 && source.length === source.buf.length;
    let view: RtpView;
    let packet: Buffer;
    if (inPlace) {
      view = source;
      packet = source.buf;
    } else {
      packet = Buffer.from(source.buf.subarray(source.offset, source.offset + source.length));
      view = this.#view;
      if (view.reset(packet) !== RtpError.Ok) return false;
    }
    if (this.type === 'pipe') {
      // Pipe consumers carry every encoding unchanged but for the SSRC.
      const ssrc = this.rtpParameters.encodings![encodingIdx]?.ssrc;
      if (ssrc === undefined) return false;
      view.setSsrc(ssrc);
    } else {
      if (!this.#rewriteSequence(view, now, encodingIdx)) return false;
      view.setSsrc(this.#outputSsrc);
    }
    view.remapExtensionIds(this.#extensionIds);
    this.#packets++;
    this.#bytes.add(view.length, now);
    this.#sender.sendRtp(this, packet);
    return inPlace;
  }

  /**
   * Output sequence number and timestamp, in place. The output advances by the source's gap,
   * bounded (MAX_SEQ_GAP), and continues right after the last packet sent after a pause (the
   * receiver is not to NACK what was held back); an older packet keeps its own number and does
   * not move the newest. False (nothing written) for a packet to drop: a duplicate of the
   * newest, more than MAX_SEQ_BEHIND behind it, or from before the current mapping (it would
   * reuse numbers). A dropped late packet stays a hole the receiver may NACK: the Producer's
   * store has it, readRetransmission() rebuilds it.
   */
  #rewriteSequence(view: RtpView, now: number, encodingIdx: number): boolean {
    const ssrc = view.ssrc;
    const input = view.sequenceNumber;
    if (ssrc !== this.#sourceSsrc) {
      if (this.#sourceSsrc !== -1) {
        // Switching source stream: continue right after the last packet sent.
        this.#seqOffset = (this.#lastSeq + 1 - input) & 0xffff;
        const elapsed = Math.max(1, Math.round(((now - this.#lastSentAt) * this.#clockRate) / 1000));
        this.#tsOffset = (this.#lastTs + elapsed - view.timestamp) >>> 0;
      }
      this.#sourceSsrc = ssrc;
      this.#startEpoch(input, encodingIdx);
    } else {
      const gap = seqDiff(input, this.#maxInput);
      if (gap <= 0) {
        if (gap === 0 || gap < -MAX_SEQ_BEHIND || seqDiff(input, this.#epochInput) < 0) return false;
        view.setSequenceNumber((input + this.#seqOffset) & 0xffff);
        view.setTimestamp((view.timestamp + this.#tsOffset) >>> 0);
        return true;
      }
      if (gap > MAX_SEQ_GAP || this.#resync) {
        // Same source, same timestamps; the numbers go on from the last one sent.
        this.#seqOffset = (this.#lastSeq + 1 - input) & 0xffff;
        this.#startEpoch(input, encodingIdx);
      }
    }
    this.#resync = false;
    this.#maxInput = input;
    const seq = (input + this.#seqOffset) & 0xffff;
    const ts = (view.timestamp + this.#tsOffset) >>> 0;
    view.setSequenceNumber(seq);
    view.setTimestamp(ts);
    this.#lastSeq = seq;
    this.#lastTs = ts;
    this.#lastSentAt = now;
    return true;
  }

  /** A new source-to-output mapping from source sequence number `input` on. */
  #startEpoch(input: number, encodingIdx: number): void {
    this.#epochInput = input;
    const epochs = this.#epochs;
    if (epochs.length === MAX_EPOCHS) epochs.shift();
    epochs.push({
      startSeq: (input + this.#seqOffset) & 0xffff,
      seqOffset: this.#seqOffset,
      tsOffset: this.#tsOffset,
      encodingIdx,
    });
  }

  /**
   * Rebuilds into `out` the packet this Consumer sent, or would have sent, with sequence number
   * `seq` (a hole: a late packet it dropped), from the Producer's packet store (retransmissions):
   * its length, or -1 when it is not stored, is of a payload type this Consumer does not send,
   * or `seq` is from before the mappings remembered. The store holds a packet only under its
   * exact source sequence number.
   */
  readRetransmission(seq: number, out: Buffer): number {
    const epochs = this.#epochs;
    for (let k = epochs.length - 1; k >= 0; k--) {
      const epoch = epochs[k]!;
      // The newest mapping that started at or before `seq`.
      if (((seq - epoch.startSeq) & 0xffff) >= 0x8000) continue;
      const length = this.#producer.readStoredPacket(
        epoch.encodingIdx,
        (seq - epoch.seqOffset) & 0xffff,
        out,
      );
      const view = this.#view;
      if (length < 0 || view.reset(out, 0, length) !== RtpError.Ok) return -1;
      if (!this.#payloadTypes.has(view.payloadType)) return -1;
      view.setSequenceNumber(seq);
      view.setTimestamp((view.timestamp + epoch.tsOffset) >>> 0);
      view.setSsrc(this.#outputSsrc);
      view.remapExtensionIds(this.#extensionIds);
      return length;
    }
    return -1;
  }

  /** A key frame of what this Consumer forwards: its current simulcast layer, else every stream. */
  requestKeyFrame(): void {
    const layer =
      this.type === 'simulcast' && this.#currentSpatialLayer >= 0 ? this.#currentSpatialLayer : undefined;
    this.#producer.requestKeyFrame(layer);
  }

  setProducerPaused(paused: boolean): void {
    if (this.producerPaused === paused) return;
    this.producerPaused = paused;
    if (!paused) this.#resync = true;
    this.#ctx.emit(this.id, paused ? 'producerpause' : 'producerresume');
  }

  handleRequest(method: string, data: Record<string, unknown>): unknown {
    switch (method) {
      case 'consumer.dump':
        return {
          id: this.id,
          producerId: this.producerId,
          kind: this.kind,
          type: this.type,
          rtpParameters: dumpRtpParameters(this.rtpParameters),
          consumableRtpEncodings: this.consumableRtpEncodings,
          supportedCodecPayloadTypes: [...this.#payloadTypes],
          traceEventTypes: this.#traceEventTypes,
          paused: this.paused,
          producerPaused: this.producerPaused,
          priority: this.priority,
          preferredLayers: this.preferredLayers,
        };
      case 'consumer.getStats': {
        const now = Date.now();
        const encoding = this.rtpParameters.encodings![0]!;
        const mediaCodec = this.rtpParameters.codecs.find((c) => !isRtxCodec(c));
        return [
          {
            type: 'outbound-rtp',
            timestamp: now,
            ssrc: encoding.ssrc,
            rtxSsrc: encoding.rtx?.ssrc,
            kind: this.kind,
            mimeType: canonicalMimeType(mediaCodec?.mimeType ?? ''),
            packetsLost: this.feedback.packetsLost,
            fractionLost: this.feedback.fractionLost,
            packetsDiscarded: 0,
            packetsRetransmitted: this.feedback.packetsRetransmitted,
            packetsRepaired: this.feedback.packetsRepaired,
            nackCount: this.feedback.nackCount,
            nackPacketCount: this.feedback.nackPacketCount,
            pliCount: this.feedback.pliCount,
            firCount: this.feedback.firCount,
            score: this.feedback.score,
            packetCount: this.#packets,
            byteCount: this.#bytes.total,
            bitrate: this.#bytes.rate(now),
            roundTripTime: this.feedback.roundTripTime,
          },
        ];
      }
      case 'consumer.pause':
        this.paused = true;
        return undefined;
      case 'consumer.resume':
        if (this.paused) {
          this.requestKeyFrame();
          this.#resync = true;
        }
        this.paused = false;
        return undefined;
      case 'consumer.setPreferredLayers':
        if (this.type !== 'simulcast' && this.type !== 'svc') return undefined;
        this.preferredLayers = this.#clampLayers(data as { spatialLayer: number; temporalLayer?: number });
        return this.preferredLayers;
      case 'consumer.setPriority': {
        const priority = data.priority;
        if (typeof priority !== 'number' || priority < 1) throw new TypeError('invalid priority');
        this.priority = priority;
        return { priority };
      }
      case 'consumer.requestKeyFrame':
        this.requestKeyFrame();
        return undefined;
      case 'consumer.enableTraceEvent':
        this.#traceEventTypes = ((data.types as unknown[]) ?? []).filter((t): t is string =>
          TRACE_TYPES.includes(t as string),
        );
        return undefined;
      default:
        throw new Error(`unknown method ${method}`);
    }
  }
}
