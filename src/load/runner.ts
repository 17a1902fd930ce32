// Runs a load: rooms of bots spread over this process or N child processes, joined with a ramp,
// measured between two snapshots of every bot's counters.
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BotSnapshot, BotVideoOptions } from './bot.js';
import {
  BotGroup,
  type BotGroupHandle,
  type BotSpec,
  type BotStartResult,
  type GroupConfig,
} from './bot-group.js';
import { type LoadReport, summarize } from './report.js';

/**
 * Directory of this module without `import.meta` (src/ may be built to CommonJS): `__filename`
 * there, else the module's own URL from a stack frame (as src/sfu/worker-entry.ts does).
 */
function moduleDirectory(): string {
  if (typeof __filename === 'string') return dirname(__filename);
  const stack = new Error().stack ?? '';
  const match = /((?:file:\/\/)?\/[^\s()]+?)(?::\d+){1,2}\)?\s*$/.exec(stack.split('\n')[1] ?? '');
  if (!match) throw new Error('cannot locate the bot process entry script');
  const location = match[1]!;
  return dirname(location.startsWith('file://') ? fileURLToPath(location) : location);
}

function botProcessEntry(): string {
  const js = join(moduleDirectory(), 'bot-process.js');
  return existsSync(js) ? js : join(moduleDirectory(), 'bot-process.ts');
}

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

/** A BotGroup in a child process. */
class RemoteBotGroup implements BotGroupHandle {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #nextId = 1;
  readonly ready: Promise<void>;

  constructor(config: GroupConfig) {
    const entry = botProcessEntry();
    this.#child = fork(entry, [JSON.stringify(config)], {
      execArgv: entry.endsWith('.ts') ? ['--import', 'tsx'] : [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = new Promise((resolve, reject) => {
      this.#pending.set(0, { resolve: () => resolve(), reject });
    });
    this.#child.on('message', (reply: Reply) => {
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (reply.error !== undefined) pending.reject(new Error(reply.error));
      else pending.resolve(reply.result);
    });
    this.#child.on('exit', (code) => {
      for (const pending of this.#pending.values()) pending.reject(new Error(`bot process exited (${code})`));
      this.#pending.clear();
    });
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  #call<T>(message: Record<string, unknown>): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#child.send({ ...message, id });
    });
  }

  add(specs: BotSpec[]): Promise<BotStartResult[]> {
    return this.#call({ op: 'add', specs });
  }
  snapshot(): Promise<BotSnapshot[]> {
    return this.#call({ op: 'snapshot' });
  }
  vanish(name: string): Promise<boolean> {
    return this.#call({ op: 'vanish', name });
  }
  async removeRoom(room: string): Promise<void> {
    await this.#call({ op: 'removeRoom', room });
  }
  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    await this.#call({ op: 'close' }).catch(() => {});
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

export interface RunnerOptions {
  url: string;
  tokenSecret?: string;
  video: BotVideoOptions;
  /** Bot processes: 1 runs the bots in this process, more forks children. Default 1. */
  processes?: number;
}

export interface RoomPlan {
  room: string;
  peers: number;
  /** The first `publishers` bots of the room publish audio and video. */
  publishers: number;
  /** Date.now() at which the room's first bot joins. */
  startAt: number;
  /** Milliseconds between two joins (within the room). */
  rampMs: number;
}

export interface Snapshot {
  at: number;
  bots: BotSnapshot[];
}

/** Bots in rooms, over one or more processes; a whole room stays in one process. */
export class LoadRunner {
  readonly #groups: BotGroupHandle[];
  readonly #botsPerGroup: number[];
  /** Room → publishers planned (for the missing-stream check). */
  readonly publishersByRoom = new Map<string, number>();
  /** Child process ids (empty when the bots run in this process). */
  readonly pids: number[];

  private constructor(groups: BotGroupHandle[], pids: number[]) {
    this.#groups = groups;
    this.#botsPerGroup = groups.map(() => 0);
    this.pids = pids;
  }

