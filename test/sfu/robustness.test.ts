// Bad input must never crash a worker: random requests and notifications with junk bodies.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import * as sfu from '../../src/sfu/index.js';
import { mediaCodecs } from './helpers.js';

const METHODS = [
  'worker.createRouter',
  'worker.createWebRtcServer',
  'worker.closeRouter',
  'worker.updateSettings',
  'router.createWebRtcTransport',
  'router.createPlainTransport',
  'router.createPipeTransport',
  'router.createDirectTransport',
  'router.createAudioLevelObserver',
  'router.closeTransport',
  'transport.produce',
  'transport.consume',
  'transport.produceData',
  'transport.consumeData',
  'transport.connect',
  'transport.restartIce',
  'transport.closeProducer',
  'producer.pause',
  'consumer.setPreferredLayers',
  'dataConsumer.setSubchannels',
  'rtpObserver.addProducer',
  'no.such.method',
];

function junk(depth = 0): unknown {
  const pick = Math.floor(Math.random() * (depth > 2 ? 6 : 9));
  switch (pick) {
    case 0:
      return undefined;
    case 1:
      return null;
    case 2:
      return Math.random() < 0.5 ? -1 : 1e12;
    case 3:
      return 'x'.repeat(Math.floor(Math.random() * 40));
    case 4:
      return randomBytes(Math.floor(Math.random() * 64));
    case 5:
      return Math.random() < 0.5;
    case 6:
      return [junk(depth + 1), junk(depth + 1)];
    default: {
      const keys = [
        'transportId',
        'producerId',
        'rtpParameters',
        'listenInfos',
        'listenInfo',
        'kind',
        'type',
        'data',
        'ppid',
      ];
      return Object.fromEntries(keys.filter(() => Math.random() < 0.5).map((k) => [k, junk(depth + 1)]));
    }
  }
}

test('hundreds of malformed requests and notifications get errors, not a dead worker', {
  timeout: 30_000,
}, async () => {
  const worker = await sfu.createWorker();
  let died = false;
  worker.on('died', () => {
    died = true;
  });
  const router = await worker.createRouter({ mediaCodecs });
  const transport = await router.createDirectTransport();
  const producer = await transport.produce({
    kind: 'audio',
    rtpParameters: {
      codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }],
      encodings: [{ ssrc: 1 }],
    },
  });
  const channel = transport.channelForTesting;
  const ids = [undefined, router.id, transport.id, producer.id, 'bogus'];
  let errors = 0;
  for (let i = 0; i < 400; i++) {
    const method = METHODS[i % METHODS.length]!;
    const id = ids[Math.floor(Math.random() * ids.length)];
    channel.notify('producer.send', producer.id, junk());
    channel.notify('dataProducer.send', String(id), junk());
    try {
      await channel.request(method, id, junk());
    } catch (error) {
      assert.ok(error instanceof Error);
      errors++;
    }
  }
  assert.ok(errors > 100, `only ${errors} errors`);
  assert.equal(died, false);
  assert.equal(((await worker.dump()) as { pid: number }).pid, worker.pid);
  const closed = new Promise<void>((resolve) => worker.once('subprocessclose', () => resolve()));
  worker.close();
  await closed;
  assert.equal(died, false);
});
