/** In-memory links between two SCTP associations: direct, or lossy/reordering with a seeded PRNG. */
import { SctpAssociation, type SctpAssociationOptions } from '../../src/transport/sctp/index.js';

/** Mulberry32: deterministic randomness so a failing run can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface LinkOptions {
  /** Probability that a packet is dropped. */
  loss?: number;
  /** Probability that a packet is held back and delivered after the next one. */
  reorder?: number;
  /** One-way delay in ms (0: next macrotask). */
  delay?: number;
  seed?: number;
  /** Drops a packet when it returns true (after loss); sees every packet each way. */
  filter?: (packet: Buffer, from: 'a' | 'b') => boolean;
}

export interface Pair {
  a: SctpAssociation;
  b: SctpAssociation;
  /** Packets carried each way (including dropped). */
  counts: { ab: number; ba: number; dropped: number };
  close(): void;
}

export function createPair(
  link: LinkOptions = {},
  optionsA: Partial<SctpAssociationOptions> = {},
  optionsB: Partial<SctpAssociationOptions> = {},
): Pair {
  const random = prng(link.seed ?? 1);
  const counts = { ab: 0, ba: 0, dropped: 0 };
  let closed = false;
  const timers = new Set<NodeJS.Timeout>();
  const held: { a?: Buffer; b?: Buffer } = {};
  const deliver = (to: SctpAssociation, packet: Buffer) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) to.handlePacket(packet);
    }, link.delay ?? 0);
    timers.add(timer);
  };
  const carry = (from: 'a' | 'b', packet: Buffer) => {
    if (closed) return;
    if (from === 'a') counts.ab++;
    else counts.ba++;
    if ((link.loss && random() < link.loss) || link.filter?.(packet, from)) {
      counts.dropped++;
      return;
    }
    const to = from === 'a' ? b : a;
    const wasHeld = held[from];
    if (link.reorder && !wasHeld && random() < link.reorder) {
      held[from] = packet;
      return;
    }
    deliver(to, packet);
    if (wasHeld) {
      held[from] = undefined;
      deliver(to, wasHeld);
    }
  };
  const a: SctpAssociation = new SctpAssociation({ ...optionsA, send: (p) => carry('a', p) });
  const b: SctpAssociation = new SctpAssociation({ ...optionsB, send: (p) => carry('b', p) });
  return {
    a,
    b,
    counts,
    close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      a.close();
      b.close();
    },
  };
}

export async function waitFor(predicate: () => boolean, timeoutMs: number, stepMs = 5): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return predicate();
}

export async function connectPair(pair: Pair, both = true, timeoutMs = 5000): Promise<void> {
  pair.a.connect();
  if (both) pair.b.connect();
  const ok = await waitFor(() => pair.a.state === 'connected' && pair.b.state === 'connected', timeoutMs);
  if (!ok) throw new Error(`not connected: a=${pair.a.state} b=${pair.b.state}`);
}
