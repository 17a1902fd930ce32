import { readFileSync } from 'node:fs';
import type { parseArgs } from 'node:util';
import type { LogLevel } from '../common/logger.js';
import type { TureenOptions } from '../server/index.js';
import type { RoomModeSetting } from '../signaling/tokens.js';

export const usage = `tureen — real-time audio, video and data in pure TypeScript

Usage:
  tureen start [options]     web app, signaling (/ws) and STUN/TURN on one host
  tureen token [options]     print a room token signed with --secret
  tureen load [options]      load SFU rooms with bots and report what they receive (tureen load --help)
  tureen --help | --version

start options (environment variable in brackets):
  --host IP                  listen address for HTTP and TURN       [TUREEN_HOST]      127.0.0.1
  --port N                   HTTP/WebSocket port                    [TUREEN_PORT]      8080
  --announced-ip IP          address clients use to reach us        [TUREEN_ANNOUNCED_IP]
  --turn-port N              STUN/TURN port, UDP and TCP            [TUREEN_TURN_PORT] 3478
  --turn-realm NAME          TURN realm                             [TUREEN_TURN_REALM] tureen
  --turn-user USER:PASS      static TURN user, repeatable           [TUREEN_TURN_USERS, comma-separated]
  --turn-secret S            TURN REST shared secret                [TUREEN_TURN_SECRET] random
  --turn-tls-port N          TURN over TLS port (needs cert and key) [TUREEN_TURN_TLS_PORT]
  --tls-cert FILE            PEM certificate for TURN TLS           [TUREEN_TLS_CERT]
  --tls-key FILE             PEM private key for TURN TLS           [TUREEN_TLS_KEY]
  --turn-allow-loopback-peers  relay to 127.0.0.0/8 and ::1 (default: only in dev mode on a loopback host)
  --secret S                 token signing secret; absent = development mode  [TUREEN_SECRET]
  --production               refuse to start without a secret       [NODE_ENV=production]
  --room-mode MODE           mode of new rooms: p2p|sfu|auto        [TUREEN_ROOM_MODE] auto
  --sfu-workers N            SFU worker processes (0 = no SFU)      [TUREEN_SFU_WORKERS] one per core
  --rtc-min-port N           lowest SFU media port (UDP/TCP)        [TUREEN_RTC_MIN_PORT] 40000
  --rtc-max-port N           highest SFU media port                 [TUREEN_RTC_MAX_PORT] 49999
  --router-max-peers N       peers per SFU router before a room spreads to another worker
                                                                    [TUREEN_ROUTER_MAX_PEERS] unlimited
  --router-max-consumers N   consumers per SFU router, likewise     [TUREEN_ROUTER_MAX_CONSUMERS] 200
  --log-level LEVEL          fatal|error|warn|info|debug|trace|silent  [TUREEN_LOG_LEVEL] info

token options:
  --secret S  --room NAME  --identity ID  [--name DISPLAY] [--ttl SECONDS (3600)]
  [--no-publish] [--no-subscribe] [--no-publish-data] [--mode p2p|sfu|auto]
`;

export const options = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  host: { type: 'string' },
  port: { type: 'string' },
  'announced-ip': { type: 'string' },
  'turn-port': { type: 'string' },
  'turn-realm': { type: 'string' },
  'turn-user': { type: 'string', multiple: true },
  'turn-secret': { type: 'string' },
  'turn-tls-port': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'turn-allow-loopback-peers': { type: 'boolean' },
  secret: { type: 'string' },
  production: { type: 'boolean' },
  'log-level': { type: 'string' },
  'room-mode': { type: 'string' },
  'sfu-workers': { type: 'string' },
  'rtc-min-port': { type: 'string' },
  'rtc-max-port': { type: 'string' },
  'router-max-peers': { type: 'string' },
  'router-max-consumers': { type: 'string' },
  mode: { type: 'string' },
  room: { type: 'string' },
  identity: { type: 'string' },
  name: { type: 'string' },
  ttl: { type: 'string' },
  'no-publish': { type: 'boolean' },
  'no-subscribe': { type: 'boolean' },
  'no-publish-data': { type: 'boolean' },
} as const;

export class UsageError extends Error {}

function port(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`${what} must be a port number, got '${value}'`);
  return n;
}

const roomModes = ['p2p', 'sfu', 'auto'] as const;

export function roomMode(value: string, what: string): RoomModeSetting {
  if (!(roomModes as readonly string[]).includes(value))
    throw new UsageError(`${what} must be one of ${roomModes.join('|')}, got '${value}'`);
  return value as RoomModeSetting;
}

function count(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 256)
    throw new UsageError(`${what} must be an integer 0..256, got '${value}'`);
  return n;
}

