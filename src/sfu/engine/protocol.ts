/**
 * Messages between the controlling process and a worker process over the IPC channel
 * (Node's 'advanced' serialization, so Buffers cross without base64). Control only: the media
 * plane never goes through here except DirectTransport traffic, which is control-plane by nature.
 */

/** Controlling process → worker. */
export type ParentMessage =
  | { kind: 'request'; id: number; method: string; handlerId?: string; data?: unknown }
  | { kind: 'notification'; method: string; handlerId: string; data?: unknown };

/** Worker → controlling process. */
export type WorkerMessage =
  | { kind: 'running'; pid: number }
  | { kind: 'response'; id: number; data?: unknown }
  | { kind: 'error'; id: number; errorName: string; message: string }
  | { kind: 'event'; targetId: string; event: string; data?: unknown }
  | { kind: 'log'; level: 'debug' | 'warn' | 'error'; message: string; data: Record<string, unknown> };

export const LOG_LEVELS = ['debug', 'warn', 'error', 'none'] as const;
export type WorkerLogLevel = (typeof LOG_LEVELS)[number];

export const LOG_TAGS = [
  'info',
  'ice',
  'dtls',
  'rtp',
  'srtp',
  'rtcp',
  'rtx',
  'bwe',
  'score',
  'simulcast',
  'svc',
  'sctp',
  'message',
] as const;
export type WorkerLogTag = (typeof LOG_TAGS)[number];

/** Settings the worker process starts with (passed as a JSON argument). */
export interface WorkerProcessSettings {
  logLevel: WorkerLogLevel;
  logTags: WorkerLogTag[];
  rtcMinPort: number;
  rtcMaxPort: number;
  dtlsCertificateFile?: string;
  dtlsPrivateKeyFile?: string;
}