  static async start(opts: RunnerOptions): Promise<LoadRunner> {
    const config: GroupConfig = {
      url: opts.url,
      video: opts.video,
      ...(opts.tokenSecret !== undefined ? { tokenSecret: opts.tokenSecret } : {}),
    };
    const processes = Math.max(1, Math.floor(opts.processes ?? 1));
    if (processes === 1) return new LoadRunner([new BotGroup(config)], []);
    const groups = Array.from({ length: processes }, () => new RemoteBotGroup(config));
    await Promise.all(groups.map((g) => g.ready));
    return new LoadRunner(
      groups,
      groups.map((g) => g.pid),
    );
  }

  /** Starts a room's bots (each at its time); resolves when every one has joined or failed. */
  addRoom(plan: RoomPlan): Promise<BotStartResult[]> {
    let index = 0;
    for (let i = 1; i < this.#groups.length; i++) {
      if (this.#botsPerGroup[i]! < this.#botsPerGroup[index]!) index = i;
    }
    this.#botsPerGroup[index]! += plan.peers;
    this.publishersByRoom.set(plan.room, plan.publishers);
    const specs: BotSpec[] = Array.from({ length: plan.peers }, (_, i) => ({
      room: plan.room,
      name: `${plan.room}-bot${i}`,
      publish: i < plan.publishers,
      speakerSlot: i,
      joinAt: plan.startAt + i * plan.rampMs,
    }));
    return this.#groups[index]!.add(specs);
  }

  async snapshot(): Promise<Snapshot> {
    const parts = await Promise.all(this.#groups.map((g) => g.snapshot()));
    return { at: Date.now(), bots: parts.flat() };
  }

  /** Makes a bot vanish without leaving (for tests of the server's cleanup). */
  async vanish(name: string): Promise<boolean> {
    const found = await Promise.all(this.#groups.map((g) => g.vanish(name)));
    return found.some(Boolean);
  }

  /** The room's bots leave. */
  async removeRoom(room: string): Promise<void> {
    await Promise.all(this.#groups.map((g) => g.removeRoom(room)));
    this.publishersByRoom.delete(room);
  }

  async close(): Promise<void> {
    await Promise.all(this.#groups.map((g) => g.close()));
  }
}

export interface LoadOptions extends RunnerOptions {
  rooms: number;
  peers: number;
  publishers: number;
  /** Measuring window after everyone joined, ms. */
  durationMs: number;
  /** Between two joins, ms (over all rooms, room after room). */
  rampMs: number;
  /** Settling time between the last join and the measuring window, ms. Default 2000. */
  warmupMs?: number;
  /** Room names are `${roomPrefix}${i}`. Default `load-<random>-`. */
  roomPrefix?: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** The whole `tureen load` run: join every room, settle, measure, leave, summarize. */
export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  const log = opts.log ?? (() => {});
  const prefix = opts.roomPrefix ?? `load-${Math.random().toString(36).slice(2, 6)}-`;
  const runner = await LoadRunner.start(opts);
  try {
    const startAt = Date.now() + 200;
    log(`joining ${opts.rooms} room(s) × ${opts.peers} bots (${opts.publishers} publishing) ...`);
    const started = await Promise.all(
      Array.from({ length: opts.rooms }, (_, r) =>
        runner.addRoom({
          room: `${prefix}${r}`,
          peers: opts.peers,
          publishers: opts.publishers,
          startAt: startAt + r * opts.peers * opts.rampMs,
          rampMs: opts.rampMs,
        }),
      ),
    );
    const failed = started.flat().filter((s) => !s.ok);
    log(`joined: ${started.flat().length - failed.length} ok, ${failed.length} failed`);
    if (failed.length === started.flat().length) throw new Error(`no bot could join: ${failed[0]?.error}`);
    await new Promise((resolve) => setTimeout(resolve, opts.warmupMs ?? 2000));
    const before = await runner.snapshot();
    log(`measuring for ${Math.round(opts.durationMs / 1000)} s ...`);
    await new Promise((resolve) => setTimeout(resolve, opts.durationMs));
    const after = await runner.snapshot();
    const report = summarize(before, after, runner.publishersByRoom);
    report.notStarted = failed.map((s) => ({ name: s.name, error: s.error ?? 'failed' }));
    return report;
  } finally {
    await runner.close();
  }
}
