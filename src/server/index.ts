import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createLogger, type LogLevel } from '../common/logger.js';
import { type RouterCapacity, SfuRooms, WorkerPool } from '../rooms/index.js';
import { SignalingServer } from '../signaling/index.js';
import type { IceServer } from '../signaling/protocol.js';
import { issueToken, type RoomModeSetting } from '../signaling/tokens.js';
import { turnRestCredentials } from '../turn/credentials.js';
import { TurnServer } from '../turn/index.js';
import { sendJson, staticFiles } from './http.js';

export interface TureenOptions {
  /** Address the HTTP/WebSocket and TURN servers listen on. Default 127.0.0.1. */
  host?: string;
  /** HTTP port for the web app, /api and the /ws signaling endpoint. Default 8080; 0 picks one. */
  httpPort?: number;
  /** TURN/STUN port, UDP and TCP. Default 3478; 0 picks one. */
  turnPort?: number;
  /** TURN over TLS: port and PEM certificate/key. Off unless given. */
  turnTls?: { port: number; cert: string | Buffer; key: string | Buffer };
  /** Address clients should use to reach us (ICE server URLs, relayed addresses). */
  announcedIp?: string;
  /** TURN realm. Default 'tureen'. */
  turnRealm?: string;
  /** Static TURN users (long-term credentials) besides the per-session REST credentials. */
  turnUsers?: Record<string, string>;
  /** TURN REST shared secret. Default: random per start (only our own join responses use it). */
  turnSecret?: string;
  /** Let TURN relay to loopback peers. Default: on only in development mode on a loopback host. */
  turnAllowLoopbackPeers?: boolean;
  /** Token signing secret. Absent → development mode: a random secret and /api/dev-token. */
  secret?: string;
  /** Lifetime of TURN credentials handed out at join, seconds. Default 86400. */
  credentialTtlSeconds?: number;
  /** Directory with the built web app. Default dist/web next to this package. */
  webRoot?: string;
  logLevel?: LogLevel;
  /** Mode of new rooms whose token names none: 'p2p', 'sfu' or 'auto' (P2P at two peers, SFU from three). Default 'auto'. */
  roomMode?: RoomModeSetting;
  /** SFU worker processes. Default `os.availableParallelism()`; 0 = no SFU (P2P rooms only). */
  sfuWorkers?: number;
  /** UDP/TCP port range of the SFU's WebRTC transports. Default 40000–49999. */
  rtcMinPort?: number;
  rtcMaxPort?: number;
  /**
   * When a room's router is full (`peers`, default unlimited; `consumers`, default 200) and the
   * room spreads to a router on another worker (docs/rooms.md).
   */
  routerCapacity?: RouterCapacity;
}

export interface TureenServer {
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly turnPort: number;
  readonly devMode: boolean;
  readonly signaling: SignalingServer;
  readonly turn: TurnServer;
  /** The SFU worker pool and rooms; null when started with `sfuWorkers: 0`. */
  readonly sfu: { pool: WorkerPool; rooms: SfuRooms } | null;
  close(): Promise<void>;
}

const defaultWebRoot = fileURLToPath(new URL('../../dist/web', import.meta.url));

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** The address to put in ICE server URLs when listening on a wildcard address. */
function firstExternalIPv4(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) if (info.family === 'IPv4' && !info.internal) return info.address;
  }
  return '127.0.0.1';
}

function urlHost(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}

