import type {
  ErrorCode,
  NotificationDataByMethod,
  RequestMethods,
  SignalingMessage,
} from '../signaling/protocol.js';
import { Emitter } from './emitter.js';

/** Why a request failed: a server error code, or a client-side condition. */
export type SignalingErrorCode = ErrorCode | 'timeout' | 'disconnected' | 'closed';

export class SignalingError extends Error {
  constructor(
    readonly code: SignalingErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SignalingError';
  }
}

/** The subset of the WebSocket API we use, so Node callers can pass the `ws` package's class. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: never) => unknown) | null;
  onclose: ((ev: { code: number; reason: string }) => unknown) | null;
  onerror: ((ev: never) => unknown) | null;
  onmessage: ((ev: { data: unknown }) => unknown) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketFactory = (url: string) => WebSocketLike;

export interface SignalingClientOptions {
  /** How long a request may wait for its response. Default 10 s. */
  requestTimeoutMs?: number;
  /** How long opening the socket may take. Default 5 s. */
  connectTimeoutMs?: number;
  /**
   * Waits before each reconnect attempt after the socket drops. The default spans about 8 s,
   * inside the server's 10 s grace period, so a resumed session keeps its peerId.
   */
  reconnectDelaysMs?: readonly number[];
  /**
   * Client-side pacing, kept under the server's rate limit (default 50/s, bursts of 100) so a
   * burst of ICE candidates to many peers waits a little instead of being refused. Default 40.
   */
  maxMessagesPerSecond?: number;
  /** Messages that may go out at once before pacing starts. Default 80. */
  messageBurst?: number;
  /** Opens sockets; default `new WebSocket(url)` (browsers, Node 22+). */
  createWebSocket?: WebSocketFactory;
}

export type SignalingState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export type SignalingNotificationEvent = {
  [M in keyof NotificationDataByMethod]: { method: M; data: NotificationDataByMethod[M] };
}[keyof NotificationDataByMethod];

export interface SignalingEvents {
  notification: SignalingNotificationEvent;
  state: SignalingState;
}

interface PendingRequest {
  resolve(data: unknown): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
  /** On the wire: lost if the socket drops before the response. */
  sent: boolean;
}

interface OutgoingFrame {
  id: number;
  frame: string;
}

const OPEN = 1;
const DEFAULT_RECONNECT_DELAYS_MS = [250, 500, 1000, 1500, 2000, 2500] as const;
/** Requests waiting for the socket or for pacing; more than this is a runaway caller. */
const MAX_QUEUED_FRAMES = 1000;

/**
 * One WebSocket to the signaling server: requests matched to responses by id with timeouts,
 * typed notifications, paced sending, and automatic reconnection. After a reconnect the
 * `resume` hook runs first (the room re-joins with its sessionId) and only then do queued
 * requests go out.
 */
export class SignalingClient extends Emitter<SignalingEvents> {
  readonly #url: string;
  readonly #requestTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #reconnectDelaysMs: readonly number[];
  readonly #createWebSocket: WebSocketFactory;
  readonly #maxMessagesPerSecond: number;
  readonly #messageBurst: number;
  readonly #pending = new Map<number, PendingRequest>();
  #outbox: OutgoingFrame[] = [];
  #tokens: number;
  #tokensAt = Date.now();
  #drainTimer: ReturnType<typeof setTimeout> | null = null;
  #socket: WebSocketLike | null = null;
  #nextId = 1;
  #state: SignalingState = 'connecting';
  #reconnectTimer: ReturnType<typeof setTimeout> | null = null;

  /** Runs after every successful reconnect, before queued requests are sent. */
  resume: (() => Promise<void>) | null = null;

  constructor(url: string, options: SignalingClientOptions = {}) {
    super();
    this.#url = url;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.#reconnectDelaysMs = options.reconnectDelaysMs ?? DEFAULT_RECONNECT_DELAYS_MS;
    this.#maxMessagesPerSecond = options.maxMessagesPerSecond ?? 40;
    this.#messageBurst = options.messageBurst ?? 80;
    this.#tokens = this.#messageBurst;
    this.#createWebSocket = options.createWebSocket ?? ((u) => new WebSocket(u) as unknown as WebSocketLike);
  }

  get state(): SignalingState {
    return this.#state;
  }

