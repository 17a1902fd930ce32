/**
 * Entry point of an SFU worker process, forked by Worker (src/sfu/worker.ts). Settings come as
 * the first argument (JSON); requests and events travel over the IPC channel.
 */
import inspector from 'node:inspector';
import type { ParentMessage, WorkerMessage, WorkerProcessSettings } from '../engine/protocol.js';
import { createWebRtcMediaPlaneFactory } from '../engine/webrtc-media-plane.js';
import { WorkerEngine } from '../engine/worker-engine.js';
import { WorkerLog } from '../engine/worker-log.js';

// Like mediasoup-worker: these signals must not kill the worker; SIGINT and SIGTERM still do.
for (const signal of ['SIGPIPE', 'SIGHUP', 'SIGALRM', 'SIGUSR2'] as const) process.on(signal, () => {});
// Node opens its inspector on SIGUSR1 whatever we do: close it again so no debug port stays open.
process.on('SIGUSR1', () => setTimeout(() => inspector.close(), 100).unref());

const send = (message: WorkerMessage): void => {
  if (process.connected) process.send?.(message);
};

// The controlling process is gone: nobody can use or close this worker any more.
process.on('disconnect', () => process.exit(0));

const settings = JSON.parse(process.argv[2] ?? '{}') as WorkerProcessSettings;
const log = new WorkerLog(settings.logLevel, send);

// A bug in one handler must not take down every router of the worker.
process.on('uncaughtException', (error) => log.error({ err: error }, 'uncaught exception in worker'));

const engine = new WorkerEngine(settings, send, log);
engine.mediaPlaneFactory = createWebRtcMediaPlaneFactory({ certificate: engine.certificate }).factory;
process.on('message', (message: ParentMessage) => engine.handle(message));
send({ kind: 'running', pid: process.pid });
