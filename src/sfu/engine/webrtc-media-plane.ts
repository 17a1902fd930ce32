/**
 * The media plane of the SFU's WebRtcTransport: one detached WebRtcEndpoint (ICE-lite + DTLS +
 * SRTP) per transport, fed the datagrams of the engine's sockets (own or WebRtcServer-routed).
 *
 * - Decrypted RTP goes to the transport's RTP listener (Producer → router → Consumers).
 * - Consumer RTP is kept in a per-stream RetransmissionBuffer (RTX when negotiated), protected
 *   and sent on the selected tuple.
 * - RTCP from a consumer's remote side: PLI / FIR become a key frame request to the Producer
 *   (ConsumerEngine.requestKeyFrame: throttled, sent as a PLI through the Producer's transport);
 *   generic NACKs are answered from the retransmission buffer.
 * - Towards producers: RTX decapsulation, NACK generation, transport-cc feedback, receiver reports.
 *   A repair that comes more than 100 packets late is not forwarded but kept in the Producer's
 *   store; a receiver's NACK for that hole is answered from it (RetransmissionBuffer fetch mode).
 * - A video consumer stream that starts, or restarts after a silence (consumer or producer
 *   resumed), asks its Producer for a key frame so the receiver can decode at once.
 *
 * One factory per worker (one DTLS certificate shared by every transport of the worker).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { NackGenerator, NackReceived } from '../../media/nack-generator.js';
import { RetransmissionBuffer } from '../../media/retransmission-buffer.js';
import { RtpStreamRecv } from '../../media/rtp-stream-recv.js';
import { RtpStreamSend } from '../../media/rtp-stream-send.js';
import { RembSender, TransportCcGenerator } from '../../media/transport-cc.js';
import type { DtlsCertificate } from '../../transport/dtls/index.js';
import { type DtlsParameters, WebRtcEndpoint } from '../../transport/endpoint/index.js';
import type { IceTuple } from '../../transport/ice/index.js';
import {
  buildNack,
  buildReceiverReport,
  PsfbFmt,
  type ReportBlock,
  RtcpReader,
  RtcpType,
  RtpfbFmt,
} from '../../wire/rtp/rtcp.js';
import { RtpError, RtpView, rtxToOriginal } from '../../wire/rtp/rtp.js';
import type { ConsumerEngine } from './consumer.js';
import type { WebRtcMediaPlane, WebRtcMediaPlaneFactory, WebRtcMediaPlaneHost } from './media-plane.js';
import { isRtxCodec } from './ortc.js';
import { type ProducerEngine, type RtpStreamFeedback, scoreFromFractionLost } from './producer.js';
import type { TransportEngine, Tuple } from './transport.js';

/** What becomes of a producer packet (#accept): dropped, forwarded, or only stored (a late repair). */
const DROP = 0;
const FORWARD = 1;
const STORE_ONLY = 2;

/** A video consumer stream silent this long asks for a key frame when it sends again. */
const RESUME_GAP_MS = 400;

const URI_TWCC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const URI_RRID = 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id';
/** NACK retries are checked this often; transport-cc feedback and receiver reports less often. */
const TICK_MS = 40;
const TRANSPORT_CC_INTERVAL_MS = 100;
/** REMB (producers without transport-cc): often enough for the sender to ramp up in seconds. */
const REMB_INTERVAL_MS = 500;
const RECEIVER_REPORT_INTERVAL_MS = 1000;

/** A producer media stream received on this transport (by its SSRC). */
interface InboundMedia {
  rtx: false;
  producer: ProducerEngine;
  ssrc: number;
  recv: RtpStreamRecv;
  nack: NackGenerator | undefined;
  /** The Producer stream's getStats counters (found once the Producer bound the SSRC). */
  feedback: RtpStreamFeedback | undefined;
}

/** A producer's RTX stream: decapsulated here, so the Producer sees the original packet. */
interface InboundRtx {
  rtx: true;
  media: InboundMedia;
  /** RTX payload type → original payload type. */
  apt: Map<number, number>;
}

