// Hostile input at the TURN server while coturn's uclient relays through it: nothing may crash,
// hang, leak, or disturb the honest session.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { TurnServer } from '../../src/turn/index.js';
import {
  getAttribute,
  longTermKey,
  StunAttr,
  StunBuilder,
  StunClass,
  StunMethod,
} from '../../src/wire/stun/index.js';
import { freePort, rawRequest } from './helpers.js';
import { assertClean, uclient } from './uclient.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let server: TurnServer;
let peerPort: number;
let peer: ChildProcess;

before(async () => {
  server = await TurnServer.start({
    udpPort: 0,
    tcpPort: 0,
    users: { alice: 'secret', fuzzer: 'fuzz' },
    allowLoopbackPeers: true,
    maxAllocationsPerUser: 40,
  });
  peerPort = await freePort();
  peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(peerPort)], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
});

after(async () => {
  peer?.kill('SIGKILL');
  await server?.close();
});

function mutate(seed: Buffer): Buffer {
  const out = Buffer.from(seed);
  const kind = Math.floor(Math.random() * 4);
  if (kind === 0) {
    const flips = 1 + Math.floor(Math.random() * 4);
    for (let i = 0; i < flips; i++)
      out[Math.floor(Math.random() * out.length)]! ^= 1 << Math.floor(Math.random() * 8);
    return out;
  }
  if (kind === 1) return out.subarray(0, Math.floor(Math.random() * out.length));
  if (kind === 2) {
    // Lie about the length.
    out.writeUInt16BE(Math.floor(Math.random() * 0x10000), 2);
    return out;
  }
  return Buffer.concat([out, randomBytes(Math.floor(Math.random() * 64))]);
}

async function signedSeeds(port: number): Promise<Buffer[]> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const challenge = await rawRequest(
    socket,
    port,
    new StunBuilder(StunMethod.Allocate, StunClass.Request).addRequestedTransport().build(),
  );
  socket.close();
  const realm = getAttribute(challenge, StunAttr.Realm)!.toString();
  const nonce = getAttribute(challenge, StunAttr.Nonce)!.toString();
  const key = longTermKey('fuzzer', realm, 'fuzz');
  const sign = (b: StunBuilder): Buffer =>
    b
      .add(StunAttr.Username, 'fuzzer')
      .add(StunAttr.Realm, realm)
      .add(StunAttr.Nonce, nonce)
      .addMessageIntegrity(key)
      .addFingerprint()
      .build();
  return [
    sign(new StunBuilder(StunMethod.Allocate, StunClass.Request).addRequestedTransport().addEvenPort(true)),
    sign(
      new StunBuilder(StunMethod.Allocate, StunClass.Request)
        .addRequestedTransport()
        .addUint32(StunAttr.Lifetime, 60),
    ),
    sign(
      new StunBuilder(StunMethod.CreatePermission, StunClass.Request).addXorAddress(
        StunAttr.XorPeerAddress,
        '127.0.0.1',
        0,
      ),
    ),
    sign(
      new StunBuilder(StunMethod.ChannelBind, StunClass.Request)
        .addChannelNumber(0x4001)
        .addXorAddress(StunAttr.XorPeerAddress, '127.0.0.1', peerPort),
    ),
    sign(new StunBuilder(StunMethod.Refresh, StunClass.Request).addUint32(StunAttr.Lifetime, 0)),
    new StunBuilder(StunMethod.Send, StunClass.Indication)
      .addXorAddress(StunAttr.XorPeerAddress, '127.0.0.1', peerPort)
      .add(StunAttr.Data, randomBytes(50))
      .build(),
    new StunBuilder(StunMethod.Binding, StunClass.Request).addFingerprint().build(),
    Buffer.from([0x40, 0x01, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]),
  ];
}

async function udpFuzz(port: number, seeds: Buffer[], datagrams: number): Promise<void> {
  const sockets: dgram.Socket[] = [];
  for (let i = 0; i < 8; i++) {
    const s = dgram.createSocket('udp4');
    s.on('message', () => {});
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    sockets.push(s);
  }
  for (let i = 0; i < datagrams; i++) {
    const socket = sockets[i % sockets.length]!;
    const r = Math.random();
    const bytes =
      r < 0.25
        ? randomBytes(Math.floor(Math.random() * 200))
        : r < 0.35
          ? seeds[Math.floor(Math.random() * seeds.length)]!
          : mutate(seeds[Math.floor(Math.random() * seeds.length)]!);
    socket.send(bytes, port, '127.0.0.1');
    // Pace so the honest uclient session is not simply starved of socket buffer.
    if (i % 200 === 199) await new Promise((res) => setTimeout(res, 10));
  }
  await new Promise((r) => setTimeout(r, 200));
  for (const s of sockets) s.close();
}

async function tcpFuzz(port: number, seeds: Buffer[], connections: number): Promise<void> {
  for (let i = 0; i < connections; i++) {
    await new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      socket.on('data', () => {});
      socket.on('connect', () => {
        const kind = i % 4;
        if (kind === 0) socket.write(randomBytes(1 + Math.floor(Math.random() * 4000)));
        else if (kind === 1) for (let k = 0; k < 10; k++) socket.write(mutate(seeds[k % seeds.length]!));
        // A header promising a full 64 KiB message, then silence: must stay bounded.
        else if (kind === 2) socket.write(Buffer.from([0x00, 0x01, 0xff, 0xfc, 0x21, 0x12, 0xa4, 0x42]));
        else for (const seed of seeds) socket.write(seed);
        setTimeout(() => socket.destroy(), 30);
      });
    });
  }
}

test('random and mutated UDP/TCP input while uclient relays: no crash, no loss, bounded memory', {
  timeout: 50000,
}, async () => {
  const seeds = await signedSeeds(server.ports.udp);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const honest = uclient(peerPort, ['-u', 'alice', '-w', 'secret', '-c'], server.ports.udp, 5, 60);
  await Promise.all([udpFuzz(server.ports.udp, seeds, 20000), tcpFuzz(server.ports.tcp, seeds, 200)]);
  const result = await honest;
  assertClean(result, 300);

  const stats = server.stats();
  assert.ok((stats.rejects.malformed ?? 0) > 1000, JSON.stringify(stats.rejects));
  assert.ok(stats.allocations <= 40 + 10, `allocations bounded by quota: ${stats.allocations}`);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(server.stats().tcpConnections, 0, 'every fuzzing TCP connection was torn down');

  // Still answering.
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
  const answer = await rawRequest(
    probe,
    server.ports.udp,
    new StunBuilder(StunMethod.Binding, StunClass.Request).build(),
  );
  probe.close();
  assert.equal(answer.cls, StunClass.SuccessResponse);

  gc();
  const grown = process.memoryUsage().heapUsed - heapBefore;
  assert.ok(grown < 30 * 1024 * 1024, `heap grew by ${grown} bytes`);
});
