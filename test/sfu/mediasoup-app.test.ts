// Code written the way mediasoup applications are written (types from `types`, option objects,
// event handlers) must compile against tureen/sfu and run: a small room server flow.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { types } from '../../src/sfu/index.js';
import * as mediasoup from '../../src/sfu/index.js';

const mediaCodecs: types.RtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, parameters: { 'x-google-start-bitrate': 1000 } },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
];

const webRtcTransportOptions: types.WebRtcTransportOptions = {
  listenInfos: [{ protocol: 'udp', ip: '127.0.0.1', announcedAddress: undefined }],
  enableUdp: true,
  initialAvailableOutgoingBitrate: 1_000_000,
  enableSctp: true,
  numSctpStreams: { OS: 1024, MIS: 1024 },
};

interface Peer {
  transports: Map<string, types.WebRtcTransport>;
  producers: Map<string, types.Producer>;
  consumers: Map<string, types.Consumer>;
}

async function createTransport(router: types.Router, peer: Peer): Promise<types.WebRtcTransport> {
  const transport = await router.createWebRtcTransport<{ peerId: string }>({
    ...webRtcTransportOptions,
    appData: { peerId: 'a' },
  });
  transport.on('dtlsstatechange', (state: types.DtlsState) => {
    if (state === 'closed') transport.close();
  });
  transport.observer.on('close', () => peer.transports.delete(transport.id));
  peer.transports.set(transport.id, transport);
  return transport;
}

test('a mediasoup-style room flow type-checks and runs', { timeout: 30_000 }, async () => {
  const workerSettings: types.WorkerSettings = { logLevel: 'warn', rtcMinPort: 40000, rtcMaxPort: 49999 };
  const worker: types.Worker = await mediasoup.createWorker(workerSettings);
  worker.on('died', () => assert.fail('worker died'));
  try {
    const router: types.Router = await worker.createRouter({ mediaCodecs });
    const peer: Peer = { transports: new Map(), producers: new Map(), consumers: new Map() };
    const send = await createTransport(router, peer);
    const recv = await createTransport(router, peer);
    const dtlsParameters: types.DtlsParameters = {
      role: 'client',
      fingerprints: [{ algorithm: 'sha-256', value: send.dtlsParameters.fingerprints.at(-1)!.value }],
    };
    await send.connect({ dtlsParameters });
    const rtpParameters: types.RtpParameters = {
      mid: '0',
      codecs: [
        { mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, rtcpFeedback: [{ type: 'nack' }] },
      ],
      headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 1 }],
      encodings: [
        { rid: 'r0', scalabilityMode: 'L1T3', maxBitrate: 100_000 },
        { rid: 'r1', scalabilityMode: 'L1T3', maxBitrate: 300_000 },
        { rid: 'r2', scalabilityMode: 'L1T3', maxBitrate: 900_000 },
      ],
      rtcp: { cname: 'peer-a' },
    };
    const producer: types.Producer = await send.produce({
      kind: 'video',
      rtpParameters,
      appData: { source: 'webcam' },
    });
    peer.producers.set(producer.id, producer);
    assert.equal(producer.type, 'simulcast');
    const rtpCapabilities: types.RtpCapabilities = router.rtpCapabilities;
    assert.ok(router.canConsume({ producerId: producer.id, rtpCapabilities }));
    const consumer: types.Consumer = await recv.consume({
      producerId: producer.id,
      rtpCapabilities,
      paused: true,
    });
    peer.consumers.set(consumer.id, consumer);
    consumer.on('producerclose', () => peer.consumers.delete(consumer.id));
    assert.equal(consumer.type, 'simulcast');
    assert.equal(consumer.rtpParameters.encodings![0]!.scalabilityMode, 'L3T3');
    assert.equal(consumer.rtpParameters.encodings![0]!.maxBitrate, 900_000);
    assert.deepEqual(consumer.preferredLayers, { spatialLayer: 2, temporalLayer: 2 });
    await consumer.setPreferredLayers({ spatialLayer: 0 });
    await consumer.resume();
    const closed = new Promise<void>((resolve) => consumer.once('producerclose', () => resolve()));
    producer.close();
    await closed;
    assert.equal(peer.consumers.size, 0);
    const sctp: types.SctpStreamParameters = { streamId: 1, ordered: true };
    const dataProducer: types.DataProducer = await send.produceData({
      sctpStreamParameters: sctp,
      label: 'chat',
    });
    assert.equal(dataProducer.sctpStreamParameters?.ordered, true);
    router.close();
    assert.equal(peer.transports.size, 0);
  } finally {
    worker.close();
  }
});
