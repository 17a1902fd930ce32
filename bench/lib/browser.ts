// Shared by the browser benchmarks: the client SDK bundled into a bare page (window.TureenClient),
// a Tureen server that serves it, Chromium with a fake camera, and tokens with a room mode.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { startTureen, type TureenOptions, type TureenServer } from '../../src/server/index.js';
import { issueToken } from '../../src/signaling/index.js';
import { CHROMIUM_ARGS } from '../../test/e2e/helpers.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const BENCH_SECRET = 'bench-secret-0123456789abcdef-0123';

export interface BenchServer {
  server: TureenServer;
  close(): Promise<void>;
}

/**
 * Bundles src/client into an IIFE (`window.TureenClient`) next to an empty page and starts Tureen
 * (production mode: tokens come from `roomToken`) serving that directory.
 */
export async function startBenchServer(opts: TureenOptions = {}): Promise<BenchServer> {
  const webRoot = await mkdtemp(join(tmpdir(), 'tureen-bench-'));
  await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      lib: {
        // TUREEN_BENCH_CLIENT: another build of the SDK's entry, to measure a change before it lands.
        entry: process.env.TUREEN_BENCH_CLIENT ?? join(repoRoot, 'src/client/index.ts'),
        name: 'TureenClient',
        formats: ['iife'],
        fileName: () => 'client.js',
      },
      outDir: webRoot,
      emptyOutDir: false,
      minify: false,
    },
  });
  await writeFile(
    join(webRoot, 'index.html'),
    '<!doctype html><meta charset="utf-8"><title>bench</title><script src="client.js"></script><body></body>',
  );
  const server = await startTureen({
    host: '127.0.0.1',
    httpPort: 0,
    turnPort: 0,
    secret: BENCH_SECRET,
    webRoot,
    logLevel: 'warn',
    ...opts,
  });
  return {
    server,
    async close() {
      await server.close();
      await rm(webRoot, { recursive: true, force: true });
    },
  };
}

export function roomToken(sub: string, room: string, mode: 'p2p' | 'sfu'): Promise<string> {
  return issueToken(BENCH_SECRET, { sub, room, name: sub, mode }, 3600);
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, timeout: 30_000 });
}

/** A fresh page (own browser context) on the bench page, with the SDK loaded; `initScript` runs first. */
export async function openBenchPage(
  browser: Browser,
  httpUrl: string,
  label: string,
  initScript?: string,
): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 640, height: 400 } });
  const page = await context.newPage();
  // tsx compiles the functions we pass to page.evaluate with esbuild's keepNames helper.
  await page.addInitScript('globalThis.__name = (target) => target;');
  if (initScript !== undefined) await page.addInitScript(initScript);
  page.on('pageerror', (err) => console.error(`[${label}] page error:`, err));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().includes('404'))
      console.error(`[${label}] ${message.text()}`);
  });
  await page.goto(`${httpUrl}/`);
  await page.waitForFunction(() => 'TureenClient' in window, undefined, { timeout: 15_000 });
  return page;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
