import { createCipheriv, createDecipheriv, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { deriveSrtpSessionKeys, type SrtpSessionKeys } from './kdf.js';
import { SRTP_PROFILES, type SrtpProfileName, type SrtpProfileParams } from './profiles.js';
import { ReplayCheck, ReplayWindow } from './replay.js';

/** Why a packet was not protected / unprotected. Returned, never thrown. */
export const SrtpError = {
  /** Not a parsable RTP/RTCP packet, or too short to carry the tag and trailer. */
  Malformed: 1,
  /** Authentication tag did not verify (forged, corrupted, or wrong keys). */
  AuthFailed: 2,
  /** Index already accepted inside the replay window. */
  Replayed: 3,
  /** Index older than the replay window. */
  TooOld: 4,
  /** A new SSRC arrived while the context already tracks `maxSsrcs`. */
  SsrcLimit: 5,
} as const;
export type SrtpErrorCode = (typeof SrtpError)[keyof typeof SrtpError];

export type SrtpContextOptions = {
  profile: SrtpProfileName;
  /** Most SSRCs tracked (ROC, replay window, SRTCP index) at once; default 1024. */
  maxSsrcs?: number;
} & (
  | { masterKey: Buffer; masterSalt: Buffer }
  /** Already-derived session keys (known-answer tests that start from session keys, RFC 7714 §16). */
  | { sessionKeys: SrtpSessionKeys }
);

export interface SrtpCounters {
  rtpProtected: number;
  rtpUnprotected: number;
  rtcpProtected: number;
  rtcpUnprotected: number;
  malformed: number;
  authFailed: number;
  replayed: number;
  tooOld: number;
  ssrcLimit: number;
  /** Packets that verified only with ROC+1: the stream jumped more than 2^15 ahead. */
  rocResync: number;
}

const SRTCP_E_FLAG = 0x80000000;
const SRTCP_INDEX_MASK = 0x7fffffff;
const SLAB_SIZE = 256 * 1024;

/**
 * Where protect* outputs are carved from, shared by every context of the process: an SFU worker
 * holds two contexts per transport, and a slab each would cost each transport up to 256 KB of
 * memory once written. A full slab is replaced, never reused: earlier outputs (e.g. queued in a
 * socket) keep the old one alive until they are garbage.
 */
let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
let slabUsed = 0;

function allocate(length: number): Buffer {
  if (length > SLAB_SIZE / 8) return Buffer.allocUnsafe(length);
  if (slabUsed + length > SLAB_SIZE) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + length);
  slabUsed += (length + 7) & ~7;
  return out;
}

/** Per-SSRC state: RTP highest index (ROC·2^16 + s_l), replay windows, IVs with SSRC mixed in. */
class SsrcState {
  readonly rtpReplay = new ReplayWindow();
  readonly rtcpReplay = new ReplayWindow();
  /** Highest RTP index sent (sender side ROC tracking), -1 before the first. */
  rtpSendIndex = -1;
  /** Last SRTCP index sent; the first packet gets 1, as libsrtp does. */
  rtcpSendIndex = 0;
  /** Session salt XOR SSRC: only the index bytes change per packet. */
  readonly rtpIv: Buffer;
  readonly rtcpIv: Buffer;

  constructor(ssrc: number, rtpSalt: Buffer, rtcpSalt: Buffer, ivLength: number) {
    this.rtpIv = Buffer.alloc(ivLength);
    this.rtcpIv = Buffer.alloc(ivLength);
    this.setSsrc(ssrc, rtpSalt, rtcpSalt);
  }

  setSsrc(ssrc: number, rtpSalt: Buffer, rtcpSalt: Buffer): void {
    writeSaltedIv(this.rtpIv, ssrc, rtpSalt);
    writeSaltedIv(this.rtcpIv, ssrc, rtcpSalt);
  }
}

