// Four headless Chromium pages (the web app, unchanged) in one SFU room: each decodes the three
// others' video and hears their audio through the SFU, and its tiles say "SFU".
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { startTureen, type TureenServer } from '../../src/server/index.js';
import {
  ensureWebBuild,
  launchBrowser,
  localPeerId,
  openRoomPage,
  readStats,
  rerunInLoopbackNamespace,
  sleep,
  waitFor,
  webRoot,
} from '../e2e/helpers.js';

const PAGES = 4;

if (!rerunInLoopbackNamespace(fileURLToPath(import.meta.url), 110_000)) {
  let server: TureenServer;
  let browser: Browser;
  const pages: Page[] = [];
  let peerIds: string[] = [];

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
      rtcMinPort: 43500,
      rtcMaxPort: 43999,
    });
    browser = await launchBrowser();
    for (let i = 0; i < PAGES; i++) {
      pages.push(await openRoomPage(browser, server.httpUrl, { room: 'sfu-four', name: `p${i}` }));
    }
    peerIds = await Promise.all(pages.map((page) => localPeerId(page)));
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('every page decodes three remote videos and hears three remote audio streams through the SFU', {
    timeout: 50_000,
  }, async (t) => {
    const othersOf = (i: number) => peerIds.filter((id) => id !== peerIds[i]);
    // First every page decodes something from each of the three others...
    const before = await Promise.all(
      pages.map((page, i) =>
        waitFor(
          `page ${i} decoding from 3 peers`,
          async () => {
            const stats = await readStats(page);
            const ready = othersOf(i).map((id) => stats.find((s) => s.peerId === id));
            return ready.every((s) => s !== undefined && s.mode === 'sfu' && s.video.framesDecoded > 0)
              ? ready
              : undefined;
          },
          { timeoutMs: 30_000 },
        ),
      ),
    );
    // ...then keeps decoding over the same 4 s window on all pages.
    await sleep(4000);
    const after = await Promise.all(pages.map((page) => readStats(page)));
    for (const [i, page] of pages.entries()) {
      for (const [j, id] of othersOf(i).entries()) {
        const last = after[i]!.find((s) => s.peerId === id)!;
        const decoded = last.video.framesDecoded - before[i]![j]!.video.framesDecoded;
        t.diagnostic(
          `page ${i} from ${id}: ${decoded} frames in 4 s, ${last.video.frameWidth}x${last.video.frameHeight}, ` +
            `${Math.round(last.inboundBitrate / 1000)} kbps in, audio energy ${last.audio.totalAudioEnergy.toFixed(3)}`,
        );
        assert.ok(decoded >= 10, `page ${i}: only ${decoded} frames from ${id} in 4 s`);
        assert.ok(last.audio.totalAudioEnergy > 0, `page ${i}: no audio energy from ${id}`);
      }
      // The tiles say how the media arrives.
      const modes = await page.$$eval('.tile:not(.local) .badge.mode', (badges) =>
        badges.map((b) => b.textContent),
      );
      assert.deepEqual(modes, ['SFU', 'SFU', 'SFU']);
    }
  });

  test('a page whose signaling socket drops resumes as the same peer and keeps its media', {
    timeout: 40_000,
  }, async () => {
    const page = pages[3]!;
    const sfuRoom = server.sfu!.rooms.room('sfu-four')!;
    const consumerIds = () => [...sfuRoom.peers.get(peerIds[3]!)!.consumers.keys()].sort();
    const beforeIds = consumerIds();
    assert.equal(beforeIds.length, 6);
    const localBefore = await page.evaluate(() => window.tureen.room!.participants.size);
    await page.evaluate(() => window.tureen.room!.simulateSignalingDrop());
    await waitFor('signaling open again', async () =>
      (await page.evaluate(() => window.tureen.room?.signalingState)) === 'open' ? true : undefined,
    );
    // Same peer, same consumers on the server; the resync kept every consumer on the page.
    assert.equal(await localPeerId(page), peerIds[3]);
    await sleep(1000);
    assert.deepEqual(consumerIds(), beforeIds);
    assert.equal(await page.evaluate(() => window.tureen.room!.participants.size), localBefore);
    // Media must recover: every remote video decodes 10 more frames within a bounded time.
    const first = await readStats(page);
    const startedAt = Date.now();
    await waitFor(
      'remote videos decoding again after the drop',
      async () => {
        const now = await readStats(page);
        return peerIds.slice(0, 3).every((id) => {
          const a = first.find((s) => s.peerId === id);
          const b = now.find((s) => s.peerId === id);
          return a && b && b.video.framesDecoded - a.video.framesDecoded >= 10;
        });
      },
      { timeoutMs: 15_000, intervalMs: 500 },
    );
    console.log(`# media advanced 10 frames on every remote video ${Date.now() - startedAt} ms after resync`);
  });

  test("a page picks the simulcast layer it receives of a peer's video", { timeout: 20_000 }, async () => {
    const sfuRoom = server.sfu!.rooms.room('sfu-four')!;
    const videoConsumerOf = (viewer: string, owner: string) =>
      [...sfuRoom.peers.get(viewer)!.consumers.values()].find(
        (c) => c.kind === 'video' && c.appData.peerId === owner,
      )!;
    const consumer = videoConsumerOf(peerIds[0]!, peerIds[1]!);
    assert.equal(consumer.type, 'simulcast');
    await pages[0]!.evaluate((id) => window.tureen.room!.setPreferredLayers(id, 0, 0), peerIds[1]!);
    assert.deepEqual(consumer.preferredLayers, { spatialLayer: 0, temporalLayer: 0 });
    // Only that one: page 0's consumer of another peer keeps the default (the highest).
    assert.equal(videoConsumerOf(peerIds[0]!, peerIds[2]!).preferredLayers?.spatialLayer, 2);
  });
}
