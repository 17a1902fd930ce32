/**
 * Hostile input at a live endpoint: unauthenticated or wrongly keyed Binding requests (our own
 * codec and coturn's turnutils_stunclient) never select a path, and fuzzed datagrams, both from
 * a stranger's socket and injected on the peer's own validated tuple, leave a running libwebrtc
 * session flowing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { WebRtcEndpoint } from '../../src/transport/endpoint/index.js';
import { bindingRequest, UdpStunClient, waitFor } from '../ice/helpers.js';
import { newRtpSummary, recordRtp, WrtcVideoSender } from './helpers.js';

function stunclient(port: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'turnutils_stunclient',
      ['-p', String(port), '-L', '127.0.0.1', '127.0.0.1'],
      { timeout: 15_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
      },
    );
  });
}

test('unauthenticated Binding requests (our codec, turnutils_stunclient) select nothing', {
  timeout: 30_000,
}, async () => {
  const endpoint = await WebRtcEndpoint.create({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const client = await UdpStunClient.open();
  try {
    const port = endpoint.iceCandidates[0]!.port;
    const username = `${endpoint.iceParameters.usernameFragment}:peer`;
    const wrong = await client.check(port, {
      username,
      password: randomBytes(16).toString('hex'),
      useCandidate: true,
    });
    assert.equal(wrong?.errorCode, 401);
    const bare = await client.check(port, { username, useCandidate: true });
    assert.equal(bare?.errorCode, 400);
    const result = await stunclient(port);
    assert.equal(result.code, 0, `turnutils_stunclient got an answer: ${result.output}`);
    assert.equal(endpoint.iceState, 'new');
    assert.equal(endpoint.iceSelectedTuple, undefined);
    assert.equal(endpoint.ice.tuples.length, 0);
  } finally {
    client.close();
    endpoint.close();
  }
});

/** Random datagrams biased towards each RFC 7983 range, plus mutated Binding requests. */
function fuzzDatagram(ufrag: string, i: number): Buffer {
  const kind = i % 5;
  if (kind === 0) {
    const request = bindingRequest({ username: `${ufrag}:x`, password: 'p'.repeat(24), useCandidate: true });
    request[20 + Math.floor(Math.random() * (request.length - 20))] ^= 1 << (i % 8);
    return request;
  }
  const body = randomBytes(1 + Math.floor(Math.random() * 300));
  const firstBytes = [0x00, 0x01, 22, 23, 0x80, 0x90];
  if (kind !== 4) body[0] = firstBytes[i % firstBytes.length]!;
  if (kind === 3 && body.length > 1) body[1] = 200 + (i % 8);
  return body;
}

test('fuzzed datagrams from a stranger and on the peer tuple leave a wrtc session flowing', {
  timeout: 60_000,
}, async () => {
  const endpoint = await WebRtcEndpoint.create({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const sender = new WrtcVideoSender();
  const attacker = await UdpStunClient.open();
  try {
    const answer = endpoint.answer(await sender.offer());
    await sender.accept(answer);
    const vp8 = endpoint.sections[0]!.codec!.payloadType;
    const summary = newRtpSummary();
    endpoint.onRtp = (packet) => recordRtp(summary, packet, vp8);
    assert.ok(await waitFor(() => summary.packets > 10, 15_000), 'media flowing before the attack');
    const selected = endpoint.iceSelectedTuple!;
    const port = endpoint.iceCandidates[0]!.port;
    const ufrag = endpoint.iceParameters.usernameFragment;
    const before = summary.packets;
    for (let i = 0; i < 4000; i++) {
      const datagram = fuzzDatagram(ufrag, i);
      attacker.send(datagram, port);
      // As if an on-path attacker spoofed the peer's address: garbage inside the valid 5-tuple.
      endpoint.ice.handlePacket(datagram, selected);
      if (i % 200 === 0) await new Promise((r) => setImmediate(r));
    }
    assert.ok(
      await waitFor(() => summary.packets > before + 60, 10_000),
      'media keeps flowing after the attack',
    );
    assert.equal(endpoint.iceSelectedTuple, selected, 'selection unchanged');
    assert.ok(
      endpoint.ice.tuples.every((t) => t.remotePort !== attacker.port),
      'the attacker has no valid tuple',
    );
    assert.equal(endpoint.dtlsState, 'connected');
    assert.ok(['connected', 'completed'].includes(sender.iceConnectionState));
    assert.ok(endpoint.stats.srtpErrors > 0, 'garbage media was rejected by SRTP authentication');
    console.log('fuzz', JSON.stringify(endpoint.stats));
  } finally {
    attacker.close();
    sender.close();
    endpoint.close();
  }
});

// libwebrtc (wrtc) segfaults in its teardown at natural process exit; exiting explicitly
// once the test runner has reported (its beforeExit handler was registered first) avoids it.
process.on('beforeExit', () => process.exit(process.exitCode ?? 0));
