import { EventEmitter } from 'node:events';
import type { Logger } from '../common/logger.js';
import { silentLogger } from '../common/logger.js';

// biome-ignore lint/suspicious/noExplicitAny: event maps are user-extensible, as in mediasoup.
export type Events = Record<string, any[]>;

/**
 * An EventEmitter whose `safeEmit` never throws into the caller: a listener's exception is
 * reported as 'listenererror' instead, so one bad application handler cannot break the SFU.
 */
export class EnhancedEventEmitter<E extends Events = Events> extends EventEmitter {
  protected readonly log: Logger;

  constructor(log: Logger = silentLogger) {
    super();
    this.setMaxListeners(Number.POSITIVE_INFINITY);
    this.log = log;
  }

  safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    try {
      return super.emit(event, ...args);
    } catch (error) {
      this.log.error({ err: error, event }, 'event listener threw');
      try {
        super.emit('listenererror', event, error);
      } catch {
        // A throwing 'listenererror' listener has nowhere left to report to.
      }
      return Boolean(this.listenerCount(event));
    }
  }

  async safeEmitAsPromise<K extends keyof E & string>(event: K, ...args: E[K]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.safeEmit(event, ...([...args, resolve, reject] as unknown as E[K]));
    });
  }

  override on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.once(event, listener as (...args: unknown[]) => void);
  }

  override off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }
}
