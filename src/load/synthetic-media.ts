// What a bot publishes: an Opus-like audio stream (20 ms packets with the ssrc-audio-level
// extension) and a VP8 video stream whose frames are real VP8 (a key frame and a delta frame
// captured from Chromium's encoder, padded to the configured bitrate) with RFC 7741 payload
// descriptors. Each packet is written into one reused buffer; a NACKed video packet is rebuilt
// from a small history of what it carried.
import { VP8_DELTA_FRAME, VP8_KEY_FRAME } from './vp8-frames.js';

/** Sends one plaintext RTP packet `buf[0, length)` (the transport encrypts it). */
export type RtpSink = (buf: Buffer, length: number) => void;

/** RTP payload bytes per video packet at most (Chrome stays near 1200 bytes on the wire). */
export const MAX_VIDEO_PAYLOAD = 1100;
const VP8_DESCRIPTOR_LENGTH = 4;
const HISTORY = 1024;

export interface AudioSourceOptions {
  ssrc: number;
  payloadType: number;
  /** Header extension id of urn:ietf:params:rtp-hdrext:ssrc-audio-level; 0 = none. */
  audioLevelId: number;
  /** Opus payload bytes per packet. Default 100 (~40 kbps at 50 packets/s). */
  payloadBytes?: number;
}

/** 20 ms Opus-like packets: a CELT fullband stereo TOC byte, then filler. */
export class AudioSource {
  static readonly PACKET_INTERVAL_MS = 20;
  readonly ssrc: number;
  readonly #buf: Buffer;
  readonly #length: number;
  readonly #levelAt: number;
  #seq = Math.floor(Math.random() * 0x10000);
  #timestamp = Math.floor(Math.random() * 0x1_0000_0000);
  packetsSent = 0;

