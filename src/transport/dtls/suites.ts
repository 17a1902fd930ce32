/** Cipher suites, groups, signature schemes and SRTP profiles that this DTLS 1.2 stack speaks. */
import type { CertificateKeyType } from './certificate.js';

export interface CipherSuite {
  id: number;
  name: string;
  keyType: CertificateKeyType;
  /** PRF and transcript hash. */
  hash: 'sha256' | 'sha384';
  cipher: 'aes-128-gcm' | 'aes-256-gcm';
  keyLength: 16 | 32;
}

/** Our preference order: AES-128 first (cheapest), ECDSA before RSA. */
export const CIPHER_SUITES: readonly CipherSuite[] = [
  {
    id: 0xc02b,
    name: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
    keyType: 'ecdsa',
    hash: 'sha256',
    cipher: 'aes-128-gcm',
    keyLength: 16,
  },
  {
    id: 0xc02c,
    name: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
    keyType: 'ecdsa',
    hash: 'sha384',
    cipher: 'aes-256-gcm',
    keyLength: 32,
  },
  {
    id: 0xc02f,
    name: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    keyType: 'rsa',
    hash: 'sha256',
    cipher: 'aes-128-gcm',
    keyLength: 16,
  },
  {
    id: 0xc030,
    name: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
    keyType: 'rsa',
    hash: 'sha384',
    cipher: 'aes-256-gcm',
    keyLength: 32,
  },
];

export const cipherSuiteById = (id: number): CipherSuite | undefined =>
  CIPHER_SUITES.find((s) => s.id === id);

export const NamedGroup = { x25519: 29, secp256r1: 23 } as const;
/** Our preference order for ECDHE. */
export const SUPPORTED_GROUPS: readonly number[] = [NamedGroup.x25519, NamedGroup.secp256r1];

export interface SignatureScheme {
  id: number;
  keyType: CertificateKeyType;
  hash: 'sha256' | 'sha384' | 'sha512';
  pss: boolean;
}

/** Our preference order (RFC 5246 §7.4.1.4.1 pairs and RFC 8446 rsa_pss_rsae codes, valid in 1.2). */
export const SIGNATURE_SCHEMES: readonly SignatureScheme[] = [
  { id: 0x0403, keyType: 'ecdsa', hash: 'sha256', pss: false },
  { id: 0x0503, keyType: 'ecdsa', hash: 'sha384', pss: false },
  { id: 0x0603, keyType: 'ecdsa', hash: 'sha512', pss: false },
  { id: 0x0804, keyType: 'rsa', hash: 'sha256', pss: true },
  { id: 0x0805, keyType: 'rsa', hash: 'sha384', pss: true },
  { id: 0x0806, keyType: 'rsa', hash: 'sha512', pss: true },
  { id: 0x0401, keyType: 'rsa', hash: 'sha256', pss: false },
  { id: 0x0501, keyType: 'rsa', hash: 'sha384', pss: false },
  { id: 0x0601, keyType: 'rsa', hash: 'sha512', pss: false },
];

export const signatureSchemeById = (id: number): SignatureScheme | undefined =>
  SIGNATURE_SCHEMES.find((s) => s.id === id);

/** The first of our schemes for keyType that the peer offered. */
export function pickSignatureScheme(
  keyType: CertificateKeyType,
  offered: readonly number[],
): SignatureScheme | undefined {
  return SIGNATURE_SCHEMES.find((s) => s.keyType === keyType && offered.includes(s.id));
}

export type SrtpProfileName =
  | 'SRTP_AEAD_AES_128_GCM'
  | 'SRTP_AEAD_AES_256_GCM'
  | 'SRTP_AES128_CM_HMAC_SHA1_80'
  | 'SRTP_AES128_CM_HMAC_SHA1_32';

export interface SrtpProfile {
  id: number;
  name: SrtpProfileName;
  keyLength: number;
  saltLength: number;
}

/** RFC 5764 §4.1.2 and RFC 7714 §14.2; default preference: AEAD_AES_128_GCM first (cheapest). */
export const SRTP_PROFILES: readonly SrtpProfile[] = [
  { id: 0x0007, name: 'SRTP_AEAD_AES_128_GCM', keyLength: 16, saltLength: 12 },
  { id: 0x0008, name: 'SRTP_AEAD_AES_256_GCM', keyLength: 32, saltLength: 12 },
  { id: 0x0001, name: 'SRTP_AES128_CM_HMAC_SHA1_80', keyLength: 16, saltLength: 14 },
  { id: 0x0002, name: 'SRTP_AES128_CM_HMAC_SHA1_32', keyLength: 16, saltLength: 14 },
];

export const srtpProfileByName = (name: string): SrtpProfile | undefined =>
  SRTP_PROFILES.find((p) => p.name === name);
export const srtpProfileById = (id: number): SrtpProfile | undefined =>
  SRTP_PROFILES.find((p) => p.id === id);
