/** TURN ChannelData framing (RFC 8656 §12.4). */

export const CHANNEL_MIN = 0x4000;
export const CHANNEL_MAX = 0x4fff;

/** RFC 7983 demux: ChannelData starts with 0x40..0x4F (64..79). */
export function isChannelData(buf: Uint8Array): boolean {
  return buf.length >= 4 && (buf[0]! & 0xf0) === 0x40;
}

/**
 * Length of the ChannelData message's payload, or -1 when buf does not hold a whole one.
 * Over UDP the datagram may carry padding, so only payload ≤ buffer is required.
 */
export function channelDataLength(buf: Uint8Array): number {
  if (buf.length < 4) return -1;
  const len = (buf[2]! << 8) | buf[3]!;
  return 4 + len <= buf.length ? len : -1;
}

/** For streams: bytes the ChannelData frame at buf[0] occupies including padding to 4, or 0 if unknown. */
export function channelDataFrameLength(buf: Uint8Array): number {
  if (buf.length < 4) return 0;
  return 4 + ((((buf[2]! << 8) | buf[3]!) + 3) & ~3);
}

/** Writes the 4-byte ChannelData header into out at offset. */
export function writeChannelDataHeader(
  out: Uint8Array,
  offset: number,
  channel: number,
  length: number,
): void {
  out[offset] = channel >> 8;
  out[offset + 1] = channel & 0xff;
  out[offset + 2] = length >> 8;
  out[offset + 3] = length & 0xff;
}
