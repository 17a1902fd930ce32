// libwebrtc's TURN client (@roamhq/wrtc) relaying a data channel through our server, relay-only.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { TurnServer, turnRestCredentials } from '../../src/turn/index.js';

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: @roamhq/wrtc ships no types
const wrtc: any = require('@roamhq/wrtc');

let server: TurnServer;

before(async () => {
  server = await TurnServer.start({
    udpPort: 0,
    tcpPort: 0,
    users: { alice: 'secret' },
    authSecret: 'rest-secret',
    // Both peers' relay addresses are on 127.0.0.1, so the relay talks to loopback peers.
    allowLoopbackPeers: true,
  });
});

after(async () => {
  await server?.close();
});

async function relayedDataChannel(
  iceServers: unknown[],
): Promise<{ echoed: string[]; localTypes: string[] }> {
  const config = { iceServers, iceTransportPolicy: 'relay' };
  const a = new wrtc.RTCPeerConnection(config);
  const b = new wrtc.RTCPeerConnection(config);
  try {
    // biome-ignore lint/suspicious/noExplicitAny: untyped event
    a.onicecandidate = (e: any) => e.candidate && b.addIceCandidate(e.candidate);
    // biome-ignore lint/suspicious/noExplicitAny: untyped event
    b.onicecandidate = (e: any) => e.candidate && a.addIceCandidate(e.candidate);
    // biome-ignore lint/suspicious/noExplicitAny: untyped event
    b.ondatachannel = (e: any) => {
      // biome-ignore lint/suspicious/noExplicitAny: untyped event
      e.channel.onmessage = (m: any) => e.channel.send(`echo:${m.data}`);
    };
    const channel = a.createDataChannel('t');
    const echoed: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${echoed.length} echoes`)), 15000);
      // biome-ignore lint/suspicious/noExplicitAny: untyped event
      channel.onmessage = (m: any) => {
        echoed.push(String(m.data));
        if (echoed.length === 20) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
    channel.onopen = () => {
      for (let i = 0; i < 20; i++) channel.send(`m${i}`);
    };
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    await done;
    // On a loaded machine the stats may not show the nominated pair yet although data flows:
    // poll for it (bounded) rather than reading them once.
    const localTypes: string[] = [];
    for (let attempt = 0; attempt < 50 && localTypes.length === 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 100));
      const stats = await a.getStats();
      // biome-ignore lint/suspicious/noExplicitAny: untyped stats
      stats.forEach((report: any) => {
        if (report.type === 'candidate-pair' && report.state === 'succeeded' && report.nominated) {
          localTypes.push(stats.get(report.localCandidateId)?.candidateType);
        }
      });
    }
    return { echoed, localTypes };
  } finally {
    a.close();
    b.close();
  }
}

test('libwebrtc data channel relayed over TURN/UDP', { timeout: 30000 }, async () => {
  const before = server.stats().relayedPackets;
  const { echoed, localTypes } = await relayedDataChannel([
    { urls: `turn:127.0.0.1:${server.ports.udp}?transport=udp`, username: 'alice', credential: 'secret' },
  ]);
  // Every message came back; the order of b's early replies is libwebrtc's business, not TURN's.
  assert.deepEqual([...echoed].sort(), Array.from({ length: 20 }, (_, i) => `echo:m${i}`).sort());
  assert.ok(localTypes.includes('relay'), `nominated pair types: ${localTypes}`);
  assert.ok(server.stats().relayedPackets - before > 40);
});

test('libwebrtc data channel relayed over TURN/TCP with REST credentials', { timeout: 30000 }, async () => {
  const before = server.stats().relayedPackets;
  const { username, credential } = turnRestCredentials('rest-secret', 'webrtc', 300);
  const { echoed, localTypes } = await relayedDataChannel([
    { urls: `turn:127.0.0.1:${server.ports.tcp}?transport=tcp`, username, credential },
  ]);
  assert.equal(echoed.length, 20);
  assert.ok(localTypes.includes('relay'), `nominated pair types: ${localTypes}`);
  assert.ok(server.stats().relayedPackets - before > 40);
});
