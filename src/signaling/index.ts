// Public entry of the signaling layer: the server, tokens, the method registry and protocol types.
export { type ParsedFrame, parseFrame } from './envelope.js';
export {
  type ConnectionContext,
  type MethodDefinition,
  MethodRegistry,
  type PeerContext,
  type SignalingConnection,
  SignalingError,
} from './methods.js';
export * from './protocol.js';
export { Peer, type PeerTransport, Room } from './rooms.js';
export {
  type PeerEvent,
  SignalingServer,
  type SignalingServerEvents,
  type SignalingServerOptions,
  type SignalingStats,
} from './server.js';
export {
  DEFAULT_PERMISSIONS,
  issueToken,
  type TokenClaims,
  type TokenClaimsInput,
  TokenError,
  type TokenErrorReason,
  verifyToken,
} from './tokens.js';
