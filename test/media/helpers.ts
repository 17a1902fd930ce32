/** Packet builders shared by the media tests. */
import { buildRtpPacket, RtpError, type RtpExtensionValue, RtpView } from '../../src/wire/rtp/rtp.js';

export function rtp(
  seq: number,
  ts: number,
  options: {
    ssrc?: number;
    pt?: number;
    payload?: Buffer;
    extensions?: RtpExtensionValue[];
    marker?: boolean;
  } = {},
): Buffer {
  return buildRtpPacket(
    {
      payloadType: options.pt ?? 96,
      sequenceNumber: seq & 0xffff,
      timestamp: ts >>> 0,
      ssrc: options.ssrc ?? 0x1111,
      marker: options.marker ?? false,
      extensions: options.extensions ?? [],
    },
    options.payload ?? Buffer.from([1, 2, 3, 4]),
  );
}

export function viewOf(packet: Buffer): RtpView {
  const view = new RtpView();
  if (view.reset(packet) !== RtpError.Ok) throw new Error('test packet is not valid RTP');
  return view;
}

/** A VP8 payload: descriptor with 15-bit PictureID, TL0PICIDX and TID/Y, then a frame. */
export function vp8Payload(options: {
  start: boolean;
  keyFrame?: boolean;
  pictureId?: number;
  tl0?: number;
  tid?: number;
  sync?: boolean;
  width?: number;
  height?: number;
}): Buffer {
  const d = [0x80 | (options.start ? 0x10 : 0), 0x80 | 0x40 | 0x20];
  const pid = options.pictureId ?? 0;
  d.push(
    0x80 | ((pid >> 8) & 0x7f),
    pid & 0xff,
    options.tl0 ?? 0,
    ((options.tid ?? 0) << 6) | (options.sync ? 0x20 : 0),
  );
  let frame: number[];
  if (options.start && options.keyFrame) {
    const w = options.width ?? 640;
    const h = options.height ?? 480;
    frame = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, w & 0xff, w >> 8, h & 0xff, h >> 8, 0, 0];
  } else frame = [0x01, 0x02, 0x03, 0x04];
  return Buffer.from([...d, ...frame]);
}
