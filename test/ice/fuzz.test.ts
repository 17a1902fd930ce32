/**
 * Bounded fuzzing of the ICE-lite server and listeners. Mutated Binding requests get a fresh,
 * valid FINGERPRINT so they reach attribute parsing and MESSAGE-INTEGRITY: none may throw and
 * none may validate a tuple. Random byte streams at the ICE-TCP listener must not crash it or
 * leave connections behind.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  IceLiteServer,
  type IceTuple,
  TcpIceListener,
  UdpIceListener,
} from '../../src/transport/ice/index.js';
import { fingerprintOf, parseStun, StunParseError } from '../../src/wire/stun/index.js';
import { bindingRequest, TcpStunClient, UdpStunClient, waitFor } from './helpers.js';

function xorshift(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}

/** Recomputes FINGERPRINT (if it is last) so the mutant passes the cheap check. */
function refingerprint(buf: Buffer): void {
  if (buf.length < 28 || buf.readUInt16BE(buf.length - 8) !== 0x8028) return;
  buf.writeUInt32BE(fingerprintOf(buf, buf.length - 8), buf.length - 4);
}

test('50 000 mutated Binding requests with valid FINGERPRINT: no throw, no tuple validated', () => {
  const server = new IceLiteServer({ remoteUsernameFragment: 'peer' });
  const responses: Buffer[] = [];
  const tuple: IceTuple = {
    protocol: 'udp',
    localAddress: '127.0.0.1',
    localPort: 1,
    remoteAddress: '127.0.0.1',
    remotePort: 2,
    send: (data) => {
      if (responses.length < 10) responses.push(Buffer.from(data));
    },
    attach: () => assert.fail('a mutated request validated a tuple'),
    detach: () => {},
  };
  const random = xorshift(0x9e3779b9);
  const base = [
    bindingRequest({
      username: `${server.usernameFragment}:peer`,
      password: server.password,
      useCandidate: true,
    }),
    bindingRequest({ username: `${server.usernameFragment}:peer`, password: server.password, nomination: 7 }),
  ];
  let parsed = 0;
  for (let i = 0; i < 50_000; i++) {
    const mutant = Buffer.from(base[i & 1]!);
    const flips = 1 + random(4);
    for (let f = 0; f < flips; f++) {
      // Leave the FINGERPRINT attribute itself alone: it is recomputed.
      mutant[random(mutant.length - 8)]! ^= 1 << random(8);
    }
    refingerprint(mutant);
    // Two flips of the same bit cancel out: that is the genuine request, not a mutant.
    if (mutant.equals(base[i & 1]!)) continue;
    const message = parseStun(mutant);
    if (message instanceof StunParseError) continue;
    parsed++;
    server.handleStun(message, tuple);
  }
  assert.ok(parsed > 10_000, `most mutants parse and reach the server (${parsed})`);
  assert.equal(server.state, 'new');
  assert.equal(server.tuples.length, 0);
  server.close();
});

test('random datagrams at a UDP listener and byte streams at an ICE-TCP listener: nothing sticks', async () => {
  const udp = await UdpIceListener.listen({ address: '127.0.0.1' });
  const tcp = await TcpIceListener.listen({ address: '127.0.0.1', bindTimeout: 500 });
  const server = new IceLiteServer();
  udp.addServer(server);
  tcp.addServer(server);
  const client = await UdpStunClient.open();
  const random = xorshift(0x1234567);
  try {
    for (let i = 0; i < 3000; i++) {
      const datagram = randomBytes(1 + random(200));
      datagram[0] = [0, 1, 22, 0x80, 0x81, random(256)][i % 6]!;
      client.send(datagram, udp.port);
    }
    const streams = await Promise.all(Array.from({ length: 20 }, () => TcpStunClient.open(tcp.port)));
    for (const [index, stream] of streams.entries()) {
      for (let i = 0; i < 20; i++) {
        const chunk = randomBytes(1 + random(3000));
        if (index % 2 === 0) chunk[2] = 0; // length high byte 0: short frames that complete
        stream.socket.write(chunk);
      }
    }
    assert.ok(await waitFor(() => tcp.connectionCount === 0, 5000), 'all fuzzing connections closed');
    for (const stream of streams) stream.close();
    // Still healthy: a proper check on each transport succeeds.
    const ok = await client.check(udp.port, {
      username: `${server.usernameFragment}:x`,
      password: server.password,
    });
    assert.equal(ok?.message.cls, 2);
    assert.equal(server.tuples.length, 1);
  } finally {
    client.close();
    server.close();
    udp.close();
    tcp.close();
  }
});
