// Drives coturn's client tools (turnutils_uclient, turnutils_stunclient) and parses their output.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

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
