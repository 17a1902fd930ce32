/**
 * RFC 7983 demultiplexing of one 5-tuple by the first byte of each datagram, with RFC 5761
 * RTP/RTCP separation by the second byte. Cheap enough to run on every packet.
 */

export const PacketKind = {
  Unknown: 0,
  Stun: 1,
  Dtls: 2,
  Rtp: 3,
  Rtcp: 4,
} as const;
export type PacketKind = (typeof PacketKind)[keyof typeof PacketKind];

/** Smallest STUN message: the 20-byte header. */
const STUN_HEADER_LENGTH = 20;
/** Smallest DTLS record: the 13-byte header. */
const DTLS_RECORD_HEADER_LENGTH = 13;
/** RTP fixed header; an RTCP packet is at least its 8-byte header, but no valid one is shorter than 12 with SRTCP. */
const RTP_MIN_LENGTH = 12;

/**
 * STUN 0–3 (with the magic cookie), DTLS 20–63, RTP/RTCP 128–191; RTCP when the second byte
 * (the full packet-type octet) is 192–223 (RFC 5761 §4). TURN channel data (64–79), ZRTP and
 * QUIC are Unknown here.
 */
export function classifyPacket(buf: Uint8Array): PacketKind {
  const length = buf.length;
  if (length === 0) return PacketKind.Unknown;
  const first = buf[0]!;
  if (first < 4) {
    return length >= STUN_HEADER_LENGTH &&
      buf[4] === 0x21 &&
      buf[5] === 0x12 &&
      buf[6] === 0xa4 &&
      buf[7] === 0x42
      ? PacketKind.Stun
      : PacketKind.Unknown;
  }
  if (first >= 20 && first <= 63) {
    return length >= DTLS_RECORD_HEADER_LENGTH ? PacketKind.Dtls : PacketKind.Unknown;
  }
  if (first >= 128 && first <= 191) {
    if (length < RTP_MIN_LENGTH) return PacketKind.Unknown;
    const second = buf[1]!;
    return second >= 192 && second <= 223 ? PacketKind.Rtcp : PacketKind.Rtp;
  }
  return PacketKind.Unknown;
}
