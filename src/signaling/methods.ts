// The method-handler registry: each request method is a schema plus a handler, so features
// (join/leave/signal today, SFU requests later) plug in without touching the dispatcher.
import type { z } from 'zod';
import type { ErrorCode, Permissions } from './protocol.js';
import type { Peer, Room } from './rooms.js';

/** Thrown by a handler to answer with a specific error code; anything else becomes `internal`. */
export class SignalingError extends Error {
  override readonly name = 'SignalingError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The socket a request came in on, as handlers see it. */
export interface SignalingConnection {
  /** The peer this socket has joined as, or null before `join` / after `leave`. */
  readonly peer: Peer | null;
  /** A short id for logs. */
  readonly id: number;
}

export interface ConnectionContext {
  connection: SignalingConnection;
}

export interface PeerContext {
  connection: SignalingConnection;
  peer: Peer;
  room: Room;
}

/** A handler's answer: the response `data` (undefined → `{}`), possibly async. */
export type MethodResult = unknown;

export type MethodDefinition<T> =
  | {
      /** Callable on any socket, joined or not (e.g. `join`). */
      scope: 'connection';
      schema: z.ZodType<T>;
      handle(ctx: ConnectionContext, data: T): MethodResult | Promise<MethodResult>;
    }
  | {
      /** Callable only after `join`; `not_joined` otherwise. */
      scope: 'peer';
      schema: z.ZodType<T>;
      /** The token must grant this, or the answer is `forbidden`. */
      permission?: keyof Permissions;
      handle(ctx: PeerContext, data: T): MethodResult | Promise<MethodResult>;
    };

export class MethodRegistry {
  private readonly methods = new Map<string, MethodDefinition<unknown>>();

  register<T>(method: string, definition: MethodDefinition<T>): this {
    if (this.methods.has(method)) throw new Error(`method ${method} is already registered`);
    // The dispatcher validates data with definition.schema before calling handle, so the
    // erased type is restored at run time.
    this.methods.set(method, definition as unknown as MethodDefinition<unknown>);
    return this;
  }

  unregister(method: string): boolean {
    return this.methods.delete(method);
  }

  get(method: string): MethodDefinition<unknown> | undefined {
    return this.methods.get(method);
  }

  has(method: string): boolean {
    return this.methods.has(method);
  }
}
