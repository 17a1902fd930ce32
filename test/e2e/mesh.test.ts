// Three pages in one room form a full mesh: each decodes both others' video.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { TureenServer } from '../../src/server/index.js';
import {
  assertMediaFlows,
  launchBrowser,
  localPeerId,
  measureMediaFlow,
  openRoomPage,
  remoteTileIds,
  rerunInLoopbackNamespace,
  startServer,
  waitConnected,
} from './helpers.js';

if (!rerunInLoopbackNamespace(import.meta.filename)) {
  describe('P2P mesh of three pages', { timeout: 85_000 }, () => {
    let server: TureenServer;
    let browser: Browser;

    before(async () => {
      [server, browser] = await Promise.all([startServer(), launchBrowser()]);
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    test('each page decodes the two others', async () => {
      const pages: Page[] = [];
      // Joined back to back, so offers collide and perfect negotiation has to sort them out.
      for (const name of ['Ann', 'Ben', 'Cat']) {
        pages.push(await openRoomPage(browser, server.httpUrl, { room: 'mesh', name }));
      }
      const ids = await Promise.all(pages.map(localPeerId));
      assert.equal(new Set(ids).size, 3);

      await Promise.all(
        pages.map((page, i) =>
          waitConnected(
            page,
            ids.filter((_, j) => j !== i),
            30_000,
          ),
        ),
      );
      const flows = await Promise.all(
        pages.map((page, i) =>
          // Three encoders and six decoders share the CPU: a longer window than for two pages.
          measureMediaFlow(
            page,
            ids.filter((_, j) => j !== i),
            3000,
          ),
        ),
      );
      for (const [i, pageFlows] of flows.entries()) {
        assert.equal(pageFlows.length, 2);
        assertMediaFlows(`page ${i}`, pageFlows);
        assert.deepEqual((await remoteTileIds(pages[i]!)).sort(), ids.filter((_, j) => j !== i).sort());
        console.log(
          `mesh page ${i}: ${pageFlows.map((f) => `${f.framesDecodedAfter - f.framesDecodedBefore} frames in 3 s from ${f.peerId}`).join(', ')}`,
        );
      }

      // At phone width the three tiles stack in one column and nothing overflows sideways.
      await pages[0]!.setViewportSize({ width: 390, height: 844 });
      const layout = await pages[0]!.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        tileLefts: [...document.querySelectorAll('.tile')].map((t) =>
          Math.round(t.getBoundingClientRect().left),
        ),
      }));
      assert.ok(layout.scrollWidth <= 390, `page is ${layout.scrollWidth} px wide`);
      assert.equal(layout.tileLefts.length, 3);
      assert.equal(new Set(layout.tileLefts).size, 1, `tiles at x = ${layout.tileLefts.join(', ')}`);
    });
  });
}
