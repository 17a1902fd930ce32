/**
 * The media plane of the SFU's WebRtcTransport: one detached WebRtcEndpoint (ICE-lite + DTLS +
 * SRTP) per transport, fed the datagrams of the engine's sockets (own or WebRtcServer-routed).
 *
 * - Decrypted RTP goes to the transport's RTP listener (Producer → router → Consumers).
 * - Consumer RTP is kept in a per-stream RetransmissionBuffer (RTX when negotiated), protected
 *   and sent on the selected tuple.
 * - RTCP from a consumer's remote side: PLI / FIR become a (throttled) key frame request to the
 *   Producer, which goes out as a PLI on the Producer's transport; generic NACKs are answered
 *   from the retransmission buffer.
 * - A video consumer stream that starts, or restarts after a silence (consumer or producer
 *   resumed), asks its Producer for a key frame so the receiver can decode at once.
 *
 * One factory per worker (one DTLS certificate shared by every transport of the worker).
 */
import { randomBytes } from 'node:crypto';
import { RetransmissionBuffer } from '../../media/retransmission-buffer.js';
import type { DtlsCertificate } from '../../transport/dtls/index.js';
import { type DtlsParameters, WebRtcEndpoint } from '../../transport/endpoint/index.js';
import type { IceTuple } from '../../transport/ice/index.js';
import { buildPli, PsfbFmt, RtcpReader, RtcpType, RtpfbFmt } from '../../wire/rtp/rtcp.js';
import { RtpError, RtpView } from '../../wire/rtp/rtp.js';
import type { ConsumerEngine } from './consumer.js';
import type { WebRtcMediaPlane, WebRtcMediaPlaneFactory, WebRtcMediaPlaneHost } from './media-plane.js';
import { isRtxCodec } from './ortc.js';
import type { ProducerEngine } from './producer.js';
import type { TransportEngine, Tuple } from './transport.js';

/** Least time between two key frame requests sent to one Producer. */
const KEYFRAME_REQUEST_INTERVAL_MS = 500;
/** A video consumer stream silent this long asks for a key frame when it sends again. */
const RESUME_GAP_MS = 400;

/** Per consumer stream (by its SSRC) on the sending side. */
interface OutboundStream {
  consumer: ConsumerEngine;
  video: boolean;
  buffer: RetransmissionBuffer | undefined;
  lastSentAt: number;
}

export interface WebRtcMediaPlaneFactoryOptions {
  certificate: DtlsCertificate;
  /** Retransmission buffer per video consumer stream (default 1024 packets, 2 s). */
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
  const lastKeyFrameRequest = new WeakMap<ProducerEngine, number>();
  const counters = { keyFrameRequests: 0, retransmitted: 0 };

