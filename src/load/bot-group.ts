// The bots of one process: one DTLS certificate, one timer that drives every bot's sending, and
// the tokens they join with (signed with the server's secret, or from the dev-token endpoint).

import { issueToken } from '../signaling/tokens.js';
import { type DtlsCertificate, generateCertificate } from '../transport/dtls/index.js';
import { Bot, type BotSnapshot, type BotVideoOptions } from './bot.js';

export interface GroupConfig {
  /** Signaling WebSocket URL, e.g. ws://127.0.0.1:8080/ws. */
  url: string;
  /** Sign room tokens with this secret (rooms forced to SFU mode); else ask /api/dev-token. */
  tokenSecret?: string;
  video: BotVideoOptions;
}

export interface BotSpec {
  room: string;
  name: string;
  publish: boolean;
  speakerSlot: number;
  /** Date.now() at which it joins. */
  joinAt: number;
}

export interface BotStartResult {
  name: string;
  ok: boolean;
  error?: string;
}

/** What a group of bots (here or in a child process) offers the runner. */
export interface BotGroupHandle {
  add(specs: BotSpec[]): Promise<BotStartResult[]>;
  snapshot(): Promise<BotSnapshot[]>;
  /** Makes the named bot vanish (no leave); false if it is not here. */
  vanish(name: string): Promise<boolean>;
  /** The bots of this room leave. */
  removeRoom(room: string): Promise<void>;
  close(): Promise<void>;
}

/** Milliseconds between sending rounds: audio is due every 20 ms, video every 33 ms. */
const TICK_MS = 5;

/** The dev-token endpoint next to a signaling URL: ws://h:p/ws → http://h:p/api/dev-token. */
export function devTokenUrl(wsUrl: string): string {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = '/api/dev-token';
  url.search = '';
  return url.toString();
}

export async function fetchToken(
  config: GroupConfig,
  room: string,
  name: string,
  publish: boolean,
): Promise<string> {
  if (config.tokenSecret !== undefined) {
    const sub = `${name.replace(/[^A-Za-z0-9_-]+/g, '-')}-${Math.random().toString(36).slice(2, 8)}`;
    return issueToken(
      config.tokenSecret,
      { sub, room, name, mode: 'sfu', perms: { publish, subscribe: true, publishData: false } },
      24 * 3600,
    );
  }
  const url = new URL(devTokenUrl(config.url));
  url.searchParams.set('room', room);
  url.searchParams.set('name', name);
  const response = await fetch(url).catch((err: Error & { cause?: { code?: string; message?: string } }) => {
    throw new Error(
      `GET ${url.origin}${url.pathname}: ${err.cause?.code ?? err.cause?.message ?? err.message}`,
    );
  });
  if (!response.ok)
    throw new Error(`GET ${url.pathname} answered ${response.status} (is the server in dev mode?)`);
  const body = (await response.json()) as { token?: unknown };
  if (typeof body.token !== 'string') throw new Error('the dev-token answer has no token');
  return body.token;
}

export class BotGroup implements BotGroupHandle {
  readonly #config: GroupConfig;
  readonly #certificate: DtlsCertificate = generateCertificate();
  readonly #bots = new Map<string, Bot>();
  readonly #timer: NodeJS.Timeout;
  readonly #pendingStarts = new Set<NodeJS.Timeout>();

  constructor(config: GroupConfig) {
    this.#config = config;
    this.#timer = setInterval(() => {
      const now = Date.now();
      for (const bot of this.#bots.values()) bot.tick(now);
    }, TICK_MS);
  }

  get bots(): ReadonlyMap<string, Bot> {
    return this.#bots;
  }

  add(specs: BotSpec[]): Promise<BotStartResult[]> {
    return Promise.all(
      specs.map(
        (spec) =>
          new Promise<BotStartResult>((resolve) => {
            const timer = setTimeout(
              () => {
                this.#pendingStarts.delete(timer);
                this.#startOne(spec).then(resolve);
              },
              Math.max(0, spec.joinAt - Date.now()),
            );
            this.#pendingStarts.add(timer);
          }),
      ),
    );
  }

  async #startOne(spec: BotSpec): Promise<BotStartResult> {
    try {
      const token = await fetchToken(this.#config, spec.room, spec.name, spec.publish);
      const bot = new Bot(spec.room, {
        url: this.#config.url,
        token,
        name: spec.name,
        publish: spec.publish,
        certificate: this.#certificate,
        video: this.#config.video,
        speakerSlot: spec.speakerSlot,
      });
      this.#bots.set(spec.name, bot);
      await bot.start();
      return { name: spec.name, ok: true };
    } catch (err) {
      return { name: spec.name, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  async snapshot(): Promise<BotSnapshot[]> {
    return [...this.#bots.values()].map((bot) => bot.snapshot());
  }

  async vanish(name: string): Promise<boolean> {
    const bot = this.#bots.get(name);
    if (!bot) return false;
    bot.vanish();
    return true;
  }

  async removeRoom(room: string): Promise<void> {
    const leaving = [...this.#bots].filter(([, bot]) => bot.room === room);
    for (const [name] of leaving) this.#bots.delete(name);
    await Promise.all(leaving.map(([, bot]) => bot.leave()));
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    for (const timer of this.#pendingStarts) clearTimeout(timer);
    this.#pendingStarts.clear();
    await Promise.all([...this.#bots.values()].map((bot) => bot.leave()));
  }
}
