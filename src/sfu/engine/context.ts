import type { DtlsFingerprint } from '../../transport/dtls/certificate.js';
import type { PortRange } from './sockets.js';
import type { WorkerLog } from './worker-log.js';

/** Something the controlling process can address by id: a router, a transport, a producer... */
export interface Handler {
  // biome-ignore lint/suspicious/noExplicitAny: request bodies come from the IPC channel, validated per method.
  handleRequest(method: string, data: any): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  handleNotification?(method: string, data: any): void;
}

/** What every engine object gets from the worker. */
export interface EngineContext {
  log: WorkerLog;
  register(id: string, handler: Handler): void;
  unregister(id: string): void;
  /** Sends an event to the API object with this id in the controlling process. */
  emit(targetId: string, event: string, data?: unknown): void;
  portRange(): PortRange;
  dtlsFingerprints: DtlsFingerprint[];
  /** Producer and DataProducer ids are unique per worker (as in mediasoup's worker). */
  producerIds: Set<string>;
  dataProducerIds: Set<string>;
}

/** An id field of a request body: a non-empty string, else TypeError. */
export function requireId(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`missing or invalid ${name}`);
  return value;
}
