// A bot's signaling WebSocket (docs/signaling-protocol.md) on the `ws` package: requests matched
// to responses by id, notifications to one callback, sending paced under the server's rate limit
// (a bot joining a large room resumes two consumers per publisher at once). No reconnection: a
// dropped socket ends the bot. (The browser SDK's SignalingClient lives in the client layer,
// above this one.)
import WebSocket from 'ws';
import type { RequestMethods } from '../signaling/protocol.js';

export class SignalingRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SignalingRequestError';
  }
}

interface Pending {
  method: string;
  resolve(data: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** The server allows 50 messages/s with bursts of 100 per socket; stay under it. */
const MESSAGES_PER_SECOND = 40;
const MESSAGE_BURST = 80;

export interface Notification {
  method: string;
  data: Record<string, unknown>;
}

export class SignalingLink {
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, Pending>();
  readonly #requestTimeoutMs: number;
  #nextId = 1;
  #closed = false;
  #tokens = MESSAGE_BURST;
  #tokensAt = Date.now();
  #outbox: string[] = [];
  #drainTimer: NodeJS.Timeout | undefined;
  onNotification: (notification: Notification) => void = () => {};
  /** The socket closed (by us or the server); pending requests have failed. */
  onClose: (code: number) => void = () => {};

  private constructor(socket: WebSocket, requestTimeoutMs: number) {
    this.#socket = socket;
    this.#requestTimeoutMs = requestTimeoutMs;
    socket.on('message', (raw, isBinary) => {
      if (!isBinary) this.#onMessage(raw.toString());
    });
    socket.on('close', (code) => {
      this.#closed = true;
      if (this.#drainTimer) clearTimeout(this.#drainTimer);
      this.#outbox = [];
      this.#failAll(new SignalingRequestError('closed', `signaling socket closed (${code})`));
      this.onClose(code);
    });
    socket.on('error', () => {});
  }

  /** Opens the socket; rejects when it cannot within `timeoutMs`. */
  static open(url: string, { timeoutMs = 10_000, requestTimeoutMs = 15_000 } = {}): Promise<SignalingLink> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error(`could not connect to ${url} in ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('open', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new SignalingLink(socket, requestTimeoutMs));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`could not connect to ${url}: ${err.message}`));
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  request<M extends keyof RequestMethods>(
    method: M,
    data: RequestMethods[M]['request'],
  ): Promise<RequestMethods[M]['response']> {
    if (this.#closed)
      return Promise.reject(new SignalingRequestError('closed', 'signaling socket is closed'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new SignalingRequestError('timeout', `${method} timed out`));
      }, this.#requestTimeoutMs);
      this.#pending.set(id, { method, resolve: resolve as (data: unknown) => void, reject, timer });
      this.#outbox.push(JSON.stringify({ type: 'request', id, method, data }));
      this.#drain();
    });
  }

  /** Sends queued frames as the token bucket allows and schedules the rest. */
  #drain(): void {
    if (this.#drainTimer || this.#closed) return;
    const now = Date.now();
    this.#tokens = Math.min(
      MESSAGE_BURST,
      this.#tokens + ((now - this.#tokensAt) / 1000) * MESSAGES_PER_SECOND,
    );
    this.#tokensAt = now;
    while (this.#outbox.length > 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      this.#socket.send(this.#outbox.shift()!);
    }
    if (this.#outbox.length > 0) {
      this.#drainTimer = setTimeout(
        () => {
          this.#drainTimer = undefined;
          this.#drain();
        },
        Math.ceil(((1 - this.#tokens) * 1000) / MESSAGES_PER_SECOND),
      );
    }
  }

  /** Closes the socket politely (close frame). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close(1000, 'bye');
  }

  /** Drops the TCP connection without a close frame, as a crashed client would. */
  terminate(): void {
    this.#closed = true;
    this.#socket.terminate();
  }

  #onMessage(text: string): void {
    let message: {
      type?: unknown;
      id?: unknown;
      ok?: unknown;
      data?: unknown;
      error?: { code?: string; message?: string };
      method?: unknown;
    };
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message === null || typeof message !== 'object') return;
    if (message.type === 'response' && typeof message.id === 'number') {
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      clearTimeout(pending.timer);
      if (message.ok === true) pending.resolve(message.data ?? {});
      else {
        const code = String(message.error?.code ?? 'unknown');
        pending.reject(
          new SignalingRequestError(
            code,
            `${pending.method}: ${code} ${message.error?.message ?? ''}`.trim(),
          ),
        );
      }
    } else if (message.type === 'notification' && typeof message.method === 'string') {
      const data = message.data !== null && typeof message.data === 'object' ? message.data : {};
      this.onNotification({ method: message.method, data: data as Record<string, unknown> });
    }
  }

  #failAll(err: Error): void {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(err);
    }
    this.#pending.clear();
  }
}
