// Selective subscription: two headless Chromium pages (the web app) in one room; page B joins
// with `?autoSubscribe=0`. In an SFU room the SFU keeps B's consumers of A paused, so no media of
// A reaches B until B subscribes to A (the receive button on A's tile, i.e. `room.subscribe(A)`);
// after `room.unsubscribe(A)` it stops. In a P2P room B asks A over the link's control channel to
// deactivate its senders.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { ConnectionStats } from '../../src/client/index.js';
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

const ROOM = 'sfu-subscribe';

async function statsOf(page: Page, peerId: string): Promise<ConnectionStats | undefined> {
  return (await readStats(page)).find((s) => s.peerId === peerId);
}

if (!rerunInLoopbackNamespace(fileURLToPath(import.meta.url), 110_000)) {
  let server: TureenServer;
  let browser: Browser;
  let pageA: Page;
  let pageB: Page;
  let idA = '';
  let idB = '';

  before(async () => {
    await ensureWebBuild();
    server = await startTureen({
      host: '127.0.0.1',
      httpPort: 0,
      turnPort: 0,
      webRoot,
      logLevel: 'warn',
      roomMode: 'sfu',
      sfuWorkers: 1,
      rtcMinPort: 44000,
      rtcMaxPort: 44499,
    });
    browser = await launchBrowser();
    pageA = await openRoomPage(browser, server.httpUrl, { room: ROOM, name: 'a' });
    pageB = await openRoomPage(browser, server.httpUrl, { room: ROOM, name: 'b', autoSubscribe: false });
    idA = await localPeerId(pageA);
    idB = await localPeerId(pageB);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** B's consumers of A on the server. */
  const consumersOfA = () =>
    [...(server.sfu!.rooms.room(ROOM)?.peers.get(idB)?.consumers.values() ?? [])].filter(
      (c) => c.appData.peerId === idA,
    );

  test('with autoSubscribe off, B receives nothing from A until subscribe(A) (the tile button)', {
    timeout: 60_000,
  }, async (t) => {
    // A's audio and video are consumed for B, but stay paused on the server.
    await waitFor('B consuming A audio and video', () => (consumersOfA().length === 2 ? true : undefined), {
      timeoutMs: 30_000,
    });
    // Meanwhile A receives B (A subscribes automatically): the room's media works.
    await waitFor(
      'A decoding B',
      async () => ((await statsOf(pageA, idB))?.video.framesDecoded ?? 0) > 0 || undefined,
      { timeoutMs: 30_000 },
    );
    // B has set up its consumers (A's tracks are in the participant's stream, disabled)...
    await waitFor(
      "A's tracks on page B",
      () =>
        pageB.evaluate((id) => {
          const tracks = window.tureen.room!.participants.get(id)?.stream.getTracks() ?? [];
          return tracks.length === 2 && tracks.every((track) => !track.enabled);
        }, idA) || undefined,
      { timeoutMs: 30_000 },
    );
    // ...and, given time for media to arrive, still receives nothing.
    await sleep(2000);
    assert.equal(await pageB.evaluate((id) => window.tureen.room!.isSubscribed(id), idA), false);
    assert.ok(
      consumersOfA().every((c) => c.paused),
      'B consumers of A are paused',
    );
    const unsubscribed = await statsOf(pageB, idA);
    t.diagnostic(
      `before subscribe: ${unsubscribed?.bytesReceived ?? 0} bytes, ${unsubscribed?.video.framesDecoded ?? 0} frames`,
    );
    assert.equal(unsubscribed?.video.framesDecoded ?? 0, 0);
    assert.equal(unsubscribed?.bytesReceived ?? 0, 0);

    // The page's way: A's tile on B shows a receive button, not pressed; pressing it subscribes.
    const receiveButton = pageB.locator(`.tile[data-peer-id="${idA}"] .tile-receive`);
    assert.equal(await receiveButton.getAttribute('aria-pressed'), 'false');
    await receiveButton.click();
    await waitFor('B consumers of A resumed', () => consumersOfA().every((c) => !c.paused) || undefined, {
      timeoutMs: 10_000,
    });
    assert.equal(await pageB.evaluate((id) => window.tureen.room!.isSubscribed(id), idA), true);
    assert.equal(await receiveButton.getAttribute('aria-pressed'), 'true');
    const decoding = await waitFor(
      'B decoding A after subscribe',
      async () => {
        const s = await statsOf(pageB, idA);
        return s && s.video.framesDecoded >= 10 ? s : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    t.diagnostic(`after subscribe: ${decoding.video.framesDecoded} frames, ${decoding.bytesReceived} bytes`);
  });

  test('after unsubscribe(A) the bytes B receives from A stop growing', { timeout: 30_000 }, async (t) => {
    await pageB.evaluate((id) => window.tureen.room!.unsubscribe(id), idA);
    assert.ok(
      consumersOfA().every((c) => c.paused),
      'B consumers of A are paused again',
    );
    // Packets already on their way may still land; then nothing more.
    await sleep(1500);
    const first = (await statsOf(pageB, idA))!;
    await sleep(3000);
    const second = (await statsOf(pageB, idA))!;
    const grown = second.bytesReceived - first.bytesReceived;
    t.diagnostic(
      `over 3 s unsubscribed: ${grown} bytes, ${second.video.framesDecoded - first.video.framesDecoded} frames`,
    );
    // One stray packet at most (a subscribed video stream brings hundreds of KB over 3 s).
    assert.ok(grown <= 1500, `B still received ${grown} bytes from A`);
    assert.equal(second.video.framesDecoded, first.video.framesDecoded);
  });

  test('P2P: B asks A to stop sending until subscribe(A), and again after unsubscribe(A)', {
    timeout: 90_000,
  }, async (t) => {
    const p2pServer = await startTureen({
      host: '127.0.0.1',
      httpPort: 0,
      turnPort: 0,
      webRoot,
      logLevel: 'warn',
      roomMode: 'p2p',
    });
    t.after(() => p2pServer.close());
    const room = 'p2p-subscribe';
    const a = await openRoomPage(browser, p2pServer.httpUrl, { room, name: 'pa' });
    const b = await openRoomPage(browser, p2pServer.httpUrl, { room, name: 'pb', autoSubscribe: false });
    const [pa, pb] = [await localPeerId(a), await localPeerId(b)];
    // The link works (A decodes B), and B's tracks of A arrived, disabled.
    await waitFor(
      'A decoding B over P2P',
      async () => ((await statsOf(a, pb))?.video.framesDecoded ?? 0) > 0 || undefined,
      {
        timeoutMs: 30_000,
      },
    );
    /** Bytes B receives from A over `ms`, after `settleMs` for packets already on their way. */
    const bytesOver = async (ms: number, settleMs = 1500) => {
      await sleep(settleMs);
      const first = (await statsOf(b, pa))?.bytesReceived ?? 0;
      await sleep(ms);
      return ((await statsOf(b, pa))?.bytesReceived ?? 0) - first;
    };
    const idle = await bytesOver(3000);
    t.diagnostic(`P2P before subscribe: ${idle} bytes in 3 s`);
    assert.ok(idle <= 1500, `B received ${idle} bytes from A while not subscribed`);

    await b.evaluate((id) => window.tureen.room!.subscribe(id), pa);
    const start = (await statsOf(b, pa))?.video.framesDecoded ?? 0;
    const decoding = await waitFor(
      'B decoding A over P2P after subscribe',
      async () => {
        const s = await statsOf(b, pa);
        return s && s.video.framesDecoded - start >= 10 ? s : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    t.diagnostic(`P2P after subscribe: ${decoding.video.framesDecoded - start} frames`);

    await b.evaluate((id) => window.tureen.room!.unsubscribe(id), pa);
    const stopped = await bytesOver(3000);
    t.diagnostic(`P2P after unsubscribe: ${stopped} bytes in 3 s`);
    assert.ok(stopped <= 1500, `B still received ${stopped} bytes from A after unsubscribe`);
    await a.context().close();
    await b.context().close();
  });
}
