// Two browsers' worth of pages talk peer-to-peer through the web app: direct on loopback,
// relayed through our TURN, and one leaving. Media is measured from getStats(), not assumed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { TureenServer } from '../../src/server/index.js';
import {
  assertMediaFlows,
  launchBrowser,
  localPeerId,
  measureMediaFlow,
  onlyLoopbackInterfaces,
  openRoomPage,
  remoteTileIds,
  rerunInLoopbackNamespace,
  startServer,
  waitConnected,
  waitFor,
} from './helpers.js';

if (!rerunInLoopbackNamespace(import.meta.filename)) {
  describe('P2P between two pages', { timeout: 85_000 }, () => {
    let server: TureenServer;
    let browser: Browser;
    // Only where loopback is the sole interface can Chromium be held to 127.0.0.1 ↔ 127.0.0.1.
    const strictLoopback = onlyLoopbackInterfaces();

    before(async () => {
      [server, browser] = await Promise.all([startServer(), launchBrowser()]);
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    let alice: Page;
    let bob: Page;
    let aliceId: string;
    let bobId: string;

    test('direct: each decodes the other’s video and hears audio over a host pair', async () => {
      alice = await openRoomPage(browser, server.httpUrl, { room: 'direct', name: 'Alice' });
      bob = await openRoomPage(browser, server.httpUrl, { room: 'direct', name: 'Bob' });
      [aliceId, bobId] = await Promise.all([localPeerId(alice), localPeerId(bob)]);
      assert.notEqual(aliceId, bobId);

      await Promise.all([waitConnected(alice, [bobId]), waitConnected(bob, [aliceId])]);
      const [atAlice, atBob] = await Promise.all([
        measureMediaFlow(alice, [bobId]),
        measureMediaFlow(bob, [aliceId]),
      ]);
      assertMediaFlows('Alice', atAlice);
      assertMediaFlows('Bob', atBob);

      for (const flow of [...atAlice, ...atBob]) {
        const pair = flow.stats.selectedPair!;
        assert.equal(pair.localCandidateType, 'host');
        if (strictLoopback) {
          assert.equal(pair.localAddress, '127.0.0.1');
          assert.equal(pair.remoteAddress, '127.0.0.1');
        }
        assert.ok(flow.stats.inboundBitrate > 0, 'inbound bitrate is measured');
        console.log(
          `direct ${flow.peerId}: ${flow.framesDecodedAfter - flow.framesDecodedBefore} frames in 2 s, ` +
            `${Math.round(flow.stats.inboundBitrate / 1000)} kb/s in, rtt ${pair.currentRoundTripTimeMs} ms, ` +
            `${pair.localAddress} → ${pair.remoteAddress}, audio energy ${flow.totalAudioEnergy.toFixed(3)}`,
        );
      }
      // The tile shows what the stats say (refreshed every second).
      await waitFor('Alice’s tile to show a host connection', () =>
        alice.$eval(
          `.tile[data-peer-id="${bobId}"]`,
          (tile) => (tile as HTMLElement).dataset.candidateType === 'host',
        ),
      );
    });

    test('leave: the other page’s tile disappears', async () => {
      assert.deepEqual(await remoteTileIds(alice), [bobId]);
      await bob.click('#leave-button');
      await waitFor(
        'Bob’s tile to disappear from Alice’s page',
        async () => (await remoteTileIds(alice)).length === 0,
      );
      await waitFor('Alice to drop the connection', async () =>
        (await alice.evaluate(() => window.tureen.participants().length)) === 0 ? true : undefined,
      );
      assert.ok(await bob.isVisible('#lobby'), 'Bob is back in the lobby');
      await Promise.all([alice.context().close(), bob.context().close()]);
    });

    test('relay only: media flows through our TURN on both sides', async () => {
      const carol = await openRoomPage(browser, server.httpUrl, {
        room: 'relayed',
        name: 'Carol',
        relayOnly: true,
      });
      const dave = await openRoomPage(browser, server.httpUrl, {
        room: 'relayed',
        name: 'Dave',
        relayOnly: true,
      });
      const [carolId, daveId] = await Promise.all([localPeerId(carol), localPeerId(dave)]);

      await Promise.all([waitConnected(carol, [daveId]), waitConnected(dave, [carolId])]);
      const [atCarol, atDave] = await Promise.all([
        measureMediaFlow(carol, [daveId]),
        measureMediaFlow(dave, [carolId]),
      ]);
      assertMediaFlows('Carol', atCarol);
      assertMediaFlows('Dave', atDave);
      for (const flow of [...atCarol, ...atDave]) {
        const pair = flow.stats.selectedPair!;
        assert.equal(pair.localCandidateType, 'relay');
        assert.equal(pair.localAddress, '127.0.0.1', 'the relayed address is our TURN server’s');
        console.log(
          `relay ${flow.peerId}: ${flow.framesDecodedAfter - flow.framesDecodedBefore} frames in 2 s, ` +
            `${Math.round(flow.stats.inboundBitrate / 1000)} kb/s in, rtt ${pair.currentRoundTripTimeMs} ms, ` +
            `via ${pair.relayProtocol}`,
        );
      }
      await Promise.all([carol.context().close(), dave.context().close()]);
    });
  });
}
