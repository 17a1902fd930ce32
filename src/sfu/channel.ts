import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { errorFromWire, InvalidStateError } from './engine/errors.js';
import type { ParentMessage, WorkerMessage } from './engine/protocol.js';

/** How long a request may wait for the worker's answer. */
const REQUEST_TIMEOUT_MS = 15_000;

interface Pending {
  resolve: (data: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  method: string;
}

/**
 * Request/response and notifications with one worker process. Worker events are re-emitted as
 * `channel.emit(targetId, event, data)`, which is what each API object subscribes to.
 */
export class Channel extends EventEmitter {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #closed = false;

  constructor(child: ChildProcess) {
    super();
    this.setMaxListeners(Number.POSITIVE_INFINITY);
    this.#child = child;
  }

  /** Feed one message received from the worker. */
  receive(message: WorkerMessage): void {
    switch (message.kind) {
      case 'response':
      case 'error': {
        const pending = this.#pending.get(message.id);
        if (!pending) return;
        this.#pending.delete(message.id);
        clearTimeout(pending.timer);
        if (message.kind === 'response') pending.resolve(message.data);
        else pending.reject(errorFromWire(message.errorName, message.message));
        return;
      }
      case 'event':
        this.emit(message.targetId, message.event, message.data);
        return;
    }
  }

  // biome-ignore lint/suspicious/noExplicitAny: responses are typed by each caller.
  request(method: string, handlerId?: string, data?: unknown): Promise<any> {
    if (this.#closed || !this.#child.connected) {
      return Promise.reject(new InvalidStateError(`Channel closed, cannot send request [method:${method}]`));
    }
    const id = ++this.#nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`Channel request timeout [method:${method}]`));
      }, REQUEST_TIMEOUT_MS);
      this.#pending.set(id, { resolve, reject, timer, method });
      this.#send({ kind: 'request', id, method, handlerId, data }, () => {
        this.#pending.delete(id);
        clearTimeout(timer);
        reject(new InvalidStateError(`Channel closed, cannot send request [method:${method}]`));
      });
    });
  }

  notify(method: string, handlerId: string, data?: unknown): void {
    if (this.#closed || !this.#child.connected) return;
    this.#send({ kind: 'notification', method, handlerId, data }, () => {});
  }

  #send(message: ParentMessage, onError: () => void): void {
    try {
      this.#child.send(message, (error) => {
        if (error) onError();
      });
    } catch {
      onError();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new InvalidStateError(`Channel closed [method:${pending.method}]`));
      this.#pending.delete(id);
    }
    this.removeAllListeners();
  }
}
