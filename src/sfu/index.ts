/**
 * tureen/sfu: mediasoup 3.14's server API. Workers are child processes running our own engine
 * (src/sfu/engine); this module is the controlling-process side.
 */
import { EnhancedEventEmitter } from './emitter.js';
import { clone } from './engine/ortc.js';
import type { RtpCapabilities } from './engine/rtp-parameters.js';
import { supportedRtpCapabilities } from './engine/supported-rtp-capabilities.js';
import type { AppData } from './types.js';
import { Worker, type WorkerSettings, workerProcessSettings } from './worker.js';
import { locateWorkerEntry } from './worker-entry.js';

export { ActiveSpeakerObserver } from './active-speaker-observer.js';
export { AudioLevelObserver } from './audio-level-observer.js';
export { Consumer } from './consumer.js';
export { DataConsumer } from './data-consumer.js';
export { DataProducer } from './data-producer.js';
export { DirectTransport } from './direct-transport.js';
export { EnhancedEventEmitter } from './emitter.js';
export { parseScalabilityMode } from './engine/scalability-mode.js';
export { PipeTransport } from './pipe-transport.js';
export { PlainTransport } from './plain-transport.js';
export { Producer } from './producer.js';
export * as types from './public-types.js';
export { Router } from './router.js';
export { RtpObserver } from './rtp-observer.js';
export { Transport } from './transport.js';
export { WebRtcServer } from './webrtc-server.js';
export { WebRtcTransport } from './webrtc-transport.js';
export { Worker } from './worker.js';

const WORKER_START_TIMEOUT_MS = 15_000;

/** The mediasoup version whose API (and conformance suite) this module follows. */
export const version = '3.14.7';

/** Path of the script each worker process runs. */
export const workerBin: string = locateWorkerEntry();

export type ObserverEvents = { newworker: [Worker] };

/** Emits 'newworker' for every Worker created. */
export const observer = new EnhancedEventEmitter<ObserverEvents>();

/** Starts a worker process; resolves once it is ready to take requests. */
export async function createWorker<WorkerAppData extends AppData = AppData>(
  settings: WorkerSettings<WorkerAppData> = {},
): Promise<Worker<WorkerAppData>> {
  const processSettings = workerProcessSettings(settings);
  const worker = new Worker<WorkerAppData>(workerBin, processSettings, settings.appData);
  await new Promise<void>((resolve, reject) => {
    // A worker that neither starts nor exits (e.g. a stuck loader) must not hang the caller.
    const timer = setTimeout(() => {
      worker.close();
      reject(new Error(`worker process did not start within ${WORKER_START_TIMEOUT_MS} ms`));
    }, WORKER_START_TIMEOUT_MS);
    worker.once('@success', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.once('@failure', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  observer.safeEmit('newworker', worker as Worker);
  return worker;
}

/** Every codec and header extension the SFU supports (a fresh copy on each call). */
export function getSupportedRtpCapabilities(): RtpCapabilities {
  return clone(supportedRtpCapabilities);
}