function positive(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${what} must be a positive integer, got '${value}'`);
  return n;
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function parseUsers(list: string[]): Record<string, string> | undefined {
  if (list.length === 0) return undefined;
  const users: Record<string, string> = {};
  for (const entry of list) {
    const colon = entry.indexOf(':');
    if (colon <= 0) throw new UsageError(`--turn-user wants USER:PASS, got '${entry}'`);
    users[entry.slice(0, colon)] = entry.slice(colon + 1);
  }
  return users;
}

export type Values = ReturnType<
  typeof parseArgs<{ options: typeof options; allowPositionals: true }>
>['values'];

export function startOptions(values: Values, env: NodeJS.ProcessEnv): TureenOptions {
  const secret = values.secret ?? env.TUREEN_SECRET;
  const production = values.production || env.NODE_ENV === 'production';
  if (production && !secret) throw new UsageError('production mode needs --secret or TUREEN_SECRET');
  const logLevel = values['log-level'] ?? env.TUREEN_LOG_LEVEL ?? 'info';
  if (!logLevels.includes(logLevel))
    throw new UsageError(`--log-level must be one of ${logLevels.join('|')}`);
  const tlsPort = port(values['turn-tls-port'] ?? env.TUREEN_TURN_TLS_PORT, '--turn-tls-port');
  const certFile = values['tls-cert'] ?? env.TUREEN_TLS_CERT;
  const keyFile = values['tls-key'] ?? env.TUREEN_TLS_KEY;
  if (tlsPort !== undefined && (!certFile || !keyFile)) {
    throw new UsageError('--turn-tls-port needs --tls-cert and --tls-key');
  }
  const users = parseUsers([
    ...(values['turn-user'] ?? []),
    ...(env.TUREEN_TURN_USERS ? env.TUREEN_TURN_USERS.split(',').filter(Boolean) : []),
  ]);
  const announcedIp = values['announced-ip'] ?? env.TUREEN_ANNOUNCED_IP;
  const turnSecret = values['turn-secret'] ?? env.TUREEN_TURN_SECRET;
  const realm = values['turn-realm'] ?? env.TUREEN_TURN_REALM;
  const modeValue = values['room-mode'] ?? env.TUREEN_ROOM_MODE;
  const sfuWorkers = count(values['sfu-workers'] ?? env.TUREEN_SFU_WORKERS, '--sfu-workers');
  const rtcMinPort = port(values['rtc-min-port'] ?? env.TUREEN_RTC_MIN_PORT, '--rtc-min-port');
  const rtcMaxPort = port(values['rtc-max-port'] ?? env.TUREEN_RTC_MAX_PORT, '--rtc-max-port');
  if (rtcMinPort !== undefined && rtcMaxPort !== undefined && rtcMinPort > rtcMaxPort)
    throw new UsageError('--rtc-min-port is greater than --rtc-max-port');
  const routerPeers = positive(
    values['router-max-peers'] ?? env.TUREEN_ROUTER_MAX_PEERS,
    '--router-max-peers',
  );
  const routerConsumers = positive(
    values['router-max-consumers'] ?? env.TUREEN_ROUTER_MAX_CONSUMERS,
    '--router-max-consumers',
  );
  return {
    host: values.host ?? env.TUREEN_HOST ?? '127.0.0.1',
    httpPort: port(values.port ?? env.TUREEN_PORT, '--port') ?? 8080,
    turnPort: port(values['turn-port'] ?? env.TUREEN_TURN_PORT, '--turn-port') ?? 3478,
    logLevel: logLevel as LogLevel,
    ...(secret ? { secret } : {}),
    ...(modeValue ? { roomMode: roomMode(modeValue, '--room-mode') } : {}),
    ...(sfuWorkers !== undefined ? { sfuWorkers } : {}),
    ...(rtcMinPort !== undefined ? { rtcMinPort } : {}),
    ...(rtcMaxPort !== undefined ? { rtcMaxPort } : {}),
    ...(routerPeers !== undefined || routerConsumers !== undefined
      ? {
          routerCapacity: {
            ...(routerPeers !== undefined ? { peers: routerPeers } : {}),
            ...(routerConsumers !== undefined ? { consumers: routerConsumers } : {}),
          },
        }
      : {}),
    ...(announcedIp ? { announcedIp } : {}),
    ...(turnSecret ? { turnSecret } : {}),
    ...(realm ? { turnRealm: realm } : {}),
    ...(users ? { turnUsers: users } : {}),
    ...(values['turn-allow-loopback-peers'] ? { turnAllowLoopbackPeers: true } : {}),
    ...(tlsPort !== undefined && certFile && keyFile
      ? { turnTls: { port: tlsPort, cert: readFileSync(certFile), key: readFileSync(keyFile) } }
      : {}),
  };
}
