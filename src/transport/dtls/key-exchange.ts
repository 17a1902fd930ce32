import {
  constants,
  createECDH,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { NamedGroup, type SignatureScheme } from './suites.js';

/** An ephemeral ECDHE key for one handshake (RFC 8422), backed by node:crypto. */
export interface EphemeralKey {
  group: number;
  publicKey: Buffer;
  /** The premaster secret, or undefined when the peer's public key is invalid. */
  computeSecret(peerPublicKey: Buffer): Buffer | undefined;
}

// Length of the SubjectPublicKeyInfo header before a raw 32-byte X25519 key (RFC 8410).
const X25519_SPKI_PREFIX_LENGTH = 12;

export function generateEphemeralKey(group: number): EphemeralKey {
  if (group === NamedGroup.x25519) {
    // Asking keygen for the encoded public key is about twice as fast as a separate export().
    // (@types/node has no overload for "encode only the public key"; node returns a KeyObject + Buffer.)
    const { privateKey, publicKey: spki } = generateKeyPairSync('x25519', {
      publicKeyEncoding: { type: 'spki', format: 'der' },
    }) as unknown as { privateKey: KeyObject; publicKey: Buffer };
    return {
      group,
      publicKey: spki.subarray(X25519_SPKI_PREFIX_LENGTH),
      computeSecret(peer) {
        if (peer.length !== 32) return undefined;
        try {
          const peerKey = createPublicKey({
            key: { kty: 'OKP', crv: 'X25519', x: peer.toString('base64url') },
            format: 'jwk',
          });
          const secret = diffieHellman({ privateKey, publicKey: peerKey });
          // RFC 8422 §5.11: an all-zero shared secret means a low-order point.
          return secret.some((b) => b !== 0) ? secret : undefined;
        } catch {
          return undefined;
        }
      },
    };
  }
  if (group === NamedGroup.secp256r1) {
    const ecdh = createECDH('prime256v1');
    const publicKey = ecdh.generateKeys();
    return {
      group,
      publicKey,
      computeSecret(peer) {
        // Uncompressed points only: the only ec_point_format we announce.
        if (peer.length !== 65 || peer[0] !== 4) return undefined;
        try {
          return ecdh.computeSecret(peer);
        } catch {
          return undefined;
        }
      },
    };
  }
  throw new RangeError(`unsupported group ${group}`);
}

function keyOptions(scheme: SignatureScheme, key: KeyObject) {
  return scheme.pss
    ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
    : key;
}

export function signWithScheme(scheme: SignatureScheme, privateKey: KeyObject, data: Buffer): Buffer {
  return sign(scheme.hash, data, keyOptions(scheme, privateKey));
}

/** False on a bad signature, a key of the wrong type for the scheme, or malformed input. */
export function verifyWithScheme(
  scheme: SignatureScheme,
  publicKey: KeyObject,
  data: Buffer,
  signature: Buffer,
): boolean {
  const expectedType = scheme.keyType === 'ecdsa' ? 'ec' : 'rsa';
  if (publicKey.asymmetricKeyType !== expectedType) return false;
  try {
    return verify(scheme.hash, data, keyOptions(scheme, publicKey), signature);
  } catch {
    return false;
  }
}