function writeSaltedIv(iv: Buffer, ssrc: number, salt: Buffer): void {
  iv.fill(0);
  salt.copy(iv, 0);
  // GCM (12-byte IV, RFC 7714 §8.1): SSRC at bytes 2..5; AES-CM (16 bytes, RFC 3711 §4.1.1): 4..7.
  const at = iv.length === 12 ? 2 : 4;
  iv.writeUInt32BE((iv.readUInt32BE(at) ^ ssrc) >>> 0, at);
}

/**
 * RFC 3711 §3.3.1 / Appendix A: the packet index closest to the highest one seen, so reordering
 * and loss bursts shorter than 2^15 packets cross the sequence wrap without losing the ROC.
 */
export function estimateSrtpIndex(highestIndex: number, seq: number): number {
  if (highestIndex < 0) return seq;
  const roc = Math.floor(highestIndex / 65536);
  const sl = highestIndex - roc * 65536;
  let v = roc;
  if (sl < 32768) {
    if (seq - sl > 32768 && roc > 0) v = roc - 1;
  } else if (sl - 32768 > seq) v = roc + 1;
  return v * 65536 + seq;
}

/** Every GCM cipher here uses the full 16-byte tag (RFC 7714 §7). */
const GCM_OPTIONS = { authTagLength: 16 } as const;