/** Per consumer stream (by its SSRC) on the sending side. */
interface OutboundStream {
  consumer: ConsumerEngine;
  video: boolean;
  buffer: RetransmissionBuffer | undefined;
  /** Counts for Sender Reports; RTT and loss from the receiver's report blocks. */
  send: RtpStreamSend;
  lastSentAt: number;
}

export interface WebRtcMediaPlaneFactoryOptions {
  certificate: DtlsCertificate;
  /** Retransmission buffer per video consumer stream (default 512 packets: 2 s at 250 packets/s). */
  retransmissionPackets?: number;
}

export interface WebRtcMediaPlaneWorkerStats {
  planes: number;
  keyFrameRequests: number;
  retransmitted: number;
}

export interface WebRtcMediaPlaneFactoryHandle {
  factory: WebRtcMediaPlaneFactory;
  stats(): WebRtcMediaPlaneWorkerStats;
}

export function createWebRtcMediaPlaneFactory(
  options: WebRtcMediaPlaneFactoryOptions,
): WebRtcMediaPlaneFactoryHandle {
  const planes = new Set<EndpointMediaPlane>();
  const counters = { keyFrameRequests: 0, retransmitted: 0 };

  /** A key frame for what this Consumer forwards (engine path: Producer → its transport's sendRtcp). */
  const requestKeyFrame = (consumer: ConsumerEngine): void => {
    counters.keyFrameRequests++;
    consumer.requestKeyFrame();
  };

  const factory: WebRtcMediaPlaneFactory = (init, host) => {
    const plane = new EndpointMediaPlane(init, host, options, requestKeyFrame, counters, () =>
      planes.delete(plane),
    );
    planes.add(plane);
    return plane;
  };
  return {
    factory,
    stats: () => ({ planes: planes.size, ...counters }),
  };
}

/** Sequence numbers a generic NACK asks for (each PID and the bits of its BLP). */
function nackedPackets(buf: Buffer, offset: number, length: number): number {
  let n = 0;
  for (let at = offset + 12; at + 4 <= offset + length; at += 4) {
    let blp = (buf[at + 2]! << 8) | buf[at + 3]!;
    n++;
    while (blp !== 0) {
      n += blp & 1;
      blp >>>= 1;
    }
  }
  return n;
}

function tupleOf(tuple: IceTuple | undefined): Tuple | undefined {
  if (!tuple) return undefined;
  return {
    localIp: tuple.localAddress,
    localAddress: tuple.localAddress,
    localPort: tuple.localPort,
    remoteIp: tuple.remoteAddress,
    remotePort: tuple.remotePort,
    protocol: tuple.protocol,
  };
}

class EndpointMediaPlane implements WebRtcMediaPlane {
  readonly endpoint: WebRtcEndpoint;
  readonly transport: TransportEngine | undefined;
  readonly #host: WebRtcMediaPlaneHost;
  readonly #requestKeyFrame: (consumer: ConsumerEngine) => void;
  readonly #counters: { keyFrameRequests: number; retransmitted: number };
  readonly #onClose: () => void;
  readonly #retransmissionPackets: number;
  readonly #outbound = new Map<number, OutboundStream | null>();
  readonly #view = new RtpView();
  readonly #reader = new RtcpReader();
  readonly #rtcpSsrc = randomBytes(4).readUInt32BE(0) || 1;
  readonly #inbound = new Map<number, InboundMedia | InboundRtx>();
  readonly #inView = new RtpView();
  /** Created when a producer negotiated transport-cc (its window is 32 KB). */
  #transportCc: TransportCcGenerator | undefined;
  #transportCcId = 0;
  #transportCcProducers = -1;
  /** Bandwidth estimate for producers that negotiated goog-remb and not transport-cc. */
  #remb: RembSender | undefined;
  readonly #rembSsrcs: number[] = [];
  readonly #timer: NodeJS.Timeout;
  #lastTransportCcAt = 0;
  #lastReportAt = 0;
  #closed = false;

