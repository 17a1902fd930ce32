/** Shared pieces of the endpoint interop tests: VP8 inspection and a libwebrtc (wrtc) sender. */
import { createRequire } from 'node:module';
import { RtpError, RtpView } from '../../src/wire/rtp/rtp.js';

const require = createRequire(import.meta.url);

// biome-ignore lint/suspicious/noExplicitAny: @roamhq/wrtc ships no types
export const wrtc: any = require('@roamhq/wrtc');

export interface Vp8Info {
  /** S bit with partition index 0: the packet starts a frame. */
  startOfFrame: boolean;
  /** A start-of-frame packet whose VP8 payload header says keyframe (P bit 0 and the start code). */
  keyframe: boolean;
}

/** Parses the VP8 payload descriptor (RFC 7741 §4.2) and the payload header (§4.3). */
export function inspectVp8(payload: Buffer): Vp8Info | undefined {
  if (payload.length < 1) return undefined;
  const b0 = payload[0]!;
  let pos = 1;
  if (b0 & 0x80) {
    if (payload.length < 2) return undefined;
    const b1 = payload[1]!;
    pos = 2;
    if (b1 & 0x80) {
      if (pos >= payload.length) return undefined;
      pos += payload[pos]! & 0x80 ? 2 : 1;
    }
    if (b1 & 0x40) pos += 1;
    if (b1 & 0x30) pos += 1;
  }
  if (pos > payload.length) return undefined;
  const startOfFrame = (b0 & 0x10) !== 0 && (b0 & 0x07) === 0;
  if (!startOfFrame || payload.length < pos + 6) return { startOfFrame, keyframe: false };
  const inverseKeyFrame = payload[pos]! & 0x01;
  const startCode = payload[pos + 3] === 0x9d && payload[pos + 4] === 0x01 && payload[pos + 5] === 0x2a;
  return { startOfFrame, keyframe: inverseKeyFrame === 0 && startCode };
}

export interface RtpSummary {
  packets: number;
  payloadTypes: Set<number>;
  ssrcs: Set<number>;
  vp8Keyframes: number;
  vp8Frames: number;
}

export function newRtpSummary(): RtpSummary {
  return { packets: 0, payloadTypes: new Set(), ssrcs: new Set(), vp8Keyframes: 0, vp8Frames: 0 };
}

const view = new RtpView();

export function recordRtp(summary: RtpSummary, packet: Buffer, vp8PayloadType: number | undefined): void {
  if (view.reset(packet) !== RtpError.Ok) return;
  summary.packets++;
  summary.payloadTypes.add(view.payloadType);
  summary.ssrcs.add(view.ssrc);
  if (view.payloadType !== vp8PayloadType) return;
  const info = inspectVp8(view.payload());
  if (info?.startOfFrame) summary.vp8Frames++;
  if (info?.keyframe) summary.vp8Keyframes++;
}

/** A wrtc RTCPeerConnection sending a synthetic I420 video track (moving gradient, 30 fps). */
export class WrtcVideoSender {
  // biome-ignore lint/suspicious/noExplicitAny: wrtc objects are untyped
  readonly pc: any;
  // biome-ignore lint/suspicious/noExplicitAny: wrtc objects are untyped
  private readonly track: any;
  private readonly timer: NodeJS.Timeout;
  private frame = 0;

  constructor(width = 320, height = 240) {
    this.pc = new wrtc.RTCPeerConnection();
    const source = new wrtc.nonstandard.RTCVideoSource();
    this.track = source.createTrack();
    this.pc.addTransceiver(this.track, { direction: 'sendonly' });
    const data = new Uint8ClampedArray(width * height * 1.5);
    this.timer = setInterval(() => {
      this.frame++;
      for (let i = 0; i < width * height; i++) data[i] = (i + this.frame * 4) & 0xff;
      data.fill(128, width * height);
      source.onFrame({ width, height, data });
    }, 33);
  }

  async offer(): Promise<string> {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    return offer.sdp as string;
  }

  async accept(answerSdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
  }

  get iceConnectionState(): string {
    return this.pc.iceConnectionState;
  }

  get connectionState(): string {
    return this.pc.connectionState;
  }

  private closed = false;

  /** Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.track.stop();
    this.pc.close();
  }
}
