import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as der from './der.js';

export type FingerprintAlgorithm = 'sha-1' | 'sha-224' | 'sha-256' | 'sha-384' | 'sha-512';

/** As signaled in SDP a=fingerprint and mediasoup's dtlsParameters.fingerprints. */
export interface DtlsFingerprint {
  algorithm: FingerprintAlgorithm | string;
  value: string;
}

export type CertificateKeyType = 'ecdsa' | 'rsa';

/** A certificate with its private key; generate one at start and share it by all sessions. */
export interface DtlsCertificate {
  /** DER-encoded X.509 certificate. */
  der: Buffer;
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyType: CertificateKeyType;
}

const HASH_OF: Record<FingerprintAlgorithm, string> = {
  'sha-1': 'sha1',
  'sha-224': 'sha224',
  'sha-256': 'sha256',
  'sha-384': 'sha384',
  'sha-512': 'sha512',
};

/** The certificate fingerprint as in SDP: upper-case hex pairs joined by colons. */
export function fingerprint(certDer: Uint8Array, algorithm: FingerprintAlgorithm = 'sha-256'): string {
  const hash = HASH_OF[algorithm];
  if (!hash) throw new TypeError(`unsupported fingerprint algorithm ${algorithm}`);
  const hex = createHash(hash).update(certDer).digest('hex').toUpperCase();
  return hex.match(/../g)!.join(':');
}

/** Fingerprints of a certificate in every supported algorithm, sha-256 last (mediasoup-client uses the last). */
export function fingerprints(certDer: Uint8Array): DtlsFingerprint[] {
  return (['sha-1', 'sha-224', 'sha-384', 'sha-512', 'sha-256'] as const).map((algorithm) => ({
    algorithm,
    value: fingerprint(certDer, algorithm),
  }));
}

/** True when certDer matches at least one of the expected fingerprints (known algorithms only). */
export function matchesFingerprint(certDer: Uint8Array, expected: readonly DtlsFingerprint[]): boolean {
  for (const fp of expected) {
    const algorithm = fp.algorithm.toLowerCase() as FingerprintAlgorithm;
    if (!(algorithm in HASH_OF)) continue;
    if (fingerprint(certDer, algorithm) === fp.value.toUpperCase()) return true;
  }
  return false;
}

export interface GenerateCertificateOptions {
  keyType?: CertificateKeyType;
  commonName?: string;
  /** Validity in days from now (one day of back-dating absorbs clock skew). Default 30. */
  validityDays?: number;
}

const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
};

/** A self-signed X.509 v3 certificate for a fresh ECDSA P-256 (default) or RSA 2048 key. */
export function generateCertificate(options: GenerateCertificateOptions = {}): DtlsCertificate {
  const keyType = options.keyType ?? 'ecdsa';
  const { privateKey, publicKey } =
    keyType === 'ecdsa'
      ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signatureAlgorithm =
    keyType === 'ecdsa'
      ? der.sequence(der.objectIdentifier(OID.ecdsaWithSha256))
      : der.sequence(der.objectIdentifier(OID.sha256WithRsa), der.nullValue());
  const name = der.sequence(
    der.set(
      der.sequence(der.objectIdentifier(OID.commonName), der.utf8String(options.commonName ?? 'tureen')),
    ),
  );
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const now = Date.now();
  const day = 86_400_000;
  const basicConstraints = der.sequence(
    der.objectIdentifier(OID.basicConstraints),
    der.octetString(der.sequence()),
  );
  const tbs = der.sequence(
    der.explicit(0, der.smallInteger(2)),
    der.unsignedInteger(serial),
    signatureAlgorithm,
    name,
    der.sequence(der.time(new Date(now - day)), der.time(new Date(now + (options.validityDays ?? 30) * day))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    der.explicit(3, der.sequence(basicConstraints)),
  );
  const signature = sign('sha256', tbs, privateKey);
  const certDer = der.sequence(tbs, signatureAlgorithm, der.bitString(signature));
  return { der: certDer, privateKey, publicKey, keyType };
}

/** Loads a PEM certificate and private key (as mediasoup's dtlsCertificateFile / dtlsPrivateKeyFile). */
export function loadCertificate(certificateFile: string, privateKeyFile: string): DtlsCertificate {
  const x509 = new X509Certificate(readFileSync(certificateFile));
  const privateKey = createPrivateKey(readFileSync(privateKeyFile));
  if (!x509.checkPrivateKey(privateKey)) {
    throw new TypeError(`${privateKeyFile} is not the key of ${certificateFile}`);
  }
  const keyType = certificateKeyType(privateKey);
  if (!keyType) throw new TypeError(`unsupported key type ${privateKey.asymmetricKeyType}`);
  return { der: x509.raw, privateKey, publicKey: x509.publicKey, keyType };
}

export function certificateKeyType(key: KeyObject): CertificateKeyType | undefined {
  if (key.asymmetricKeyType === 'ec') {
    return key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'ecdsa' : undefined;
  }
  return key.asymmetricKeyType === 'rsa' ? 'rsa' : undefined;
}

/** PEM text of a certificate (for tools such as openssl in tests). */
export function certificateToPem(certDer: Uint8Array): string {
  const b64 = Buffer.from(certDer).toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}
