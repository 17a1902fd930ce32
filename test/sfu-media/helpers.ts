/** Shared pieces of the sfu-media tests: the mediasoup-client page, the API bridge, stats polling. */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Page } from 'playwright-core';
import type {
  Consumer,
  Producer,
  WebRtcTransport,
  WebRtcTransportOptions,
} from '../../src/sfu/public-types.js';
import { type SfuPageHarness, startSfuPageHarness } from '../helpers/sfu-page.js';
import { sleep } from '../helpers/wait.js';

export const PAGE = `<!doctype html><html><body><video id="v" autoplay muted playsinline></video>
<script src="/mediasoup-client.js"></script><script>
window.setup = async (caps, info, direction) => {
  const device = new mediasoupClient.Device();
  await device.load({ routerRtpCapabilities: caps });
  const t = direction === 'send' ? device.createSendTransport(info) : device.createRecvTransport(info);
  t.on('connect', ({ dtlsParameters }, ok, fail) =>
    window.bridge('connect', { transportId: info.id, dtlsParameters }).then(() => ok(), fail));
  t.on('produce', ({ kind, rtpParameters }, ok, fail) =>
    window.bridge('produce', { transportId: info.id, kind, rtpParameters }).then(ok, fail));
  window.device = device;
  window.transport = t;
  window.consumers = {};
  window.producers = {};
  window.closedConsumers = [];
  return device.rtpCapabilities;
};
window.produceAll = async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
  const video = await window.transport.produce({ track: stream.getVideoTracks()[0] });
  const audio = await window.transport.produce({ track: stream.getAudioTracks()[0] });
  window.producers = { video, audio };
  return { video: video.id, audio: audio.id };
};
window.produceVideo = async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  const video = await window.transport.produce({ track: stream.getVideoTracks()[0] });
  window.producers = { video };
  return { video: video.id };
};
window.senderStats = async () => {
  const out = { nackCount: 0, retransmittedPacketsSent: 0, packetsSent: 0 };
  (await window.transport.getStats()).forEach((s) => {
    if (s.type === 'outbound-rtp' && s.kind === 'video') {
      out.nackCount += s.nackCount || 0; out.retransmittedPacketsSent += s.retransmittedPacketsSent || 0; out.packetsSent += s.packetsSent || 0;
    }
  });
  return out;
};
window.produceSimulcast = async () => {
  // 960x540 is the smallest input libwebrtc sends three simulcast layers for; 'detail' keeps
  // the resolutions when the machine is busy (frame rate degrades instead).
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 960, height: 540 } });
  const track = stream.getVideoTracks()[0];
  track.contentHint = 'detail';
  const video = await window.transport.produce({
    track,
    encodings: [
      { rid: 'r0', maxBitrate: 100000, scaleResolutionDownBy: 4 },
      { rid: 'r1', maxBitrate: 300000, scaleResolutionDownBy: 2 },
      { rid: 'r2', maxBitrate: 900000, scaleResolutionDownBy: 1 },
    ],
    codecOptions: { videoGoogleStartBitrate: 1000 },
  });
  window.producers = { video };
  return { video: video.id };
};
window.iceStats = async () => {
  let responses = 0; let available = 0;
  (await window.transport.getStats()).forEach((s) => {
    if (s.type === 'candidate-pair' && s.nominated) { responses += s.responsesReceived || 0; available = Math.max(available, s.availableOutgoingBitrate || 0); }
  });
  return { responses, available };
};
window.consume = async (producerId) => {
  const p = await window.bridge('consume', { transportId: window.transport.id, producerId, rtpCapabilities: window.device.rtpCapabilities });
  const c = await window.transport.consume({ id: p.id, producerId, kind: p.kind, rtpParameters: p.rtpParameters });
  c.on('transportclose', () => window.closedConsumers.push(c.id));
  window.consumers[c.kind] = c;
  if (c.kind === 'video') document.getElementById('v').srcObject = new MediaStream([c.track]);
  else { const a = new Audio(); a.srcObject = new MediaStream([c.track]); a.play().catch(() => {}); }
  await window.bridge('resume', { consumerId: p.id });
  return p.id;
};
window.producerClosed = (kind) => { const c = window.consumers[kind]; c.close(); window.closedConsumers.push(c.id); return c.closed; };
window.stats = async () => {
  const out = { framesDecoded: 0, totalAudioEnergy: 0, nackCount: 0, pliCount: 0, packetsLost: 0, frameWidth: 0, senderReports: 0 };
  for (const c of Object.values(window.consumers)) {
    if (c.closed) continue;
    (await c.getStats()).forEach((s) => {
      if (s.type === 'remote-outbound-rtp') out.senderReports += s.reportsSent || 0;
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') { out.framesDecoded = s.framesDecoded || 0; out.nackCount = s.nackCount || 0; out.pliCount = s.pliCount || 0; out.packetsLost = s.packetsLost || 0; out.frameWidth = s.frameWidth || 0; }
      else out.totalAudioEnergy = s.totalAudioEnergy || 0;
    });
  }
  return out;
};
</script></body></html>`;

