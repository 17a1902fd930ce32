// Reading the web app's pages from tests: video frames a tile plays, chat messages, layout.
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { waitFor } from './helpers.js';

export interface FramesAdvanced {
  advanced: number;
  width: number;
  height: number;
}

/** Frames the video element at `selector` presents; waits until `minFrames` more have come. */
export async function framesAdvance(
  page: Page,
  selector: string,
  minFrames: number,
  timeoutMs = 15_000,
): Promise<FramesAdvanced> {
  const read = () =>
    page.$eval(selector, (element) => {
      const video = element as HTMLVideoElement;
      return {
        frames: video.getVideoPlaybackQuality().totalVideoFrames,
        width: video.videoWidth,
        height: video.videoHeight,
      };
    });
  try {
    const first = await waitFor(`video at ${selector}`, () => read().catch(() => undefined));
    return await waitFor(
      `${minFrames} frames played at ${selector}`,
      async () => {
        const now = await read();
        const advanced = now.frames - first.frames;
        return advanced >= minFrames ? { advanced, width: now.width, height: now.height } : undefined;
      },
      { timeoutMs },
    );
  } catch (err) {
    // Say which tiles the page had, so a failure explains itself.
    const tiles = await page
      .$$eval('.tile', (els) => els.map((e) => `${(e as HTMLElement).dataset.peerId} ${e.className}`))
      .catch(() => []);
    throw new Error(`${(err as Error).message}; tiles: ${tiles.join(' | ')}`);
  }
}

/** Texts of the chat messages the page got from `peerId`, in arrival order. */
export function chatTexts(page: Page, peerId: string): Promise<string[]> {
  return page.evaluate(
    (id) => window.tureen.chat.filter((m) => m.peerId === id && !m.local).map((m) => m.text),
    peerId,
  );
}

/** Sends `count` chat messages `<prefix> 0`, `<prefix> 1`, … through the SDK; returns them. */
export function sendChatMessages(page: Page, prefix: string, count: number): Promise<string[]> {
  return page.evaluate(
    ({ prefix, count }) => {
      const texts: string[] = [];
      for (let i = 0; i < count; i++) texts.push(window.tureen.room!.sendChat(`${prefix} ${i}`).text);
      return texts;
    },
    { prefix, count },
  );
}

/**
 * SFU rooms: waits until every page's chat channels are open (its data producer and a data
 * consumer per other page), then each page `i` sends `count` messages `p<i> 0…`; asserts that
 * every page got every other page's messages, all of them and in order.
 */
export async function exchangeSfuChat(pages: Page[], peerIds: string[], count: number): Promise<void> {
  await Promise.all(
    pages.map((page, i) =>
      waitFor(
        `page ${i} chat channels open`,
        () =>
          page.evaluate((others) => {
            const sfu = window.tureen.room?.sfu;
            return sfu?.chatOpen === true && sfu.openChatChannels >= others;
          }, pages.length - 1),
        { timeoutMs: 20_000 },
      ),
    ),
  );
  const sent = await Promise.all(pages.map((page, i) => sendChatMessages(page, `p${i}`, count)));
  for (const [i, page] of pages.entries()) {
    for (const [j, id] of peerIds.entries()) {
      if (i === j) continue;
      await waitFor(
        `page ${i} has page ${j}'s messages`,
        async () => (await chatTexts(page, id)).length >= count,
      );
      assert.deepEqual(await chatTexts(page, id), sent[j]);
    }
  }
}

/** True when the page is no wider than its viewport. */
export function noHorizontalScroll(page: Page): Promise<boolean> {
  return page.evaluate(
    () =>
      document.documentElement.scrollWidth <= window.innerWidth &&
      document.body.scrollWidth <= window.innerWidth,
  );
}
