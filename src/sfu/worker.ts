import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { createLogger, type Logger } from '../common/logger.js';
import { Channel } from './channel.js';
import { EnhancedEventEmitter } from './emitter.js';
import { InvalidStateError } from './engine/errors.js';
import { normaliseListenInfo } from './engine/listen-info.js';
import { generateRouterRtpCapabilities } from './engine/ortc.js';
import {
  LOG_LEVELS,
  LOG_TAGS,
  type WorkerLogLevel,
  type WorkerLogTag,
  type WorkerMessage,
  type WorkerProcessSettings,
} from './engine/protocol.js';
import type { RtpCodecCapability } from './engine/rtp-parameters.js';
import { Router } from './router.js';
import type { AppData } from './types.js';
import { checkAppData } from './validate.js';
import { WebRtcServer, type WebRtcServerOptions } from './webrtc-server.js';

export type { WorkerLogLevel, WorkerLogTag };

export interface WorkerSettings<WorkerAppData extends AppData = AppData> {
  logLevel?: WorkerLogLevel;
  logTags?: WorkerLogTag[];
  rtcMinPort?: number;
  rtcMaxPort?: number;
  dtlsCertificateFile?: string;
  dtlsPrivateKeyFile?: string;
  /** Accepted for compatibility; there is no libwebrtc in this worker. */
  libwebrtcFieldTrials?: string;
  /** Accepted for compatibility; there is no io_uring in this worker. */
  disableLiburing?: boolean;
  appData?: WorkerAppData;
}

export type WorkerUpdateableSettings = Pick<WorkerSettings, 'logLevel' | 'logTags'>;

export interface RouterOptions<RouterAppData extends AppData = AppData> {
  mediaCodecs?: RtpCodecCapability[];
  appData?: RouterAppData;
}

/** mediasoup's resource usage shape (libuv's uv_rusage_t field names). */
export interface WorkerResourceUsage {
  ru_utime: number;
  ru_stime: number;
  ru_maxrss: number;
  ru_ixrss: number;
  ru_idrss: number;
  ru_isrss: number;
  ru_minflt: number;
  ru_majflt: number;
  ru_nswap: number;
  ru_inblock: number;
  ru_oublock: number;
  ru_msgsnd: number;
  ru_msgrcv: number;
  ru_nsignals: number;
  ru_nvcsw: number;
  ru_nivcsw: number;
}

export type WorkerEvents = {
  died: [Error];
  subprocessclose: [];
  listenererror: [string, Error];
  '@success': [];
  '@failure': [Error];
};

export type WorkerObserverEvents = {
  close: [];
  newwebrtcserver: [WebRtcServer];
  newrouter: [Router];
};

let sharedWorkerLogger: Logger | undefined;

/** Where worker processes' log records end up (they filter by their logLevel before sending). */
function workerLogger(): Logger {
  sharedWorkerLogger ??= createLogger('debug', 'tureen-sfu-worker');
  return sharedWorkerLogger;
}

function checkPortSetting(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new TypeError(`invalid ${name}`);
  }
  return value;
}

function checkLogSettings(settings: WorkerUpdateableSettings): void {
  if (settings.logLevel !== undefined && !LOG_LEVELS.includes(settings.logLevel)) {
    throw new TypeError(`invalid logLevel: ${String(settings.logLevel)}`);
  }
  if (settings.logTags !== undefined) {
    if (!Array.isArray(settings.logTags) || settings.logTags.some((t) => typeof t !== 'string')) {
      throw new TypeError('invalid logTags');
    }
  }
}

/** Validates WorkerSettings (TypeError on any bad value) and returns what the worker process needs. */
export function workerProcessSettings(settings: WorkerSettings): WorkerProcessSettings {
  if (typeof settings !== 'object' || settings === null) throw new TypeError('settings is not an object');
  checkLogSettings(settings);
  const rtcMinPort = checkPortSetting(settings.rtcMinPort, 'rtcMinPort') ?? 10000;
  const rtcMaxPort = checkPortSetting(settings.rtcMaxPort, 'rtcMaxPort') ?? 59999;
  if (rtcMinPort > rtcMaxPort) throw new TypeError('rtcMinPort is greater than rtcMaxPort');
  for (const file of [settings.dtlsCertificateFile, settings.dtlsPrivateKeyFile]) {
    if (file === undefined) continue;
    if (typeof file !== 'string') throw new TypeError('invalid DTLS certificate or key file');
    try {
      accessSync(file, constants.R_OK);
    } catch {
      throw new TypeError(`cannot read ${file}`);
    }
  }
  if ((settings.dtlsCertificateFile === undefined) !== (settings.dtlsPrivateKeyFile === undefined)) {
    throw new TypeError('dtlsCertificateFile and dtlsPrivateKeyFile go together');
  }
  checkAppData(settings.appData);
  return {
    logLevel: settings.logLevel ?? 'error',
    logTags: (settings.logTags ?? []).filter((t) => LOG_TAGS.includes(t)),
    rtcMinPort,
    rtcMaxPort,
    dtlsCertificateFile: settings.dtlsCertificateFile,
    dtlsPrivateKeyFile: settings.dtlsPrivateKeyFile,
  };
}

