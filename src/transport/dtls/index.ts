export {
  type CertificateKeyType,
  certificateToPem,
  type DtlsCertificate,
  type DtlsFingerprint,
  type FingerprintAlgorithm,
  fingerprint,
  fingerprints,
  type GenerateCertificateOptions,
  generateCertificate,
  loadCertificate,
  matchesFingerprint,
} from './certificate.js';
export {
  AlertDescription,
  type DtlsConnection,
  DtlsError,
  type DtlsRole,
  DtlsSession,
  type DtlsSessionEvents,
  type DtlsSessionOptions,
  type DtlsState,
  isDtlsDatagram,
  type SrtpKeyingMaterial,
} from './session.js';
export { SRTP_PROFILES, type SrtpProfile, type SrtpProfileName } from './suites.js';
