// Production mode (a secret, no dev tokens): pages join with tokens passed as ?token=, and a
// token without publish rights joins to watch. Covers both who-offers-first cases: a viewer
// arriving after a publisher offers with receive-only transceivers; a publisher arriving after
// a viewer offers its tracks.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { TureenServer } from '../../src/server/index.js';
import { issueToken } from '../../src/signaling/index.js';
import {
  assertMediaFlows,
  launchBrowser,
  localPeerId,
  measureMediaFlow,
  openRoomPage,
  readStats,
  rerunInLoopbackNamespace,
  startServer,
  waitConnected,
  waitFor,
} from './helpers.js';

const secret = 'watch-test-secret-0123456789abcdef';

if (!rerunInLoopbackNamespace(import.meta.filename)) {
  describe('watching with a token that may not publish', { timeout: 85_000 }, () => {
    let server: TureenServer;
    let browser: Browser;

    before(async () => {
      [server, browser] = await Promise.all([startServer({ secret }), launchBrowser()]);
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    const join = async (room: string, name: string, publish: boolean) => {
      const token = await issueToken(
        secret,
        { sub: name.toLowerCase(), room, name, perms: { publish } },
        600,
      );
      return openRoomPage(browser, server.httpUrl, { room, name, token });
    };

    async function checkWatching(publisher: Page, viewer: Page): Promise<void> {
      const [publisherId, viewerId] = await Promise.all([localPeerId(publisher), localPeerId(viewer)]);
      await Promise.all([waitConnected(publisher, [viewerId]), waitConnected(viewer, [publisherId])]);
      assertMediaFlows('viewer', await measureMediaFlow(viewer, [publisherId]));
      // Nothing comes back from the viewer, and the publisher's page shows its initial instead.
      const fromViewer = (await readStats(publisher)).find((s) => s.peerId === viewerId)!;
      assert.equal(fromViewer.video.framesDecoded, 0);
      assert.equal(fromViewer.bytesReceived, 0);
      await waitFor('the viewer’s tile to show an avatar', () =>
        publisher.$eval(`.tile[data-peer-id="${viewerId}"]`, (tile) => tile.classList.contains('video-off')),
      );
    }

    test('a viewer joins after the publisher', async () => {
      const publisher = await join('late-viewer', 'Pia', true);
      const viewer = await join('late-viewer', 'Vic', false);
      assert.equal(await viewer.evaluate(() => window.tureen.room?.permissions.publish), false);
      await checkWatching(publisher, viewer);
      await Promise.all([publisher.context().close(), viewer.context().close()]);
    });

    test('a publisher joins after the viewer', async () => {
      const viewer = await join('early-viewer', 'Val', false);
      const publisher = await join('early-viewer', 'Pat', true);
      await checkWatching(publisher, viewer);
      await Promise.all([publisher.context().close(), viewer.context().close()]);
    });

    test('without a token the page says why it cannot join', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${server.httpUrl}/?room=x&name=Nobody`);
      await page.click('#join-button');
      const message = await waitFor('an error', async () => (await page.textContent('#error')) || undefined);
      assert.match(message, /no dev token \(404\)/);
      await context.close();
    });
  });
}
