import { createCipheriv, createDecipheriv } from 'node:crypto';

/** RFC 6347 §4.1 record layer: header codec, AES-GCM protection (RFC 5288), replay window. */

export const ContentType = {
  changeCipherSpec: 20,
  alert: 21,
  handshake: 22,
  applicationData: 23,
} as const;

export const DTLS_1_0 = 0xfeff;
export const DTLS_1_2 = 0xfefd;
export const RECORD_HEADER_LENGTH = 13;
/** Explicit nonce (8) + GCM tag (16). */
export const GCM_OVERHEAD = 24;
/** RFC 5246 §6.2.3: ciphertext may exceed 2^14 by at most 2048. */
export const MAX_CIPHERTEXT = 16384 + 2048;
export const MAX_PLAINTEXT = 16384;
/** Record sequence numbers are 48-bit (RFC 6347 §4.1). */
export const MAX_SEQUENCE = 2 ** 48 - 1;

export function writeRecordHeader(
  out: Buffer,
  offset: number,
  type: number,
  version: number,
  epoch: number,
  sequence: number,
  length: number,
): void {
  out[offset] = type;
  out.writeUInt16BE(version, offset + 1);
  out.writeUInt16BE(epoch, offset + 3);
  out.writeUIntBE(sequence, offset + 5, 6);
  out.writeUInt16BE(length, offset + 11);
}

/** One record in plaintext form (epoch 0), header and payload together. */
export function encodePlainRecord(
  type: number,
  epoch: number,
  sequence: number,
  payload: Uint8Array,
): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER_LENGTH + payload.length);
  writeRecordHeader(out, 0, type, DTLS_1_2, epoch, sequence, payload.length);
  out.set(payload, RECORD_HEADER_LENGTH);
  return out;
}

/**
 * AES-GCM protection for one direction pair of an epoch. Nonce = salt(4) || epoch(2) || seq(6), which
 * is unique per key because sequence numbers never repeat within an epoch; the explicit part is sent.
 * Scratch buffers for nonce and AAD are reused: records are processed one at a time.
 */
export class GcmRecordProtection {
  private readonly writeNonce = Buffer.alloc(12);
  private readonly readNonce = Buffer.alloc(12);
  private readonly aad = Buffer.alloc(13);

  constructor(
    private readonly cipher: 'aes-128-gcm' | 'aes-256-gcm',
    private readonly writeKey: Buffer,
    writeSalt: Buffer,
    private readonly readKey: Buffer,
    readSalt: Buffer,
  ) {
    writeSalt.copy(this.writeNonce, 0, 0, 4);
    readSalt.copy(this.readNonce, 0, 0, 4);
  }

  /** A complete protected record: header, explicit nonce, ciphertext, tag. */
  seal(type: number, epoch: number, sequence: number, plaintext: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(RECORD_HEADER_LENGTH + GCM_OVERHEAD + plaintext.length);
    writeRecordHeader(out, 0, type, DTLS_1_2, epoch, sequence, GCM_OVERHEAD + plaintext.length);
    // Explicit nonce = the record's epoch and sequence, already in the header at offset 3.
    out.copy(this.writeNonce, 4, 3, 11);
    out.copy(out, RECORD_HEADER_LENGTH, 3, 11);
    out.copy(this.aad, 0, 3, 11);
    this.aad[8] = type;
    this.aad.writeUInt16BE(DTLS_1_2, 9);
    this.aad.writeUInt16BE(plaintext.length, 11);
    const c = createCipheriv(this.cipher, this.writeKey, this.writeNonce);
    c.setAAD(this.aad);
    const body = c.update(plaintext);
    body.copy(out, RECORD_HEADER_LENGTH + 8);
    c.final();
    c.getAuthTag().copy(out, RECORD_HEADER_LENGTH + 8 + plaintext.length);
    return out;
  }

  /** The plaintext, or undefined when the record fails authentication (to be dropped silently). */
  open(type: number, version: number, epoch: number, sequence: number, fragment: Buffer): Buffer | undefined {
    if (fragment.length < GCM_OVERHEAD) return undefined;
    const plainLength = fragment.length - GCM_OVERHEAD;
    fragment.copy(this.readNonce, 4, 0, 8);
    this.aad.writeUInt16BE(epoch, 0);
    this.aad.writeUIntBE(sequence, 2, 6);
    this.aad[8] = type;
    this.aad.writeUInt16BE(version, 9);
    this.aad.writeUInt16BE(plainLength, 11);
    try {
      const d = createDecipheriv(this.cipher, this.readKey, this.readNonce);
      d.setAAD(this.aad);
      d.setAuthTag(fragment.subarray(8 + plainLength));
      const plain = d.update(fragment.subarray(8, 8 + plainLength));
      d.final();
      return plain;
    } catch {
      return undefined;
    }
  }
}

/** RFC 6347 §4.1.2.6 anti-replay window of 64 records. */
export class ReplayWindow {
  private static readonly SIZE = 64;
  private readonly seen = new Uint8Array(ReplayWindow.SIZE);
  private highest = -1;

  /** True when sequence is new (not yet marked and not older than the window). */
  isFresh(sequence: number): boolean {
    if (sequence > this.highest) return true;
    if (sequence <= this.highest - ReplayWindow.SIZE) return false;
    return this.seen[sequence % ReplayWindow.SIZE] === 0;
  }

  /** Call only after the record authenticated. */
  mark(sequence: number): void {
    if (sequence > this.highest) {
      const advance = Math.min(sequence - this.highest, ReplayWindow.SIZE);
      for (let i = 0; i < advance; i++) this.seen[(sequence - i) % ReplayWindow.SIZE] = 0;
      this.highest = sequence;
    }
    this.seen[sequence % ReplayWindow.SIZE] = 1;
  }
}