  constructor(
    init: Parameters<WebRtcMediaPlaneFactory>[0],
    host: WebRtcMediaPlaneHost,
    options: WebRtcMediaPlaneFactoryOptions,
    requestKeyFrame: (consumer: ConsumerEngine) => void,
    counters: { keyFrameRequests: number; retransmitted: number },
    onClose: () => void,
  ) {
    this.#host = host;
    this.transport = host.transport;
    this.#requestKeyFrame = requestKeyFrame;
    this.#counters = counters;
    this.#onClose = onClose;
    this.#retransmissionPackets = options.retransmissionPackets ?? 512;
    const endpoint = WebRtcEndpoint.createDetached({
      iceParameters: {
        usernameFragment: init.iceParameters.usernameFragment,
        password: init.iceParameters.password,
      },
      certificate: options.certificate,
      preferredDtlsRole: init.dtlsRole,
    });
    this.endpoint = endpoint;
    endpoint.on('icestatechange', (iceState) => {
      const t = this.transport as { iceState?: string } | undefined;
      if (t && 'iceState' in t) t.iceState = iceState;
      host.emit('icestatechange', { iceState });
    });
    endpoint.on('iceselectedtuplechange', (selected) => {
      const iceSelectedTuple = tupleOf(selected);
      const t = this.transport as { iceSelectedTuple?: Tuple } | undefined;
      if (t && 'iceSelectedTuple' in t) t.iceSelectedTuple = iceSelectedTuple;
      if (iceSelectedTuple) host.emit('iceselectedtuplechange', { iceSelectedTuple });
    });
    endpoint.on('dtlsstatechange', (dtlsState) => {
      const t = this.transport as { dtlsState?: string } | undefined;
      if (t && 'dtlsState' in t) t.dtlsState = dtlsState;
      host.emit('dtlsstatechange', { dtlsState });
    });
    endpoint.onRtp = (packet) => this.#receiveRtp(packet);
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
    endpoint.onRtcp = (packet) => this.#receiveRtcp(packet);
    endpoint.onApplicationData = (data) => host.deliverApplicationData?.(data);
    const remote: DtlsParameters = {
      role:
        (['auto', 'client', 'server'] as const).find((r) => r === init.remoteDtlsParameters.role) ?? 'auto',
      fingerprints: init.remoteDtlsParameters.fingerprints,
    };
    endpoint.connect(remote);
  }

  receive(data: Buffer, tuple: Tuple, reply: (data: Buffer) => void): void {
    this.endpoint.receive(
      data,
      {
        protocol: tuple.protocol,
        localAddress: tuple.localAddress,
        localPort: tuple.localPort,
        remoteIp: tuple.remoteIp,
        remotePort: tuple.remotePort,
      },
      reply,
    );
  }

  restartIce(iceParameters: { usernameFragment: string; password: string }): void {
    this.endpoint.restartIce({
      usernameFragment: iceParameters.usernameFragment,
      password: iceParameters.password,
    });
  }

  sendRtp(packet: Buffer): void {
    const view = this.#view;
    if (view.reset(packet) !== RtpError.Ok) return;
    const ssrc = view.ssrc;
    let stream = this.#outbound.get(ssrc);
    if (stream === undefined || stream?.consumer.closed) stream = this.#bindOutbound(ssrc);
    if (stream) {
      const now = Date.now();
      if (stream.video && now - stream.lastSentAt > RESUME_GAP_MS) this.#requestKeyFrame(stream.consumer);
      stream.lastSentAt = now;
      stream.send.packetSent(view.timestamp, view.payloadLength, now);
      stream.buffer?.store(view, now);
    }
    this.endpoint.sendRtp(packet);
  }

  /** SCTP packets of the engine's association, as DTLS application data. */
  sendApplicationData(data: Buffer): boolean {
    return this.endpoint.sendApplicationData(data);
  }

  /** Plain RTCP from the engine (key frame requests for the remote's Producers). */
  sendRtcp(packet: Buffer): void {
    this.endpoint.sendRtcp(packet);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#outbound.clear();
    this.#inbound.clear();
    this.endpoint.close();
    this.#onClose();
  }

