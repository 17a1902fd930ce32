// One synthetic participant of an SFU room, speaking the signaling protocol the way the browser
// client does (docs/signaling-protocol.md, "SFU rooms"): join, getRouterRtpCapabilities, a send
// and a receive WebRtcTransport, setRtpCapabilities, produce audio and video, and resume every
// consumer the server announces. It publishes synthetic RTP (synthetic-media.ts), answers NACK
// and PLI/FIR, and keeps RFC 3550 reception statistics for every stream it receives.

import { RtpStreamRecv } from '../media/rtp-stream-recv.js';
import type { DtlsCertificate } from '../transport/dtls/index.js';
import {
  buildReceiverReport,
  PsfbFmt,
  type ReportBlock,
  RtcpReader,
  RtcpType,
  RtpfbFmt,
} from '../wire/rtp/rtcp.js';
import { RtpError, RtpView } from '../wire/rtp/rtp.js';
import { clientDtlsParameters, MediaTransport, type TransportInfo } from './media-transport.js';
import { type Notification, SignalingLink } from './signaling-link.js';
import { AudioSource, VideoSource } from './synthetic-media.js';

const URI_AUDIO_LEVEL = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
/** Header extensions a bot accepts on what it receives (Chrome's, less the BWE ones it cannot answer). */
const RECEIVE_EXTENSIONS = new Set([
  'urn:ietf:params:rtp-hdrext:sdes:mid',
  URI_AUDIO_LEVEL,
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
]);
const RECEIVER_REPORT_INTERVAL_MS = 1000;
/** Display names of publishing bots end with this, so others know whose media to wait for. */
export const PUBLISHER_SUFFIX = '#pub';

export interface BotVideoOptions {
  kbps: number;
  fps: number;
  keyFrameIntervalMs: number;
}

export interface BotOptions {
  /** Signaling WebSocket URL, e.g. ws://127.0.0.1:8080/ws. */
  url: string;
  token: string;
  /** Display name; PUBLISHER_SUFFIX is appended for publishers. */
  name: string;
  publish: boolean;
  certificate: DtlsCertificate;
  video: BotVideoOptions;
  /** Which slot of the speaking rotation this bot talks in (audio level), e.g. its index in the room. */
  speakerSlot?: number;
}

export interface CodecChoice {
  payloadType: number;
  clockRate: number;
}

interface RouterCodec {
  kind: 'audio' | 'video';
  mimeType: string;
  preferredPayloadType: number;
  clockRate: number;
  channels?: number;
  parameters?: Record<string, unknown>;
  rtcpFeedback?: { type: string; parameter?: string }[];
}
interface RouterHeaderExtension {
  kind: 'audio' | 'video';
  uri: string;
  preferredId: number;
  preferredEncrypt?: boolean;
  direction?: string;
}
interface RouterCapabilities {
  codecs: RouterCodec[];
  headerExtensions: RouterHeaderExtension[];
}

/** One stream this bot receives: a consumer of another peer's producer. */
export interface ReceivedStream {
  consumerId: string;
  peerId: string;
  kind: 'audio' | 'video';
  recv: RtpStreamRecv;
  /** Date.now() of its first packet, 0 before. */
  firstPacketAt: number;
  /**
   * Counts from before RtpStreamRecv restarted (a sequence jump of more than 3000 confirmed by
   * the next packet resets its counters, RFC 3550 §A.1), and how often that happened.
   */
  carriedPackets: number;
  carriedExpected: number;
  restarts: number;
}

/** A bot's counters at one moment; the runner diffs two of them. */
export interface BotSnapshot {
  name: string;
  room: string;
  peerId: string;
  publish: boolean;
  state: BotState;
  error?: string;
  /** WebSocket open → media from every publisher that was in the room when it joined; null until then. */
  joinMs: number | null;
  packetsSent: number;
  bytesSent: number;
  /** Media packets this bot published (first transmissions, not NACK answers), by kind. */
  audioSent: number;
  videoSent: number;
  keyFramesSent: number;
  retransmitted: number;
  srtpErrors: number;
  streams: StreamSnapshot[];
}

export interface StreamSnapshot {
  consumerId: string;
  peerId: string;
  kind: 'audio' | 'video';
  packets: number;
  bytes: number;
  expected: number;
  /** Interarrival jitter, ms. */
  jitterMs: number;
  /** Sequence jumps (> 3000) in what the SFU forwarded: should stay 0. */
  restarts: number;
}

export type BotState = 'new' | 'joining' | 'waiting' | 'connecting' | 'running' | 'closed' | 'failed';

