import {
  type DtlsCertificate,
  fingerprints,
  generateCertificate,
  loadCertificate,
} from '../../transport/dtls/certificate.js';
import { type EngineContext, type Handler, requireId } from './context.js';
import { normaliseListenInfo } from './listen-info.js';
import type { WebRtcMediaPlaneFactory } from './media-plane.js';
import type { ParentMessage, WorkerMessage, WorkerProcessSettings } from './protocol.js';
import { LOG_LEVELS } from './protocol.js';
import { RouterEngine } from './router.js';
import type { RtpCapabilities } from './rtp-parameters.js';
import { WebRtcServerEngine } from './webrtc-server.js';
import type { WorkerLog } from './worker-log.js';

/** The worker's DTLS identity: a configured PEM pair, else a fresh self-signed ECDSA P-256 certificate. */
function workerCertificate(settings: WorkerProcessSettings): DtlsCertificate {
  if (settings.dtlsCertificateFile && settings.dtlsPrivateKeyFile) {
    return loadCertificate(settings.dtlsCertificateFile, settings.dtlsPrivateKeyFile);
  }
  return generateCertificate();
}

/**
 * The engine of one worker process: dispatches requests from the controlling process to the
 * router, transport, producer... they address, and sends their events back. Every failure of a
 * request becomes an error response; nothing a request carries can take the process down.
 */
export class WorkerEngine {
  readonly #send: (message: WorkerMessage) => void;
  readonly #log: WorkerLog;
  readonly #settings: WorkerProcessSettings;
  readonly #handlers = new Map<string, Handler>();
  readonly #routers = new Map<string, RouterEngine>();
  readonly #webRtcServers = new Map<string, WebRtcServerEngine>();
  readonly #ctx: EngineContext;
  readonly certificate: DtlsCertificate;
  /** Set by the media plane when it is available (see media-plane.ts). */
  mediaPlaneFactory?: WebRtcMediaPlaneFactory;