  /** Finds the consumer sending with this SSRC (once per SSRC; null when none). */
  #bindOutbound(ssrc: number): OutboundStream | null {
    let found: ConsumerEngine | undefined;
    for (const consumer of this.transport?.consumers.values() ?? []) {
      if (!consumer.closed && consumer.rtpParameters.encodings?.[0]?.ssrc === ssrc) found = consumer;
    }
    // Drop state of consumers that are gone.
    for (const [key, value] of this.#outbound) if (value?.consumer.closed) this.#outbound.delete(key);
    if (!found) {
      this.#outbound.set(ssrc, null);
      return null;
    }
    const video = found.kind === 'video';
    let buffer: RetransmissionBuffer | undefined;
    if (video) {
      const params = found.rtpParameters;
      const mediaPt = params.codecs.find((c) => !isRtxCodec(c))?.payloadType;
      const rtxCodec = params.codecs.find((c) => isRtxCodec(c) && c.parameters?.apt === mediaPt);
      const rtxSsrc = params.encodings?.[0]?.rtx?.ssrc;
      const counters = this.#counters;
      const endpoint = this.endpoint;
      const consumer = found;
      buffer = new RetransmissionBuffer({
        maxPackets: this.#retransmissionPackets,
        rtx:
          rtxCodec && rtxSsrc !== undefined
            ? { ssrc: rtxSsrc, payloadType: rtxCodec.payloadType }
            : undefined,
        // The bytes come from the Producer's packet store (one copy for all its consumers).
        fetch: (seq, out) => consumer.readRetransmission(seq, out),
        send: (buf, length) => {
          counters.retransmitted++;
          endpoint.sendRtp(buf.subarray(0, length));
        },
      });
    }
    const clockRate = found.rtpParameters.codecs.find((c) => !isRtxCodec(c))?.clockRate ?? 90000;
    const stream: OutboundStream = {
      consumer: found,
      video,
      buffer,
      send: new RtpStreamSend({ ssrc, clockRate }),
      lastSentAt: 0,
    };
    this.#outbound.set(ssrc, stream);
    return stream;
  }