export interface PageStats {
  framesDecoded: number;
  totalAudioEnergy: number;
  nackCount: number;
  pliCount: number;
  packetsLost: number;
  frameWidth: number;
  /** Sender Reports received from the SFU (remote-outbound-rtp reportsSent, all consumers). */
  senderReports: number;
}

export const mediaCodecs = [
  { kind: 'audio' as const, mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video' as const, mimeType: 'video/VP8', clockRate: 90000 },
];

export type Harness = SfuPageHarness;

/** Chromium, the page server (mediasoup-client bundled with esbuild), one SFU worker and router. */
export function startHarness(): Promise<Harness> {
  return startSfuPageHarness(PAGE, mediaCodecs);
}

export { sleep };

export function transportInfo(transport: WebRtcTransport) {
  return {
    id: transport.id,
    iceParameters: transport.iceParameters,
    iceCandidates: transport.iceCandidates,
    dtlsParameters: transport.dtlsParameters,
  };
}

/** The in-test bridge: page functions calling the SFU API directly. */
export class Bridge {
  readonly transports = new Map<string, WebRtcTransport>();
  readonly producers = new Map<string, Producer>();
  readonly consumers = new Map<string, Consumer>();

  // biome-ignore lint/suspicious/noExplicitAny: JSON from the page.
  async handle(method: string, data: any): Promise<unknown> {
    switch (method) {
      case 'connect':
        await this.transports.get(data.transportId)!.connect({ dtlsParameters: data.dtlsParameters });
        return undefined;
      case 'produce': {
        const producer = await this.transports
          .get(data.transportId)!
          .produce({ kind: data.kind, rtpParameters: data.rtpParameters });
        this.producers.set(producer.id, producer);
        return { id: producer.id };
      }
      case 'consume': {
        const consumer = await this.transports.get(data.transportId)!.consume({
          producerId: data.producerId,
          rtpCapabilities: data.rtpCapabilities,
          paused: true,
        });
        this.consumers.set(consumer.id, consumer);
        return { id: consumer.id, kind: consumer.kind, rtpParameters: consumer.rtpParameters };
      }
      case 'resume':
        await this.consumers.get(data.consumerId)!.resume();
        return undefined;
      default:
        throw new Error(`unknown bridge method ${method}`);
    }
  }
}

export async function stats(page: Page): Promise<PageStats> {
  return (await page.evaluate('window.stats()')) as PageStats;
}

/** Polls page stats until the predicate holds or the time is up; returns the last stats. */
export async function waitFor(
  page: Page,
  predicate: (s: PageStats) => boolean,
  ms: number,
): Promise<PageStats> {
  const deadline = Date.now() + ms;
  let last = await stats(page);
  while (!predicate(last) && Date.now() < deadline) {
    await sleep(200);
    last = await stats(page);
  }
  return last;
}

/** A send and a receive WebRtcTransport on the harness's router, both known to a new bridge. */
export async function bridgedTransports(
  harness: Harness,
  options: WebRtcTransportOptions = { listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] },
): Promise<{ bridge: Bridge; sendTransport: WebRtcTransport; recvTransport: WebRtcTransport }> {
  const bridge = new Bridge();
  const sendTransport = await harness.router.createWebRtcTransport(options);
  const recvTransport = await harness.router.createWebRtcTransport(options);
  bridge.transports.set(sendTransport.id, sendTransport);
  bridge.transports.set(recvTransport.id, recvTransport);
  return { bridge, sendTransport, recvTransport };
}

