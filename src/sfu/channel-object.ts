import type { Channel } from './channel.js';
import { EnhancedEventEmitter, type Events } from './emitter.js';
import { channelEvent } from './fbs-notification.js';
import type { AppData } from './types.js';
import { checkAppData } from './validate.js';

/**
 * Base of the API objects that stand for one object inside a worker (Router, Transport, Producer,
 * ...): its id, appData and observer, the worker notifications addressed to it, and close-once
 * semantics — whichever close comes first (the application's, or its owner's) wins, and every
 * later one does nothing.
 */
export abstract class ChannelObject<
  A extends AppData,
  E extends Events,
  O extends Events,
> extends EnhancedEventEmitter<E> {
  readonly #id: string;
  readonly #channel: Channel;
  #closed = false;
  #appData: A;
  readonly #observer = new EnhancedEventEmitter<O>();

  protected constructor(channel: Channel, id: string, appData?: A) {
    super();
    checkAppData(appData);
    this.#id = id;
    this.#channel = channel;
    this.#appData = appData ?? ({} as A);
    channel.on(id, (event: unknown, data: unknown) => {
      const translated = channelEvent(event, data);
      if (translated) this.handleEvent(translated.event, translated.data);
    });
  }

  get id(): string {
    return this.#id;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get appData(): A {
    return this.#appData;
  }

  set appData(appData: A) {
    checkAppData(appData);
    this.#appData = appData;
  }

  get observer(): EnhancedEventEmitter<O> {
    return this.#observer;
  }

  protected get channel(): Channel {
    return this.#channel;
  }

  /** A request to this object's handler in the worker. */
  // biome-ignore lint/suspicious/noExplicitAny: responses are typed by each caller.
  protected request(method: string, data?: unknown): Promise<any> {
    return this.#channel.request(method, this.#id, data);
  }

  /** Reacts to a worker notification addressed to this object. */
  protected handleEvent(_event: string, _data: unknown): void {}

  /** Closes what this object owns (its state, its children) before its close events fire. */
  protected closeContents(): void {}

  /**
   * The application closes it: the worker is told through the owner's handler (a failure, such as
   * a dead worker, changes nothing here), then '@close' for the owner and the observer's 'close'.
   */
  protected closeThrough(method: string, ownerId: string | undefined, data: object): void {
    if (!this.#markClosed()) return;
    this.#channel.request(method, ownerId, data).catch(() => {});
    this.closeContents();
    this.emit('@close');
    this.#anyObserver().safeEmit('close');
  }

  /**
   * Its owner closed (or the worker closed it): `internalEvent` for the owner if any, then the
   * public `event` and the observer's 'close'. The worker needs no request.
   */
  protected closedBy(event: string, internalEvent?: string): void {
    if (!this.#markClosed()) return;
    this.closeContents();
    if (internalEvent) this.emit(internalEvent);
    this.#anyEmitter().safeEmit(event);
    this.#anyObserver().safeEmit('close');
  }

  /** The same event on this object and on its observer, as worker state changes are reported. */
  protected emitBoth<K extends keyof E & keyof O & string>(event: K, ...args: E[K]): void {
    this.safeEmit(event, ...args);
    this.#anyObserver().safeEmit(event, ...args);
  }

  #markClosed(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    this.#channel.removeAllListeners(this.#id);
    return true;
  }

  #anyEmitter(): EnhancedEventEmitter<Events> {
    return this as unknown as EnhancedEventEmitter<Events>;
  }

  #anyObserver(): EnhancedEventEmitter<Events> {
    return this.#observer as unknown as EnhancedEventEmitter<Events>;
  }
}
