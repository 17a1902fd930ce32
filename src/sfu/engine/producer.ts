import { RtpPacketStore } from '../../media/retransmission-buffer.js';
import { buildPli } from '../../wire/rtp/rtcp.js';
import { RtpError, RtpView } from '../../wire/rtp/rtp.js';
import type { EngineContext, Handler } from './context.js';
import { canonicalMimeType, dumpRtpParameters } from './dump.js';
import { isRtxCodec } from './ortc.js';
import type { MediaKind, RtpCapabilities, RtpMapping, RtpParameters } from './rtp-parameters.js';
import { parseScalabilityMode } from './scalability-mode.js';
import { RateCounter } from './sockets.js';

const URI_AUDIO_LEVEL = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
const URI_RID = 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id';
const TRACE_TYPES = ['rtp', 'keyframe', 'nack', 'pli', 'fir', 'sr'];
/** At most one key frame request per stream in this interval (PLI storms help nobody). */
const KEY_FRAME_REQUEST_INTERVAL_MS = 200;

/**
 * RTCP feedback and loss figures of one RTP stream, as mediasoup's getStats reports them: for a
 * Producer stream what the SFU sent its sender (NACKs, key frame requests) and received from it
 * (retransmissions); for a Consumer stream what its receiver sent (NACKs, PLI, FIR, reports) and
 * the SFU re-sent. Counted by the transport's media plane.
 */
export interface RtpStreamFeedback {
  nackCount: number;
  nackPacketCount: number;
  pliCount: number;
  firCount: number;
  packetsRetransmitted: number;
  /** Retransmissions that filled a hole (Producer), or first re-sends of a packet (Consumer). */
  packetsRepaired: number;
  packetsLost: number;
  /** Of the last report interval, 0..255 (RFC 3550). */
  fractionLost: number;
  packetsDiscarded: number;
  jitter: number;
  roundTripTime: number;
  /** 0..10 from the delivered share of the last report interval (mediasoup: round(10·ratio⁴)). */
  score: number;
}

export function createRtpStreamFeedback(): RtpStreamFeedback {
  return {
    nackCount: 0,
    nackPacketCount: 0,
    pliCount: 0,
    firCount: 0,
    packetsRetransmitted: 0,
    packetsRepaired: 0,
    packetsLost: 0,
    fractionLost: 0,
    packetsDiscarded: 0,
    jitter: 0,
    roundTripTime: 0,
    score: 10,
  };
}

/** mediasoup's stream score from the fraction lost (0..255) of a report interval. */
export function scoreFromFractionLost(fractionLost: number): number {
  return Math.round((1 - fractionLost / 256) ** 4 * 10);
}

/** A Producer's per-encoding receive state. */
interface InboundStream {
  ssrc?: number;
  rid?: string;
  mappedSsrc: number;
  packets: number;
  bytes: RateCounter;
  lastPacketAt: number;
  lastKeyFrameRequestAt: number;
  /** Video: the last packets as forwarded (router ids), shared by the consumers' retransmissions. */
  store: RtpPacketStore | undefined;
  readonly feedback: RtpStreamFeedback;
}

/** Packets kept per video stream for consumers' retransmissions (2 s at 250 packets/s). */
const STORED_PACKETS = 512;

/** Who gets the packets a Producer receives: the router fans them out to Consumers and observers. */
export interface ProducerSink {
  onProducerRtp(producer: ProducerEngine, view: RtpView, encodingIdx: number, now: number): void;
  onProducerPause(producer: ProducerEngine, paused: boolean): void;
}

export interface ProducerInit {
  producerId: string;
  kind: MediaKind;
  rtpParameters: RtpParameters;
  rtpMapping: RtpMapping;
  consumableRtpParameters: RtpParameters;
  paused: boolean;
}

function producerType(params: RtpParameters): 'simple' | 'simulcast' | 'svc' {
  const encodings = params.encodings ?? [];
  if (encodings.length > 1) return 'simulcast';
  return parseScalabilityMode(encodings[0]?.scalabilityMode).spatialLayers > 1 ? 'svc' : 'simple';
}

/** Worker side of a Producer: validates its streams, maps packets to router ids, hands them to the router. */
export class ProducerEngine implements Handler {
  readonly id: string;
  readonly kind: MediaKind;
  readonly rtpParameters: RtpParameters;
  readonly rtpMapping: RtpMapping;
  readonly consumableRtpParameters: RtpParameters;
  readonly type: 'simple' | 'simulcast' | 'svc';
  paused: boolean;
  readonly streams: InboundStream[];
  /** Header extension id of the Producer's MID and RID, 0 if it has none. */
  readonly midExtensionId: number;
  readonly ridExtensionId: number;
  /** Router id of ssrc-audio-level after remapping, 0 if not negotiated. */
  readonly audioLevelExtensionId: number;
  readonly #ctx: EngineContext;
  readonly #sink: ProducerSink;
  readonly #sendRtcp: (packet: Buffer) => void;
  readonly #payloadTypes = new Map<number, number>();
  readonly #rtxPayloadTypes = new Set<number>();
  readonly #extensionIds = new Uint8Array(256);
  readonly #ssrcToStream = new Map<number, number>();
  readonly #view = new RtpView();
  #traceEventTypes: string[] = [];
  #traceRtp = false;
  #closed = false;

