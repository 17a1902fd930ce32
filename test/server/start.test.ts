import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';

// `tureen start` as a user runs it: a real child process, talked to over HTTP and WebSocket.
const cli = ['--import', 'tsx', 'src/cli/main.ts'];

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [...cli, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function exitOf(
  child: ChildProcess,
  timeoutMs = 10_000,
): Promise<{ code: number | null; output: string }> {
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, output };
}

function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let server: ChildProcess;
let httpUrl: string;
let port: number;

before(async () => {
  server = runCli(['start', '--port', '0', '--turn-port', '0', '--log-level', 'warn']);
  httpUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no start line in: ${out}`)), 15_000);
    server.stderr?.on('data', (d) => {
      out += d;
    });
    server.stdout?.on('data', (d) => {
      out += d;
      const m = /open (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    server.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  port = Number(new URL(httpUrl).port);
});

after(() => {
  if (server.exitCode === null) server.kill('SIGKILL');
});

test('serves the web app, health and dev tokens', { timeout: 15_000 }, async () => {
  const health = await fetch(`${httpUrl}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as { ok: boolean }).ok, true);

  const page = await fetch(`${httpUrl}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await page.text(), /<script/);

  const dev = await fetch(`${httpUrl}/api/dev-token?room=standup&name=Alice`);
  assert.equal(dev.status, 200);
  const { token, room } = (await dev.json()) as { token: string; room: string };
  assert.equal(room, 'standup');
  assert.equal(token.split('.').length, 3);
});

test('a path outside the web root is refused', { timeout: 15_000 }, async () => {
  const res = await rawGet(port, '/%2e%2e/%2e%2e/package.json');
  assert.ok(res.status === 403 || res.status === 404, `status ${res.status}`);
  assert.doesNotMatch(res.body, /"name": "tureen"/);
});

test('a dev token joins a room over /ws and gets TURN credentials', { timeout: 15_000 }, async () => {
  const { token } = (await (await fetch(`${httpUrl}/api/dev-token?room=r1&name=Bob`)).json()) as {
    token: string;
  };
  const ws = new WebSocket(`${httpUrl.replace('http', 'ws')}/ws`);
  await once(ws, 'open');
  ws.send(JSON.stringify({ type: 'request', id: 1, method: 'join', data: { token } }));
  const [raw] = (await once(ws, 'message')) as [Buffer];
  ws.close();
  const msg = JSON.parse(raw.toString()) as {
    ok: boolean;
    data: { roomId: string; iceServers: { urls: string[]; username?: string; credential?: string }[] };
  };
  assert.equal(msg.ok, true);
  assert.equal(msg.data.roomId, 'r1');
  const turn = msg.data.iceServers.find((s) => s.urls.some((u) => u.startsWith('turn:')));
  assert.ok(turn?.username && turn.credential, 'TURN server with REST credentials');
  const expiry = Number(turn.username.split(':')[0]);
  assert.ok(expiry > Date.now() / 1000, 'credentials not yet expired');
});

test('SIGTERM shuts down cleanly', { timeout: 15_000 }, async () => {
  const exited = exitOf(server);
  server.kill('SIGTERM');
  const { code } = await exited;
  assert.equal(code, 0);
});

test('production mode without a secret refuses to start', { timeout: 15_000 }, async () => {
  const { code, output } = await exitOf(runCli(['start', '--production', '--port', '0', '--turn-port', '0']));
  assert.equal(code, 2);
  assert.match(output, /needs --secret/);
});

test('unknown flags are usage errors', { timeout: 15_000 }, async () => {
  const { code, output } = await exitOf(runCli(['start', '--no-such-flag']));
  assert.equal(code, 2);
  assert.match(output, /--help/);
});

test('token command issues a token; --help documents start', { timeout: 15_000 }, async () => {
  const tok = await exitOf(runCli(['token', '--secret', 's3cret', '--room', 'a', '--identity', 'alice']));
  assert.equal(tok.code, 0);
  assert.match(tok.output.trim(), /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const help = await exitOf(runCli(['--help']));
  assert.equal(help.code, 0);
  assert.match(help.output, /tureen start/);
  assert.match(help.output, /--turn-secret/);
});
