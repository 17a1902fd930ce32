import { createCipheriv } from 'node:crypto';
import { SRTP_PROFILES, type SrtpProfileName } from './profiles.js';

/** RFC 3711 §4.3.1 key derivation labels. */
export const KdfLabel = {
  RtpEncryption: 0x00,
  RtpAuth: 0x01,
  RtpSalt: 0x02,
  RtcpEncryption: 0x03,
  RtcpAuth: 0x04,
  RtcpSalt: 0x05,
} as const;

/**
 * The AES-CM PRF with key derivation rate 0: x = label·2^48 XOR master_salt, output the AES-CTR
 * keystream from IV x·2^16. AES-256 profiles use AES-256 as the PRF (RFC 6188). 96-bit GCM
 * salts are padded with zeros on the right to 112 bits, as libsrtp and browsers do.
 */
export function srtpKdf(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  if (masterSalt.length > 14) throw new TypeError('master salt longer than 112 bits');
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0);
  iv[7] = iv[7]! ^ label;
  const algorithm = masterKey.length === 32 ? 'aes-256-ctr' : 'aes-128-ctr';
  const cipher = createCipheriv(algorithm, masterKey, iv);
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

export interface SrtpSessionKeys {
  rtpKey: Buffer;
  rtpSalt: Buffer;
  /** HMAC-SHA1 key (empty for AEAD profiles). */
  rtpAuthKey: Buffer;
  rtcpKey: Buffer;
  rtcpSalt: Buffer;
  rtcpAuthKey: Buffer;
}

/** Derive the six session keys of one direction from its master key and salt. */
export function deriveSrtpSessionKeys(
  profile: SrtpProfileName,
  masterKey: Buffer,
  masterSalt: Buffer,
): SrtpSessionKeys {
  const p = SRTP_PROFILES[profile];
  if (masterKey.length !== p.keyLength)
    throw new TypeError(`${profile} master key must be ${p.keyLength} bytes`);
  if (masterSalt.length !== p.saltLength) {
    throw new TypeError(`${profile} master salt must be ${p.saltLength} bytes`);
  }
  const authLength = p.aead ? 0 : 20;
  return {
    rtpKey: srtpKdf(masterKey, masterSalt, KdfLabel.RtpEncryption, p.keyLength),
    rtpSalt: srtpKdf(masterKey, masterSalt, KdfLabel.RtpSalt, p.saltLength),
    rtpAuthKey: srtpKdf(masterKey, masterSalt, KdfLabel.RtpAuth, authLength),
    rtcpKey: srtpKdf(masterKey, masterSalt, KdfLabel.RtcpEncryption, p.keyLength),
    rtcpSalt: srtpKdf(masterKey, masterSalt, KdfLabel.RtcpSalt, p.saltLength),
    rtcpAuthKey: srtpKdf(masterKey, masterSalt, KdfLabel.RtcpAuth, authLength),
  };
}
