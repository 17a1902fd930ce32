// Shared by the browser end-to-end tests: Chromium, the Tureen server, pages, polling, stats.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rmdir } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { ConnectionStats } from '../../src/client/index.js';
import { startTureen, type TureenServer } from '../../src/server/index.js';
import { launchChromium } from '../helpers/browser.js';
import { sleep, waitFor } from '../helpers/wait.js';

export type { ConnectionStats };

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const webRoot = join(repoRoot, 'dist/web');

export { CHROMIUM_ARGS } from '../helpers/browser.js';
export { sleep, waitFor };

/** True when this process sees no interface but loopback (e.g. inside `unshare --net`). */
export function onlyLoopbackInterfaces(): boolean {
  return Object.values(networkInterfaces()).every((list) => (list ?? []).every((info) => info.internal));
}

/**
 * Chromium gathers candidates on every interface and pairs its other addresses with a peer's
 * 127.0.0.1 (the kernel delivers those packets over lo, but the selected pair is then not
 * 127.0.0.1 ↔ 127.0.0.1). Where we may (root, util-linux `unshare`), this re-runs the test file
 * in a new network namespace whose only interface is loopback and registers one test that
 * passes when every test inside passed. Returns false when the caller should run its tests here.
 */
export function rerunInLoopbackNamespace(testFile: string, timeoutMs = 120_000): boolean {
  if (onlyLoopbackInterfaces() || process.env.TUREEN_E2E_NO_NETNS === '1') return false;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/unshare')) return false;
  // Containers may forbid new namespaces even to root: then run here.
  const probe = spawnSync('/usr/bin/unshare', ['--net', '--', '/bin/sh', '-c', 'ip link set lo up'], {
    timeout: 5000,
  });
  if (probe.status !== 0) return false;
  // Without NODE_TEST_CONTEXT the inner node runs its tests instead of deferring to a parent runner.
  const { NODE_TEST_CONTEXT: _, ...parentEnv } = process.env;
  const namespaceEnv = { ...parentEnv, TUREEN_E2E_NO_NETNS: '1' };
  test(`${basename(testFile)} (in a loopback-only network namespace)`, {
    timeout: timeoutMs + 5000,
  }, async (t) => {
    const child = spawn(
      '/usr/bin/unshare',
      [
        '--net',
        '--',
        '/bin/sh',
        '-c',
        'ip link set lo up && exec "$@"',
        'sh',
        process.execPath,
        '--import',
        'tsx',
        '--test',
        '--test-reporter=tap',
        testFile,
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: namespaceEnv },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    clearTimeout(timer);
    for (const line of output.trimEnd().split('\n')) t.diagnostic(line);
    assert.equal(code, 0, `tests inside the namespace failed:\n${output}`);
    const summary = (label: string) => Number(new RegExp(`^# ${label} (\\d+)$`, 'm').exec(output)?.[1]);
    assert.ok(summary('pass') > 0, `no test ran inside the namespace:\n${output}`);
    assert.equal(summary('fail'), 0, output);
  });
  return true;
}

function newestMtime(path: string): number {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/**
 * Builds the web app into dist/web unless it is newer than its sources. Test files may run in
 * parallel, so a lock directory keeps two builds from emptying each other's output.
 */
export async function ensureWebBuild(): Promise<void> {
  const lock = join(repoRoot, 'dist/.web-build.lock');
  await mkdir(join(repoRoot, 'dist'), { recursive: true });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      // A build never takes this long: the lock is left over from a killed run.
      const lockedAt = statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - lockedAt > 120_000) await rmdir(lock).catch(() => {});
      if (Date.now() > deadline) throw new Error(`could not take the web build lock ${lock}`);
      await sleep(200);
    }
  }
  try {
    const index = join(webRoot, 'index.html');
    const sources = Math.max(
      newestMtime(join(repoRoot, 'web')),
      newestMtime(join(repoRoot, 'src/client')),
      newestMtime(join(repoRoot, 'vite.config.ts')),
    );
    if (!existsSync(index) || statSync(index).mtimeMs < sources) {
      execFileSync(
        process.execPath,
        [join(repoRoot, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'],
        {
          cwd: repoRoot,
          stdio: 'inherit',
          timeout: 60_000,
        },
      );
    }
  } finally {
    await rmdir(lock);
  }
}

export function launchBrowser(): Promise<Browser> {
  return launchChromium();
}

/**
 * Tureen on loopback with free ports; TURN may relay to loopback peers. With `secret` it runs
 * in production mode: no dev tokens, the test issues its own.
 */
export async function startServer(opts: { secret?: string } = {}): Promise<TureenServer> {
  await ensureWebBuild();
  return startTureen({
    host: '127.0.0.1',
    httpPort: 0,
    turnPort: 0,
    turnAllowLoopbackPeers: true,
    webRoot,
    logLevel: 'warn',
    // These tests are about the peer-to-peer mesh, whatever the server's default mode is.
    roomMode: 'p2p',
    sfuWorkers: 1,
    ...(opts.secret ? { secret: opts.secret } : {}),
  });
}

export interface RoomPageOptions {
  room: string;
  name: string;
  relayOnly?: boolean;
  /** Reach TURN only over this transport (the page's `?turn=`). */
  turnTransport?: 'udp' | 'tcp';
  /** Join with this token (the page's `?token=`) instead of a dev token. */
  token?: string;
  /** false: receive nobody's media until `room.subscribe(peerId)` (the page's `?autoSubscribe=0`). */
  autoSubscribe?: boolean;
}

/** A page (in its own browser context) that has joined `room` through the web app's form. */
export async function openRoomPage(browser: Browser, httpUrl: string, opts: RoomPageOptions): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 960, height: 600 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[${opts.name}] page error:`, err));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      console.error(`[${opts.name}] ${message.type()}: ${message.text()}`);
    }
  });
  // iceFilter=loopback: only 127.0.0.1 candidates are signalled or accepted.
  const query = new URLSearchParams({ room: opts.room, name: opts.name, iceFilter: 'loopback' });
  if (opts.turnTransport) query.set('turn', opts.turnTransport);
  if (opts.token) query.set('token', opts.token);
  if (opts.autoSubscribe === false) query.set('autoSubscribe', '0');
  await page.goto(`${httpUrl}/?${query}`);
  if (opts.relayOnly) await page.check('#relay-input');
  await page.click('#join-button');
  await page.waitForSelector('#call:not([hidden])', { timeout: 15_000 });
  return page;
}

export function readStats(page: Page): Promise<ConnectionStats[]> {
  return page.evaluate(() => window.tureen.stats());
}

export function localPeerId(page: Page): Promise<string> {
  return page.evaluate(() => window.tureen.room?.localPeerId ?? '');
}

/** Peer ids of the remote tiles on the page. */
export function remoteTileIds(page: Page): Promise<string[]> {
  return page.$$eval('.tile:not(.local)', (tiles) =>
    tiles.map((t) => (t as HTMLElement).dataset.peerId ?? ''),
  );
}

/** Waits until the page has a connected link to each of `peerIds` with a selected candidate pair. */
export function waitConnected(page: Page, peerIds: string[], timeoutMs = 20_000): Promise<ConnectionStats[]> {
  return waitFor(
    `connections to ${peerIds.join(', ')}`,
    async () => {
      const stats = await readStats(page);
      const ready = peerIds.map((id) =>
        stats.find(
          (s) =>
            s.peerId === id && s.connectionState === 'connected' && s.selectedPair?.state === 'succeeded',
        ),
      );
      return ready.every((s) => s !== undefined) ? (ready as ConnectionStats[]) : undefined;
    },
    { timeoutMs },
  );
}

export interface MediaFlow {
  peerId: string;
  framesDecodedBefore: number;
  framesDecodedAfter: number;
  totalAudioEnergy: number;
  audioLevel: number;
  stats: ConnectionStats;
}

/** Samples inbound media from each of `peerIds` twice, `windowMs` apart. */
export async function measureMediaFlow(page: Page, peerIds: string[], windowMs = 2000): Promise<MediaFlow[]> {
  const before = await readStats(page);
  await sleep(windowMs);
  const after = await readStats(page);
  return peerIds.map((peerId) => {
    const first = before.find((s) => s.peerId === peerId);
    const last = after.find((s) => s.peerId === peerId);
    assert.ok(first && last, `no stats for ${peerId}`);
    return {
      peerId,
      framesDecodedBefore: first.video.framesDecoded,
      framesDecodedAfter: last.video.framesDecoded,
      totalAudioEnergy: last.audio.totalAudioEnergy,
      audioLevel: last.audio.audioLevel,
      stats: last,
    };
  });
}

/** Asserts video frames kept being decoded and audio carried energy, for every flow. */
export function assertMediaFlows(label: string, flows: MediaFlow[], minNewFrames = 10): void {
  for (const flow of flows) {
    const decoded = flow.framesDecodedAfter - flow.framesDecodedBefore;
    assert.ok(decoded >= minNewFrames, `${label}: only ${decoded} new frames decoded from ${flow.peerId}`);
    assert.ok(flow.totalAudioEnergy > 0, `${label}: no audio energy from ${flow.peerId}`);
  }
}

/** Mean brightness (0–255) of what a remote tile's video element shows right now. */
export function tileBrightness(page: Page, peerId: string): Promise<number> {
  return page.$eval(`.tile[data-peer-id="${peerId}"] video`, (element) => {
    const video = element as HTMLVideoElement;
    const canvas = document.createElement('canvas');
    canvas.width = 64;
    canvas.height = 36;
    const context = canvas.getContext('2d')!;
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    let sum = 0;
    for (let i = 0; i < data.length; i += 4) sum += (data[i]! + data[i + 1]! + data[i + 2]!) / 3;
    return sum / (data.length / 4);
  });
}

/** Audio energy received from `peerId` during `windowMs`. */
export async function audioEnergyOver(page: Page, peerId: string, windowMs: number): Promise<number> {
  const energy = async () =>
    (await readStats(page)).find((s) => s.peerId === peerId)?.audio.totalAudioEnergy ?? 0;
  const before = await energy();
  await sleep(windowMs);
  return (await energy()) - before;
}