/** Opens page A (send transport) and page B (recv transport), each loaded with the router's capabilities. */
export async function openPeers(
  harness: Harness,
  bridge: Bridge,
  sendInfo: ReturnType<typeof transportInfo>,
  recvInfo: ReturnType<typeof transportInfo>,
  sendCaps: unknown = harness.router.rtpCapabilities,
): Promise<{ pageA: Page; pageB: Page }> {
  const pageA = await harness.browser.newPage();
  const pageB = await harness.browser.newPage();
  for (const page of [pageA, pageB]) {
    await page.exposeFunction('bridge', (method: string, data: unknown) => bridge.handle(method, data));
    await page.goto(harness.origin);
  }
  const caps = harness.router.rtpCapabilities;
  type Setup = { setup: (...a: unknown[]) => Promise<unknown> };
  await pageA.evaluate(([c, info]) => (window as never as Setup).setup(c, info, 'send'), [
    sendCaps,
    sendInfo,
  ] as const);
  await pageB.evaluate(([c, info]) => (window as never as Setup).setup(c, info, 'recv'), [
    caps,
    recvInfo,
  ] as const);
  return { pageA, pageB };
}

/**
 * A UDP relay in front of one SFU port: one upstream socket per client address, seeded loss on
 * RTP (not RTCP) in one direction: client → SFU (`'toServer'`) or SFU → client (`'toClient'`).
 * `lossRate` may be changed at any time (1 = a blackout).
 */
export class LossyRelay {
  readonly socket: Socket = createSocket('udp4');
  readonly upstreams = new Map<string, Socket>();
  forwarded = 0;
  dropped = 0;
  /** RTP of this SSRC is dropped whatever the loss rate (-1: none). */
  dropSsrc = -1;
  #seed = 0x2545f491;

  constructor(
    readonly target: { address: string; port: number },
    public lossRate: number,
    readonly direction: 'toServer' | 'toClient' = 'toServer',
  ) {}

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    this.socket.on('message', (data, rinfo) => this.#fromClient(data, rinfo));
    return this.socket.address().port;
  }

  #random(): number {
    // xorshift32: a fixed seed makes the drop pattern the same on every run.
    let x = this.#seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#seed = x >>> 0;
    return this.#seed / 0x100000000;
  }

  #fromClient(data: Buffer, rinfo: RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    let upstream = this.upstreams.get(key);
    if (!upstream) {
      if (this.upstreams.size >= 16) return;
      const socket = createSocket('udp4');
      socket.bind(0, '127.0.0.1');
      socket.on('message', (reply) => {
        if (this.direction === 'toClient' && this.#drops(reply)) return;
        this.socket.send(reply, rinfo.port, rinfo.address);
      });
      this.upstreams.set(key, socket);
      upstream = socket;
    }
    if (this.direction === 'toServer' && this.#drops(data)) return;
    this.forwarded++;
    upstream.send(data, this.target.port, this.target.address);
  }

  #drops(data: Buffer): boolean {
    // RFC 7983: 128..191 is RTP/RTCP. Only RTP (not RTCP, PT 192..223) is dropped.
    const b0 = data[0]!;
    const pt = data[1]! & 0x7f;
    if (
      b0 >= 128 &&
      b0 <= 191 &&
      !(pt >= 64 && pt <= 95) &&
      (this.#random() < this.lossRate || (data.length >= 12 && data.readUInt32BE(8) === this.dropSsrc))
    ) {
      this.dropped++;
      return true;
    }
    return false;
  }

  close(): void {
    this.socket.close();
    for (const socket of this.upstreams.values()) socket.close();
  }
}
