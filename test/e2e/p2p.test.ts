// Two pages talk peer-to-peer through the web app on loopback: media, mute, a signaling drop,
// renegotiation, ICE restart, leave and rejoin. Media is measured from getStats(), not assumed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { TureenServer } from '../../src/server/index.js';
import {
  assertMediaFlows,
  audioEnergyOver,
  launchBrowser,
  localPeerId,
  measureMediaFlow,
  onlyLoopbackInterfaces,
  openRoomPage,
  remoteTileIds,
  rerunInLoopbackNamespace,
  sleep,
  startServer,
  tileBrightness,
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
        // Only 127.0.0.1 candidates are signalled, so one end of the pair is always 127.0.0.1.
        assert.ok(pair.localAddress === '127.0.0.1' || pair.remoteAddress === '127.0.0.1');
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

    test('mute: the other page gets silence and black frames, and shows the muted state', async () => {
      const loud = await audioEnergyOver(bob, aliceId, 1500);
      const bright = await tileBrightness(bob, aliceId);
      assert.ok(loud > 0 && bright > 30, `before muting: energy ${loud}, brightness ${bright}`);

      await alice.click('#mic-button');
      await alice.click('#camera-button');
      assert.equal(await alice.getAttribute('#mic-button', 'aria-pressed'), 'true');
      // Let audio already in flight and the last bright frame drain.
      await sleep(1000);
      const quiet = await audioEnergyOver(bob, aliceId, 1500);
      const dark = await waitFor('Alice’s tile to go black at Bob', async () => {
        const value = await tileBrightness(bob, aliceId);
        return value < 5 ? value : undefined;
      });
      assert.ok(quiet < loud / 100, `muted energy ${quiet} vs ${loud}`);
      // Alice's page told Bob's over the control channel: initial instead of black, mic badge.
      const aliceTile = `.tile[data-peer-id="${aliceId}"]`;
      const shownAtBob = () =>
        bob.$eval(aliceTile, (tile) => ({
          videoOff: tile.classList.contains('video-off'),
          micOff: !(tile.querySelector('.mic-off') as HTMLElement).hidden,
        }));
      await waitFor('Bob’s page to show Alice muted', async () => {
        const shown = await shownAtBob();
        return shown.videoOff && shown.micOff ? true : undefined;
      });

      await alice.click('#mic-button');
      await alice.click('#camera-button');
      await waitFor('Alice’s audio back at Bob', async () => (await audioEnergyOver(bob, aliceId, 500)) > 0);
      await waitFor('Alice’s video back at Bob', async () => (await tileBrightness(bob, aliceId)) > 30);
      assert.deepEqual(await shownAtBob(), { videoOff: false, micOff: false });
      console.log(
        `mute: energy ${loud.toExponential(2)} → ${quiet.toExponential(2)}, brightness ${bright.toFixed(0)} → ${dark.toFixed(1)}`,
      );
    });

    test('signaling drop: Bob resumes his session, Alice sees no leave, media keeps flowing', async () => {
      const aliceEvents: string[] = [];
      await alice.exposeFunction('recordRoomEvent', (event: string) => aliceEvents.push(event));
      await alice.evaluate(() => {
        const room = window.tureen.room!;
        const record = (window as unknown as { recordRoomEvent(e: string): void }).recordRoomEvent;
        room.on('participantLeft', (p) => record(`left ${p.peerId}`));
        room.on('participantJoined', (p) => record(`joined ${p.peerId}`));
      });
      await bob.evaluate(() => window.tureen.room!.simulateSignalingDrop());
      await waitFor('Bob’s signaling to come back', async () =>
        (await bob.evaluate(() => window.tureen.room?.signalingState)) === 'open' ? true : undefined,
      );
      assert.equal(await localPeerId(bob), bobId, 'Bob kept his peerId');
      const [flow] = await measureMediaFlow(alice, [bobId], 1500);
      assertMediaFlows('Alice after Bob resumed', [flow!]);
      assert.deepEqual(aliceEvents, []);
    });

    test('renegotiation: unpublishing stops Alice’s video at Bob, publishing brings it back', async () => {
      await alice.evaluate(() => {
        const room = window.tureen.room!;
        (window as unknown as { kept: MediaStream }).kept = room.localStream!;
        room.unpublish();
      });
      await waitFor('Alice’s frames to stop at Bob', async () => {
        const [flow] = await measureMediaFlow(bob, [aliceId], 1000);
        return flow!.framesDecodedAfter === flow!.framesDecodedBefore ? true : undefined;
      });
      const aliceTileAtBob = `.tile[data-peer-id="${aliceId}"]`;
      const pictureOff = () => bob.$eval(aliceTileAtBob, (tile) => tile.classList.contains('video-off'));
      await waitFor('Bob’s page to show Alice’s initial instead of a frozen frame', pictureOff);
      await alice.evaluate(() =>
        window.tureen.room!.publish((window as unknown as { kept: MediaStream }).kept),
      );
      await waitFor('Alice’s frames back at Bob', async () => {
        const [flow] = await measureMediaFlow(bob, [aliceId], 1000);
        return flow!.framesDecodedAfter - flow!.framesDecodedBefore >= 5 ? true : undefined;
      });
      assertMediaFlows('Bob after Alice published again', await measureMediaFlow(bob, [aliceId]));
      assert.equal(await pictureOff(), false, 'Alice’s picture is back on Bob’s page');
    });

    test('ICE restart: new credentials, the link reconnects, media keeps flowing', async () => {
      const [before] = await waitConnected(alice, [bobId]);
      await alice.evaluate(() => window.tureen.room!.restartIce());
      const [after] = await waitFor('Alice’s link to reconnect after the restart', async () => {
        const stats = await waitConnected(alice, [bobId]);
        return stats[0]!.iceLocalUsernameFragment !== before!.iceLocalUsernameFragment ? stats : undefined;
      });
      assert.equal(after!.iceRestarts, before!.iceRestarts + 1);
      assert.ok(after!.iceLocalUsernameFragment, 'Chromium reports the ICE ufrag');
      assertMediaFlows('Alice after the restart', await measureMediaFlow(alice, [bobId]));
      assertMediaFlows('Bob after the restart', await measureMediaFlow(bob, [aliceId]));
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
    });

    test('rejoin: Bob joins again from the lobby and is seen anew', async () => {
      await bob.click('#join-button');
      await bob.waitForSelector('#call:not([hidden])');
      const rejoinedId = await localPeerId(bob);
      assert.notEqual(rejoinedId, bobId, 'a new peer after leaving');
      await waitFor('Bob’s new tile on Alice’s page', async () =>
        (await remoteTileIds(alice)).includes(rejoinedId),
      );
      await Promise.all([waitConnected(alice, [rejoinedId]), waitConnected(bob, [aliceId])]);
      assertMediaFlows('Alice after Bob rejoined', await measureMediaFlow(alice, [rejoinedId]));
      await Promise.all([alice.context().close(), bob.context().close()]);
    });
  });
}
