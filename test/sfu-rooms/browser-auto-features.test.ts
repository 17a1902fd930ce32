// An `auto` room's screen share and chat across the switches: a share started peer-to-peer is
// produced to the SFU when a third page joins and sent on the links again when it leaves; chat
// works in both modes.
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
  rerunInLoopbackNamespace,
  waitFor,
  webRoot,
} from '../e2e/helpers.js';
import { chatTexts, framesAdvance, sendChatMessages } from '../e2e/page-probes.js';

const ROOM = 'auto-features';

function mode(page: Page): Promise<string | undefined> {
  return page.evaluate(() => window.tureen.room?.mode);
}

if (!rerunInLoopbackNamespace(fileURLToPath(import.meta.url), 150_000)) {
  let server: TureenServer;
  let browser: Browser;

  before(async () => {
    await ensureWebBuild();
    server = await startTureen({
      host: '127.0.0.1',
      httpPort: 0,
      turnPort: 0,
      webRoot,
      logLevel: 'warn',
      roomMode: 'auto',
      sfuWorkers: 1,
      rtcMinPort: 46500,
      rtcMaxPort: 46999,
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('a screen share and chat carry on from P2P to the SFU and back', { timeout: 140_000 }, async (t) => {
    const ann = await openRoomPage(browser, server.httpUrl, { room: ROOM, name: 'ann' });
    const ben = await openRoomPage(browser, server.httpUrl, { room: ROOM, name: 'ben' });
    const [annId, benId] = await Promise.all([localPeerId(ann), localPeerId(ben)]);
    const screenTile = `.tile.screen[data-peer-id="${annId}:screen"]`;

    await ann.click('#screen-button');
    await waitFor('the screen tile at Ben (P2P)', () => ben.$(screenTile), { timeoutMs: 30_000 });
    await framesAdvance(ben, `${screenTile} video`, 5, 20_000);
    assert.equal(await mode(ben), 'p2p');
    const p2pSent = await sendChatMessages(ann, 'p2p', 3);
    await waitFor('P2P chat at Ben', async () => (await chatTexts(ben, annId)).length >= 3);

    const cy = await openRoomPage(browser, server.httpUrl, { room: ROOM, name: 'cy' });
    const cyId = await localPeerId(cy);
    for (const page of [ann, ben, cy]) {
      await waitFor('mode sfu', async () => (await mode(page)) === 'sfu', { timeoutMs: 15_000 });
    }
    const sfuRoom = server.sfu!.rooms.room(ROOM)!;
    await waitFor('Ann’s screen produced to the SFU', () =>
      [...(sfuRoom.peers.get(annId)?.producers.values() ?? [])].some((p) => p.appData.source === 'screen'),
    );
    for (const page of [ben, cy]) {
      await waitFor('the screen tile (SFU)', () => page.$(screenTile), { timeoutMs: 30_000 });
      const frames = await framesAdvance(page, `${screenTile} video`, 5, 25_000);
      assert.ok(frames.width > 640, `screen ${frames.width} wide`);
    }
    // Chat through the SFU once every page's chat channels are open.
    for (const page of [ann, ben, cy]) {
      await waitFor(
        'chat channels open',
        () =>
          page.evaluate(
            () => window.tureen.room?.sfu?.chatOpen && window.tureen.room.sfu.openChatChannels >= 2,
          ),
        { timeoutMs: 25_000 },
      );
    }
    const sfuSent = await sendChatMessages(cy, 'sfu', 3);
    for (const page of [ann, ben]) {
      await waitFor('SFU chat', async () => (await chatTexts(page, cyId)).length >= 3);
      assert.deepEqual(await chatTexts(page, cyId), sfuSent);
    }

    await cy.evaluate(() => window.tureen.room?.leave());
    await cy.context().close();
    for (const page of [ann, ben]) {
      await waitFor('mode p2p', async () => (await mode(page)) === 'p2p', { timeoutMs: 15_000 });
    }
    await waitFor('the screen tile at Ben (P2P again)', () => ben.$(screenTile), { timeoutMs: 30_000 });
    const back = await framesAdvance(ben, `${screenTile} video`, 5, 30_000);
    t.diagnostic(`Ben plays Ann's screen again over P2P at ${back.width}x${back.height}`);
    assert.ok(back.width > 640);
    const againSent = await sendChatMessages(ben, 'again', 3);
    await waitFor('P2P chat again', async () => (await chatTexts(ann, benId)).length >= 3);
    assert.deepEqual(await chatTexts(ann, benId), againSent);
    assert.deepEqual((await chatTexts(ben, annId)).slice(0, 3), p2pSent);
  });
}
