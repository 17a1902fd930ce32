/**
 * libwebrtc in Node (@roamhq/wrtc) opens data channels to our endpoint: open, echo of strings and
 * binary, a channel we open towards it, and close both ways.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { WebRtcEndpoint } from '../../src/transport/endpoint/index.js';
import type { DataChannel } from '../../src/transport/sctp/index.js';
import { waitFor } from './helpers.js';

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: @roamhq/wrtc ships no types
const wrtc: any = require('@roamhq/wrtc');

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

async function run(dtlsRole: 'server' | 'client') {
  const endpoint = await WebRtcEndpoint.create({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const pc = new wrtc.RTCPeerConnection();
  try {
    const dc = pc.createDataChannel('echo');
    dc.binaryType = 'arraybuffer';
    const received: unknown[] = [];
    dc.onmessage = (e: { data: unknown }) => received.push(e.data);
    let pageClosed = false;
    dc.onclose = () => {
      pageClosed = true;
    };
    const fromUs: unknown[] = [];
    let ourChannelAtPeer: { label: string; id: number; close(): void } | undefined;
    pc.ondatachannel = (e: { channel: { label: string; id: number; close(): void; onmessage: unknown } }) => {
      ourChannelAtPeer = e.channel;
      e.channel.onmessage = (m: { data: unknown }) => fromUs.push(m.data);
    };
    const channels: DataChannel[] = [];
    endpoint.on('datachannel', (channel) => {
      channels.push(channel);
      channel.on('message', (data) => channel.send(data));
    });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const answer = endpoint.answer(offer.sdp, { dtlsRole });
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    assert.ok(
      await waitFor(() => dc.readyState === 'open', 15_000, 20),
      `wrtc channel open (${dc.readyState})`,
    );
    assert.ok(await waitFor(() => channels.length === 1, 5000, 20));
    assert.equal(channels[0]!.label, 'echo');

    const messages: (string | Buffer)[] = [
      'hello',
      '',
      'é€ unicode',
      pattern(1, 1),
      pattern(5000, 2),
      pattern(65536, 3),
    ];
    for (const m of messages) dc.send(typeof m === 'string' ? m : new Uint8Array(m).buffer);
    assert.ok(
      await waitFor(() => received.length === messages.length, 10_000, 20),
      `echoes: ${received.length}`,
    );
    messages.forEach((m, i) => {
      const got = received[i];
      if (typeof m === 'string') assert.equal(got, m);
      else assert.ok(got instanceof ArrayBuffer && Buffer.from(got).equals(m), `binary ${i} intact`);
    });

    const ours = endpoint.createDataChannel('ours');
    await new Promise<void>((resolve) => ours.once('open', resolve));
    assert.ok(await waitFor(() => ourChannelAtPeer !== undefined, 5000, 20), 'wrtc saw our DCEP OPEN');
    assert.equal(ourChannelAtPeer!.label, 'ours');
    assert.equal(ourChannelAtPeer!.id, ours.id);
    ours.send('from tureen');
    assert.ok(await waitFor(() => fromUs.length === 1, 5000, 20));
    assert.equal(fromUs[0], 'from tureen');

    // wrtc closes its channel: ours closes; we close ours: wrtc's closes.
    const echoClosed = new Promise<void>((resolve) => channels[0]!.once('close', resolve));
    dc.close();
    await echoClosed;
    assert.ok(await waitFor(() => pageClosed, 5000, 20));
    const oursClosed = new Promise<void>((resolve) => ours.once('close', resolve));
    ours.close();
    await oursClosed;
    assert.equal(endpoint.sctp!.stats.packetsDropped, 0);
  } finally {
    pc.close();
    endpoint.close();
  }
}

test('wrtc data channels, our DTLS as server: open, echo strings and binary, our channel, close both ways', {
  timeout: 40_000,
}, async () => {
  await run('server');
});

test('wrtc data channels, our DTLS as client', { timeout: 40_000 }, async () => {
  await run('client');
});

// libwebrtc (wrtc) segfaults in its teardown at natural process exit; exiting explicitly
// once the test runner has reported (its beforeExit handler was registered first) avoids it.
process.on('beforeExit', () => process.exit(process.exitCode ?? 0));
