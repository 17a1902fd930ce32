// The web app's call features in a P2P room of two headless Chromium pages: screen share as a
// tile of its own, chat over a data channel per link, camera switching without renegotiation,
// per-tile stats (RTT, loss, quality), the active speaker from audio levels, and a phone-width
// layout with the invite button. What the pages show is measured, not assumed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { connectionQuality } from '../../src/client/index.js';
import type { TureenServer } from '../../src/server/index.js';
import {
  launchBrowser,
  localPeerId,
  openRoomPage,
  readStats,
  rerunInLoopbackNamespace,
  startServer,
  waitConnected,
  waitFor,
} from './helpers.js';
import { chatTexts, framesAdvance, noHorizontalScroll, sendChatMessages } from './page-probes.js';

if (!rerunInLoopbackNamespace(import.meta.filename, 170_000)) {
  describe('P2P room features in the web app', { timeout: 160_000 }, () => {
    let server: TureenServer;
    let browser: Browser;
    let ann: Page;
    let ben: Page;
    let annId: string;
    let benId: string;

    before(async () => {
      [server, browser] = await Promise.all([startServer(), launchBrowser()]);
      ann = await openRoomPage(browser, server.httpUrl, { room: 'features', name: 'Ann' });
      ben = await openRoomPage(browser, server.httpUrl, { room: 'features', name: 'Ben' });
      [annId, benId] = await Promise.all([localPeerId(ann), localPeerId(ben)]);
      await Promise.all([waitConnected(ann, [benId], 30_000), waitConnected(ben, [annId], 30_000)]);
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    test('a screen share shows as a tile of its own on the other page, beside the camera', async (t) => {
      await ann.click('#screen-button');
      await waitFor('Ann’s own screen tile', () => ann.$('.tile.screen.local'), { timeoutMs: 10_000 });
      const screenTile = `.tile.screen[data-peer-id="${annId}:screen"]`;
      await waitFor('Ann’s screen tile on Ben’s page', () => ben.$(screenTile), { timeoutMs: 20_000 });
      const frames = await framesAdvance(ben, `${screenTile} video`, 10, 20_000);
      t.diagnostic(`Ben decodes Ann's screen: ${frames.width}x${frames.height}, ${frames.advanced} frames`);
      // A fake screen is 1280x720 here; the camera is 640x360: it really is the screen's track.
      assert.ok(frames.width > 640, `screen video is ${frames.width} wide`);
      // The camera tile keeps playing alongside.
      await framesAdvance(ben, `.tile[data-peer-id="${annId}"] video`, 10, 10_000);

      // Someone who joins during the share gets both in its first offer, before the control
      // channel says which stream is the screen: they still end up in the right tiles.
      const cy = await openRoomPage(browser, server.httpUrl, { room: 'features', name: 'Cy' });
      try {
        await waitFor('Ann’s screen tile on Cy’s page', () => cy.$(screenTile), { timeoutMs: 25_000 });
        const atCy = await framesAdvance(cy, `${screenTile} video`, 5, 20_000);
        const camera = await framesAdvance(cy, `.tile[data-peer-id="${annId}"] video`, 5, 20_000);
        t.diagnostic(`Cy: screen ${atCy.width}x${atCy.height}, camera ${camera.width}x${camera.height}`);
        assert.ok(atCy.width > 640 && camera.width <= 640, 'screen and camera in their own tiles');
      } finally {
        await cy.evaluate(() => window.tureen.room?.leave());
        await cy.context().close();
      }

      await ann.click('#screen-button');
      await waitFor('the screen tile to go', async () => (await ben.$(screenTile)) === null, {
        timeoutMs: 15_000,
      });
      assert.equal(await ann.$('.tile.screen'), null);
      assert.equal(await ann.evaluate(() => window.tureen.room?.screenStream), null);
    });

    test('chat messages arrive in order on the other page, both ways', async () => {
      // One through the page's form, the rest through the SDK.
      await ann.click('#chat-button');
      await ann.fill('#chat-input', 'hello from the form');
      await ann.press('#chat-input', 'Enter');
      const fromAnn = ['hello from the form', ...(await sendChatMessages(ann, 'ann', 9))];
      const fromBen = await sendChatMessages(ben, 'ben', 10);
      await waitFor('Ann’s messages at Ben', async () => {
        const got = await chatTexts(ben, annId);
        return got.length >= fromAnn.length ? got : undefined;
      });
      assert.deepEqual(await chatTexts(ben, annId), fromAnn);
      await waitFor('Ben’s messages at Ann', async () => (await chatTexts(ann, benId)).length >= 10);
      assert.deepEqual(await chatTexts(ann, benId), fromBen);
      // They are on the page, with the sender's name; Ben's panel is closed, so they count as unread.
      const shown = await ann.$$eval('#chat-log .chat-message:not(.local) .chat-text', (els) =>
        els.map((e) => e.textContent),
      );
      assert.deepEqual(shown, fromBen);
      assert.equal(await ben.textContent('#chat-unread'), String(fromAnn.length));
    });

    test('switching the camera replaces the track: video keeps flowing, no renegotiation', async () => {
      const options = await ann.$$eval('#camera-select option', (els) =>
        els.map((e) => (e as HTMLOptionElement).value),
      );
      assert.ok(options.length >= 1, 'the camera select lists the fake camera');
      assert.ok((await ann.$$eval('#mic-select option', (els) => els.length)) >= 1);
      const sdpOf = (page: Page, peerId: string) =>
        page.evaluate((id) => {
          const pc = window.tureen.room!.p2p!.links.get(id)!.pc;
          return `${pc.localDescription?.sdp}|${pc.remoteDescription?.sdp}`;
        }, peerId);
      const trackId = () => ann.evaluate(() => window.tureen.room!.localStream!.getVideoTracks()[0]!.id);
      const [sdpBefore, oldTrack] = await Promise.all([sdpOf(ben, annId), trackId()]);
      await ann.selectOption('#camera-select', options.at(-1)!);
      await waitFor('a new camera track', async () => (await trackId()) !== oldTrack);
      const sender = await ann.evaluate(
        (id) =>
          window.tureen
            .room!.p2p!.links.get(id)!
            .pc.getSenders()
            .find((s) => s.track?.kind === 'video')?.track?.id,
        benId,
      );
      assert.equal(sender, await trackId(), 'the sender carries the new track');
      const before = (await readStats(ben)).find((s) => s.peerId === annId)!.video.framesDecoded;
      await waitFor('Ben decoding Ann’s new camera track', async () => {
        const now = (await readStats(ben)).find((s) => s.peerId === annId)!.video.framesDecoded;
        return now - before >= 15;
      });
      assert.equal(await sdpOf(ben, annId), sdpBefore, 'no new offer or answer');
    });

    test('tiles show RTT, loss and the connection quality the SDK rates', async () => {
      const tile = `.tile[data-peer-id="${annId}"]`;
      await waitFor('Ben’s tile readout', () =>
        ben.$eval(tile, (el) => {
          // No named inner functions: the test loader would wrap them in a helper the page lacks.
          const rtt = el.querySelector('.metric.rtt')?.textContent ?? '';
          const loss = el.querySelector('.metric.loss')?.textContent ?? '';
          const rated = ['good', 'fair', 'poor'].includes((el as HTMLElement).dataset.quality ?? '');
          return /\d+ ms/.test(rtt) && /% loss/.test(loss) && rated ? true : undefined;
        }),
      );
      const stats = (await readStats(ben)).find((s) => s.peerId === annId)!;
      assert.ok(stats.rttMs !== undefined && stats.rttMs >= 0, `rtt ${stats.rttMs}`);
      assert.ok(stats.packetsReceived > 0);
      // Loopback loses nothing to speak of (a loaded machine may make the RTT anything).
      assert.ok(stats.lossPercent >= 0 && stats.lossPercent < 2, `loss ${stats.lossPercent} %`);
      assert.equal(stats.quality, connectionQuality(stats.lossPercent, stats.rttMs));
      const quality = await ben.evaluate((id) => window.tureen.room!.participants.get(id)!.quality, annId);
      assert.ok(['good', 'fair', 'poor'].includes(quality));
    });

    test('the active speaker comes from audio levels and is highlighted; muting moves it', async () => {
      // Both fake microphones beep alike: each page picks one of the two (itself included).
      for (const page of [ann, ben]) {
        await waitFor('a speaker highlighted', () => page.$('.tile.speaking'));
        assert.ok([annId, benId].includes((await page.evaluate(() => window.tureen.room!.activeSpeaker))!));
      }
      // Ann mutes: Ben speaks, on his own page (his own tile) and on hers.
      await ann.click('#mic-button');
      await waitFor('Ben’s own tile highlighted', () => ben.$('.tile.local.speaking'), { timeoutMs: 20_000 });
      await waitFor('Ben highlighted at Ann', () => ann.$(`.tile.speaking[data-peer-id="${benId}"]`), {
        timeoutMs: 20_000,
      });
      await waitFor('Ann’s room names Ben the speaker', async () =>
        (await ann.evaluate(() => window.tureen.room!.activeSpeaker)) === benId ? true : undefined,
      );
      assert.equal(await ben.$$eval('.tile.speaking', (els) => els.length), 1);
      // Ben mutes, Ann speaks again: Ben's page moves to her.
      await ann.click('#mic-button');
      await ben.click('#mic-button');
      await waitFor('Ann highlighted at Ben', () => ben.$(`.tile.speaking[data-peer-id="${annId}"]`), {
        timeoutMs: 20_000,
      });
      await ben.click('#mic-button');
    });

    test('at phone width (375 px): no horizontal scroll, tiles visible, chat fits; invite link copied', async () => {
      await ben.setViewportSize({ width: 375, height: 740 });
      await ben.waitForTimeout(300);
      assert.ok(await noHorizontalScroll(ben), 'page scrolls sideways at 375 px');
      const boxes = await ben.$$eval('.tile', (els) =>
        els.map((e) => {
          const r = e.getBoundingClientRect();
          return { left: r.left, right: r.right, width: r.width, height: r.height };
        }),
      );
      assert.equal(boxes.length, 2);
      for (const box of boxes) {
        assert.ok(box.width > 200 && box.height > 100, `tile ${JSON.stringify(box)}`);
        assert.ok(box.left >= 0 && box.right <= 375, `tile outside the viewport: ${JSON.stringify(box)}`);
      }
      for (const control of ['#mic-button', '#leave-button', '#chat-button', '#camera-select']) {
        const box = await ben.$eval(control, (e) => e.getBoundingClientRect().toJSON());
        assert.ok(box.width > 0 && box.right <= 375, `${control} at ${JSON.stringify(box)}`);
      }
      await ben.click('#chat-button');
      assert.ok(await ben.isVisible('#chat-input'));
      assert.ok(await noHorizontalScroll(ben), 'the open chat scrolls sideways');
      assert.equal(await ben.textContent('#chat-unread'), '');
      await ben.click('#chat-close');

      // The lobby too.
      const lobby = await (await browser.newContext({ viewport: { width: 375, height: 740 } })).newPage();
      await lobby.goto(`${server.httpUrl}/?room=features`);
      await lobby.waitForSelector('#join-button');
      assert.ok(await noHorizontalScroll(lobby), 'the lobby scrolls sideways at 375 px');
      const join = await lobby.$eval('#join-button', (e) => e.getBoundingClientRect().toJSON());
      assert.ok(join.width > 200 && join.right <= 375);
      await lobby.context().close();

      await ben.context().grantPermissions(['clipboard-read', 'clipboard-write'], {
        origin: server.httpUrl,
      });
      await ben.click('#invite-button');
      await waitFor('the button to say it copied', async () =>
        (await ben.textContent('#invite-button')) === 'Link copied' ? true : undefined,
      );
      const link = await ben.evaluate(() => navigator.clipboard.readText());
      const url = new URL(link);
      assert.equal(url.origin, server.httpUrl);
      assert.equal(url.searchParams.get('room'), 'features');
      // The link carries no name or token of ours.
      assert.equal(url.searchParams.get('name'), null);
      assert.equal(url.searchParams.get('token'), null);
    });
  });
}
