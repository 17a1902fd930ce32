// A load bot and a headless Chromium page (the web app, unchanged) in one SFU room: Chromium
// decodes the bot's synthetic VP8 (frames decoded keep growing, at the captured 320x180), so what
// the bots send is real VP8; and the bot receives the page's audio and video.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { LoadRunner } from '../../src/load/index.js';
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

if (!rerunInLoopbackNamespace(fileURLToPath(import.meta.url), 90_000)) {
  let server: TureenServer;
  let browser: Browser;
  let runner: LoadRunner;

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
      rtcMinPort: 47500,
      rtcMaxPort: 47999,
    });
    browser = await launchBrowser();
    // Periodic key frames off: after the first one, the page decodes delta frames only.
    runner = await LoadRunner.start({
      url: server.wsUrl,
      video: { kbps: 400, fps: 30, keyFrameIntervalMs: 0 },
    });
  });

  after(async () => {
    await runner?.close();
    await browser?.close();
    await server?.close();
  });

  test("Chromium decodes a bot's VP8 and the bot receives the page's media", {
    timeout: 60_000,
  }, async (t) => {
    const page: Page = await openRoomPage(browser, server.httpUrl, {
      room: 'bot-and-browser',
      name: 'chromium',
    });
    const pagePeerId = await localPeerId(page);
    const [started] = await runner.addRoom({
      room: 'bot-and-browser',
      peers: 1,
      publishers: 1,
      startAt: Date.now(),
      rampMs: 0,
    });
    assert.ok(started?.ok, JSON.stringify(started));
    const botPeerId = (await runner.snapshot()).bots[0]!.peerId;
    const first = await waitFor(
      "the page decoding the bot's video",
      async () => {
        const stats = (await readStats(page)).find((s) => s.peerId === botPeerId);
        return stats && stats.video.framesDecoded > 0 ? stats : undefined;
      },
      { timeoutMs: 30_000 },
    );
    await sleep(3000);
    const last = (await readStats(page)).find((s) => s.peerId === botPeerId)!;
    const decoded = last.video.framesDecoded - first.video.framesDecoded;
    t.diagnostic(
      `page decoded ${decoded} frames of the bot in 3 s, ${last.video.frameWidth}x${last.video.frameHeight}, ` +
        `${Math.round(last.inboundBitrate / 1000)} kbps in`,
    );
    assert.ok(decoded >= 30, `only ${decoded} frames decoded in 3 s`);
    assert.equal(last.video.frameWidth, 320);
    assert.equal(last.video.frameHeight, 180);
    // And the other way: the bot receives the page's audio and (simulcast) video.
    const bot = (await runner.snapshot()).bots[0]!;
    for (const kind of ['audio', 'video'] as const) {
      const stream = bot.streams.find((s) => s.peerId === pagePeerId && s.kind === kind);
      assert.ok(
        stream && stream.packets > 20,
        `bot got ${stream?.packets ?? 0} ${kind} packets from the page`,
      );
    }
    assert.equal(bot.srtpErrors, 0);
  });
}
