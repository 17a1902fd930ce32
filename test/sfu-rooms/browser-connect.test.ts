// Four headless Chromium pages (the web app, unchanged) in one SFU room: every page's
// mediasoup-client transports reach ICE+DTLS `connected` and each publishes audio and
// simulcast video, which every other peer consumes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { startTureen, type TureenServer } from '../../src/server/index.js';
import {
  ensureWebBuild,
  launchBrowser,
  openRoomPage,
  rerunInLoopbackNamespace,
  waitFor,
  webRoot,
} from '../e2e/helpers.js';

const PAGES = 4;

if (!rerunInLoopbackNamespace(fileURLToPath(import.meta.url), 110_000)) {
  let server: TureenServer;
  let browser: Browser;
  const pages: Page[] = [];
  const joinedAt: number[] = [];

  before(async () => {
    await ensureWebBuild();
    server = await startTureen({
      host: '127.0.0.1',
      httpPort: 0,
      turnPort: 0,
      webRoot,
      logLevel: 'warn',
      roomMode: 'sfu',
      sfuWorkers: 2,
      rtcMinPort: 43000,
      rtcMaxPort: 43499,
    });
    browser = await launchBrowser();
    for (let i = 0; i < PAGES; i++) {
      pages.push(await openRoomPage(browser, server.httpUrl, { room: 'sfu-connect', name: `p${i}` }));
      joinedAt.push(Date.now());
    }
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('every page is in SFU mode and its send and receive transports connect (ICE + DTLS)', {
    timeout: 40_000,
  }, async (t) => {
    for (const page of pages) assert.equal(await page.evaluate(() => window.tureen.room?.mode), 'sfu');
    const connectedAfter = await Promise.all(
      pages.map(async (page, i) => {
        await waitFor(
          `page ${i} transports connected`,
          () =>
            page.evaluate(() => {
              const sfu = window.tureen.room?.sfu;
              return (
                sfu?.sendTransport?.connectionState === 'connected' &&
                sfu?.recvTransport?.connectionState === 'connected'
              );
            }),
          { timeoutMs: 25_000, intervalMs: 100 },
        );
        return Date.now() - joinedAt[i]!;
      }),
    );
    t.diagnostic(`transports connected, ms after each page joined: ${connectedAfter.join(', ')}`);
    // Each peer's audio and video producer exists on the server, and everyone consumes them.
    const sfuRoom = server.sfu!.rooms.room('sfu-connect')!;
    await waitFor('2 producers and 6 consumers per peer', () =>
      [...sfuRoom.peers.values()].every(
        (p) => p.producers.size === 2 && p.consumers.size === 2 * (PAGES - 1),
      ),
    );
    const video = [...sfuRoom.peers.values()].map(
      (p) => [...p.producers.values()].find((producer) => producer.kind === 'video')!,
    );
    for (const producer of video) assert.equal(producer.type, 'simulcast');
  });
}