  #outboundOf(ssrc: number): OutboundStream | null {
    let stream = this.#outbound.get(ssrc);
    if (stream === undefined) stream = this.#bindOutbound(ssrc);
    return stream && !stream.consumer.closed ? stream : null;
  }

  /** Decrypted RTP from the remote producer side: receive stats, NACK, transport-cc, RTX. */
  #receiveRtp(packet: Buffer): void {
    const view = this.#inView;
    if (view.reset(packet) !== RtpError.Ok) return;
    const now = performance.now();
    const transport = this.transport;
    if (transport && transport.producers.size !== this.#transportCcProducers)
      this.#findTransportCcId(transport);
    if (this.#transportCc)
      this.#transportCc.record(view.readTransportWideSeq(this.#transportCcId), now, view.ssrc);
    else if (this.#remb) this.#remb.record(packet.length, now);
    const ssrc = view.ssrc;
    const stream = this.#inbound.get(ssrc) ?? this.#bindInbound(view);
    if (stream === undefined) {
      this.#host.deliverRtp(packet);
      return;
    }
    if (!stream.rtx) {
      const verdict = this.#accept(stream, view, now, false);
      if (verdict !== DROP) this.#host.deliverRtp(packet, verdict === STORE_ONLY);
      return;
    }
    const originalPt = stream.apt.get(view.payloadType);
    if (originalPt === undefined) return;
    const media = stream.media;
    // Rewrites the packet in place (2 bytes further on) into the original one.
    if (!rtxToOriginal(view, media.ssrc, originalPt)) {
      media.recv.packetsDiscarded++;
      return;
    }
    const verdict = this.#accept(media, view, now, true);
    if (verdict === DROP) return;
    if (media.feedback) media.feedback.packetsRetransmitted++;
    this.#host.deliverRtp(view.buf.subarray(view.offset, view.offset + view.length), verdict === STORE_ONLY);
  }

  /**
   * Receive statistics and NACK state of one producer packet. DROP: stale (a duplicate, or
   * behind the newest and no longer asked for — repeated retransmissions after an overload), or
   * refused by the RFC 3550 checks (a jump not yet confirmed, or more than 100 behind on a stream
   * without NACK). STORE_ONLY: a hole still asked for, filled more than 100 behind the newest
   * (RFC 3550's MAX_MISORDER): not forwarded, but kept in the Producer's store, where a
   * receiver's NACK for it finds it.
   */
  #accept(media: InboundMedia, view: RtpView, now: number, retransmission: boolean): number {
    const nack = media.nack;
    if (nack === undefined) return media.recv.receive(view, now, retransmission) >= 0 ? FORWARD : DROP;
    const recovered = nack.recovered;
    const found = nack.received(view.sequenceNumber, now);
    if (found === NackReceived.Repaired || (found === NackReceived.Stale && nack.recovered !== recovered)) {
      // NackGenerator counts a pending hole filled as recovered, and reports it stale beyond maxMisorder.
      media.recv.receiveRepaired(view);
      return found === NackReceived.Repaired ? FORWARD : STORE_ONLY;
    }
    if (found === NackReceived.Stale) {
      media.recv.packetsDiscarded++;
      return DROP;
    }
    return media.recv.receive(view, now, retransmission) >= 0 ? FORWARD : DROP;
  }

  /** Which bandwidth feedback the producers negotiated: transport-cc, else REMB, else none. */
  #findTransportCcId(transport: TransportEngine): void {
    this.#transportCcProducers = transport.producers.size;
    let remb = false;
    for (const producer of transport.producers.values()) {
      const ext = producer.rtpParameters.headerExtensions?.find((e) => e.uri === URI_TWCC);
      if (ext) {
        this.#transportCcId = ext.id;
        this.#transportCc ??= new TransportCcGenerator({ senderSsrc: this.#rtcpSsrc });
        this.#remb = undefined;
        return;
      }
      for (const codec of producer.rtpParameters.codecs)
        if (codec.rtcpFeedback?.some((f) => f.type === 'goog-remb')) remb = true;
    }
    if (remb && !this.#remb)
      this.#remb = new RembSender({ senderSsrc: this.#rtcpSsrc, intervalMs: REMB_INTERVAL_MS });
  }

  /** Which Producer stream an SSRC is: by declared SSRC (media or RTX), by RID, by repaired RID. */
  #bindInbound(view: RtpView): InboundMedia | InboundRtx | undefined {
    const ssrc = view.ssrc;
    for (const producer of this.transport?.producers.values() ?? []) {
      const params = producer.rtpParameters;
      const encodings = params.encodings ?? [];
      for (let i = 0; i < encodings.length; i++) {
        const encoding = encodings[i]!;
        if (encoding.ssrc === ssrc) return this.#media(producer, ssrc);
        if (encoding.rtx?.ssrc === ssrc && encoding.ssrc !== undefined)
          return this.#rtx(producer, ssrc, this.#media(producer, encoding.ssrc));
      }
      for (const stream of producer.streams) if (stream.ssrc === ssrc) return this.#media(producer, ssrc);
      const rridId = params.headerExtensions?.find((e) => e.uri === URI_RRID)?.id;
      if (rridId) {
        const rid = view.readStringExtension(rridId);
        const stream = rid === undefined ? undefined : producer.streams.find((s) => s.rid === rid);
        if (stream?.ssrc !== undefined) return this.#rtx(producer, ssrc, this.#media(producer, stream.ssrc));
      }
    }
    return undefined;
  }

  #media(producer: ProducerEngine, ssrc: number): InboundMedia {
    const known = this.#inbound.get(ssrc);
    if (known && !known.rtx) return known;
    const codec = producer.rtpParameters.codecs.find((c) => !isRtxCodec(c));
    const nackable =
      producer.kind === 'video' &&
      Boolean(codec?.rtcpFeedback?.some((f) => f.type === 'nack' && !f.parameter));
    const endpoint = this.endpoint;
    const senderSsrc = this.#rtcpSsrc;
    const stream: InboundMedia = {
      rtx: false,
      producer,
      ssrc,
      recv: new RtpStreamRecv({ ssrc, clockRate: codec?.clockRate ?? 90000 }),
      nack: undefined,
      feedback: producer.feedbackOf(ssrc),
    };
    if (nackable)
      stream.nack = new NackGenerator({
        sendNack: (seqs) => {
          stream.feedback ??= producer.feedbackOf(ssrc);
          if (stream.feedback) {
            stream.feedback.nackCount++;
            stream.feedback.nackPacketCount += seqs.length;
          }
          endpoint.sendRtcp(buildNack(senderSsrc, ssrc, seqs));
        },
        requestKeyFrame: () => producer.requestKeyFrame(),
      });
    this.#inbound.set(ssrc, stream);
    return stream;
  }

  #rtx(producer: ProducerEngine, ssrc: number, media: InboundMedia): InboundRtx {
    const apt = new Map<number, number>();
    for (const codec of producer.rtpParameters.codecs) {
      const original = Number(codec.parameters?.apt);
      if (isRtxCodec(codec) && Number.isInteger(original)) apt.set(codec.payloadType, original);
    }
    const stream: InboundRtx = { rtx: true, media, apt };
    this.#inbound.set(ssrc, stream);
    return stream;
  }

  /** NACK retries; transport-cc feedback; receiver reports; forgets streams of closed producers. */
  #tick(): void {
    const now = performance.now();
    for (const [ssrc, stream] of this.#inbound) {
      const media = stream.rtx ? stream.media : stream;
      if (media.producer.closed) {
        this.#inbound.delete(ssrc);
        continue;
      }
      if (!stream.rtx) stream.nack?.tick(now);
    }
    if (now - this.#lastTransportCcAt >= TRANSPORT_CC_INTERVAL_MS) {
      this.#lastTransportCcAt = now;
      if (this.#transportCc)
        for (const feedback of this.#transportCc.buildFeedback()) this.endpoint.sendRtcp(feedback);
    }
    const remb = this.#remb;
    if (remb) {
      remb.maxBitrate = this.transport?.maxIncomingBitrate ?? 10_000_000;
      const ssrcs = this.#rembSsrcs;
      ssrcs.length = 0;
      for (const stream of this.#inbound.values()) if (!stream.rtx) ssrcs.push(stream.ssrc);
      const packet = ssrcs.length > 0 ? remb.maybeBuild(now, ssrcs) : undefined;
      if (packet) this.endpoint.sendRtcp(packet);
    }
    if (now - this.#lastReportAt >= RECEIVER_REPORT_INTERVAL_MS) {
      this.#lastReportAt = now;
      // Sender Reports for the consumer streams (RTT from the receivers' LSR/DLSR, A/V sync).
      const unixMs = Date.now();
      for (const [ssrc, stream] of this.#outbound) {
        if (!stream) continue;
        if (stream.consumer.closed) {
          this.#outbound.delete(ssrc);
          continue;
        }
        const sr = stream.send.buildSenderReport(unixMs, unixMs);
        if (sr) this.endpoint.sendRtcp(sr);
      }
      const reports: ReportBlock[] = [];
      let worstFractionLost = 0;
      for (const stream of this.#inbound.values()) {
        if (stream.rtx || reports.length === 31) continue;
        const block: ReportBlock = {
          ssrc: 0,
          fractionLost: 0,
          packetsLost: 0,
          highestSeq: 0,
          jitter: 0,
          lastSr: 0,
          delaySinceLastSr: 0,
        };
        if (!stream.recv.fillReportBlock(block, now)) continue;
        reports.push(block);
        worstFractionLost = Math.max(worstFractionLost, block.fractionLost);
        stream.feedback ??= stream.producer.feedbackOf(stream.ssrc);
        const feedback = stream.feedback;
        if (feedback) {
          feedback.packetsLost = block.packetsLost;
          feedback.fractionLost = block.fractionLost;
          feedback.jitter = block.jitter;
          feedback.packetsDiscarded = stream.recv.packetsDiscarded;
          feedback.packetsRepaired = stream.nack?.recovered ?? 0;
          stream.producer.updateScore(feedback, scoreFromFractionLost(block.fractionLost));
        }
      }
      if (this.#remb) this.#remb.lossFraction = worstFractionLost / 256;
      if (reports.length > 0) this.endpoint.sendRtcp(buildReceiverReport({ ssrc: this.#rtcpSsrc, reports }));
    }
  }

  /** Receive and NACK counters of the inbound streams (tests, benchmarks). */
  inboundStats(): { ssrc: number; received: number; lost: number; retransmitted: number; nacked: number }[] {
    const out = [];
    for (const stream of this.#inbound.values()) {
      if (stream.rtx) continue;
      out.push({
        ssrc: stream.ssrc,
        received: stream.recv.packetsReceived,
        lost: stream.recv.packetsLost,
        retransmitted: stream.recv.packetsRetransmitted,
        nacked: stream.nack?.nacksSent ?? 0,
      });
    }
    return out;
  }

  /** RTCP from the remote side: feedback about what our consumers send. */
  #receiveRtcp(packet: Buffer): void {
    const reader = this.#reader.reset(packet);
    const now = Date.now();
    while (reader.next()) {
      const { buf, offset, contentLength } = reader;
      if (reader.packetType === RtcpType.RR || reader.packetType === RtcpType.SR) {
        // Report blocks about our consumer streams: RTT for the retransmission throttle.
        const first = offset + (reader.packetType === RtcpType.SR ? 28 : 8);
        for (let i = 0, at = first; i < reader.fmt && at + 24 <= offset + contentLength; i++, at += 24) {
          const stream = this.#outbound.get(buf.readUInt32BE(at));
          if (!stream) continue;
          const rtt = stream.send.receiveReportBlock(buf, at);
          if (rtt >= 0 && stream.buffer) stream.buffer.rttMs = Math.max(10, rtt);
          const feedback = stream.consumer.feedback;
          feedback.packetsLost = stream.send.packetsLost;
          feedback.fractionLost = stream.send.fractionLost;
          if (rtt >= 0) feedback.roundTripTime = rtt;
          stream.consumer.updateScore(scoreFromFractionLost(stream.send.fractionLost));
        }
      }
      if (reader.packetType === RtcpType.SR && contentLength >= 28) {
        const stream = this.#inbound.get(buf.readUInt32BE(offset + 4));
        if (stream && !stream.rtx)
          stream.recv.receiveSenderReport(
            buf.readUInt32BE(offset + 8),
            buf.readUInt32BE(offset + 12),
            performance.now(),
          );
      } else if (reader.packetType === RtcpType.PSFB && contentLength >= 12) {
        if (reader.fmt === PsfbFmt.PLI) {
          const stream = this.#outboundOf(buf.readUInt32BE(offset + 8));
          if (stream) {
            stream.consumer.feedback.pliCount++;
            this.#requestKeyFrame(stream.consumer);
          }
        } else if (reader.fmt === PsfbFmt.FIR) {
          for (let at = offset + 12; at + 8 <= offset + contentLength; at += 8) {
            const stream = this.#outboundOf(buf.readUInt32BE(at));
            if (stream) {
              stream.consumer.feedback.firCount++;
              this.#requestKeyFrame(stream.consumer);
            }
          }
        }
      } else if (
        reader.packetType === RtcpType.RTPFB &&
        reader.fmt === RtpfbFmt.NACK &&
        contentLength >= 16
      ) {
        const stream = this.#outboundOf(buf.readUInt32BE(offset + 8));
        if (stream) {
          const feedback = stream.consumer.feedback;
          feedback.nackCount++;
          feedback.nackPacketCount += nackedPackets(buf, offset, contentLength);
          const buffer = stream.buffer;
          if (buffer) {
            buffer.handleNack(buf, offset, contentLength, now);
            feedback.packetsRetransmitted = buffer.retransmitted;
            feedback.packetsRepaired = buffer.repaired;
          }
        }
      }
    }
  }
}
