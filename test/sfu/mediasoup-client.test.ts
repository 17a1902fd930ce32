// mediasoup-client 3.18.7 (with its FakeHandler, no browser) against our server: the shapes it
// loads, sends and expects back (capabilities, transport options, produce/consume, data).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { FakeMediaStreamTrack } from 'fake-mediastreamtrack';
import type { types as client } from 'mediasoup-client';
import { Device } from 'mediasoup-client';
import { FakeHandler } from 'mediasoup-client/handlers/FakeHandler';
import * as sfu from '../../src/sfu/index.js';
import type { Router, WebRtcTransport, Worker } from '../../src/sfu/public-types.js';
import { mediaCodecs } from './helpers.js';

// The fake device's native capabilities ship with mediasoup-client but outside its exports map.
const require = createRequire(import.meta.url);
const fakeParameters = require(
  join(dirname(require.resolve('mediasoup-client')), 'test', 'fakeParameters.js'),
);

let worker: Worker;
let router: Router;

before(async () => {
  worker = await sfu.createWorker({ logLevel: 'warn' });
  router = await worker.createRouter({ mediaCodecs });
});

after(() => worker.close());

function transportOptions(transport: WebRtcTransport) {
  return {
    id: transport.id,
    iceParameters: transport.iceParameters,
    iceCandidates: transport.iceCandidates as client.IceCandidate[],
    dtlsParameters: transport.dtlsParameters as client.DtlsParameters,
    sctpParameters: transport.sctpParameters,
  };
}

test('a mediasoup-client Device loads the router capabilities, produces and consumes through our transports', {
  timeout: 30_000,
}, async () => {
  const device = new Device({ handlerFactory: FakeHandler.createFactory(fakeParameters) });
  await device.load({ routerRtpCapabilities: router.rtpCapabilities as client.RtpCapabilities });
  assert.equal(device.canProduce('audio'), true);
  assert.equal(device.canProduce('video'), true);

  const listenInfos = [{ protocol: 'udp' as const, ip: '127.0.0.1' }];
  const serverSend = await router.createWebRtcTransport({ listenInfos, enableSctp: true });
  const serverRecv = await router.createWebRtcTransport({ listenInfos, enableSctp: true });
  // mediasoup-client only uses the last fingerprint.
  assert.equal(serverSend.dtlsParameters.fingerprints.at(-1)!.algorithm, 'sha-256');

  const sendTransport = device.createSendTransport(transportOptions(serverSend));
  sendTransport.on('connect', ({ dtlsParameters }, callback, errback) => {
    serverSend.connect({ dtlsParameters: dtlsParameters as never }).then(callback, errback);
  });
  sendTransport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
    serverSend
      .produce({ kind, rtpParameters: rtpParameters as never, appData })
      .then((producer) => callback({ id: producer.id }), errback);
  });
  sendTransport.on('producedata', ({ sctpStreamParameters, label, protocol }, callback, errback) => {
    serverSend
      .produceData({ sctpStreamParameters: sctpStreamParameters as never, label, protocol })
      .then((dataProducer) => callback({ id: dataProducer.id }), errback);
  });

  const audio = await sendTransport.produce({ track: new FakeMediaStreamTrack({ kind: 'audio' }) as never });
  const video = await sendTransport.produce({ track: new FakeMediaStreamTrack({ kind: 'video' }) as never });
  // The fake handler takes the DTLS server role when sending, so we are its client.
  assert.equal(serverSend.dtlsParameters.role, 'client');
  const dump = (await serverSend.dump()) as { producerIds: string[] };
  assert.deepEqual(dump.producerIds.sort(), [audio.id, video.id].sort());

  const recvTransport = device.createRecvTransport(transportOptions(serverRecv));
  recvTransport.on('connect', ({ dtlsParameters }, callback, errback) => {
    serverRecv.connect({ dtlsParameters: dtlsParameters as never }).then(callback, errback);
  });
  const mids: string[] = [];
  for (const producer of [audio, video]) {
    assert.ok(
      router.canConsume({ producerId: producer.id, rtpCapabilities: device.rtpCapabilities as never }),
    );
    const serverConsumer = await serverRecv.consume({
      producerId: producer.id,
      rtpCapabilities: device.rtpCapabilities as never,
      paused: true,
    });
    const consumer = await recvTransport.consume({
      id: serverConsumer.id,
      producerId: producer.id,
      kind: serverConsumer.kind,
      rtpParameters: serverConsumer.rtpParameters as client.RtpParameters,
    });
    assert.equal(consumer.kind, producer.kind);
    assert.equal(typeof consumer.rtpParameters.encodings![0]!.ssrc, 'number');
    assert.equal(typeof consumer.rtpParameters.rtcp!.cname, 'string');
    if (producer.kind === 'video')
      assert.equal(typeof consumer.rtpParameters.encodings![0]!.rtx?.ssrc, 'number');
    mids.push(consumer.rtpParameters.mid!);
    await serverConsumer.resume();
  }
  assert.deepEqual(mids, ['0', '1']);

  const dataProducer = await sendTransport.produceData({ label: 'chat', protocol: 'text' });
  const serverDataConsumer = await serverRecv.consumeData({ dataProducerId: dataProducer.id });
  const dataConsumer = await recvTransport.consumeData({
    id: serverDataConsumer.id,
    dataProducerId: dataProducer.id,
    sctpStreamParameters: serverDataConsumer.sctpStreamParameters!,
    label: serverDataConsumer.label,
    protocol: serverDataConsumer.protocol,
  });
  assert.equal(dataConsumer.label, 'chat');
  assert.equal(dataConsumer.sctpStreamParameters.streamId, 0);

  const iceParameters = await serverSend.restartIce();
  await sendTransport.restartIce({ iceParameters });
  assert.equal(iceParameters.iceLite, true);
  sendTransport.close();
  recvTransport.close();
  serverSend.close();
  serverRecv.close();
});
