/**
 * Real headless Chromium as the DTLS peer, through the WebRTC endpoint (ICE-lite on 127.0.0.1).
 * The datagrams Chromium sends are captured at DtlsSession.handleDatagram: its ClientHello offers
 * DTLS 1.3 with a big post-quantum key share in two fragments, and we must still agree on DTLS 1.2.
 * Chromium's own getStats() confirms the result (tlsVersion, dtlsCipher, srtpCipher).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { parseClientHello, parseHandshakeFragments } from '../../src/transport/dtls/handshake.js';
import { type DtlsConnection, DtlsSession } from '../../src/transport/dtls/index.js';
import { WebRtcEndpoint } from '../../src/transport/endpoint/index.js';
import { launchChromium, type PageServer, servePage } from '../helpers/browser.js';

const PAGE = `<!doctype html><html><body><script>
window.start = async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 160, height: 120 } });
  const pc = new RTCPeerConnection();
  window.pc = pc;
  pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendonly', streams: [stream] });
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  return offer.sdp;
};
window.accept = async (sdp) => { await window.pc.setRemoteDescription({ type: 'answer', sdp }); };
window.transport = async () => {
  const stats = await window.pc.getStats();
  let out = null;
  stats.forEach((s) => { if (s.type === 'transport') out = { dtlsState: s.dtlsState, tlsVersion: s.tlsVersion,
    dtlsCipher: s.dtlsCipher, srtpCipher: s.srtpCipher, dtlsRole: s.dtlsRole }; });
  return out;
};
</script></body></html>`;

let browser: Browser;
let pages: PageServer;
let origin: string;

before(async () => {
  pages = await servePage(PAGE);
  origin = pages.origin;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await pages?.close();
});

interface TransportStats {
  dtlsState: string;
  tlsVersion: string;
  dtlsCipher: string;
  srtpCipher: string;
  dtlsRole: string;
}

async function until<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  ms: number,
): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

/** Records every datagram given to any DtlsSession, and every 'connected' it emits, during fn. */
async function captureDtls<T>(
  fn: (incoming: Buffer[], connections: DtlsConnection[]) => Promise<T>,
): Promise<T> {
  const incoming: Buffer[] = [];
  const connections: DtlsConnection[] = [];
  const originalHandle = DtlsSession.prototype.handleDatagram;
  const originalEmit = DtlsSession.prototype.emit;
  DtlsSession.prototype.handleDatagram = function (this: DtlsSession, d: Buffer) {
    incoming.push(Buffer.from(d));
    return originalHandle.call(this, d);
  };
  DtlsSession.prototype.emit = function (this: DtlsSession, event: string, ...args: unknown[]) {
    if (event === 'connected') connections.push(args[0] as DtlsConnection);
    return (originalEmit as (e: string, ...a: unknown[]) => boolean).call(this, event, ...args);
  } as typeof originalEmit;
  try {
    return await fn(incoming, connections);
  } finally {
    DtlsSession.prototype.handleDatagram = originalHandle;
    DtlsSession.prototype.emit = originalEmit;
  }
}

for (const ourRole of ['server', 'client'] as const) {
  test(`Chromium ↔ our DTLS ${ourRole}: DTLS 1.2 agreed, Chromium reports the same cipher and SRTP profile`, {
    timeout: 45_000,
  }, async () => {
    await captureDtls(async (incoming, connections) => {
      const endpoint = await WebRtcEndpoint.create({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
      const page = await browser.newPage();
      try {
        await page.goto(origin);
        const offer: string = await page.evaluate('window.start()');
        const answer = endpoint.answer(offer, { dtlsRole: ourRole });
        await page.evaluate(`window.accept(${JSON.stringify(answer)})`);
        const stats = await until(async () => {
          const s = (await page.evaluate('window.transport()')) as TransportStats | null;
          return s?.dtlsState === 'connected' && endpoint.dtlsState === 'connected' ? s : undefined;
        }, 20_000);
        assert.ok(stats, `DTLS connected on both sides (ours: ${endpoint.dtlsState})`);
        assert.equal(connections.length, 1);
        const ours = connections[0]!;
        assert.equal(stats.tlsVersion, 'FEFD', 'DTLS 1.2');
        assert.equal(stats.dtlsCipher, ours.cipherSuite);
        assert.equal(stats.srtpCipher, ours.srtpProfile);
        assert.equal(stats.dtlsRole, ourRole === 'server' ? 'client' : 'server');
        if (ourRole === 'server') {
          // Our preference wins over Chromium's (it lists AEAD_AES_256_GCM first).
          assert.equal(ours.srtpProfile, 'SRTP_AEAD_AES_128_GCM');
          // Chromium's ClientHello: fragments of message_seq 0 in separate datagrams.
          const fragments = incoming
            .filter((d) => d[0] === 22 && d.readUInt16BE(3) === 0)
            .flatMap((d) => {
              const parsed = parseHandshakeFragments(d.subarray(13, 13 + d.readUInt16BE(11)));
              return parsed.ok ? parsed.value : [];
            })
            .filter((f) => f.msgType === 1 && f.messageSeq === 0);
          assert.ok(fragments.length >= 1, 'a ClientHello arrived');
          const length = fragments[0]!.length;
          const body = Buffer.alloc(length);
          for (const f of fragments) f.body.copy(body, f.fragmentOffset);
          const hello = parseClientHello(body);
          assert.ok(hello.ok, 'the ClientHello reassembles and parses');
          const versions = hello.value.extensions.find((e) => e.type === 43);
          const keyShare = hello.value.extensions.find((e) => e.type === 51);
          console.log(
            `Chromium ClientHello: ${12 + length} bytes, ${new Set(fragments.map((f) => f.fragmentOffset)).size} fragment(s), ` +
              `supported_versions ${versions?.data.toString('hex') ?? 'none'}, key_share ${keyShare?.data.length ?? 0} bytes`,
          );
          if (versions) {
            assert.ok(versions.data.includes(Buffer.from([0xfe, 0xfc])), 'DTLS 1.3 offered');
            if (keyShare && 12 + length > 1200) {
              assert.ok(new Set(fragments.map((f) => f.fragmentOffset)).size >= 2, 'fragmented');
            }
          }
        }
      } finally {
        await page.close();
        endpoint.close();
      }
    });
  });
}
