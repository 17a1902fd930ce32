import type { WorkerLogLevel, WorkerMessage } from './protocol.js';

const SEVERITY: Record<WorkerLogLevel, number> = { debug: 0, warn: 1, error: 2, none: 3 };

/**
 * The worker's logger: records at or above the worker's logLevel go to the controlling process
 * over the IPC channel, which writes them with the shared pino logger (as mediasoup's worker
 * logs through its channel). Keeping pino out of the worker keeps its start-up short.
 */
export class WorkerLog {
  level: WorkerLogLevel;
  readonly #send: (message: WorkerMessage) => void;

  constructor(level: WorkerLogLevel, send: (message: WorkerMessage) => void) {
    this.level = level;
    this.#send = send;
  }

  debug(data: Record<string, unknown>, message: string): void {
    this.#log('debug', data, message);
  }

  warn(data: Record<string, unknown>, message: string): void {
    this.#log('warn', data, message);
  }

  error(data: Record<string, unknown>, message: string): void {
    this.#log('error', data, message);
  }

  #log(level: 'debug' | 'warn' | 'error', data: Record<string, unknown>, message: string): void {
    if (SEVERITY[level] < SEVERITY[this.level]) return;
    const err =
      data.err instanceof Error
        ? { name: data.err.name, message: data.err.message, stack: data.err.stack }
        : undefined;
    this.#send({ kind: 'log', level, message, data: err ? { ...data, err } : data });
  }
}
