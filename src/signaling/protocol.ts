// The signaling wire protocol (docs/signaling-protocol.md): zod schemas and the types derived
// from them. Nothing here touches Node APIs, so the browser client can `import type` from it.
import { z } from 'zod';
import type { SfuNotificationDataByMethod, SfuRequestMethods } from './sfu-protocol.js';

export const ERROR_CODES = [
  'bad_json',
  'bad_request',
  'unknown_method',
  'unauthorized',
  'forbidden',
  'not_joined',
  'not_found',
  'rate_limited',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Request ids are non-negative integers chosen by the sender. */
export const requestIdSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** Generous bounds: they only keep one peer from making the server hold megabytes. */
const METHOD_MAX = 64;
const TOKEN_MAX = 4096;
const DISPLAY_NAME_MAX = 100;
const ID_MAX = 128;
const SDP_MAX = 60_000;
const CANDIDATE_MAX = 1024;

export const requestSchema = z.object({
  type: z.literal('request'),
  id: requestIdSchema,
  method: z.string().min(1).max(METHOD_MAX),
  // Absent data is the same as `{}`; each method's schema checks the rest.
  data: z.unknown().optional(),
});

export const errorSchema = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string(),
});
export type SignalingErrorBody = z.infer<typeof errorSchema>;

export const responseSchema = z.discriminatedUnion('ok', [
  z.object({ type: z.literal('response'), id: requestIdSchema, ok: z.literal(true), data: z.unknown() }),
  z.object({
    type: z.literal('response'),
    // null when the frame that caused the error had no readable id (e.g. bad JSON).
    id: requestIdSchema.nullable(),
    ok: z.literal(false),
    error: errorSchema,
  }),
]);

export const notificationSchema = z.object({
  type: z.literal('notification'),
  method: z.string().min(1).max(METHOD_MAX),
  data: z.unknown().optional(),
});

/** Any message on the wire, either direction. */
export const messageSchema = z.discriminatedUnion('type', [
  requestSchema,
  responseSchema,
  notificationSchema,
]);

export interface SignalingRequest<M extends string = string, D = unknown> {
  type: 'request';
  id: number;
  method: M;
  data?: D;
}
export type SignalingResponse<D = unknown> =
  | { type: 'response'; id: number; ok: true; data: D }
  | { type: 'response'; id: number | null; ok: false; error: SignalingErrorBody };
export interface SignalingNotification<M extends string = string, D = unknown> {
  type: 'notification';
  method: M;
  data: D;
}
export type SignalingMessage = SignalingRequest | SignalingResponse | SignalingNotification;

// --- shared pieces -------------------------------------------------------------------------

export const permissionsSchema = z.object({
  publish: z.boolean(),
  subscribe: z.boolean(),
  publishData: z.boolean(),
});
export type Permissions = z.infer<typeof permissionsSchema>;

export const roomModeSchema = z.enum(['p2p', 'sfu']);
export type RoomMode = z.infer<typeof roomModeSchema>;

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface PeerInfo {
  peerId: string;
  displayName: string;
}

// --- join ----------------------------------------------------------------------------------

export const joinRequestDataSchema = z.object({
  // Optional here so that a missing token is `unauthorized`, like a bad one.
  token: z.string().max(TOKEN_MAX).optional(),
  displayName: z.string().max(DISPLAY_NAME_MAX).optional(),
  sessionId: z.string().min(1).max(ID_MAX).optional(),
});
export type JoinRequestData = z.infer<typeof joinRequestDataSchema>;

export interface JoinResponseData {
  peerId: string;
  sessionId: string;
  roomId: string;
  mode: RoomMode;
  /** The others already in the room. */
  peers: PeerInfo[];
  iceServers: IceServer[];
  permissions: Permissions;
}

// --- leave ---------------------------------------------------------------------------------

export const leaveRequestDataSchema = z.object({});
export type LeaveRequestData = z.infer<typeof leaveRequestDataSchema>;

// --- signal --------------------------------------------------------------------------------

export const sessionDescriptionSchema = z.object({
  type: z.enum(['offer', 'answer', 'pranswer', 'rollback']),
  sdp: z.string().max(SDP_MAX),
});
export type SessionDescription = z.infer<typeof sessionDescriptionSchema>;

/** RTCIceCandidateInit; `null` as the candidate itself means end-of-candidates. */
export const iceCandidateSchema = z.object({
  candidate: z.string().max(CANDIDATE_MAX).optional(),
  sdpMid: z.string().max(ID_MAX).nullable().optional(),
  sdpMLineIndex: z.number().int().nonnegative().max(65535).nullable().optional(),
  usernameFragment: z.string().max(ID_MAX).nullable().optional(),
});
export type IceCandidate = z.infer<typeof iceCandidateSchema>;

/** What `signal` carries: exactly one of `description` / `candidate`. */
const signalPayloadShape = {
  description: sessionDescriptionSchema.optional(),
  candidate: iceCandidateSchema.nullable().optional(),
};
const exactlyOnePayload = (d: { description?: unknown; candidate?: unknown }) =>
  (d.description !== undefined) !== (d.candidate !== undefined);
const exactlyOneMessage = { message: 'exactly one of description / candidate' };

export const signalRequestDataSchema = z
  .object({ to: z.string().min(1).max(ID_MAX), ...signalPayloadShape })
  .refine(exactlyOnePayload, exactlyOneMessage);
export type SignalRequestData = z.infer<typeof signalRequestDataSchema>;

export const signalDataSchema = z
  .object({ from: z.string().min(1).max(ID_MAX), ...signalPayloadShape })
  .refine(exactlyOnePayload, exactlyOneMessage);
/** The `signal` notification's data. */
export type SignalData = z.infer<typeof signalDataSchema>;

// --- notifications -------------------------------------------------------------------------

export type PeerJoinedData = PeerInfo;
export interface PeerLeftData {
  peerId: string;
}

/** Server → client notifications, by method. */
export interface NotificationDataByMethod extends SfuNotificationDataByMethod {
  peerJoined: PeerJoinedData;
  peerLeft: PeerLeftData;
  signal: SignalData;
}

/** Client → server requests: data sent and data answered, by method. */
export interface RequestMethods extends SfuRequestMethods {
  join: { request: JoinRequestData; response: JoinResponseData };
  leave: { request: LeaveRequestData; response: Record<string, never> };
  signal: { request: SignalRequestData; response: Record<string, never> };
}