function readU32(b: Buffer, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** RTP header length (fixed + CSRCs + extension block) if it fits in `limit` bytes, else -1. */
function rtpHeaderLength(pkt: Buffer, limit: number): number {
  if (limit < 12 || pkt[0]! >> 6 !== 2) return -1;
  let len = 12 + (pkt[0]! & 0x0f) * 4;
  if (pkt[0]! & 0x10) {
    if (len + 4 > limit) return -1;
    len += 4 + ((pkt[len + 2]! << 8) | pkt[len + 3]!) * 4;
  }
  return len > limit ? -1 : len;
}

/**
 * One direction of SRTP + SRTCP (RFC 3711, RFC 7714): protect with the local master key, or
 * unprotect with the remote one. Per packet: one cipher object (GCM), or one AES-CTR cipher and
 * one HMAC (AES-CM). Outputs of protect* are carved from a slab shared by all contexts (no per-packet pool churn);
 * unprotect* decrypt in place and return a view over the input buffer.
 */
export class SrtpContext {
  readonly profile: SrtpProfileParams;
  readonly counters: SrtpCounters = {
    rtpProtected: 0,
    rtpUnprotected: 0,
    rtcpProtected: 0,
    rtcpUnprotected: 0,
    malformed: 0,
    authFailed: 0,
    replayed: 0,
    tooOld: 0,
    ssrcLimit: 0,
    rocResync: 0,
  };
  private readonly maxSsrcs: number;
  private readonly ssrcs = new Map<number, SsrcState>();
  private readonly rtpKey: KeyObject;
  private readonly rtcpKey: KeyObject;
  private readonly rtpSalt: Buffer;
  private readonly rtcpSalt: Buffer;
  private readonly rtpAuthKey: KeyObject | undefined;
  private readonly rtcpAuthKey: KeyObject | undefined;
  private readonly ivLength: number;
  /** IV scratch for an SSRC not yet tracked (state is created only after authentication). */
  private readonly scratchState: SsrcState;
  private readonly rocBytes = Buffer.alloc(4);
  private readonly rtcpAad = Buffer.alloc(12);

  constructor(options: SrtpContextOptions) {
    this.profile = SRTP_PROFILES[options.profile];
    if (!this.profile) throw new TypeError(`unknown SRTP profile ${String(options.profile)}`);
    const keys =
      'sessionKeys' in options
        ? options.sessionKeys
        : deriveSrtpSessionKeys(options.profile, options.masterKey, options.masterSalt);
    this.rtpKey = createSecretKey(keys.rtpKey);
    this.rtcpKey = createSecretKey(keys.rtcpKey);
    this.rtpSalt = keys.rtpSalt;
    this.rtcpSalt = keys.rtcpSalt;
    this.rtpAuthKey = this.profile.aead ? undefined : createSecretKey(keys.rtpAuthKey);
    this.rtcpAuthKey = this.profile.aead ? undefined : createSecretKey(keys.rtcpAuthKey);
    this.ivLength = this.profile.aead ? 12 : 16;
    this.maxSsrcs = options.maxSsrcs ?? 1024;
    if (!Number.isInteger(this.maxSsrcs) || this.maxSsrcs < 1)
      throw new TypeError('maxSsrcs must be a positive integer');
    this.scratchState = new SsrcState(0, this.rtpSalt, this.rtcpSalt, this.ivLength);
  }

  /** Number of SSRCs with state. */
  get ssrcCount(): number {
    return this.ssrcs.size;
  }

  /** Forget an SSRC (stream closed): frees its slot under `maxSsrcs`. */
  removeSsrc(ssrc: number): void {
    this.ssrcs.delete(ssrc >>> 0);
  }

  /** Highest RTP index (ROC·65536 + seq) accepted for an SSRC, or -1. For tests and stats. */
  highestRtpIndex(ssrc: number): number {
    return this.ssrcs.get(ssrc >>> 0)?.rtpReplay.highest ?? -1;
  }

  /**
   * Make the next SRTCP packet sent for `ssrc` carry `index` (1..2^31-1), e.g. to continue a
   * stream's index after re-keying. Returns false when the SSRC cannot be tracked.
   */
  setNextRtcpIndex(ssrc: number, index: number): boolean {
    const state = this.stateFor(ssrc >>> 0);
    if (state === undefined) return false;
    state.rtcpSendIndex = ((index - 1) & SRTCP_INDEX_MASK) >>> 0;
    return true;
  }

  /**
   * Encrypt and authenticate the RTP packet pkt[0, length); the input is not modified. `length`
   * lets a caller protect a packet inside a larger reused buffer without making a view.
   */
  protectRtp(pkt: Buffer, length: number = pkt.length): Buffer | SrtpErrorCode {
    if (!(length >= 0 && length <= pkt.length) || (length | 0) !== length) {
      return this.fail(SrtpError.Malformed);
    }
    const headerLength = rtpHeaderLength(pkt, length);
    if (headerLength < 0) return this.fail(SrtpError.Malformed);
    return this.seal(pkt.subarray(0, headerLength), pkt.subarray(headerLength, length));
  }

  /**
   * Protect a packet given as a complete RTP header and the payload (padding included) that
   * follows it: an SFU fanning one packet out builds each consumer's header in a small buffer and
   * encrypts straight from the shared payload, never copying the whole plaintext.
   */
  protectRtpParts(header: Buffer, payload: Buffer): Buffer | SrtpErrorCode {
    if (rtpHeaderLength(header, header.length) !== header.length) return this.fail(SrtpError.Malformed);
    return this.seal(header, payload);
  }

  private seal(header: Buffer, payload: Buffer): Buffer | SrtpErrorCode {
    const state = this.stateFor(readU32(header, 8));
    if (state === undefined) return this.fail(SrtpError.SsrcLimit);
    const index = estimateSrtpIndex(state.rtpSendIndex, (header[2]! << 8) | header[3]!);
    // A sender may resend an old packet (NACK): only a newer index moves the ROC forward.
    if (index > state.rtpSendIndex) state.rtpSendIndex = index;
    const headerLength = header.length;
    const len = headerLength + payload.length;
    const tagLength = this.profile.rtpTagLength;
    const out = allocate(len + tagLength);
    out.set(header, 0);
    const iv = this.setRtpIv(state.rtpIv, index);
    if (this.profile.aead) {
      const cipher = createCipheriv(this.profile.cipher as 'aes-128-gcm', this.rtpKey, iv, GCM_OPTIONS);
      cipher.setAAD(header);
      out.set(cipher.update(payload), headerLength);
      cipher.final();
      out.set(cipher.getAuthTag(), len);
    } else {
      const cipher = createCipheriv('aes-128-ctr', this.rtpKey, iv);
      out.set(cipher.update(payload), headerLength);
      const hmac = createHmac('sha1', this.rtpAuthKey!);
      hmac.update(out.subarray(0, len));
      hmac.update(this.rocBytesFor(index));
      hmac.digest().copy(out, len, 0, tagLength);
    }
    this.counters.rtpProtected++;
    return out;
  }

  /**
   * Verify and decrypt an SRTP packet. Decrypts IN PLACE: on success the result is a view over
   * `pkt` without the tag; on failure `pkt` is unchanged and an SrtpError code is returned.
   */
  unprotectRtp(pkt: Buffer): Buffer | SrtpErrorCode {
    const n = this.unprotectRtpInPlace(pkt);
    return n < 0 ? (-n as SrtpErrorCode) : pkt.subarray(0, n);
  }

  /**
   * unprotectRtp without creating the result view: the plaintext length (the packet is
   * pkt[0, n)), or the negated SrtpError code. For loops that reuse an RtpView over `pkt`.
   */
  unprotectRtpInPlace(pkt: Buffer): number {
    const tagLength = this.profile.rtpTagLength;
    const len = pkt.length - tagLength;
    const headerLength = rtpHeaderLength(pkt, len);
    if (headerLength < 0) return -this.fail(SrtpError.Malformed);
    const ssrc = readU32(pkt, 8);
    const known = this.ssrcs.get(ssrc);
    // Checked before decrypting: a full table must not cost crypto, and pkt stays untouched.
    if (known === undefined && this.ssrcs.size >= this.maxSsrcs) return -this.fail(SrtpError.SsrcLimit);
    const state = known ?? this.scratchFor(ssrc);
    const replay = state.rtpReplay;
    const index = estimateSrtpIndex(replay.highest, (pkt[2]! << 8) | pkt[3]!);
    const check = replay.check(index);
    let accepted = index;
    if (check !== ReplayCheck.Fresh || !this.openRtp(pkt, len, headerLength, state, index)) {
      // After more than 2^15 lost packets the estimate picks a ROC one too low (the packet then
      // looks old or fails the tag). Trying the next ROC lets the stream resume instead of being
      // lost for good; only the tag can make it pass.
      const next = index + 65536;
      if (known === undefined || !this.openRtp(pkt, len, headerLength, state, next)) {
        if (check === ReplayCheck.Replayed) return -this.fail(SrtpError.Replayed);
        return -this.fail(check === ReplayCheck.TooOld ? SrtpError.TooOld : SrtpError.AuthFailed);
      }
      accepted = next;
      this.counters.rocResync++;
    }
    if (known === undefined) this.createState(ssrc)!.rtpReplay.accept(accepted);
    else replay.accept(accepted);
    this.counters.rtpUnprotected++;
    return len;
  }

  /** Encrypt and authenticate the RTCP (compound) packet pkt[0, length); the input is not modified. */
  protectRtcp(pkt: Buffer, length: number = pkt.length): Buffer | SrtpErrorCode {
    if (!(length >= 0 && length <= pkt.length) || (length | 0) !== length)
      return this.fail(SrtpError.Malformed);
    const len = length;
    if (len < 8 || pkt[0]! >> 6 !== 2) return this.fail(SrtpError.Malformed);
    const ssrc = pkt.readUInt32BE(4);
    const state = this.stateFor(ssrc);
    if (state === undefined) return this.fail(SrtpError.SsrcLimit);
    state.rtcpSendIndex = state.rtcpSendIndex >= SRTCP_INDEX_MASK ? 1 : state.rtcpSendIndex + 1;
    const index = state.rtcpSendIndex;
    const tagLength = this.profile.rtcpTagLength;
    const out = allocate(len + 4 + tagLength);
    out.set(pkt.subarray(0, 8), 0);
    const iv = this.setRtcpIv(state.rtcpIv, index);
    const eIndex = (SRTCP_E_FLAG | index) >>> 0;
    if (this.profile.aead) {
      const aad = this.rtcpAad;
      aad.set(pkt.subarray(0, 8), 0);
      aad.writeUInt32BE(eIndex, 8);
      const cipher = createCipheriv(this.profile.cipher as 'aes-128-gcm', this.rtcpKey, iv, GCM_OPTIONS);
      cipher.setAAD(aad);
      out.set(cipher.update(pkt.subarray(8, len)), 8);
      cipher.final();
      out.set(cipher.getAuthTag(), len);
      out.writeUInt32BE(eIndex, len + 16);
    } else {
      const cipher = createCipheriv('aes-128-ctr', this.rtcpKey, iv);
      out.set(cipher.update(pkt.subarray(8, len)), 8);
      out.writeUInt32BE(eIndex, len);
      const hmac = createHmac('sha1', this.rtcpAuthKey!);
      hmac.update(out.subarray(0, len + 4));
      out.set(hmac.digest().subarray(0, tagLength), len + 4);
    }
    this.counters.rtcpProtected++;
    return out;
  }

  /** Verify and decrypt an SRTCP packet, in place (see unprotectRtp). */
  unprotectRtcp(pkt: Buffer): Buffer | SrtpErrorCode {
    const tagLength = this.profile.rtcpTagLength;
    const len = pkt.length - tagLength - 4;
    if (len < 8 || pkt[0]! >> 6 !== 2) return this.fail(SrtpError.Malformed);
    const ssrc = readU32(pkt, 4);
    const known = this.ssrcs.get(ssrc);
    if (known === undefined && this.ssrcs.size >= this.maxSsrcs) return this.fail(SrtpError.SsrcLimit);
    const state = known ?? this.scratchFor(ssrc);
    // AEAD: ... | tag | E+index. AES-CM: ... | E+index | tag.
    const trailerAt = this.profile.aead ? pkt.length - 4 : len;
    const eIndex = pkt.readUInt32BE(trailerAt);
    const index = eIndex & SRTCP_INDEX_MASK;
    const encrypted = eIndex >>> 31 === 1;
    const check = state.rtcpReplay.check(index);
    if (check !== ReplayCheck.Fresh)
      return this.fail(check === ReplayCheck.Replayed ? SrtpError.Replayed : SrtpError.TooOld);
    const iv = this.setRtcpIv(state.rtcpIv, index);
    if (this.profile.aead) {
      const decipher = createDecipheriv(this.profile.cipher as 'aes-128-gcm', this.rtcpKey, iv, GCM_OPTIONS);
      let plain: Buffer | undefined;
      if (encrypted) {
        const aad = this.rtcpAad;
        aad.set(pkt.subarray(0, 8), 0);
        aad.writeUInt32BE(eIndex, 8);
        decipher.setAAD(aad);
        decipher.setAuthTag(pkt.subarray(len, len + 16));
        plain = decipher.update(pkt.subarray(8, len));
      } else {
        // RFC 7714 §9.3: unencrypted SRTCP authenticates the whole packet plus the index.
        decipher.setAAD(pkt.subarray(0, len));
        decipher.setAAD(pkt.subarray(trailerAt));
        decipher.setAuthTag(pkt.subarray(len, len + 16));
      }
      try {
        decipher.final();
      } catch {
        return this.fail(SrtpError.AuthFailed);
      }
      if (plain !== undefined) pkt.set(plain, 8);
    } else {
      const hmac = createHmac('sha1', this.rtcpAuthKey!);
      hmac.update(pkt.subarray(0, len + 4));
      if (!tagMatches(hmac.digest(), pkt, len + 4, tagLength)) return this.fail(SrtpError.AuthFailed);
      if (encrypted) {
        const decipher = createDecipheriv('aes-128-ctr', this.rtcpKey, iv);
        pkt.set(decipher.update(pkt.subarray(8, len)), 8);
      }
    }
    if (known === undefined) this.createState(ssrc)!.rtcpReplay.accept(index);
    else state.rtcpReplay.accept(index);
    this.counters.rtcpUnprotected++;
    return pkt.subarray(0, len);
  }

  /** Authenticate and, if genuine, decrypt the payload in place for one candidate index. */
  private openRtp(pkt: Buffer, len: number, headerLength: number, state: SsrcState, index: number): boolean {
    const iv = this.setRtpIv(state.rtpIv, index);
    if (this.profile.aead) {
      const decipher = createDecipheriv(this.profile.cipher as 'aes-128-gcm', this.rtpKey, iv, GCM_OPTIONS);
      decipher.setAAD(pkt.subarray(0, headerLength));
      decipher.setAuthTag(pkt.subarray(len, len + 16));
      const plain = decipher.update(pkt.subarray(headerLength, len));
      try {
        decipher.final();
      } catch {
        return false;
      }
      pkt.set(plain, headerLength);
      return true;
    }
    const hmac = createHmac('sha1', this.rtpAuthKey!);
    hmac.update(pkt.subarray(0, len));
    hmac.update(this.rocBytesFor(index));
    if (!tagMatches(hmac.digest(), pkt, len, this.profile.rtpTagLength)) return false;
    const decipher = createDecipheriv('aes-128-ctr', this.rtpKey, iv);
    pkt.set(decipher.update(pkt.subarray(headerLength, len)), headerLength);
    return true;
  }

  /** Write the 48-bit index (ROC | SEQ) XOR salt into the per-SSRC IV. */
  private setRtpIv(iv: Buffer, index: number): Buffer {
    const roc = Math.floor(index / 65536);
    const seq = index - roc * 65536;
    // GCM: ROC at 6..9 and SEQ at 10..11; AES-CM: index at 8..13 (ROC 8..11, SEQ 12..13).
    const at = this.ivLength === 12 ? 6 : 8;
    const salt = this.rtpSalt;
    iv[at] = salt[at]! ^ (roc >>> 24);
    iv[at + 1] = salt[at + 1]! ^ (roc >>> 16);
    iv[at + 2] = salt[at + 2]! ^ (roc >>> 8);
    iv[at + 3] = salt[at + 3]! ^ roc;
    iv[at + 4] = salt[at + 4]! ^ (seq >>> 8);
    iv[at + 5] = salt[at + 5]! ^ seq;
    return iv;
  }

  /** The ROC as the 4 bytes appended to the HMAC input (RFC 3711 §4.2). */
  private rocBytesFor(index: number): Buffer {
    const roc = Math.floor(index / 65536);
    const b = this.rocBytes;
    b[0] = roc >>> 24;
    b[1] = roc >>> 16;
    b[2] = roc >>> 8;
    b[3] = roc;
    return b;
  }

  /** SRTCP index into the per-SSRC IV: GCM bytes 8..11 (RFC 7714 §9.1), AES-CM bytes 10..13. */
  private setRtcpIv(iv: Buffer, index: number): Buffer {
    const at = this.ivLength === 12 ? 8 : 10;
    iv.writeUInt32BE((this.rtcpSalt.readUInt32BE(at) ^ index) >>> 0, at);
    return iv;
  }

  private stateFor(ssrc: number): SsrcState | undefined {
    return this.ssrcs.get(ssrc) ?? this.createState(ssrc);
  }

  private scratchFor(ssrc: number): SsrcState {
    const s = this.scratchState;
    s.setSsrc(ssrc, this.rtpSalt, this.rtcpSalt);
    s.rtpReplay.highest = -1;
    s.rtcpReplay.highest = -1;
    return s;
  }

  private createState(ssrc: number): SsrcState | undefined {
    if (this.ssrcs.size >= this.maxSsrcs) return undefined;
    const state = new SsrcState(ssrc, this.rtpSalt, this.rtcpSalt, this.ivLength);
    this.ssrcs.set(ssrc, state);
    return state;
  }

  private fail(code: SrtpErrorCode): SrtpErrorCode {
    const c = this.counters;
    if (code === SrtpError.Malformed) c.malformed++;
    else if (code === SrtpError.AuthFailed) c.authFailed++;
    else if (code === SrtpError.Replayed) c.replayed++;
    else if (code === SrtpError.TooOld) c.tooOld++;
    else c.ssrcLimit++;
    return code;
  }
}

/** Constant-time comparison of the truncated HMAC with the tag at `pkt[at..at+length)`. */
function tagMatches(digest: Buffer, pkt: Buffer, at: number, length: number): boolean {
  let diff = 0;
  for (let i = 0; i < length; i++) diff |= digest[i]! ^ pkt[at + i]!;
  return diff === 0;
}
