import { createHmac } from 'node:crypto';

/** TLS 1.2 PRF (RFC 5246 §5): P_hash(secret, label + seed) with the suite's hash. */
export function prf(
  hash: string,
  secret: Uint8Array,
  label: string,
  seed: Uint8Array,
  length: number,
): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'ascii'), seed]);
  const out = Buffer.allocUnsafe(length);
  let a: Buffer = labelSeed;
  let written = 0;
  while (written < length) {
    a = createHmac(hash, secret).update(a).digest();
    const block = createHmac(hash, secret).update(a).update(labelSeed).digest();
    written += block.copy(out, written);
  }
  return out;
}