/** Starts the web app, signaling and STUN/TURN together: what `tureen start` runs. */
export async function startTureen(opts: TureenOptions = {}): Promise<TureenServer> {
  const host = opts.host ?? '127.0.0.1';
  const devMode = opts.secret === undefined;
  const secret = opts.secret ?? randomBytes(32).toString('base64url');
  const turnSecret = opts.turnSecret ?? randomBytes(32).toString('base64url');
  const credentialTtl = opts.credentialTtlSeconds ?? 86_400;
  const logger = createLogger(opts.logLevel ?? 'info');
  const wildcard = host === '0.0.0.0' || host === '::';
  const publicIp = opts.announcedIp ?? (wildcard ? firstExternalIPv4() : host);

  const turn = await TurnServer.start({
    listenIp: host,
    udpPort: opts.turnPort ?? 3478,
    tcpPort: opts.turnPort ?? 3478,
    ...(opts.turnTls ? { tlsPort: opts.turnTls.port, tls: opts.turnTls } : {}),
    ...(opts.announcedIp ? { announcedIp: opts.announcedIp } : {}),
    realm: opts.turnRealm ?? 'tureen',
    ...(opts.turnUsers ? { users: opts.turnUsers } : {}),
    authSecret: turnSecret,
    allowLoopbackPeers: opts.turnAllowLoopbackPeers ?? (devMode && isLoopback(host)),
    logger,
  });

  const turnHost = urlHost(publicIp);
  const iceServers = (identity: string, ttlSeconds: number): IceServer[] => {
    const { username, credential } = turnRestCredentials(turnSecret, identity, ttlSeconds);
    const servers: IceServer[] = [
      { urls: [`stun:${turnHost}:${turn.ports.udp}`] },
      {
        urls: [
          `turn:${turnHost}:${turn.ports.udp}?transport=udp`,
          `turn:${turnHost}:${turn.ports.tcp}?transport=tcp`,
        ],
        username,
        credential,
      },
    ];
    if (turn.ports.tls !== undefined) {
      servers.push({ urls: [`turns:${turnHost}:${turn.ports.tls}?transport=tcp`], username, credential });
    }
    return servers;
  };

  const serveStatic = staticFiles(opts.webRoot ?? defaultWebRoot);
  const http: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const done = (err: unknown) => {
      logger.error({ err, url: req.url }, 'http handler failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal' });
      else res.destroy();
    };
    try {
      if (url.pathname === '/healthz') {
        sendJson(res, 200, {
          ok: true,
          ...signaling.stats(),
          ...(sfu ? { sfuWorkers: sfu.pool.load(), sfuRooms: sfu.rooms.roomCount } : {}),
        });
      } else if (url.pathname === '/api/dev-token') {
        if (!devMode) sendJson(res, 404, { error: 'dev tokens are off in production mode' });
        else devToken(url).then((body) => sendJson(res, 200, body), done);
      } else {
        Promise.resolve(serveStatic(req, res, url)).catch(done);
      }
    } catch (err) {
      done(err);
    }
  });

  const devToken = async (url: URL) => {
    const room = (url.searchParams.get('room') ?? 'lobby').slice(0, 64) || 'lobby';
    const name = (url.searchParams.get('name') ?? 'guest').slice(0, 64) || 'guest';
    const identity = `${name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .slice(0, 24)}-${randomBytes(4).toString('hex')}`;
    const token = await issueToken(secret, { sub: identity, room, name }, 12 * 3600);
    return { token, identity, room };
  };

  const signaling = await SignalingServer.start({
    server: http,
    path: '/ws',
    secret,
    iceServers: (identity) => iceServers(identity, credentialTtl),
    logger,
  });

  const roomMode = opts.roomMode ?? (opts.sfuWorkers === 0 ? 'p2p' : 'auto');
  let sfu: TureenServer['sfu'] = null;
  try {
    if (opts.sfuWorkers !== 0) {
      const pool = await WorkerPool.start({
        ...(opts.sfuWorkers !== undefined ? { workers: opts.sfuWorkers } : {}),
        ...(opts.rtcMinPort !== undefined ? { rtcMinPort: opts.rtcMinPort } : {}),
        ...(opts.rtcMaxPort !== undefined ? { rtcMaxPort: opts.rtcMaxPort } : {}),
        logger,
      });
      const listenIp = host === 'localhost' ? '127.0.0.1' : host;
      const announced = opts.announcedIp ?? (wildcard ? publicIp : undefined);
      const listenInfos = (['udp', 'tcp'] as const).map((protocol) => ({
        protocol,
        ip: listenIp,
        ...(announced !== undefined ? { announcedAddress: announced } : {}),
      }));
      const rooms = new SfuRooms(signaling, {
        pool,
        defaultMode: roomMode,
        listenInfos,
        ...(opts.routerCapacity ? { routerCapacity: opts.routerCapacity } : {}),
        logger,
      });
      sfu = { pool, rooms };
    } else if (roomMode !== 'p2p') {
      throw new TypeError(`roomMode '${roomMode}' needs SFU workers`);
    }
  } catch (err) {
    await Promise.allSettled([signaling.close(), turn.close()]);
    throw err;
  }

  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(opts.httpPort ?? 8080, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    sfu?.pool.close();
    await Promise.allSettled([signaling.close(), turn.close()]);
    throw err;
  }

  const httpPort = (http.address() as AddressInfo).port;
  const httpHost = urlHost(wildcard ? 'localhost' : host);
  const server: TureenServer = {
    httpUrl: `http://${httpHost}:${httpPort}`,
    wsUrl: `ws://${httpHost}:${httpPort}/ws`,
    turnPort: turn.ports.udp,
    devMode,
    signaling,
    turn,
    sfu,
    async close() {
      await signaling.close();
      sfu?.rooms.close();
      sfu?.pool.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await turn.close();
    },
  };
  logger.info(
    { http: server.httpUrl, ws: server.wsUrl, turn: turn.ports, devMode },
    devMode ? 'tureen started in development mode' : 'tureen started',
  );
  return server;
}
