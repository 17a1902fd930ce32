/**
 * SRTP protection profiles negotiated by DTLS-SRTP (RFC 5764 use_srtp, IANA "DTLS-SRTP
 * Protection Profiles") and the key layout of the exported keying material.
 */

export type SrtpProfileName =
  | 'AES_CM_128_HMAC_SHA1_80'
  | 'AES_CM_128_HMAC_SHA1_32'
  | 'AEAD_AES_128_GCM'
  | 'AEAD_AES_256_GCM';

export interface SrtpProfileParams {
  readonly name: SrtpProfileName;
  /** The two-byte SRTPProtectionProfile value of the DTLS use_srtp extension. */
  readonly id: number;
  readonly keyLength: number;
  readonly saltLength: number;
  readonly aead: boolean;
  /** Auth tag bytes appended to SRTP packets. */
  readonly rtpTagLength: number;
  /** Auth tag bytes appended to SRTCP packets (80 bits even for the _32 profile, RFC 3711 §5.2). */
  readonly rtcpTagLength: number;
  /** node:crypto cipher for packets; the KDF always uses AES-CTR with the same key size. */
  readonly cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'aes-128-ctr';
}

export const SRTP_PROFILES: Readonly<Record<SrtpProfileName, SrtpProfileParams>> = {
  AES_CM_128_HMAC_SHA1_80: {
    name: 'AES_CM_128_HMAC_SHA1_80',
    id: 0x0001,
    keyLength: 16,
    saltLength: 14,
    aead: false,
    rtpTagLength: 10,
    rtcpTagLength: 10,
    cipher: 'aes-128-ctr',
  },
  AES_CM_128_HMAC_SHA1_32: {
    name: 'AES_CM_128_HMAC_SHA1_32',
    id: 0x0002,
    keyLength: 16,
    saltLength: 14,
    aead: false,
    rtpTagLength: 4,
    rtcpTagLength: 10,
    cipher: 'aes-128-ctr',
  },
  AEAD_AES_128_GCM: {
    name: 'AEAD_AES_128_GCM',
    id: 0x0007,
    keyLength: 16,
    saltLength: 12,
    aead: true,
    rtpTagLength: 16,
    rtcpTagLength: 16,
    cipher: 'aes-128-gcm',
  },
  AEAD_AES_256_GCM: {
    name: 'AEAD_AES_256_GCM',
    id: 0x0008,
    keyLength: 32,
    saltLength: 12,
    aead: true,
    rtpTagLength: 16,
    rtcpTagLength: 16,
    cipher: 'aes-256-gcm',
  },
};

/** Our preference order for negotiation: GCM is the cheapest per packet with node:crypto. */
export const SRTP_PROFILE_PREFERENCE: readonly SrtpProfileName[] = [
  'AEAD_AES_128_GCM',
  'AEAD_AES_256_GCM',
  'AES_CM_128_HMAC_SHA1_80',
  'AES_CM_128_HMAC_SHA1_32',
];

export function srtpProfileById(id: number): SrtpProfileParams | undefined {
  for (const name of SRTP_PROFILE_PREFERENCE) if (SRTP_PROFILES[name].id === id) return SRTP_PROFILES[name];
  return undefined;
}

/** Bytes to export with the "EXTRACTOR-dtls_srtp" label: 2 × (key + salt). */
export function srtpKeyingMaterialLength(profile: SrtpProfileName): number {
  const p = SRTP_PROFILES[profile];
  return 2 * (p.keyLength + p.saltLength);
}

export interface SrtpMasterKeys {
  localKey: Buffer;
  localSalt: Buffer;
  remoteKey: Buffer;
  remoteSalt: Buffer;
}

/**
 * Split DTLS exported keying material (RFC 5764 §4.2: client key | server key | client salt |
 * server salt) into our sending (local) and receiving (remote) master keys for a DTLS role.
 * Throws TypeError when the material has the wrong length (a caller bug, not peer input).
 */
export function srtpKeysFromKeyingMaterial(
  material: Buffer,
  profile: SrtpProfileName,
  role: 'client' | 'server',
): SrtpMasterKeys {
  const { keyLength, saltLength } = SRTP_PROFILES[profile];
  if (material.length !== 2 * (keyLength + saltLength)) {
    throw new TypeError(`keying material for ${profile} must be ${2 * (keyLength + saltLength)} bytes`);
  }
  // Copies, so the caller may wipe or reuse the material buffer.
  const clientKey = Buffer.from(material.subarray(0, keyLength));
  const serverKey = Buffer.from(material.subarray(keyLength, 2 * keyLength));
  const clientSalt = Buffer.from(material.subarray(2 * keyLength, 2 * keyLength + saltLength));
  const serverSalt = Buffer.from(material.subarray(2 * keyLength + saltLength));
  return role === 'client'
    ? { localKey: clientKey, localSalt: clientSalt, remoteKey: serverKey, remoteSalt: serverSalt }
    : { localKey: serverKey, localSalt: serverSalt, remoteKey: clientKey, remoteSalt: clientSalt };
}
