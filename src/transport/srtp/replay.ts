/**
 * Sliding replay window (RFC 3711 §3.3.2) of REPLAY_WINDOW_SIZE packet indexes, kept as a ring
 * of bits addressed by index mod size, so advancing costs one bit clear per step and no shifts.
 */
export const REPLAY_WINDOW_SIZE = 128;
const MASK = REPLAY_WINDOW_SIZE - 1;

export const ReplayCheck = { Fresh: 0, Replayed: 1, TooOld: 2 } as const;
export type ReplayCheckResult = (typeof ReplayCheck)[keyof typeof ReplayCheck];

export class ReplayWindow {
  /** Highest accepted index, -1 before the first. Indexes are up to 48 bits: exact in a double. */
  highest = -1;
  private readonly bits = new Uint32Array(REPLAY_WINDOW_SIZE / 32);

  check(index: number): ReplayCheckResult {
    if (index > this.highest) return ReplayCheck.Fresh;
    if (this.highest - index >= REPLAY_WINDOW_SIZE) return ReplayCheck.TooOld;
    const slot = index & MASK;
    return this.bits[slot >>> 5]! & (1 << (slot & 31)) ? ReplayCheck.Replayed : ReplayCheck.Fresh;
  }

  /** Record an authenticated index (call only after `check` said Fresh). */
  accept(index: number): void {
    const bits = this.bits;
    if (index > this.highest) {
      const advance = this.highest < 0 ? REPLAY_WINDOW_SIZE : index - this.highest;
      if (advance >= REPLAY_WINDOW_SIZE) bits.fill(0);
      else {
        // Slots between the old highest and the new one belong to indexes never seen.
        for (let i = this.highest + 1; i < index; i++) {
          const slot = i & MASK;
          bits[slot >>> 5] = bits[slot >>> 5]! & ~(1 << (slot & 31));
        }
      }
      this.highest = index;
    }
    const slot = index & MASK;
    bits[slot >>> 5] = bits[slot >>> 5]! | (1 << (slot & 31));
  }
}
