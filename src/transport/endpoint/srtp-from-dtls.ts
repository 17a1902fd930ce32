import { SRTP_PROFILES as DTLS_SRTP_PROFILES, type SrtpKeyingMaterial } from '../dtls/index.js';
import { SrtpSession, srtpProfileById } from '../srtp/index.js';

/**
 * The SRTP session for what a DTLS-SRTP handshake exported (RFC 5764 §4.2), or undefined for a
 * profile the SRTP module does not implement. The DTLS and SRTP modules name profiles
 * differently; the IANA id is common ground.
 */
export function srtpSessionFromDtls(keys: SrtpKeyingMaterial): SrtpSession | undefined {
  const id = DTLS_SRTP_PROFILES.find((p) => p.name === keys.profile)?.id;
  const profile = id === undefined ? undefined : srtpProfileById(id);
  if (!profile) return undefined;
  return new SrtpSession({
    profile: profile.name,
    localKey: keys.localMasterKey,
    localSalt: keys.localMasterSalt,
    remoteKey: keys.remoteMasterKey,
    remoteSalt: keys.remoteMasterSalt,
  });
}
