// WebRtcServer: one UDP port for many WebRtcTransports, routed by the ICE username fragment.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as sfu from '../../src/sfu/index.js';
import type { Worker } from '../../src/sfu/public-types.js';
import { StunBuilder } from '../../src/wire/stun/builder.js';
import { StunAttr, StunClass, StunMethod } from '../../src/wire/stun/constants.js';
import { delay, udpSocket } from './helpers.js';

let worker: Worker;

before(async () => {
  worker = await sfu.createWorker({ logLevel: 'warn' });
});

after(() => worker.close());

async function bytesReceived(transport: { getStats(): Promise<unknown[]> }): Promise<number> {
  const [stats] = (await transport.getStats()) as { bytesReceived: number }[];
  return stats!.bytesReceived;
}

test('a STUN request reaches the transport its USERNAME names; its 5-tuple then sticks to it', {
  timeout: 30_000,
}, async () => {
  const server = await worker.createWebRtcServer({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const router = await worker.createRouter();
  const target = await router.createWebRtcTransport({ webRtcServer: server });
  const bystander = await router.createWebRtcTransport({ webRtcServer: server });
  const serverPort = target.iceCandidates[0]!.port;
  assert.equal(bystander.iceCandidates[0]!.port, serverPort);
  const client = await udpSocket();
  try {
    // A datagram from an unknown 5-tuple that names no transport is dropped.
    client.send(Buffer.from('hello?'), serverPort, '127.0.0.1');
    const request = new StunBuilder(StunMethod.Binding, StunClass.Request)
      .add(StunAttr.Username, `${target.iceParameters.usernameFragment}:remote`)
      .build();
    client.send(request, serverPort, '127.0.0.1');
    client.send(Buffer.from([0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), serverPort, '127.0.0.1');
    let received = 0;
    for (let i = 0; i < 50 && received < request.length + 12; i++) {
      await delay(20);
      received = await bytesReceived(target);
    }
    assert.equal(received, request.length + 12);
    assert.equal(await bytesReceived(bystander), 0);
    const dump = (await server.dump()) as { tupleHashes: { webRtcTransportId: string }[] };
    assert.deepEqual(
      dump.tupleHashes.map((t) => t.webRtcTransportId),
      [target.id],
    );
  } finally {
    client.close();
    server.close();
  }
});