  /** Opens the first connection; rejects if it cannot. */
  async connect(): Promise<void> {
    if (this.#state !== 'connecting' || this.#socket) throw new Error('connect() may be called once');
    try {
      await this.#open();
    } catch (err) {
      this.#setState('closed');
      throw err;
    }
    this.#setState('open');
    this.#drain();
  }

  /**
   * Sends a request and resolves with the response's data. While reconnecting the request is
   * queued; `immediate` sends it on the current socket anyway, unpaced (the resume hook's join).
   */
  request<M extends keyof RequestMethods>(
    method: M,
    data: RequestMethods[M]['request'],
    options: { timeoutMs?: number; immediate?: boolean } = {},
  ): Promise<RequestMethods[M]['response']> {
    if (this.#state === 'closed') {
      return Promise.reject(new SignalingError('closed', 'signaling connection is closed'));
    }
    const id = this.#nextId++;
    const frame = JSON.stringify({ type: 'request', id, method, data });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        this.#outbox = this.#outbox.filter((out) => out.id !== id);
        reject(new SignalingError('timeout', `${method} timed out`));
      }, options.timeoutMs ?? this.#requestTimeoutMs);
      this.#pending.set(id, { resolve: resolve as (data: unknown) => void, reject, timer, sent: false });
      if (options.immediate && this.#socket?.readyState === OPEN) {
        this.#transmit({ id, frame });
      } else if (this.#outbox.length < MAX_QUEUED_FRAMES) {
        this.#outbox.push({ id, frame });
        this.#drain();
      } else {
        this.#settle(id, new SignalingError('rate_limited', 'too many signaling requests queued'));
      }
    });
  }

  /** Closes for good: no reconnect; pending requests fail with `closed`. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      this.#detach(socket);
      socket.close(1000, 'bye');
    }
    if (this.#drainTimer) clearTimeout(this.#drainTimer);
    this.#drainTimer = null;
    this.#outbox = [];
    this.#failPending(new SignalingError('closed', 'signaling connection closed'), false);
  }

  /** Drops the socket as a network failure would; the client reconnects. For tests and diagnostics. */
  dropConnection(): void {
    this.#socket?.close(4000, 'dropped by client');
  }

  #transmit(out: OutgoingFrame): void {
    const pending = this.#pending.get(out.id);
    if (pending) pending.sent = true;
    this.#socket!.send(out.frame);
  }

  /** Sends queued frames as fast as the token bucket allows, and schedules the rest. */
  #drain(): void {
    if (this.#drainTimer || this.#state !== 'open' || this.#socket?.readyState !== OPEN) return;
    const now = Date.now();
    this.#tokens = Math.min(
      this.#messageBurst,
      this.#tokens + ((now - this.#tokensAt) / 1000) * this.#maxMessagesPerSecond,
    );
    this.#tokensAt = now;
    while (this.#outbox.length > 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      this.#transmit(this.#outbox.shift()!);
    }
    if (this.#outbox.length > 0) {
      const waitMs = Math.ceil(((1 - this.#tokens) * 1000) / this.#maxMessagesPerSecond);
      this.#drainTimer = setTimeout(() => {
        this.#drainTimer = null;
        this.#drain();
      }, waitMs);
    }
  }

  #setState(state: SignalingState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }

  #open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = this.#createWebSocket(this.#url);
      const timer = setTimeout(() => {
        this.#detach(socket);
        socket.close();
        reject(new SignalingError('timeout', `could not connect to ${this.#url}`));
      }, this.#connectTimeoutMs);
      socket.onopen = () => {
        clearTimeout(timer);
        this.#socket = socket;
        socket.onclose = (ev) => this.#onClose(socket, ev.code);
        socket.onerror = () => {};
        resolve();
      };
      socket.onerror = () => {};
      socket.onclose = (ev) => {
        clearTimeout(timer);
        this.#detach(socket);
        reject(new SignalingError('disconnected', `could not connect to ${this.#url} (close ${ev.code})`));
      };
      socket.onmessage = (ev) => this.#onMessage(ev.data);
    });
  }

  #detach(socket: WebSocketLike): void {
    socket.onopen = null;
    socket.onclose = null;
    socket.onerror = null;
    socket.onmessage = null;
  }

  #onMessage(raw: unknown): void {
    if (typeof raw !== 'string') return;
    let message: SignalingMessage;
    try {
      message = JSON.parse(raw) as SignalingMessage;
    } catch {
      return;
    }
    if (message === null || typeof message !== 'object') return;
    if (message.type === 'response') {
      if (message.id === null) {
        console.warn('tureen: signaling server rejected a frame', message.ok ? '' : message.error);
        return;
      }
      this.#settle(
        message.id,
        message.ok ? undefined : new SignalingError(message.error.code, message.error.message),
        message.ok ? message.data : undefined,
      );
    } else if (message.type === 'notification') {
      this.emit('notification', {
        method: message.method,
        data: message.data,
      } as SignalingNotificationEvent);
    }
  }

  #settle(id: number, error: Error | undefined, data?: unknown): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve(data);
  }

  /** Fails pending requests: all of them, or only those already on the wire. */
  #failPending(error: Error, onlySent: boolean): void {
    for (const [id, pending] of [...this.#pending]) {
      if (!onlySent || pending.sent) this.#settle(id, error);
    }
  }

  #onClose(socket: WebSocketLike, code: number): void {
    this.#detach(socket);
    if (this.#socket !== socket) return;
    this.#socket = null;
    if (this.#state === 'closed') return;
    // Requests already on the wire may or may not have arrived; their callers must retry.
    // Queued ones go out after the session is resumed.
    this.#failPending(new SignalingError('disconnected', `signaling socket closed (${code})`), true);
    if (this.#drainTimer) clearTimeout(this.#drainTimer);
    this.#drainTimer = null;
    this.#setState('reconnecting');
    void this.#reconnect();
  }

  async #reconnect(): Promise<void> {
    for (const delay of this.#reconnectDelaysMs) {
      await new Promise<void>((resolve) => {
        this.#reconnectTimer = setTimeout(resolve, delay);
      });
      this.#reconnectTimer = null;
      if (this.#state !== 'reconnecting') return;
      try {
        await this.#open();
      } catch {
        continue;
      }
      if (this.#state !== 'reconnecting') return;
      try {
        await this.resume?.();
      } catch (err) {
        console.warn('tureen: could not resume the signaling session', err);
        this.close();
        return;
      }
      this.#setState('open');
      this.#drain();
      return;
    }
    this.close();
  }
}