  constructor(settings: WorkerProcessSettings, send: (message: WorkerMessage) => void, log: WorkerLog) {
    this.#settings = settings;
    this.#send = send;
    this.#log = log;
    this.certificate = workerCertificate(settings);
    const dtlsFingerprints = fingerprints(this.certificate.der);
    this.#ctx = {
      log,
      register: (id, handler) => this.#handlers.set(id, handler),
      unregister: (id) => this.#handlers.delete(id),
      emit: (targetId, event, data) => this.#send({ kind: 'event', targetId, event, data }),
      portRange: () => ({ min: this.#settings.rtcMinPort, max: this.#settings.rtcMaxPort }),
      dtlsFingerprints,
      producerIds: new Set(),
      dataProducerIds: new Set(),
    };
  }

  /** One message from the controlling process. */
  handle(message: ParentMessage): void {
    if (typeof message !== 'object' || message === null) return;
    if (message.kind === 'notification') {
      try {
        this.#handlers.get(message.handlerId)?.handleNotification?.(message.method, message.data);
      } catch (error) {
        this.#log.warn({ err: error, method: message.method }, 'notification failed');
      }
      return;
    }
    if (message.kind !== 'request' || typeof message.id !== 'number') return;
    const { id, method, handlerId, data } = message;
    const fail = (error: unknown) => {
      const err = error instanceof Error ? error : new Error(String(error));
      this.#send({ kind: 'error', id, errorName: err.name, message: err.message });
    };
    // Synchronous handlers run now, so requests and notifications keep their order.
    let result: unknown;
    try {
      result = this.#dispatch(method, handlerId, data);
    } catch (error) {
      fail(error);
      return;
    }
    if (result instanceof Promise)
      result.then((value) => this.#send({ kind: 'response', id, data: value }), fail);
    else this.#send({ kind: 'response', id, data: result });
  }

  // biome-ignore lint/suspicious/noExplicitAny: request bodies come from the IPC channel.
  #dispatch(method: string, handlerId: string | undefined, data: any): unknown {
    if (method.startsWith('worker.')) return this.#handleWorkerRequest(method, data);
    const handler = handlerId === undefined ? undefined : this.#handlers.get(handlerId);
    if (!handler) throw new Error(`handler not found [method:${method}, id:${handlerId}]`);
    return handler.handleRequest(method, data);
  }

  // biome-ignore lint/suspicious/noExplicitAny: as above.
  #handleWorkerRequest(method: string, data: any): unknown {
    switch (method) {
      case 'worker.dump':
        return {
          pid: process.pid,
          webRtcServerIds: [...this.#webRtcServers.keys()],
          routerIds: [...this.#routers.keys()],
          channelMessageHandlers: {
            channelRequestHandlers: [...this.#webRtcServers.keys(), ...this.#routers.keys()],
            channelNotificationHandlers: [],
          },
        };
      case 'worker.getResourceUsage': {
        const ru = process.resourceUsage();
        return {
          ru_utime: ru.userCPUTime / 1000,
          ru_stime: ru.systemCPUTime / 1000,
          ru_maxrss: ru.maxRSS,
          ru_ixrss: ru.sharedMemorySize,
          ru_idrss: ru.unsharedDataSize,
          ru_isrss: ru.unsharedStackSize,
          ru_minflt: ru.minorPageFault,
          ru_majflt: ru.majorPageFault,
          ru_nswap: ru.swappedOut,
          ru_inblock: ru.fsRead,
          ru_oublock: ru.fsWrite,
          ru_msgsnd: ru.ipcSent,
          ru_msgrcv: ru.ipcReceived,
          ru_nsignals: ru.signalsCount,
          ru_nvcsw: ru.voluntaryContextSwitches,
          ru_nivcsw: ru.involuntaryContextSwitches,
        };
      }
      case 'worker.updateSettings':
        if (data?.logLevel !== undefined) {
          if (!LOG_LEVELS.includes(data.logLevel)) throw new TypeError('invalid logLevel');
          this.#settings.logLevel = data.logLevel;
          this.#log.level = data.logLevel;
        }
        if (Array.isArray(data?.logTags)) this.#settings.logTags = data.logTags;
        return undefined;
      case 'worker.createWebRtcServer':
        return this.#createWebRtcServer(data);
      case 'worker.closeWebRtcServer': {
        const server = this.#webRtcServers.get(String(data?.webRtcServerId));
        if (server) {
          server.close();
          this.#webRtcServers.delete(server.id);
          this.#handlers.delete(server.id);
        }
        return undefined;
      }
      case 'worker.createRouter': {
        const id = requireId(data?.routerId, 'routerId');
        if (typeof data.rtpCapabilities !== 'object' || !Array.isArray(data.rtpCapabilities?.codecs)) {
          throw new TypeError('missing rtpCapabilities');
        }
        if (this.#routers.has(id)) throw new Error('a Router with same id already exists');
        const router = new RouterEngine(
          this.#ctx,
          {
            getWebRtcServer: (serverId) => this.#webRtcServers.get(serverId),
            mediaPlaneFactory: this.mediaPlaneFactory,
          },
          id,
          data.rtpCapabilities as RtpCapabilities,
        );
        this.#routers.set(id, router);
        this.#handlers.set(id, router);
        return undefined;
      }
      case 'worker.closeRouter': {
        const router = this.#routers.get(String(data?.routerId));
        if (router) {
          router.close();
          this.#routers.delete(router.id);
          this.#handlers.delete(router.id);
        }
        return undefined;
      }
      default:
        throw new Error(`unknown method ${method}`);
    }
  }

  // biome-ignore lint/suspicious/noExplicitAny: as above.
  async #createWebRtcServer(data: any): Promise<void> {
    const id = requireId(data?.webRtcServerId, 'webRtcServerId');
    if (this.#webRtcServers.has(id)) throw new Error('a WebRtcServer with same id already exists');
    if (!Array.isArray(data?.listenInfos) || data.listenInfos.length === 0)
      throw new TypeError('missing listenInfos');
    const infos = data.listenInfos.map((info: unknown) => normaliseListenInfo(info));
    const server = await WebRtcServerEngine.create(this.#ctx, id, infos);
    this.#webRtcServers.set(id, server);
    this.#handlers.set(id, server);
  }
}