  constructor(
    ctx: EngineContext,
    init: ProducerInit,
    routerCapabilities: RtpCapabilities,
    sink: ProducerSink,
    sendRtcp: (packet: Buffer) => void,
  ) {
    this.#ctx = ctx;
    this.#sink = sink;
    this.#sendRtcp = sendRtcp;
    this.id = init.producerId;
    this.kind = init.kind;
    this.rtpParameters = init.rtpParameters;
    this.rtpMapping = init.rtpMapping;
    this.consumableRtpParameters = init.consumableRtpParameters;
    this.paused = init.paused;
    const params = init.rtpParameters;
    if (!params.codecs || params.codecs.length === 0) throw new TypeError('empty rtpParameters.codecs');
    if (!params.encodings || params.encodings.length === 0)
      throw new TypeError('empty rtpParameters.encodings');
    const single = params.encodings[0]!;
    if (!params.mid && params.encodings.length === 1 && !single.ssrc && !single.rid) {
      throw new TypeError(
        'missing mid and ssrc/rid in the single encoding: cannot demultiplex this Producer',
      );
    }
    this.type = producerType(params);
    for (const { payloadType, mappedPayloadType } of init.rtpMapping.codecs)
      this.#payloadTypes.set(payloadType, mappedPayloadType);
    for (const codec of params.codecs) if (isRtxCodec(codec)) this.#rtxPayloadTypes.add(codec.payloadType);
    let midId = 0;
    let ridId = 0;
    for (const ext of params.headerExtensions ?? []) {
      const routerExt = routerCapabilities.headerExtensions?.find(
        (e) => e.uri === ext.uri && e.kind === this.kind,
      );
      if (routerExt && ext.id > 0 && ext.id < 256) this.#extensionIds[ext.id] = routerExt.preferredId;
      if (ext.uri === 'urn:ietf:params:rtp-hdrext:sdes:mid') midId = ext.id;
      if (ext.uri === URI_RID) ridId = ext.id;
    }
    this.midExtensionId = midId;
    this.ridExtensionId = ridId;
    this.audioLevelExtensionId =
      routerCapabilities.headerExtensions?.find((e) => e.uri === URI_AUDIO_LEVEL && e.kind === this.kind)
        ?.preferredId ?? 0;
    this.streams = init.rtpMapping.encodings.map((e, i) => {
      const ssrc = params.encodings![i]?.ssrc;
      if (ssrc !== undefined) this.#ssrcToStream.set(ssrc, i);
      return {
        ssrc,
        rid: e.rid,
        mappedSsrc: e.mappedSsrc,
        packets: 0,
        bytes: new RateCounter(),
        lastPacketAt: 0,
        lastKeyFrameRequestAt: 0,
        store: this.kind === 'video' ? new RtpPacketStore(STORED_PACKETS) : undefined,
        feedback: createRtpStreamFeedback(),
      };
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    this.#closed = true;
  }

  /**
   * Receives one RTP packet (the buffer is rewritten in place). `storeOnly`: a repair that came
   * too late to forward (see the media plane), kept for the consumers' retransmissions only.
   */
  receiveRtp(packet: Buffer, storeOnly = false): void {
    if (this.#closed) return;
    const view = this.#view;
    if (view.reset(packet) !== RtpError.Ok) return;
    const mappedPayloadType = this.#payloadTypes.get(view.payloadType);
    if (mappedPayloadType === undefined) return;
    // Retransmissions answer NACKs, which this engine does not send yet: nothing to repair.
    if (this.#rtxPayloadTypes.has(view.payloadType)) return;
    const idx = this.#streamOf(view);
    if (idx === undefined) return;
    const stream = this.streams[idx]!;
    const now = Date.now();
    stream.packets++;
    stream.bytes.add(view.length, now);
    stream.lastPacketAt = now;
    if (stream.packets === 1) this.#emitScores();
    if (this.#traceRtp) {
      this.#ctx.emit(this.id, 'trace', {
        type: 'rtp',
        timestamp: now,
        direction: 'in',
        info: { ssrc: view.ssrc },
      });
    }
    if (this.paused) return;
    view.setSsrc(stream.mappedSsrc);
    view.setPayloadType(mappedPayloadType);
    view.remapExtensionIds(this.#extensionIds);
    stream.store?.store(view, storeOnly);
    if (!storeOnly) this.#sink.onProducerRtp(this, view, idx, now);
  }

  /** Feedback counters of the stream with this SSRC (once a packet bound it), for the media plane. */
  feedbackOf(ssrc: number): RtpStreamFeedback | undefined {
    const idx = this.#ssrcToStream.get(ssrc);
    return idx === undefined ? undefined : this.streams[idx]!.feedback;
  }

  /** Copies the stored packet `seq` of encoding `idx` (as forwarded, router ids) into `out`: its length, or -1. */
  readStoredPacket(idx: number, seq: number, out: Buffer): number {
    return this.streams[idx]?.store?.read(seq, out) ?? -1;
  }

  #streamOf(view: RtpView): number | undefined {
    const known = this.#ssrcToStream.get(view.ssrc);
    if (known !== undefined) return known;
    // First packet of an SSRC we were not told: bind it by RID, or to the only encoding.
    let idx: number | undefined;
    if (this.ridExtensionId) {
      const rid = view.readStringExtension(this.ridExtensionId);
      if (rid !== undefined) idx = this.streams.findIndex((s) => s.rid === rid);
    }
    if ((idx === undefined || idx < 0) && this.streams.length === 1 && this.streams[0]!.ssrc === undefined)
      idx = 0;
    if (idx === undefined || idx < 0) return undefined;
    this.streams[idx]!.ssrc = view.ssrc;
    this.#ssrcToStream.set(view.ssrc, idx);
    return idx;
  }

  #scores() {
    return this.streams.map((s, encodingIdx) => ({
      encodingIdx,
      ssrc: s.ssrc ?? 0,
      rid: s.rid,
      score: s.packets > 0 ? s.feedback.score : 0,
    }));
  }

  /** A stream's score changed (the media plane's receiver reports): 'score' as mediasoup emits it. */
  updateScore(feedback: RtpStreamFeedback, score: number): void {
    if (feedback.score === score) return;
    feedback.score = score;
    this.#emitScores();
  }

  #emitScores(): void {
    this.#ctx.emit(this.id, 'score', this.#scores());
  }

