/** 16-bit RTP sequence number arithmetic (RFC 3550 §A.1 style, half-range comparisons). */

/** True when `a` is after `b` modulo 2^16 (within half the range). */
export function isSeqNewer(a: number, b: number): boolean {
  const diff = (a - b) & 0xffff;
  return diff !== 0 && diff < 0x8000;
}

/** Signed distance a − b in the range −32768..32767. */
export function seqDiff(a: number, b: number): number {
  return (((a - b) & 0xffff) << 16) >> 16;
}

/** True when `a` is after `b` modulo 2^32 (RTP timestamps). */
export function isTimestampNewer(a: number, b: number): boolean {
  const diff = (a - b) >>> 0;
  return diff !== 0 && diff < 0x80000000;
}
