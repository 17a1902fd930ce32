// Headless Chromium's TURN client relaying a data channel through our server, relay-only.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { TurnServer } from '../../src/turn/index.js';

let server: TurnServer;
let browser: Browser;

before(async () => {
  server = await TurnServer.start({
    udpPort: 0,
    tcpPort: 0,
    users: { alice: 'secret' },
    allowLoopbackPeers: true,
  });
  // playwright gives each launch a fresh temporary profile.
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--allow-loopback-in-peer-connection',
    ],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

for (const transport of ['udp', 'tcp'] as const) {
  test(`Chromium data channel relayed over TURN/${transport.toUpperCase()}`, { timeout: 40000 }, async () => {
    const port = transport === 'udp' ? server.ports.udp : server.ports.tcp;
    const relayedBefore = server.stats().relayedPackets;
    const page = await browser.newPage();
    try {
      const result = await page.evaluate(
        async ({ url }) => {
          const config: RTCConfiguration = {
            iceServers: [{ urls: url, username: 'alice', credential: 'secret' }],
            iceTransportPolicy: 'relay',
          };
          const a = new RTCPeerConnection(config);
          const b = new RTCPeerConnection(config);
          a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
          b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
          b.ondatachannel = (e) => {
            e.channel.onmessage = (m) => e.channel.send(`echo:${m.data}`);
          };
          const channel = a.createDataChannel('t');
          const echoed: string[] = [];
          const done = new Promise<void>((resolve) => {
            channel.onmessage = (m) => {
              echoed.push(String(m.data));
              if (echoed.length === 20) resolve();
            };
          });
          channel.onopen = () => {
            for (let i = 0; i < 20; i++) channel.send(`m${i}`);
          };
          await a.setLocalDescription(await a.createOffer());
          await b.setRemoteDescription(a.localDescription!);
          await b.setLocalDescription(await b.createAnswer());
          await a.setRemoteDescription(b.localDescription!);
          await Promise.race([done, new Promise((r) => setTimeout(r, 15000))]);
          const stats = await a.getStats();
          const types: string[] = [];
          // The pair the transport selected, and its local candidate's type.
          stats.forEach((report) => {
            if (report.type !== 'transport' || !report.selectedCandidatePairId) return;
            const pair = stats.get(report.selectedCandidatePairId);
            types.push(stats.get(pair?.localCandidateId)?.candidateType);
          });
          a.close();
          b.close();
          return { echoed, types };
        },
        { url: `turn:127.0.0.1:${port}?transport=${transport}` },
      );
      assert.equal(result.echoed.length, 20, JSON.stringify(result));
      assert.equal(result.echoed[19], 'echo:m19');
      assert.ok(result.types.includes('relay'), JSON.stringify(result.types));
      assert.ok(server.stats().relayedPackets - relayedBefore > 40);
    } finally {
      await page.close();
    }
  });
}