  /** Asks the sender for a key frame (RTCP PLI) on encoding `idx`, or on every encoding. */
  requestKeyFrame(idx?: number, now = Date.now()): void {
    if (this.#closed || this.kind !== 'video') return;
    this.streams.forEach((stream, i) => {
      if (idx !== undefined && i !== idx) return;
      if (stream.ssrc === undefined || now - stream.lastKeyFrameRequestAt < KEY_FRAME_REQUEST_INTERVAL_MS)
        return;
      stream.lastKeyFrameRequestAt = now;
      stream.feedback.pliCount++;
      this.#sendRtcp(buildPli(0, stream.ssrc));
    });
  }

  /** Whether encoding `idx` received media recently (simulcast layer selection). */
  isStreamActive(idx: number, now = Date.now()): boolean {
    const stream = this.streams[idx];
    return stream !== undefined && stream.packets > 0 && now - stream.lastPacketAt < 1500;
  }

  handleRequest(method: string, data: { types?: unknown[] }): unknown {
    switch (method) {
      case 'producer.dump':
        return {
          id: this.id,
          kind: this.kind,
          type: this.type,
          rtpParameters: dumpRtpParameters(this.rtpParameters),
          rtpMapping: this.rtpMapping,
          rtpStreams: [],
          traceEventTypes: this.#traceEventTypes,
          paused: this.paused,
        };
      case 'producer.getStats': {
        const now = Date.now();
        const mediaCodec = this.rtpParameters.codecs.find((c) => !isRtxCodec(c));
        return this.streams
          .map((s, i) => ({ s, i }))
          .filter(({ s }) => s.packets > 0)
          .map(({ s, i }) => ({
            type: 'inbound-rtp',
            timestamp: now,
            ssrc: s.ssrc,
            rtxSsrc: this.rtpParameters.encodings?.[i]?.rtx?.ssrc,
            rid: s.rid,
            kind: this.kind,
            mimeType: canonicalMimeType(mediaCodec?.mimeType ?? ''),
            packetsLost: s.feedback.packetsLost,
            fractionLost: s.feedback.fractionLost,
            packetsDiscarded: s.feedback.packetsDiscarded,
            packetsRetransmitted: s.feedback.packetsRetransmitted,
            packetsRepaired: s.feedback.packetsRepaired,
            nackCount: s.feedback.nackCount,
            nackPacketCount: s.feedback.nackPacketCount,
            pliCount: s.feedback.pliCount,
            firCount: s.feedback.firCount,
            score: s.feedback.score,
            packetCount: s.packets,
            byteCount: s.bytes.total,
            bitrate: s.bytes.rate(now),
            jitter: s.feedback.jitter,
          }));
      }
      case 'producer.pause':
        if (!this.paused) {
          this.paused = true;
          this.#sink.onProducerPause(this, true);
        }
        return undefined;
      case 'producer.resume':
        if (this.paused) {
          this.paused = false;
          this.#sink.onProducerPause(this, false);
        }
        return undefined;
      case 'producer.enableTraceEvent':
        this.#traceEventTypes = (data.types ?? []).filter((t): t is string =>
          TRACE_TYPES.includes(t as string),
        );
        this.#traceRtp = this.#traceEventTypes.includes('rtp');
        return undefined;
      default:
        throw new Error(`unknown method ${method}`);
    }
  }

  handleNotification(method: string, data: Uint8Array): void {
    if (method === 'producer.send' && data instanceof Uint8Array) {
      this.receiveRtp(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    }
  }
}
