// Relay-only calls through our TURN server, reached over UDP and over TCP: the selected local
// candidate must be a relayed one on both pages, and media must flow through it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { TureenServer } from '../../src/server/index.js';
import {
  assertMediaFlows,
  launchBrowser,
  localPeerId,
  measureMediaFlow,
  openRoomPage,
  rerunInLoopbackNamespace,
  startServer,
  waitConnected,
} from './helpers.js';

if (!rerunInLoopbackNamespace(import.meta.filename)) {
  describe('relay-only P2P through TURN', { timeout: 85_000 }, () => {
    let server: TureenServer;
    let browser: Browser;

    before(async () => {
      [server, browser] = await Promise.all([startServer(), launchBrowser()]);
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    for (const turnTransport of ['udp', 'tcp'] as const) {
      test(`relay only over TURN/${turnTransport}: media flows through our TURN on both sides`, async () => {
        const room = `relayed-${turnTransport}`;
        const options = { room, relayOnly: true, turnTransport };
        const carol = await openRoomPage(browser, server.httpUrl, { ...options, name: 'Carol' });
        const dave = await openRoomPage(browser, server.httpUrl, { ...options, name: 'Dave' });
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
          assert.equal(pair.relayProtocol, turnTransport);
          console.log(
            `relay/${turnTransport} ${flow.peerId}: ${flow.framesDecodedAfter - flow.framesDecodedBefore} frames in 2 s, ` +
              `${Math.round(flow.stats.inboundBitrate / 1000)} kb/s in, rtt ${pair.currentRoundTripTimeMs} ms`,
          );
        }
        await Promise.all([carol.context().close(), dave.context().close()]);
      });
    }
  });
}
