// Chromium, a page with mediasoup-client served from 127.0.0.1, and one SFU worker with a router:
// what the tests that drive tureen/sfu from mediasoup-client pages start with.
import type { Browser } from 'playwright-core';
import * as sfu from '../../src/sfu/index.js';
import type { Router, RtpCodecCapability, Worker } from '../../src/sfu/public-types.js';
import { launchChromium, type PageServer, serveMediasoupClientPage } from './browser.js';

export interface SfuPageHarness {
  browser: Browser;
  /** `http://127.0.0.1:<port>/`: the page. */
  origin: string;
  worker: Worker;
  router: Router;
  close(): Promise<void>;
}

export async function startSfuPageHarness(
  page: string,
  mediaCodecs: RtpCodecCapability[],
): Promise<SfuPageHarness> {
  let pages: PageServer | undefined;
  let browser: Browser | undefined;
  let worker: Worker | undefined;
  const close = async () => {
    worker?.close();
    await browser?.close();
    await pages?.close();
  };
  try {
    pages = await serveMediasoupClientPage(page);
    browser = await launchChromium();
    worker = await sfu.createWorker({ logLevel: 'warn' });
    const router = await worker.createRouter({ mediaCodecs });
    return { browser, origin: pages.origin, worker, router, close };
  } catch (error) {
    await close();
    throw error;
  }
}
