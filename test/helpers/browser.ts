// Headless Chromium (Debian's /usr/bin/chromium through playwright-core) and a loopback HTTP server
// for the pages it loads: shared by every browser test.
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  // Remote audio must play without a click for totalAudioEnergy to count.
  '--autoplay-policy=no-user-gesture-required',
  // No mDNS names (and no multicast) for host candidates: we filter on real addresses.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

/** Chromium with CHROMIUM_ARGS (and any extra flags); playwright gives each launch a fresh profile. */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, ...extraArgs],
    timeout: 30_000,
  });
}

export interface PageServer {
  /** `http://127.0.0.1:<port>/` */
  readonly origin: string;
  close(): Promise<void>;
}

/** Serves `page` (HTML for every path) or a request listener on an ephemeral loopback port. */
export async function servePage(page: string | RequestListener): Promise<PageServer> {
  const listener: RequestListener =
    typeof page === 'string'
      ? (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end(page);
        }
      : page;
  const http = createServer(listener);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(http.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}

/** mediasoup-client (npm, unmodified) bundled by esbuild for a page, as `window.mediasoupClient`. */
export async function bundleMediasoupClient(): Promise<string> {
  const bundle = await build({
    stdin: {
      contents: "import * as m from 'mediasoup-client'; window.mediasoupClient = m;",
      resolveDir: process.cwd(),
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  return bundle.outputFiles[0]!.text;
}

/** Serves `page` (every path) with the mediasoup-client bundle at `/mediasoup-client.js`. */
export async function serveMediasoupClientPage(page: string): Promise<PageServer> {
  const script = await bundleMediasoupClient();
  return servePage((req, res) => {
    const js = req.url === '/mediasoup-client.js';
    res.writeHead(200, { 'content-type': js ? 'text/javascript' : 'text/html' });
    res.end(js ? script : page);
  });
}