/** One SFU worker: a child process running the engine, owning routers and WebRtcServers. */
export class Worker<WorkerAppData extends AppData = AppData> extends EnhancedEventEmitter<WorkerEvents> {
  readonly #child: ChildProcess;
  readonly #pid: number;
  readonly #channel: Channel;
  #closed = false;
  #died = false;
  #subprocessClosed = false;
  #appData: WorkerAppData;
  readonly #webRtcServers = new Set<WebRtcServer>();
  readonly #routers = new Set<Router>();
  readonly #observer = new EnhancedEventEmitter<WorkerObserverEvents>();

  /** @private Use createWorker(). */
  constructor(entry: string, settings: WorkerProcessSettings, appData?: WorkerAppData) {
    super();
    this.#appData = appData ?? ({} as WorkerAppData);
    // Running the TypeScript sources (tests, development) needs tsx in the child as well.
    const execArgv = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
    this.#child = fork(entry, [JSON.stringify(settings)], {
      execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#pid = this.#child.pid ?? 0;
    this.#channel = new Channel(this.#child);
    let spawnDone = false;
    this.#child.on('message', (message: WorkerMessage) => {
      if (message.kind === 'running') {
        spawnDone = true;
        this.safeEmit('@success');
        return;
      }
      if (message.kind === 'log') {
        workerLogger()[message.level]({ ...message.data, pid: this.#pid }, message.message);
        return;
      }
      this.#channel.receive(message);
    });
    this.#child.on('error', (error) => {
      if (!spawnDone) {
        spawnDone = true;
        this.safeEmit('@failure', error);
      } else {
        this.#workerDied(error);
      }
    });
    this.#child.on('exit', (code, signal) => {
      if (!spawnDone) {
        spawnDone = true;
        this.#closed = true;
        this.#channel.close();
        this.safeEmit(
          '@failure',
          new Error(`worker process failed to start [code:${code}, signal:${signal}]`),
        );
      } else {
        this.#workerDied(
          new Error(`worker process died unexpectedly [pid:${this.#pid}, code:${code}, signal:${signal}]`),
        );
      }
      this.#subprocessClosed = true;
      this.safeEmit('subprocessclose');
    });
  }

  get pid(): number {
    return this.#pid;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get died(): boolean {
    return this.#died;
  }

  get subprocessClosed(): boolean {
    return this.#subprocessClosed;
  }

  get appData(): WorkerAppData {
    return this.#appData;
  }

  set appData(appData: WorkerAppData) {
    checkAppData(appData);
    this.#appData = appData;
  }

  get observer(): EnhancedEventEmitter<WorkerObserverEvents> {
    return this.#observer;
  }

  /** @private */
  get webRtcServersForTesting(): Set<WebRtcServer> {
    return this.#webRtcServers;
  }

  /** @private */
  get routersForTesting(): Set<Router> {
    return this.#routers;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#child.kill('SIGTERM');
    this.#channel.close();
    this.#closeChildren();
    this.#observer.safeEmit('close');
  }

  #closeChildren(): void {
    for (const router of this.#routers) router.workerClosed();
    this.#routers.clear();
    for (const server of this.#webRtcServers) server.workerClosed();
    this.#webRtcServers.clear();
  }

  #workerDied(error: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#died = true;
    this.#channel.close();
    this.#closeChildren();
    this.safeEmit('died', error);
    this.#observer.safeEmit('close');
  }

  async dump(): Promise<unknown> {
    this.#assertOpen();
    return this.#channel.request('worker.dump');
  }

  async getResourceUsage(): Promise<WorkerResourceUsage> {
    this.#assertOpen();
    return this.#channel.request('worker.getResourceUsage');
  }

  async updateSettings({ logLevel, logTags }: WorkerUpdateableSettings = {}): Promise<void> {
    this.#assertOpen();
    checkLogSettings({ logLevel, logTags });
    await this.#channel.request('worker.updateSettings', undefined, { logLevel, logTags });
  }

  async createWebRtcServer<A extends AppData = AppData>({
    listenInfos,
    appData,
  }: WebRtcServerOptions<A>): Promise<WebRtcServer<A>> {
    this.#assertOpen();
    if (!Array.isArray(listenInfos) || listenInfos.length === 0) {
      throw new TypeError('listenInfos must be a non-empty array');
    }
    checkAppData(appData);
    const infos = listenInfos.map((info) => normaliseListenInfo(info));
    const webRtcServerId = randomUUID();
    await this.#channel.request('worker.createWebRtcServer', undefined, {
      webRtcServerId,
      listenInfos: infos,
    });
    const server = new WebRtcServer<A>({ webRtcServerId, channel: this.#channel, appData });
    this.#webRtcServers.add(server);
    server.on('@close', () => this.#webRtcServers.delete(server));
    this.#observer.safeEmit('newwebrtcserver', server);
    return server;
  }

  async createRouter<A extends AppData = AppData>({
    mediaCodecs,
    appData,
  }: RouterOptions<A> = {}): Promise<Router<A>> {
    this.#assertOpen();
    checkAppData(appData);
    const rtpCapabilities = generateRouterRtpCapabilities(mediaCodecs);
    const routerId = randomUUID();
    await this.#channel.request('worker.createRouter', undefined, { routerId, rtpCapabilities });
    const router = new Router<A>({ routerId, channel: this.#channel, rtpCapabilities, appData });
    this.#routers.add(router);
    router.on('@close', () => this.#routers.delete(router));
    this.#observer.safeEmit('newrouter', router);
    return router;
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError('Worker closed');
  }
}