/** One reused view for every received packet of every bot in the process. */
const view = new RtpView();
const reportBlocks: ReportBlock[] = [];

export class Bot {
  readonly name: string;
  readonly room: string;
  readonly #displayName: string;
  readonly #opts: BotOptions;
  #link: SignalingLink | undefined;
  #state: BotState = 'new';
  #error: string | undefined;
  peerId = '';
  #openedAt = 0;
  #joinMs: number | null = null;
  /** Publishers that were in the room when we joined: join time waits for their media. */
  #awaitedPeers = new Set<string>();
  #sendTransport: MediaTransport | undefined;
  #recvTransport: MediaTransport | undefined;
  #audio: AudioSource | undefined;
  #video: VideoSource | undefined;
  #nextAudioAt = 0;
  #nextVideoAt = 0;
  #nextReportAt = 0;
  readonly #streams = new Map<number, ReceivedStream>();
  readonly #byConsumer = new Map<string, ReceivedStream>();
  /** Bumped when the SFU session is torn down, so a setup in flight stops. */
  #generation = 0;
  #sfuRunning = false;
  readonly #rtcpSsrc = (Math.random() * 0xffffffff) >>> 0;
  readonly #audioSink = (buf: Buffer, length: number) => this.#sendTransport?.sendRtp(buf, length);

  constructor(room: string, opts: BotOptions) {
    this.room = room;
    this.#opts = opts;
    this.name = opts.name;
    this.#displayName = opts.publish ? `${opts.name}${PUBLISHER_SUFFIX}` : opts.name;
  }

  get state(): BotState {
    return this.#state;
  }

