// Drives coturn's client tools (turnutils_uclient, turnutils_stunclient) and parses their output.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TurnServer } from '../../src/turn/index.js';
import { freePort } from './helpers.js';

export function run(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

export interface UclientResult {
  sent: number;
  received: number;
  lost: number;
  output: string;
}

export async function uclient(
  peerPort: number,
  flags: string[],
  port: number,
  clients = 10,
  messages = 50,
): Promise<UclientResult> {
  const args = [
    ...flags,
    '-e',
    '127.0.0.1',
    '-r',
    String(peerPort),
    '-L',
    '127.0.0.1',
    '-m',
    String(clients),
    '-n',
    String(messages),
    '-l',
    '120',
    '-p',
    String(port),
    '127.0.0.1',
  ];
  const { output } = await run('turnutils_uclient', args, 25000);
  const totals = [...output.matchAll(/tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/g)].at(-1);
  const lost = output.match(/Total lost packets (\d+)/);
  return {
    sent: totals ? Number(totals[1]) : -1,
    received: totals ? Number(totals[2]) : -1,
    lost: lost ? Number(lost[1]) : -1,
    output,
  };
}

export function assertClean(r: UclientResult, minMessages: number): void {
  assert.equal(r.lost, 0, r.output.slice(-2000));
  assert.ok(r.sent >= minMessages, `sent ${r.sent}\n${r.output.slice(-2000)}`);
  assert.equal(r.received, r.sent, r.output.slice(-2000));
}

/**
 * Our TurnServer (UDP, TCP and TLS with a throwaway openssl certificate; static user alice and
 * REST secret 'rest-secret'; loopback peers allowed) with coturn's turnutils_peer echoing on
 * loopback: what the uclient tests run against.
 */
export async function startUclientFixture(): Promise<{
  server: TurnServer;
  uclient: (flags: string[], port: number, clients?: number, messages?: number) => Promise<UclientResult>;
  close: () => Promise<void>;
}> {
  const certDir = mkdtempSync(join(tmpdir(), 'tureen-turn-'));
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
  const server = await TurnServer.start({
    udpPort: 0,
    tcpPort: 0,
    tlsPort: 0,
    tls: { cert: readFileSync(join(certDir, 'cert.pem')), key: readFileSync(join(certDir, 'key.pem')) },
    users: { alice: 'secret' },
    authSecret: 'rest-secret',
    allowLoopbackPeers: true,
    maxAllocationsPerUser: 100,
  });
  const peerPort = await freePort();
  const peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(peerPort)], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  return {
    server,
    uclient: (flags, port, clients, messages) => uclient(peerPort, flags, port, clients, messages),
    async close() {
      peer.kill('SIGKILL');
      await server.close();
      rmSync(certDir, { recursive: true, force: true });
    },
  };
}
