// An `auto` room in headless Chromium (the web app, unchanged): two pages talk peer-to-peer,
// a third page moves everyone onto the SFU (transports connect), and when it leaves the two go
// back to a direct connection with media flowing again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { startTureen, type TureenServer } from '../../src/server/index.js';
import {
  assertMediaFlows,
  ensureWebBuild,
  launchBrowser,
  localPeerId,
  measureMediaFlow,
  openRoomPage,
  rerunInLoopbackNamespace,
  waitConnected,
  waitFor,
  webRoot,
} from '../e2e/helpers.js';

const ROOM = 'auto-room';

function mode(page: Page): Promise<string | undefined> {
  return page.evaluate(() => window.tureen.room?.mode);
}

function sfuConnected(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const sfu = window.tureen.room?.sfu;
    return (
      sfu?.sendTransport?.connectionState === 'connected' &&
      sfu?.recvTransport?.connectionState === 'connected'
    );
  });
}

if (!rerunInLoopbackNamespace(fileURLToPath(import.meta.url), 110_000)) {
  let server: TureenServer;
  let browser: Browser;

  before(async () => {
    await ensureWebBuild();
    server = await startTureen({
      host: '127.0.0.1',
      httpPort: 0,
      turnPort: 0,
      turnAllowLoopbackPeers: true,
      webRoot,
      logLevel: 'warn',
      roomMode: 'auto',
      sfuWorkers: 1,
      rtcMinPort: 44000,
      rtcMaxPort: 44499,
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('P2P at two, SFU at three, P2P again at two', { timeout: 90_000 }, async (t) => {
    const a = await openRoomPage(browser, server.httpUrl, { room: ROOM, name: 'ann' });
    const b = await openRoomPage(browser, server.httpUrl, { room: ROOM, name: 'ben' });
    const [idA, idB] = await Promise.all([localPeerId(a), localPeerId(b)]);
    assert.equal(await mode(a), 'p2p');
    assert.equal(await mode(b), 'p2p');
    await waitConnected(a, [idB]);
    await waitConnected(b, [idA]);
    assertMediaFlows('p2p before', await measureMediaFlow(a, [idB]));

    const c = await openRoomPage(browser, server.httpUrl, { room: ROOM, name: 'cid' });
    const started = Date.now();
    for (const page of [a, b, c]) {
      await waitFor('mode sfu', async () => (await mode(page)) === 'sfu', { timeoutMs: 10_000 });
    }
    for (const page of [a, b, c]) await waitFor('SFU transports connected', () => sfuConnected(page));
    t.diagnostic(
      `all three on the SFU, transports connected ${Date.now() - started} ms after the third joined`,
    );
    const sfuRoom = server.sfu!.rooms.room(ROOM)!;
    await waitFor('2 producers and 4 consumers per peer', () =>
      [...sfuRoom.peers.values()].every((p) => p.producers.size === 2 && p.consumers.size === 4),
    );
    // The old peer connections are gone.
    assert.equal(await a.evaluate(() => window.tureen.room?.sfu !== null), true);

    await c.evaluate(() => window.tureen.room?.leave());
    await c.context().close();
    for (const page of [a, b]) {
      await waitFor('mode p2p', async () => (await mode(page)) === 'p2p', { timeoutMs: 10_000 });
    }
    await waitConnected(a, [idB], 25_000);
    await waitConnected(b, [idA], 25_000);
    assertMediaFlows('p2p after', await measureMediaFlow(a, [idB]));
    assertMediaFlows('p2p after', await measureMediaFlow(b, [idA]));
    const stats = await a.evaluate(() => window.tureen.stats());
    assert.equal(stats[0]?.mode, 'p2p');
    assert.equal(sfuRoom.peers.size, 0);
  });
}
