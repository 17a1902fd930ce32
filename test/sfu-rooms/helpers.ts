// SFU room test helpers: a signaling server with SFU rooms on one worker, tokens with
// permissions, and a mediasoup-client Device (FakeHandler, no browser) driven over signaling.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { FakeMediaStreamTrack } from 'fake-mediastreamtrack';
import { type types as client, Device } from 'mediasoup-client';
import { FakeHandler } from 'mediasoup-client/handlers/FakeHandler';
import { type RouterCapacity, SfuRooms, WorkerPool } from '../../src/rooms/index.js';
import { staticFiles } from '../../src/server/http.js';
import { issueToken, type Permissions, SignalingServer } from '../../src/signaling/index.js';
import type { RoomModeSetting } from '../../src/signaling/tokens.js';
import { SECRET, startServer, type TestClient } from '../signaling/helpers.js';

export { delay, eventually, type Received, SECRET, TestClient } from '../signaling/helpers.js';

const require = createRequire(import.meta.url);
const fakeParameters = require(
  join(dirname(require.resolve('mediasoup-client')), 'test', 'fakeParameters.js'),
);

export interface SfuHarness {
  signaling: SignalingServer;
  pool: WorkerPool;
  rooms: SfuRooms;
  close(): Promise<void>;
}

export async function startSfuHarness(
  opts: { workers?: number; defaultMode?: RoomModeSetting; routerCapacity?: RouterCapacity } = {},
) {
  const pool = await WorkerPool.start({ workers: opts.workers ?? 1, rtcMinPort: 42000, rtcMaxPort: 42999 });
  const signaling = await startServer({ reconnectGraceMs: 0 });
  const rooms = new SfuRooms(signaling, {
    pool,
    defaultMode: opts.defaultMode ?? 'sfu',
    listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }],
    ...(opts.routerCapacity ? { routerCapacity: opts.routerCapacity } : {}),
  });
  return {
    signaling,
    pool,
    rooms,
    async close() {
      await signaling.close();
      rooms.close();
      pool.close();
    },
  } satisfies SfuHarness;
}

export interface WebSfuServer extends SfuHarness {
  httpUrl: string;
}

/**
 * The web app (from `webRoot`), signaling on /ws and SFU rooms with the given router capacity:
 * what `startTureen` serves, with the rooms options it does not expose. Pages join with
 * `sfuToken` tokens (there is no /api/dev-token).
 */
export async function startWebSfuServer(opts: {
  webRoot: string;
  workers: number;
  rtcMinPort: number;
  rtcMaxPort: number;
  routerCapacity?: RouterCapacity;
}): Promise<WebSfuServer> {
  const serve = staticFiles(opts.webRoot);
  const http = createServer((req, res) => {
    void Promise.resolve(serve(req, res, new URL(req.url ?? '/', 'http://localhost'))).catch(() =>
      res.destroy(),
    );
  });
  const signaling = await SignalingServer.start({
    server: http,
    path: '/ws',
    secret: SECRET,
    iceServers: () => [],
    reconnectGraceMs: 0,
  });
  const pool = await WorkerPool.start({
    workers: opts.workers,
    rtcMinPort: opts.rtcMinPort,
    rtcMaxPort: opts.rtcMaxPort,
  });
  const rooms = new SfuRooms(signaling, {
    pool,
    defaultMode: 'sfu',
    listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }],
    ...(opts.routerCapacity ? { routerCapacity: opts.routerCapacity } : {}),
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    httpUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    signaling,
    pool,
    rooms,
    async close() {
      await signaling.close();
      rooms.close();
      pool.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}

export function sfuToken(
  sub: string,
  room: string,
  extra: { perms?: Partial<Permissions>; mode?: RoomModeSetting } = {},
): Promise<string> {
  return issueToken(SECRET, { sub, room, ...extra }, 60);
}

/** Answers `data` of an ok response, or throws with the error. */
export async function ok<T = Record<string, unknown>>(
  c: TestClient,
  method: string,
  data?: unknown,
  timeoutMs = 5000,
): Promise<T> {
  const response = await c.request(method, data, timeoutMs);
  if (!response.ok) throw new Error(`${method} failed: ${JSON.stringify(response.error)}`);
  return response.data as T;
}

/** A mediasoup-client Device with the fake handler, wired to a TestClient's signaling. */
export class FakePeer {
  readonly device = new Device({ handlerFactory: FakeHandler.createFactory(fakeParameters) });
  sendTransport: client.Transport | undefined;
  recvTransport: client.Transport | undefined;

  constructor(readonly signaling: TestClient) {}

  async load(): Promise<void> {
    const { rtpCapabilities } = await ok<{ rtpCapabilities: client.RtpCapabilities }>(
      this.signaling,
      'getRouterRtpCapabilities',
    );
    await this.device.load({ routerRtpCapabilities: rtpCapabilities });
  }

  async createSendTransport(): Promise<client.Transport> {
    const info = await ok<client.TransportOptions>(this.signaling, 'createWebRtcTransport', {
      direction: 'send',
      sctpCapabilities: this.device.sctpCapabilities,
    });
    const transport = this.device.createSendTransport(info);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      ok(this.signaling, 'connectWebRtcTransport', { transportId: transport.id, dtlsParameters }).then(
        () => callback(),
        errback,
      );
    });
    transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
      ok<{ id: string }>(this.signaling, 'produce', {
        transportId: transport.id,
        kind,
        rtpParameters,
        appData,
      }).then(callback, errback);
    });
    transport.on('producedata', ({ sctpStreamParameters, label, protocol, appData }, callback, errback) => {
      ok<{ id: string }>(this.signaling, 'produceData', {
        transportId: transport.id,
        sctpStreamParameters,
        label,
        protocol,
        appData,
      }).then(callback, errback);
    });
    this.sendTransport = transport;
    return transport;
  }

  async createRecvTransport(): Promise<client.Transport> {
    const info = await ok<client.TransportOptions>(this.signaling, 'createWebRtcTransport', {
      direction: 'recv',
      sctpCapabilities: this.device.sctpCapabilities,
    });
    const transport = this.device.createRecvTransport(info);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      ok(this.signaling, 'connectWebRtcTransport', { transportId: transport.id, dtlsParameters }).then(
        () => callback(),
        errback,
      );
    });
    this.recvTransport = transport;
    await ok(this.signaling, 'setRtpCapabilities', { rtpCapabilities: this.device.rtpCapabilities });
    return transport;
  }

  produce(kind: 'audio' | 'video', appData: Record<string, unknown> = {}): Promise<client.Producer> {
    if (!this.sendTransport) throw new Error('no send transport');
    return this.sendTransport.produce({ track: new FakeMediaStreamTrack({ kind }) as never, appData });
  }
}