  /**
   * A key frame for what this Consumer forwards: through the engine's own request path when it
   * has one (ConsumerEngine.requestKeyFrame → Producer → its transport's sendRtcp), else a PLI
   * for each stream of the Producer, sent through the media plane that receives it.
   */
  const requestKeyFrame = (consumer: ConsumerEngine, now: number): void => {
    const engine = consumer as ConsumerEngine & { requestKeyFrame?: () => void };
    if (typeof engine.requestKeyFrame === 'function') {
      counters.keyFrameRequests++;
      engine.requestKeyFrame();
      return;
    }
    for (const plane of planes) {
      const producer = plane.transport?.producers.get(consumer.producerId);
      if (!producer) continue;
      const last = lastKeyFrameRequest.get(producer);
      if (last !== undefined && now - last < KEYFRAME_REQUEST_INTERVAL_MS) return;
      lastKeyFrameRequest.set(producer, now);
      counters.keyFrameRequests++;
      plane.sendPli(producer);
      return;
    }
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
  readonly #requestKeyFrame: (consumer: ConsumerEngine, now: number) => void;
  readonly #counters: { keyFrameRequests: number; retransmitted: number };
  readonly #onClose: () => void;
  readonly #retransmissionPackets: number;
  readonly #outbound = new Map<number, OutboundStream | null>();
  readonly #view = new RtpView();
  readonly #reader = new RtcpReader();
  readonly #rtcpSsrc = randomBytes(4).readUInt32BE(0) || 1;
  #closed = false;

  constructor(
    init: Parameters<WebRtcMediaPlaneFactory>[0],
    host: WebRtcMediaPlaneHost,
    options: WebRtcMediaPlaneFactoryOptions,
    requestKeyFrame: (consumer: ConsumerEngine, now: number) => void,
    counters: { keyFrameRequests: number; retransmitted: number },
    onClose: () => void,
  ) {
    this.transport = host.transport;
    this.#requestKeyFrame = requestKeyFrame;
    this.#counters = counters;
    this.#onClose = onClose;
    this.#retransmissionPackets = options.retransmissionPackets ?? 1024;
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
    endpoint.onRtp = (packet) => host.deliverRtp(packet);
    endpoint.onRtcp = (packet) => this.#receiveRtcp(packet);
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
      if (stream.video && now - stream.lastSentAt > RESUME_GAP_MS)
        this.#requestKeyFrame(stream.consumer, now);
      stream.lastSentAt = now;
      stream.buffer?.store(view, now);
    }
    this.endpoint.sendRtp(packet);
  }

  /** Plain RTCP from the engine (key frame requests for the remote's Producers). */
  sendRtcp(packet: Buffer): void {
    this.endpoint.sendRtcp(packet);
  }

  /** PLI towards the remote producer, one per stream of the Producer. */
  sendPli(producer: ProducerEngine): void {
    for (const stream of producer.streams) {
      if (stream.ssrc !== undefined) this.endpoint.sendRtcp(buildPli(this.#rtcpSsrc, stream.ssrc));
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#outbound.clear();
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
      buffer = new RetransmissionBuffer({
        maxPackets: this.#retransmissionPackets,
        rtx:
          rtxCodec && rtxSsrc !== undefined
            ? { ssrc: rtxSsrc, payloadType: rtxCodec.payloadType }
            : undefined,
        send: (buf, length) => {
          counters.retransmitted++;
          endpoint.sendRtp(buf.subarray(0, length));
        },
      });
    }
    const stream: OutboundStream = { consumer: found, video, buffer, lastSentAt: 0 };
    this.#outbound.set(ssrc, stream);
    return stream;
  }

  #outboundOf(ssrc: number): OutboundStream | null {
    let stream = this.#outbound.get(ssrc);
    if (stream === undefined) stream = this.#bindOutbound(ssrc);
    return stream && !stream.consumer.closed ? stream : null;
  }

  /** RTCP from the remote side: feedback about what our consumers send. */
  #receiveRtcp(packet: Buffer): void {
    const reader = this.#reader.reset(packet);
    const now = Date.now();
    while (reader.next()) {
      const { buf, offset, contentLength } = reader;
      if (reader.packetType === RtcpType.PSFB && contentLength >= 12) {
        if (reader.fmt === PsfbFmt.PLI) {
          const stream = this.#outboundOf(buf.readUInt32BE(offset + 8));
          if (stream) this.#requestKeyFrame(stream.consumer, now);
        } else if (reader.fmt === PsfbFmt.FIR) {
          for (let at = offset + 12; at + 8 <= offset + contentLength; at += 8) {
            const stream = this.#outboundOf(buf.readUInt32BE(at));
            if (stream) this.#requestKeyFrame(stream.consumer, now);
          }
        }
      } else if (
        reader.packetType === RtcpType.RTPFB &&
        reader.fmt === RtpfbFmt.NACK &&
        contentLength >= 16
      ) {
        const stream = this.#outboundOf(buf.readUInt32BE(offset + 8));
        stream?.buffer?.handleNack(buf, offset, contentLength, now);
      }
    }
  }
}
