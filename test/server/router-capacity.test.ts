// `tureen start --router-max-peers / --router-max-consumers` (and their environment variables)
// reach the SFU rooms: with one peer per router and two workers, a room's two peers are placed
// on routers of different workers, as the server's /healthz reports the workers' load.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { startOptions, UsageError } from '../../src/cli/options.js';
import { ok, TestClient } from '../sfu-rooms/helpers.js';

test('router capacity from flags and environment variables', () => {
  assert.deepEqual(
    startOptions({ 'router-max-peers': '8', 'router-max-consumers': '120' }, {}).routerCapacity,
    { peers: 8, consumers: 120 },
  );
  assert.deepEqual(startOptions({}, { TUREEN_ROUTER_MAX_CONSUMERS: '50' }).routerCapacity, { consumers: 50 });
  assert.deepEqual(
    startOptions({ 'router-max-peers': '3' }, { TUREEN_ROUTER_MAX_PEERS: '9' }).routerCapacity,
    { peers: 3 },
    'a flag wins over its variable',
  );
  assert.equal(startOptions({}, {}).routerCapacity, undefined);
  for (const bad of ['0', '-2', '1.5', 'lots'])
    assert.throws(() => startOptions({ 'router-max-peers': bad }, {}), UsageError, bad);
  assert.throws(() => startOptions({}, { TUREEN_ROUTER_MAX_CONSUMERS: '0' }), UsageError);
});

const children: ChildProcess[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Starts `tureen start` as a child process and resolves with its HTTP URL. */
async function startCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; httpUrl: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const httpUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no start line in: ${out}`)), 30_000);
    child.stderr?.on('data', (d) => {
      out += d;
    });
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /open (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${out}`));
    });
  });
  return { child, httpUrl };
}

test('tureen start --router-max-peers 1: a room spreads its peers over both workers', {
  timeout: 60_000,
}, async () => {
  const { child, httpUrl } = await startCli(
    [
      '--port',
      '0',
      '--turn-port',
      '0',
      '--log-level',
      'warn',
      '--room-mode',
      'sfu',
      '--sfu-workers',
      '2',
      '--rtc-min-port',
      '45600',
      '--rtc-max-port',
      '45699',
      '--router-max-peers',
      '1',
    ],
    { TUREEN_ROUTER_MAX_CONSUMERS: '10' },
  );
  const port = Number(new URL(httpUrl).port);
  const clients: TestClient[] = [];
  try {
    for (const name of ['a', 'b']) {
      const { token } = (await (await fetch(`${httpUrl}/api/dev-token?room=spread&name=${name}`)).json()) as {
        token: string;
      };
      const c = await TestClient.connect(port);
      clients.push(c);
      assert.equal((await c.join(token)).mode, 'sfu');
      // The first SFU request places the peer on one of the room's routers.
      await ok(c, 'getRouterRtpCapabilities', {}, 15_000);
    }
    const health = (await (await fetch(`${httpUrl}/healthz`)).json()) as {
      sfuWorkers: Array<{ pid: number; routers: number; peers: number }>;
      sfuRooms: number;
    };
    assert.equal(health.sfuRooms, 1);
    // Default capacity (unlimited peers) would put both on the room's first router.
    assert.deepEqual(
      health.sfuWorkers.map((w) => [w.routers, w.peers]),
      [
        [1, 1],
        [1, 1],
      ],
    );
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});
