// Our TURN server over UDP against coturn's turnutils_stunclient, turnutils_uclient and turnutils_peer.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TurnServer } from '../../src/turn/index.js';
import { freePort } from './helpers.js';
import { assertClean, run, uclient as runUclient } from './uclient.js';

let server: TurnServer;
let peerPort: number;
let peer: ChildProcess;
let certDir: string;

before(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'tureen-turn-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(certDir, 'key.pem'),
      '-out',
      join(certDir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
    ],
    { stdio: 'ignore' },
  );
  server = await TurnServer.start({
    udpPort: 0,
    tcpPort: 0,
    tlsPort: 0,
    tls: { cert: readFileSync(join(certDir, 'cert.pem')), key: readFileSync(join(certDir, 'key.pem')) },
    users: { alice: 'secret' },
    authSecret: 'rest-secret',
    allowLoopbackPeers: true,
    maxAllocationsPerUser: 100,
  });
  peerPort = await freePort();
  peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(peerPort)], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
});

after(async () => {
  peer?.kill('SIGKILL');
  await server?.close();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

const uclient = (flags: string[], port: number, clients?: number, messages?: number) =>
  runUclient(peerPort, flags, port, clients, messages);

test('turnutils_stunclient gets our XOR-MAPPED-ADDRESS', { timeout: 10000 }, async () => {
  const { output } = await run('turnutils_stunclient', ['-p', String(server.ports.udp), '127.0.0.1'], 8000);
  assert.match(output, /UDP reflexive addr: 127\.0\.0\.1:\d+/);
});

test('uclient over UDP with channels: 10 clients x 100 messages, nothing lost', {
  timeout: 30000,
}, async () => {
  const before = server.stats().relayedPackets;
  assertClean(await uclient(['-u', 'alice', '-w', 'secret', '-c'], server.ports.udp, 10, 100), 1000);
  assert.ok(server.stats().relayedPackets - before >= 2000);
});

test('uclient over UDP with Send/Data indications', { timeout: 30000 }, async () => {
  assertClean(await uclient(['-u', 'alice', '-w', 'secret', '-c', '-s'], server.ports.udp), 500);
});

test('uclient with TURN REST credentials (-W)', { timeout: 30000 }, async () => {
  assertClean(await uclient(['-W', 'rest-secret', '-u', 'carol', '-c'], server.ports.udp, 4, 30), 120);
});

test('uclient with a wrong password is refused with 401s and relays nothing', {
  timeout: 30000,
}, async () => {
  const before = server.stats();
  const r = await uclient(['-u', 'alice', '-w', 'wrong', '-c'], server.ports.udp, 1, 5);
  assert.match(r.output, /Cannot complete Allocation/);
  const afterStats = server.stats();
  assert.ok((afterStats.rejects.unauthorized ?? 0) > (before.rejects.unauthorized ?? 0));
  assert.equal(afterStats.relayedPackets, before.relayedPackets);
  const restWrong = await uclient(['-W', 'not-the-secret', '-u', 'carol', '-c'], server.ports.udp, 1, 5);
  assert.match(restWrong.output, /Cannot complete Allocation/);
});
