export {
  estimateSrtpIndex,
  SrtpContext,
  type SrtpContextOptions,
  type SrtpCounters,
  SrtpError,
  type SrtpErrorCode,
} from './context.js';
export { deriveSrtpSessionKeys, KdfLabel, type SrtpSessionKeys, srtpKdf } from './kdf.js';
export {
  SRTP_PROFILE_PREFERENCE,
  SRTP_PROFILES,
  type SrtpMasterKeys,
  type SrtpProfileName,
  type SrtpProfileParams,
  srtpKeyingMaterialLength,
  srtpKeysFromKeyingMaterial,
  srtpProfileById,
} from './profiles.js';
export { REPLAY_WINDOW_SIZE, ReplayCheck, ReplayWindow } from './replay.js';
export { SrtpSession, type SrtpSessionOptions } from './session.js';
