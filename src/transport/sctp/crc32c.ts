/**
 * CRC32c (Castagnoli, reflected polynomial 0x82F63B78) as SCTP uses it (RFC 9260 appendix B),
 * slicing-by-8: eight 256-entry tables let the loop consume 8 bytes per iteration.
 */
const TABLES = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
})();

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Continues a CRC over buf[start, end); pass the previous return value (initially 0xFFFFFFFF). */
export function crc32cUpdate(crc: number, buf: Uint8Array, start: number, end: number): number {
  const t = TABLES;
  let c = crc | 0;
  let i = start;
  // Bytes up to a 4-byte boundary, then whole words read through an Int32Array view: one load
  // per 4 bytes instead of four.
  while (i < end && (buf.byteOffset + i) & 3) c = t[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  if (LITTLE_ENDIAN && end - i >= 64) {
    const words = new Int32Array(buf.buffer, buf.byteOffset + i, ((end - i) >>> 3) << 1);
    for (let w = 0; w < words.length; w += 2) {
      const lo = c ^ words[w]!;
      const hi = words[w + 1]!;
      c =
        t[1792 + (lo & 0xff)]! ^
        t[1536 + ((lo >>> 8) & 0xff)]! ^
        t[1280 + ((lo >>> 16) & 0xff)]! ^
        t[1024 + (lo >>> 24)]! ^
        t[768 + (hi & 0xff)]! ^
        t[512 + ((hi >>> 8) & 0xff)]! ^
        t[256 + ((hi >>> 16) & 0xff)]! ^
        t[hi >>> 24]!;
    }
    i += words.length * 4;
  }
  for (; i + 8 <= end; i += 8) {
    const lo = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    c =
      t[1792 + (lo & 0xff)]! ^
      t[1536 + ((lo >>> 8) & 0xff)]! ^
      t[1280 + ((lo >>> 16) & 0xff)]! ^
      t[1024 + (lo >>> 24)]! ^
      t[768 + buf[i + 4]!]! ^
      t[512 + buf[i + 5]!]! ^
      t[256 + buf[i + 6]!]! ^
      t[buf[i + 7]!]!;
  }
  for (; i < end; i++) c = t[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return c;
}

/** CRC32c of buf[start, end) (final XOR applied), unsigned. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  return ~crc32cUpdate(0xffffffff, buf, start, end) >>> 0;
}

const ZERO4 = new Uint8Array(4);

/**
 * The SCTP checksum of a packet, computed as if its checksum field (bytes 8..11) were zero,
 * without writing to the packet. Returned in the byte order SCTP stores it (little-endian value
 * read as the CRC register): write it with writeUInt32LE.
 */
export function sctpChecksum(packet: Uint8Array): number {
  let c = crc32cUpdate(0xffffffff, packet, 0, 8);
  c = crc32cUpdate(c, ZERO4, 0, 4);
  c = crc32cUpdate(c, packet, 12, packet.length);
  return ~c >>> 0;
}
