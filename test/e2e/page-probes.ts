// Reading the web app's pages from tests: video frames a tile plays, chat messages, layout.
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

/** True when the page is no wider than its viewport. */
export function noHorizontalScroll(page: Page): Promise<boolean> {
  return page.evaluate(
    () =>
      document.documentElement.scrollWidth <= window.innerWidth &&
      document.body.scrollWidth <= window.innerWidth,
  );
}