  /** Joins and, in an SFU room, sets up its transports and producers. Rejects on failure. */
  async start(): Promise<void> {
    this.#state = 'joining';
    try {
      const link = await SignalingLink.open(this.#opts.url);
      this.#openedAt = Date.now();
      this.#link = link;
      link.onNotification = (n) => this.#onNotification(n);
      link.onClose = () => {
        if (this.#state !== 'closed') this.#fail(new Error('signaling socket closed by the server'));
      };
      const joined = await link.request('join', { token: this.#opts.token, displayName: this.#displayName });
      this.peerId = joined.peerId;
      for (const peer of joined.peers) {
        if (peer.displayName?.endsWith(PUBLISHER_SUFFIX)) this.#awaitedPeers.add(peer.peerId);
      }
      if (joined.mode === 'sfu') await this.#startSfu();
      else this.#state = 'waiting';
    } catch (err) {
      this.#fail(err);
      throw err;
    }
  }

  /** Sends what is due at `nowMs` (audio every 20 ms, a video frame every 1/fps s) and reports. */
  tick(nowMs: number): void {
    if (this.#state !== 'running') return;
    const sink = this.#audioSink;
    if (this.#audio) {
      if (nowMs - this.#nextAudioAt > 200) this.#nextAudioAt = nowMs;
      while (this.#nextAudioAt <= nowMs) {
        this.#audio.send(sink, this.#audioLevel(nowMs));
        this.#nextAudioAt += AudioSource.PACKET_INTERVAL_MS;
      }
    }
    if (this.#video) {
      if (nowMs - this.#nextVideoAt > 200) this.#nextVideoAt = nowMs;
      while (this.#nextVideoAt <= nowMs) {
        this.#video.sendFrame(sink, nowMs);
        this.#nextVideoAt += 1000 / this.#video.fps;
      }
    }
    if (nowMs >= this.#nextReportAt) {
      this.#nextReportAt = nowMs + RECEIVER_REPORT_INTERVAL_MS;
      this.#sendReceiverReport(nowMs);
    }
  }

  snapshot(): BotSnapshot {
    const streams: StreamSnapshot[] = [];
    for (const s of this.#byConsumer.values()) {
      streams.push({
        consumerId: s.consumerId,
        peerId: s.peerId,
        kind: s.kind,
        packets: s.carriedPackets + s.recv.packetsReceived,
        bytes: s.recv.bytesReceived,
        expected: s.carriedExpected + s.recv.expected,
        jitterMs: (s.recv.jitter * 1000) / s.recv.clockRate,
        restarts: s.restarts,
      });
    }
    const send = this.#sendTransport;
    return {
      name: this.name,
      room: this.room,
      peerId: this.peerId,
      publish: this.#opts.publish,
      state: this.#state,
      ...(this.#error !== undefined ? { error: this.#error } : {}),
      joinMs: this.#joinMs,
      packetsSent: send?.packetsSent ?? 0,
      bytesSent: send?.bytesSent ?? 0,
      audioSent: this.#audio?.packetsSent ?? 0,
      videoSent: this.#video?.packetsSent ?? 0,
      keyFramesSent: this.#video?.keyFramesSent ?? 0,
      retransmitted: this.#video?.retransmitted ?? 0,
      srtpErrors: (send?.srtpErrors ?? 0) + (this.#recvTransport?.srtpErrors ?? 0),
      streams,
    };
  }

  /** Streams received so far, by consumer id. */
  get streams(): ReadonlyMap<string, ReceivedStream> {
    return this.#byConsumer;
  }

  /** Leaves the room politely and closes everything. */
  async leave(): Promise<void> {
    if (this.#state === 'closed') return;
    const link = this.#link;
    this.#state = 'closed';
    if (link && !link.closed) await link.request('leave', {}).catch(() => {});
    this.#stopSfu();
    link?.close();
  }

  /** Disappears as a crashed client does: the TCP connection and the UDP sockets just go. */
  vanish(): void {
    this.#state = 'closed';
    this.#link?.terminate();
    this.#stopSfu();
  }

  #fail(err: unknown): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    this.#state = 'failed';
    this.#error = err instanceof Error ? err.message : String(err);
    this.#stopSfu();
    this.#link?.close();
  }

  #audioLevel(nowMs: number): number {
    // Everyone takes a 3 s turn speaking (loud, voice) in an 8-slot rotation; otherwise near silence.
    const slot = Math.floor(nowMs / 3000) % 8;
    return slot === (this.#opts.speakerSlot ?? 0) % 8 ? 25 : 100;
  }

  #onNotification(n: Notification): void {
    const data = n.data;
    switch (n.method) {
      case 'newConsumer':
        this.#onNewConsumer(data).catch((err) => this.#fail(err));
        break;
      case 'consumerClosed': {
        const stream = this.#byConsumer.get(String(data.consumerId));
        if (stream) {
          this.#byConsumer.delete(stream.consumerId);
          this.#streams.delete(stream.recv.ssrc);
        }
        break;
      }
      case 'peerLeft':
        this.#awaitedPeers.delete(String(data.peerId));
        this.#checkJoined();
        break;
      case 'modeChanged':
        if (data.mode === 'sfu' && !this.#sfuRunning) this.#startSfu().catch((err) => this.#fail(err));
        else if (data.mode === 'p2p') {
          this.#stopSfu();
          this.#state = 'waiting';
        }
        break;
      case 'sfuRestart':
        this.#stopSfu();
        this.#startSfu().catch((err) => this.#fail(err));
        break;
      default:
        break;
    }
  }

  async #startSfu(): Promise<void> {
    const link = this.#link!;
    const generation = ++this.#generation;
    this.#sfuRunning = true;
    this.#state = 'connecting';
    const stale = () => generation !== this.#generation;
    const { rtpCapabilities } = (await link.request('getRouterRtpCapabilities', {})) as {
      rtpCapabilities: RouterCapabilities;
    };
    if (stale()) return;
    const opus = rtpCapabilities.codecs.find((c) => c.mimeType.toLowerCase() === 'audio/opus');
    const vp8 = rtpCapabilities.codecs.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
    if (!opus || !vp8) throw new Error('the router offers no Opus or no VP8');
    const certificate = this.#opts.certificate;
    const connecting: Promise<void>[] = [];
    const open = async (direction: 'send' | 'recv') => {
      const info = (await link.request('createWebRtcTransport', { direction })) as unknown as TransportInfo;
      const transport = new MediaTransport(info, certificate);
      // The SFU holds our DTLS records until it knows our fingerprint: connect first.
      const connected = link.request('connectWebRtcTransport', {
        transportId: info.id,
        dtlsParameters: clientDtlsParameters(certificate),
      });
      connecting.push(connected.then(() => transport.connect()));
      return transport;
    };
    if (this.#opts.publish) {
      const transport = await open('send');
      if (stale()) return transport.close();
      this.#sendTransport = transport;
      transport.onRtcp = (packet) => this.#onPublisherRtcp(packet);
    }
    const recv = await open('recv');
    if (stale()) return recv.close();
    this.#recvTransport = recv;
    recv.onRtp = (buf, length) => this.#onRtp(buf, length);
    recv.onRtcp = (packet) => this.#onReceiverRtcp(packet);
    await link.request('setRtpCapabilities', { rtpCapabilities: receiveCapabilities(rtpCapabilities) });
    if (stale()) return;
    if (this.#opts.publish) {
      const sendId = this.#sendTransport!.id;
      const audioLevel = rtpCapabilities.headerExtensions.find(
        (e) => e.kind === 'audio' && e.uri === URI_AUDIO_LEVEL,
      );
      const audio = new AudioSource({
        ssrc: randomSsrc(),
        payloadType: opus.preferredPayloadType,
        audioLevelId: audioLevel?.preferredId ?? 0,
      });
      const video = new VideoSource({
        ssrc: randomSsrc(),
        payloadType: vp8.preferredPayloadType,
        ...this.#opts.video,
      });
      const cname = `${this.name}-${this.#rtcpSsrc}`;
      await link.request('produce', {
        transportId: sendId,
        kind: 'audio',
        rtpParameters: {
          mid: '0',
          codecs: [
            {
              mimeType: opus.mimeType,
              payloadType: opus.preferredPayloadType,
              clockRate: opus.clockRate,
              channels: 2,
              parameters: { minptime: 10, useinbandfec: 1 },
              rtcpFeedback: [],
            },
          ],
          headerExtensions: audioLevel ? [{ uri: URI_AUDIO_LEVEL, id: audioLevel.preferredId }] : [],
          encodings: [{ ssrc: audio.ssrc }],
          rtcp: { cname, reducedSize: true },
        },
        appData: { source: 'mic', bot: true },
      });
      if (stale()) return;
      await link.request('produce', {
        transportId: sendId,
        kind: 'video',
        rtpParameters: {
          mid: '1',
          codecs: [
            {
              mimeType: vp8.mimeType,
              payloadType: vp8.preferredPayloadType,
              clockRate: vp8.clockRate,
              rtcpFeedback: [
                { type: 'nack' },
                { type: 'nack', parameter: 'pli' },
                { type: 'ccm', parameter: 'fir' },
              ],
            },
          ],
          headerExtensions: [],
          encodings: [{ ssrc: video.ssrc }],
          rtcp: { cname, reducedSize: true },
        },
        appData: { source: 'camera', bot: true },
      });
      if (stale()) return;
      this.#audio = audio;
      this.#video = video;
      // Spread bots' frames over the frame interval instead of all sending in the same tick.
      const now = Date.now();
      this.#nextAudioAt = now + Math.random() * AudioSource.PACKET_INTERVAL_MS;
      this.#nextVideoAt = now + Math.random() * (1000 / video.fps);
    }
    await Promise.all(connecting);
    if (stale()) return;
    this.#state = 'running';
    this.#checkJoined();
  }

  #stopSfu(): void {
    this.#generation++;
    this.#sfuRunning = false;
    this.#sendTransport?.close();
    this.#recvTransport?.close();
    this.#sendTransport = undefined;
    this.#recvTransport = undefined;
    this.#audio = undefined;
    this.#video = undefined;
    this.#streams.clear();
    this.#byConsumer.clear();
  }

  async #onNewConsumer(data: Record<string, unknown>): Promise<void> {
    const link = this.#link;
    if (!link) return;
    const consumerId = String(data.id);
    const rtp = data.rtpParameters as {
      codecs?: { clockRate?: number }[];
      encodings?: { ssrc?: number }[];
    };
    const ssrc = rtp?.encodings?.[0]?.ssrc;
    const clockRate = rtp?.codecs?.[0]?.clockRate;
    if (typeof ssrc !== 'number' || typeof clockRate !== 'number') return;
    if (!this.#byConsumer.has(consumerId)) {
      const stream: ReceivedStream = {
        consumerId,
        peerId: String(data.peerId),
        kind: data.kind === 'audio' ? 'audio' : 'video',
        recv: new RtpStreamRecv({ ssrc, clockRate }),
        firstPacketAt: 0,
        carriedPackets: 0,
        carriedExpected: 0,
        restarts: 0,
      };
      this.#byConsumer.set(consumerId, stream);
      this.#streams.set(ssrc >>> 0, stream);
    }
    await link.request('resumeConsumer', { consumerId });
  }

  #onRtp(buf: Buffer, length: number): void {
    if (view.reset(buf, 0, length) !== RtpError.Ok) return;
    const stream = this.#streams.get(view.ssrc);
    if (stream === undefined) return;
    const now = Date.now();
    const recv = stream.recv;
    const packets = recv.packetsReceived;
    const expected = recv.expected;
    recv.receive(view, now);
    if (recv.packetsReceived < packets) {
      stream.carriedPackets += packets;
      stream.carriedExpected += expected;
      stream.restarts++;
    }
    if (stream.firstPacketAt === 0) {
      stream.firstPacketAt = now;
      this.#checkJoined();
    }
  }

  /** Join time: once media of both kinds arrived from every publisher present at our join. */
  #checkJoined(): void {
    if (this.#joinMs !== null || this.#state !== 'running') return;
    for (const peerId of this.#awaitedPeers) {
      let audio = false;
      let video = false;
      for (const s of this.#byConsumer.values()) {
        if (s.peerId !== peerId || s.firstPacketAt === 0) continue;
        if (s.kind === 'audio') audio = true;
        else video = true;
      }
      if (!audio || !video) return;
    }
    this.#joinMs = Date.now() - this.#openedAt;
  }

  /** The SFU's RTCP to a publisher: NACK → retransmit, PLI/FIR → next frame is a key frame. */
  #onPublisherRtcp(packet: Buffer): void {
    const video = this.#video;
    if (!video) return;
    const reader = rtcpReader.reset(packet);
    while (reader.next()) {
      const at = reader.offset;
      const buf = reader.buf;
      if (reader.length < 12) continue;
      const mediaSsrc = buf.readUInt32BE(at + 8);
      if (reader.packetType === RtcpType.RTPFB && reader.fmt === RtpfbFmt.NACK && mediaSsrc === video.ssrc) {
        for (let i = at + 12; i + 4 <= at + reader.contentLength; i += 4) {
          const pid = buf.readUInt16BE(i);
          const blp = buf.readUInt16BE(i + 2);
          video.retransmit(this.#audioSink, pid);
          for (let b = 0; b < 16; b++)
            if (blp & (1 << b)) video.retransmit(this.#audioSink, (pid + b + 1) & 0xffff);
        }
      } else if (reader.packetType === RtcpType.PSFB) {
        if (reader.fmt === PsfbFmt.PLI && mediaSsrc === video.ssrc) video.requestKeyFrame();
        else if (
          reader.fmt === PsfbFmt.FIR &&
          reader.length >= 20 &&
          buf.readUInt32BE(at + 12) === video.ssrc
        )
          video.requestKeyFrame();
      }
    }
  }

  /** Sender Reports on the receive side feed LSR/DLSR of our receiver reports. */
  #onReceiverRtcp(packet: Buffer): void {
    const reader = rtcpReader.reset(packet);
    while (reader.next()) {
      if (reader.packetType !== RtcpType.SR || reader.length < 28) continue;
      const buf = reader.buf;
      const stream = this.#streams.get(buf.readUInt32BE(reader.offset + 4));
      stream?.recv.receiveSenderReport(
        buf.readUInt32BE(reader.offset + 8),
        buf.readUInt32BE(reader.offset + 12),
        Date.now(),
      );
    }
  }

  #sendReceiverReport(nowMs: number): void {
    const recv = this.#recvTransport;
    if (!recv?.connected || this.#streams.size === 0) return;
    reportBlocks.length = 0;
    for (const stream of this.#streams.values()) {
      if (reportBlocks.length === 31) break;
      const block: ReportBlock = {
        ssrc: 0,
        fractionLost: 0,
        packetsLost: 0,
        highestSeq: 0,
        jitter: 0,
        lastSr: 0,
        delaySinceLastSr: 0,
      };
      if (stream.recv.fillReportBlock(block, nowMs)) reportBlocks.push(block);
    }
    if (reportBlocks.length > 0)
      recv.sendRtcp(buildReceiverReport({ ssrc: this.#rtcpSsrc, reports: reportBlocks }));
  }
}

const rtcpReader = new RtcpReader();

function randomSsrc(): number {
  return (1 + Math.floor(Math.random() * 0xfffffffe)) >>> 0;
}

/** What a bot can receive: Opus and VP8 with NACK/PLI/FIR, a few header extensions, no RTX. */
function receiveCapabilities(router: RouterCapabilities): Record<string, unknown> {
  const codecs = router.codecs
    .filter((c) => ['audio/opus', 'video/vp8'].includes(c.mimeType.toLowerCase()))
    .map((c) => ({
      kind: c.kind,
      mimeType: c.mimeType,
      preferredPayloadType: c.preferredPayloadType,
      clockRate: c.clockRate,
      ...(c.channels !== undefined ? { channels: c.channels } : {}),
      parameters: c.parameters ?? {},
      rtcpFeedback: (c.rtcpFeedback ?? []).filter(
        (fb) => fb.type === 'nack' || (fb.type === 'ccm' && fb.parameter === 'fir'),
      ),
    }));
  const headerExtensions = router.headerExtensions.filter((e) => RECEIVE_EXTENSIONS.has(e.uri));
  return { codecs, headerExtensions };
}
