import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TurnServer } from '../../src/turn/index.js';
import { freePort } from './helpers.js';
import { assertClean, uclient as runUclient } from './uclient.js';

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

test('uclient over TCP, channels and indications', { timeout: 40000 }, async () => {
  assertClean(await uclient(['-t', '-u', 'alice', '-w', 'secret', '-c'], server.ports.tcp), 500);
  assertClean(await uclient(['-t', '-u', 'alice', '-w', 'secret', '-c', '-s'], server.ports.tcp), 500);
});

test('uclient over TLS', { timeout: 30000 }, async () => {
  assertClean(
    await uclient(['-t', '-S', '-u', 'alice', '-w', 'secret', '-c'], server.ports.tls!, 4, 30),
    120,
  );
});

test('uclient RTP/RTCP pairs: EVEN-PORT with reservation, then RESERVATION-TOKEN', {
  timeout: 30000,
}, async () => {
  assertClean(await uclient(['-u', 'alice', '-w', 'secret'], server.ports.udp, 4, 30), 120);
});
