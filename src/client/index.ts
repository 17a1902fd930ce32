// The browser SDK: `import { Room } from 'tureen/client'`.
export {
  type CandidateFilter,
  type CandidateInfo,
  loopbackCandidatesOnly,
  parseCandidate,
} from './candidates.js';
export { Emitter, type Listener } from './emitter.js';
export { P2PMesh, type P2PMeshOptions, type SignalPayload } from './p2p-mesh.js';
export { type ControlMessage, MAX_CHAT_BYTES, PeerLink, type PeerLinkOptions } from './peer-link.js';
export {
  type ChatMessage,
  MAX_CHAT_LENGTH,
  type MediaKind,
  type Participant,
  type ParticipantConnectionState,
  Room,
  type RoomCloseReason,
  type RoomEvents,
  type RoomOptions,
  type TurnTransport,
  turnTransportOf,
} from './room.js';
export {
  CHAT_LABEL,
  DEFAULT_SIMULCAST_ENCODINGS,
  layerForHeight,
  type MediaSource,
  SfuSession,
  type SfuSessionOptions,
} from './sfu-session.js';
export {
  SignalingClient,
  type SignalingClientOptions,
  SignalingError,
  type SignalingErrorCode,
  type SignalingEvents,
  type SignalingNotificationEvent,
  type SignalingState,
  type WebSocketFactory,
  type WebSocketLike,
} from './signaling-client.js';
export {
  type CandidateType,
  type ConnectionQuality,
  type ConnectionStats,
  connectionQuality,
  type SelectedCandidatePair,
  sampleConnectionStats,
  statsFromReports,
} from './stats.js';
