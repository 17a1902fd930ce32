// Four headless Chromium pages (the web app, unchanged) in an SFU room whose routers hold two
// peers each, on two workers: the room spreads over both workers and every page decodes the
// video of the three others, two of which reach it through a pipe between the workers, and gets
// their chat messages (SFU data producers, piped over SCTP the same way).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
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
import { exchangeSfuChat } from '../e2e/page-probes.js';
import { sfuToken, startWebSfuServer, type WebSfuServer } from './helpers.js';

const PAGES = 4;

if (!rerunInLoopbackNamespace(fileURLToPath(import.meta.url), 110_000)) {
  let server: WebSfuServer;
  let browser: Browser;
  const pages: Page[] = [];
  let peerIds: string[] = [];

  before(async () => {
    await ensureWebBuild();
    server = await startWebSfuServer({
      webRoot,
      workers: 2,
      rtcMinPort: 45500,
      rtcMaxPort: 45999,
      routerCapacity: { peers: 2 },
    });
    browser = await launchBrowser();
    for (let i = 0; i < PAGES; i++) {
      const token = await sfuToken(`p${i}`, 'spread');
      pages.push(await openRoomPage(browser, server.httpUrl, { room: 'spread', name: `p${i}`, token }));
    }
    peerIds = await Promise.all(pages.map((page) => localPeerId(page)));
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('the room spans both workers and every page decodes the three others', {
    timeout: 60_000,
  }, async (t) => {
    const sfuRoom = server.rooms.room('spread')!;
    await waitFor(
      'four peers placed',
      () => sfuRoom.peers.size === 4 && [...sfuRoom.peers.values()].every((p) => p.router),
      {
        timeoutMs: 20_000,
      },
    );
    assert.equal(sfuRoom.routers.length, 2);
    const [first, second] = sfuRoom.routers;
    assert.notEqual(first!.workerPid, second!.workerPid);
    assert.deepEqual(
      sfuRoom.routers.map((r) => r.peerCount),
      [2, 2],
    );
    // Each worker's own dump lists the room router it hosts.
    for (const pooled of sfuRoom.routers) {
      const dump = (await pooled.worker.dump()) as { routerIds: string[] };
      assert.ok(dump.routerIds.includes(pooled.router.id), `worker ${pooled.workerPid} lacks its router`);
    }
    const routerOf = (peerId: string) => sfuRoom.peers.get(peerId)!.router;
    const othersOf = (i: number) => peerIds.filter((id) => id !== peerIds[i]);
    const decoding = await Promise.all(
      pages.map((page, i) =>
        waitFor(
          `page ${i} decoding from 3 peers`,
          async () => {
            const stats = await readStats(page);
            const ready = othersOf(i).map((id) => stats.find((s) => s.peerId === id));
            return ready.every((s) => s !== undefined && s.video.framesDecoded > 0) ? ready : undefined;
          },
          { timeoutMs: 30_000 },
        ),
      ),
    );
    await sleep(4000);
    const later = await Promise.all(pages.map((page) => readStats(page)));
    let piped = 0;
    for (const [i] of pages.entries()) {
      for (const [j, id] of othersOf(i).entries()) {
        const last = later[i]!.find((s) => s.peerId === id)!;
        const decoded = last.video.framesDecoded - decoding[i]![j]!.video.framesDecoded;
        const across = routerOf(id) !== routerOf(peerIds[i]!);
        if (across) piped++;
        t.diagnostic(
          `page ${i} from ${id}${across ? ' (piped between workers)' : ''}: ${decoded} frames in 4 s, ` +
            `${last.video.frameWidth}x${last.video.frameHeight}`,
        );
        assert.ok(decoded >= 10, `page ${i}: only ${decoded} frames from ${id} in 4 s`);
      }
    }
    // Each page gets two of its three remote videos across the pipe.
    assert.equal(piped, 8);
  });

  test('chat messages cross the pipe between the workers in order', { timeout: 40_000 }, async () => {
    await exchangeSfuChat(pages, peerIds, 5);
  });
}
