// Worker processes: start-up, isolation of a crash, argument errors, resource usage.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as sfu from '../../src/sfu/index.js';
import { mediaCodecs } from './helpers.js';

test('a worker that dies emits "died" and closes its routers only; another worker keeps working', {
  timeout: 30_000,
}, async () => {
  const [doomed, survivor] = await Promise.all([sfu.createWorker(), sfu.createWorker()]);
  assert.notEqual(doomed.pid, process.pid);
  const doomedRouter = await doomed.createRouter({ mediaCodecs });
  const survivorRouter = await survivor.createRouter({ mediaCodecs });
  const transport = await doomedRouter.createWebRtcTransport({
    listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }],
  });
  const died = new Promise<Error>((resolve) => doomed.once('died', resolve));
  const subprocessClosed = new Promise<void>((resolve) => doomed.once('subprocessclose', () => resolve()));
  process.kill(doomed.pid, 'SIGKILL');
  assert.match((await died).message, /died unexpectedly/);
  await subprocessClosed;
  assert.equal(doomed.died, true);
  assert.equal(doomedRouter.closed, true);
  assert.equal(transport.closed, true);
  await assert.rejects(doomed.createRouter(), sfu.types.InvalidStateError);
  assert.equal(survivorRouter.closed, false);
  const dump = (await survivorRouter.dump()) as { id: string };
  assert.equal(dump.id, survivorRouter.id);
  survivor.close();
});

test('bad arguments reject with TypeError and leave the worker running', { timeout: 30_000 }, async () => {
  const worker = await sfu.createWorker();
  const router = await worker.createRouter({ mediaCodecs });
  await assert.rejects(
    router.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip: 'not an ip' }] }),
    TypeError,
  );
  await assert.rejects(
    router.createPlainTransport({ listenInfo: { protocol: 'sctp' as 'udp', ip: '127.0.0.1' } }),
    TypeError,
  );
  const transport = await router.createDirectTransport();
  await assert.rejects(
    transport.produce({ kind: 'audio', rtpParameters: { codecs: 'opus' as never } }),
    TypeError,
  );
  await assert.rejects(
    transport.consume({ producerId: 'nope', rtpCapabilities: router.rtpCapabilities }),
    /not found/,
  );
  await assert.rejects(
    worker.createRouter({ mediaCodecs: [{ kind: 'audio', mimeType: 'audio/nonsense', clockRate: 8000 }] }),
    sfu.types.UnsupportedError,
  );
  const usage = await worker.getResourceUsage();
  assert.equal(typeof usage.ru_maxrss, 'number');
  worker.close();
});

test('worker start-up is fast enough for one worker per test', { timeout: 30_000 }, async () => {
  const started = performance.now();
  const worker = await sfu.createWorker();
  const elapsed = performance.now() - started;
  // Generous bound: these sources run through tsx in the child; the compiled build starts in well under 500 ms.
  assert.ok(elapsed < 5000, `worker took ${elapsed.toFixed(0)} ms to start`);
  const closed = new Promise<void>((resolve) => worker.once('subprocessclose', () => resolve()));
  worker.close();
  await closed;
  assert.equal(worker.died, false);
});
