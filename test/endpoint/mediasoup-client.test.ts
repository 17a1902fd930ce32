/**
 * The SFU's path, without the SFU: mediasoup-client 3.18.7 in headless Chromium talks to two
 * endpoints through mediasoup-style parameters only (iceParameters, iceCandidates,
 * dtlsParameters, connect()); no SDP of ours. A send transport produces the fake camera into
 * endpoint A; every VP8 packet is rewritten to a consumer SSRC and sent by endpoint B on a
 * recv transport; the consumer's PLI goes back to the producer through A. The browser must
 * decode the consumed track.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { type DtlsParameters, WebRtcEndpoint } from '../../src/transport/endpoint/index.js';
import { RtpError, RtpView } from '../../src/wire/rtp/rtp.js';
import { launchChromium, type PageServer, serveMediasoupClientPage } from '../helpers/browser.js';
import { newRtpSummary, recordRtp } from './helpers.js';

const VP8_PT = 101;
const CONSUMER_SSRC = 0x0c0ffee5;

const ROUTER_RTP_CAPABILITIES = {
  codecs: [
    {
      kind: 'video',
      mimeType: 'video/VP8',
      clockRate: 90000,
      preferredPayloadType: VP8_PT,
      parameters: {},
      rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
    },
  ],
  headerExtensions: [
    {
      kind: 'video',
      uri: 'urn:ietf:params:rtp-hdrext:sdes:mid',
      preferredId: 1,
      preferredEncrypt: false,
      direction: 'sendrecv',
    },
  ],
};

const PAGE = `<!doctype html><html><body><video id="v" autoplay muted playsinline></video>
<script src="/mediasoup-client.js"></script><script>
window.run = async (caps, sendInfo, recvInfo) => {
  const device = new mediasoupClient.Device();
  await device.load({ routerRtpCapabilities: caps });
  const send = device.createSendTransport(sendInfo);
  send.on('connect', ({ dtlsParameters }, ok, fail) => window.tureenConnect('send', dtlsParameters).then(ok, fail));
  send.on('produce', (p, ok) => { window.tureenProduce(p.rtpParameters).then(() => ok({ id: 'producer-1' })); });
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
  await send.produce({ track: stream.getVideoTracks()[0] });
  const recv = device.createRecvTransport(recvInfo);
  recv.on('connect', ({ dtlsParameters }, ok, fail) => window.tureenConnect('recv', dtlsParameters).then(ok, fail));
  const consumer = await recv.consume({
    id: 'consumer-1', producerId: 'producer-1', kind: 'video',
    rtpParameters: {
      mid: '0',
      codecs: [{ mimeType: 'video/VP8', payloadType: ${VP8_PT}, clockRate: 90000, parameters: {},
        rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] }],
      headerExtensions: [],
      encodings: [{ ssrc: ${CONSUMER_SSRC} }],
      rtcp: { cname: 'tureen-consumer', reducedSize: true },
    },
  });
  document.getElementById('v').srcObject = new MediaStream([consumer.track]);
  window.consumer = consumer;
};
window.decoded = async () => {
  if (!window.consumer) return 0;
  let frames = 0;
  (await window.consumer.getStats()).forEach((s) => { if (s.type === 'inbound-rtp') frames = s.framesDecoded || 0; });
  return frames;
};
</script></body></html>`;

let browser: Browser;
let pages: PageServer;
let origin: string;

before(async () => {
  pages = await serveMediasoupClientPage(PAGE);
  origin = pages.origin;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await pages?.close();
});

function transportInfo(id: string, endpoint: WebRtcEndpoint) {
  return {
    id,
    iceParameters: endpoint.iceParameters,
    iceCandidates: endpoint.iceCandidates,
    dtlsParameters: endpoint.dtlsParameters,
  };
}

test('mediasoup-client produce → endpoint A → endpoint B → mediasoup-client consume: decoded', {
  timeout: 60_000,
}, async () => {
  const producerSide = await WebRtcEndpoint.create({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const consumerSide = await WebRtcEndpoint.create({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const page = await browser.newPage();
  const received = newRtpSummary();
  let producedParameters: { codecs: { payloadType: number }[]; encodings: { ssrc?: number }[] } | undefined;
  let pliForwarded = 0;
  try {
    await page.exposeFunction('tureenConnect', async (side: string, dtlsParameters: DtlsParameters) => {
      (side === 'send' ? producerSide : consumerSide).connect(dtlsParameters);
    });
    await page.exposeFunction('tureenProduce', async (rtpParameters: typeof producedParameters) => {
      producedParameters = rtpParameters;
    });
    const view = new RtpView();
    let producerSsrc = -1;
    // Payload types in produce() are the browser's own; the consumer uses the router's: map them.
    producerSide.onRtp = (packet) => {
      const producerPt = producedParameters?.codecs[0]?.payloadType;
      if (producerPt === undefined) return;
      recordRtp(received, packet, producerPt);
      if (view.reset(packet) !== RtpError.Ok || view.payloadType !== producerPt) return;
      producerSsrc = view.ssrc;
      view.setSsrc(CONSUMER_SSRC);
      view.setPayloadType(VP8_PT);
      consumerSide.sendRtp(packet);
    };
    consumerSide.onRtcp = (compound) => {
      // Reduced-size or compound: find PLI (206/1) or FIR (206/4) about the consumer SSRC.
      for (let pos = 0; pos + 12 <= compound.length; ) {
        const length = (compound.readUInt16BE(pos + 2) + 1) * 4;
        const fmt = compound[pos]! & 0x1f;
        if (compound[pos + 1] === 206 && (fmt === 1 || fmt === 4) && producerSsrc >= 0) {
          const pli = Buffer.alloc(12);
          pli[0] = 0x81;
          pli[1] = 206;
          pli.writeUInt16BE(2, 2);
          pli.writeUInt32BE(CONSUMER_SSRC, 4);
          pli.writeUInt32BE(producerSsrc, 8);
          if (producerSide.sendRtcp(pli)) pliForwarded++;
        }
        if (length <= 0) break;
        pos += length;
      }
    };
    await page.goto(origin);
    await page.evaluate(
      ([caps, sendInfo, recvInfo]) =>
        (window as unknown as { run: (...a: unknown[]) => Promise<void> }).run(caps, sendInfo, recvInfo),
      [
        ROUTER_RTP_CAPABILITIES,
        transportInfo('send-1', producerSide),
        transportInfo('recv-1', consumerSide),
      ] as const,
    );
    let frames = 0;
    const deadline = Date.now() + 25_000;
    while (Date.now() < deadline && frames < 30) {
      await new Promise((r) => setTimeout(r, 250));
      frames = await page.evaluate('window.decoded()');
    }
    assert.equal(producerSide.dtlsState, 'connected');
    assert.equal(consumerSide.dtlsState, 'connected');
    assert.ok(producedParameters, 'produce event carried rtpParameters');
    assert.ok(
      received.payloadTypes.has(producedParameters.codecs[0]!.payloadType),
      'the announced payload type',
    );
    assert.ok(received.vp8Keyframes > 0, 'VP8 keyframe from the producer');
    assert.ok(
      received.ssrcs.has(producedParameters.encodings[0]!.ssrc!),
      'the SSRC mediasoup-client announced',
    );
    assert.ok(frames >= 30, `consumer decoded ${frames} frames`);
    console.log('mediasoup-client', JSON.stringify({ frames, pliForwarded, packets: received.packets }));
  } finally {
    await page.close();
    producerSide.close();
    consumerSide.close();
  }
});