  constructor(opts: AudioSourceOptions) {
    this.ssrc = opts.ssrc >>> 0;
    const payloadBytes = opts.payloadBytes ?? 100;
    const extension = opts.audioLevelId > 0 ? 8 : 0;
    this.#length = 12 + extension + payloadBytes;
    const buf = Buffer.alloc(this.#length);
    buf[0] = extension > 0 ? 0x90 : 0x80;
    buf[1] = opts.payloadType & 0x7f;
    buf.writeUInt32BE(this.ssrc, 8);
    if (extension > 0) {
      // RFC 8285 one-byte form: 0xBEDE, one word, [id | len-1 = 0][V + level][pad][pad].
      buf.writeUInt16BE(0xbede, 12);
      buf.writeUInt16BE(1, 14);
      buf[16] = (opts.audioLevelId << 4) | 0;
    }
    this.#levelAt = extension > 0 ? 17 : -1;
    const payload = 12 + extension;
    buf[payload] = 0xfc; // TOC: config 31 (CELT FB 20 ms), stereo, one frame
    for (let i = payload + 1; i < this.#length; i++) buf[i] = (i * 97 + 13) & 0xff;
    this.#buf = buf;
  }

  /** One 20 ms packet; `level` in -dBov (0 loudest .. 127 silence), voice activity when below 60. */
  send(sink: RtpSink, level: number): void {
    const buf = this.#buf;
    buf.writeUInt16BE(this.#seq, 2);
    buf.writeUInt32BE(this.#timestamp >>> 0, 4);
    if (this.#levelAt > 0) buf[this.#levelAt] = (level < 60 ? 0x80 : 0) | (level & 0x7f);
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#timestamp = (this.#timestamp + 960) >>> 0;
    this.packetsSent++;
    sink(buf, this.#length);
  }
}

export interface VideoSourceOptions {
  ssrc: number;
  payloadType: number;
  /** Target bitrate of the RTP payloads, kbps. */
  kbps: number;
  fps: number;
  /** A key frame at least this often (besides those asked for with PLI/FIR); 0 = only when asked. */
  keyFrameIntervalMs: number;
}

/**
 * VP8 at `fps`: every frame is the captured key or delta frame, padded with zeros after the
 * frame data (the decoder ignores bytes past the last partition) to `kbps`, cut into packets of
 * at most MAX_VIDEO_PAYLOAD bytes, with a 15-bit PictureID in the payload descriptor.
 */
export class VideoSource {
  readonly ssrc: number;
  readonly fps: number;
  readonly #frameBytes: number;
  readonly #keyFrameIntervalMs: number;
  readonly #buf = Buffer.alloc(12 + VP8_DESCRIPTOR_LENGTH + MAX_VIDEO_PAYLOAD);
  #seq = Math.floor(Math.random() * 0x10000);
  #timestamp = Math.floor(Math.random() * 0x1_0000_0000);
  #pictureId = Math.floor(Math.random() * 0x8000);
  #keyFrameRequested = true;
  #lastKeyFrameAt = -Infinity;
  // What each recently sent sequence number carried, to rebuild it on NACK.
  readonly #histSeq = new Int32Array(HISTORY).fill(-1);
  readonly #histTimestamp = new Uint32Array(HISTORY);
  readonly #histPictureId = new Uint16Array(HISTORY);
  readonly #histPacket = new Uint8Array(HISTORY);
  readonly #histCount = new Uint8Array(HISTORY);
  readonly #histKey = new Uint8Array(HISTORY);
  packetsSent = 0;
  framesSent = 0;
  keyFramesSent = 0;
  retransmitted = 0;

  constructor(opts: VideoSourceOptions) {
    this.ssrc = opts.ssrc >>> 0;
    this.fps = opts.fps;
    this.#frameBytes = Math.max(1, Math.round((opts.kbps * 1000) / 8 / opts.fps));
    this.#keyFrameIntervalMs = opts.keyFrameIntervalMs;
    const buf = this.#buf;
    buf[0] = 0x80;
    buf[1] = opts.payloadType & 0x7f;
    buf.writeUInt32BE(this.ssrc, 8);
  }

  /** The next frame will be a key frame (PLI/FIR). */
  requestKeyFrame(): void {
    this.#keyFrameRequested = true;
  }

  /** Sends one frame (2 packets at 500 kbps and 30 fps). */
  sendFrame(sink: RtpSink, nowMs: number): void {
    const key =
      this.#keyFrameRequested ||
      (this.#keyFrameIntervalMs > 0 && nowMs - this.#lastKeyFrameAt >= this.#keyFrameIntervalMs);
    if (key) {
      this.#keyFrameRequested = false;
      this.#lastKeyFrameAt = nowMs;
      this.keyFramesSent++;
    }
    const frame = key ? VP8_KEY_FRAME : VP8_DELTA_FRAME;
    const count = Math.ceil(Math.max(frame.length, this.#frameBytes) / MAX_VIDEO_PAYLOAD);
    for (let i = 0; i < count; i++) {
      const slot = this.#seq % HISTORY;
      this.#histSeq[slot] = this.#seq;
      this.#histTimestamp[slot] = this.#timestamp;
      this.#histPictureId[slot] = this.#pictureId;
      this.#histPacket[slot] = i;
      this.#histCount[slot] = count;
      this.#histKey[slot] = key ? 1 : 0;
      this.#emit(sink, this.#seq, this.#timestamp, this.#pictureId, i, count, key);
      this.#seq = (this.#seq + 1) & 0xffff;
    }
    this.packetsSent += count;
    this.framesSent++;
    this.#timestamp = (this.#timestamp + Math.round(90000 / this.fps)) >>> 0;
    this.#pictureId = (this.#pictureId + 1) & 0x7fff;
  }

  /** Resends a packet we sent recently (NACK); unknown or too old sequence numbers are ignored. */
  retransmit(sink: RtpSink, seq: number): void {
    const slot = seq % HISTORY;
    if (this.#histSeq[slot] !== seq) return;
    this.retransmitted++;
    this.#emit(
      sink,
      seq,
      this.#histTimestamp[slot]!,
      this.#histPictureId[slot]!,
      this.#histPacket[slot]!,
      this.#histCount[slot]!,
      this.#histKey[slot] === 1,
    );
  }

  #emit(
    sink: RtpSink,
    seq: number,
    timestamp: number,
    pictureId: number,
    index: number,
    count: number,
    key: boolean,
  ) {
    const frame = key ? VP8_KEY_FRAME : VP8_DELTA_FRAME;
    const total = Math.max(frame.length, this.#frameBytes);
    // Even split: packet `index` carries frame bytes [from, to).
    const from = Math.floor((total * index) / count);
    const to = Math.floor((total * (index + 1)) / count);
    const buf = this.#buf;
    buf[1] = (index === count - 1 ? 0x80 : 0) | (buf[1]! & 0x7f);
    buf.writeUInt16BE(seq, 2);
    buf.writeUInt32BE(timestamp >>> 0, 4);
    // X=1, S on the first packet, PID 0; I=1; M=1 with the 15-bit PictureID.
    buf[12] = index === 0 ? 0x90 : 0x80;
    buf[13] = 0x80;
    buf[14] = 0x80 | (pictureId >> 8);
    buf[15] = pictureId & 0xff;
    const at = 12 + VP8_DESCRIPTOR_LENGTH;
    const copied = Math.max(0, Math.min(to, frame.length) - from);
    if (copied > 0) frame.copy(buf, at, from, from + copied);
    if (to - from > copied) buf.fill(0, at + copied, at + (to - from));
    sink(buf, at + (to - from));
  }
}
