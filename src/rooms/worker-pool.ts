// A pool of SFU workers (one process per core by default) that places each room's router on
// the least-loaded worker. Load is counted in routers and, within a router, in peers.
import { availableParallelism } from 'node:os';
import { type Logger, silentLogger } from '../common/logger.js';
import * as sfu from '../sfu/index.js';
import type { Router, RouterOptions, Worker, WorkerLogLevel } from '../sfu/public-types.js';

export interface WorkerPoolOptions {
  /** Worker processes. Default `os.availableParallelism()`. */
  workers?: number;
  /** UDP/TCP port range for WebRTC transports, shared by all workers. Default 40000–49999. */
  rtcMinPort?: number;
  rtcMaxPort?: number;
  /** The workers' own log level. Default 'warn'. */
  logLevel?: WorkerLogLevel;
  logger?: Logger;
}

interface PooledWorker {
  worker: Worker;
  /** Routers and peers placed on this worker: the load the pool balances. */
  routers: number;
  peers: number;
}

export class WorkerPool {
  private readonly entries: PooledWorker[] = [];
  private readonly log: Logger;
  private closed = false;
  private settings: { logLevel: WorkerLogLevel; rtcMinPort: number; rtcMaxPort: number } | undefined;
  /** Replacements started for workers that died; bounded so a crash loop cannot fork forever. */
  private respawns = 0;
  static readonly MAX_RESPAWNS = 16;

  private constructor(log: Logger) {
    this.log = log;
  }

  static async start(opts: WorkerPoolOptions = {}): Promise<WorkerPool> {
    const count = opts.workers ?? availableParallelism();
    if (!Number.isInteger(count) || count < 1 || count > 256) {
      throw new TypeError(`sfu workers must be an integer in 1..256, got ${count}`);
    }
    const pool = new WorkerPool((opts.logger ?? silentLogger).child({ component: 'sfu-pool' }));
    const settings = {
      logLevel: opts.logLevel ?? ('warn' as WorkerLogLevel),
      rtcMinPort: opts.rtcMinPort ?? 40000,
      rtcMaxPort: opts.rtcMaxPort ?? 49999,
    };
    pool.settings = settings;
    const started = await Promise.allSettled(Array.from({ length: count }, () => sfu.createWorker(settings)));
    const failure = started.find((r) => r.status === 'rejected');
    for (const result of started) {
      if (result.status === 'fulfilled') pool.add(result.value);
    }
    if (failure !== undefined) {
      pool.close();
      throw (failure as PromiseRejectedResult).reason;
    }
    return pool;
  }

  private add(worker: Worker): void {
    const entry: PooledWorker = { worker, routers: 0, peers: 0 };
    this.entries.push(entry);
    worker.on('died', (err) => {
      this.log.error({ err, pid: worker.pid }, 'sfu worker died: its rooms lose their media');
      const i = this.entries.indexOf(entry);
      if (i !== -1) this.entries.splice(i, 1);
      this.respawn();
    });
  }

  private respawn(): void {
    if (this.closed || this.settings === undefined || this.respawns >= WorkerPool.MAX_RESPAWNS) return;
    this.respawns++;
    sfu.createWorker(this.settings).then(
      (worker) => {
        if (this.closed) worker.close();
        else this.add(worker);
      },
      (err) => this.log.error({ err }, 'could not replace a dead sfu worker'),
    );
  }

  get size(): number {
    return this.entries.length;
  }

  get workers(): Worker[] {
    return this.entries.map((e) => e.worker);
  }

  /** Per-worker load, for /healthz and tests. */
  load(): { pid: number; routers: number; peers: number }[] {
    return this.entries.map((e) => ({ pid: e.worker.pid, routers: e.routers, peers: e.peers }));
  }

  /**
   * Creates a router on the least-loaded worker (fewest peers, then fewest routers), skipping
   * `excludeWorkers` (a big room's second router goes to a worker it is not on yet). The
   * returned handle tracks the room's peers for balancing and releases the load on close.
   */
  async createRouter(options: RouterOptions, excludeWorkers: readonly Worker[] = []): Promise<PooledRouter> {
    const entry = this.pickWorker(excludeWorkers);
    entry.routers++;
    try {
      const router = await entry.worker.createRouter(options);
      return new PooledRouter(router, entry);
    } catch (err) {
      entry.routers--;
      throw err;
    }
  }

  /** Whether a live worker other than `excludeWorkers` could take a router. */
  hasWorkerBesides(excludeWorkers: readonly Worker[]): boolean {
    return this.entries.some((e) => !e.worker.closed && !excludeWorkers.includes(e.worker));
  }

  private pickWorker(excludeWorkers: readonly Worker[]): PooledWorker {
    if (this.closed) throw new Error('worker pool is closed');
    let best: PooledWorker | undefined;
    for (const entry of this.entries) {
      if (entry.worker.closed || excludeWorkers.includes(entry.worker)) continue;
      if (
        best === undefined ||
        entry.peers < best.peers ||
        (entry.peers === best.peers && entry.routers < best.routers)
      ) {
        best = entry;
      }
    }
    if (best === undefined) throw new Error('no SFU worker is running');
    return best;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const entry of this.entries) entry.worker.close();
    this.entries.length = 0;
  }
}

/** A router and the load accounting of the worker it lives on. */
export class PooledRouter {
  private released = false;
  private peers = 0;

  constructor(
    readonly router: Router,
    private readonly entry: { routers: number; peers: number; worker: Worker },
  ) {
    router.observer.once('close', () => this.release());
  }

  get worker(): Worker {
    return this.entry.worker;
  }

  get workerPid(): number {
    return this.entry.worker.pid;
  }

  /** Peers whose transports are on this router. */
  get peerCount(): number {
    return this.peers;
  }

  peerAdded(): void {
    if (this.released) return;
    this.peers++;
    this.entry.peers++;
  }

  peerRemoved(): void {
    if (this.released || this.peers === 0) return;
    this.peers--;
    this.entry.peers--;
  }

  close(): void {
    this.router.close();
    this.release();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.entry.routers--;
    this.entry.peers -= this.peers;
    this.peers = 0;
  }
}
