import { readFileSync } from 'node:fs';
import type { parseArgs } from 'node:util';
import type { LogLevel } from '../common/logger.js';
import type { TureenOptions } from '../server/index.js';

export const usage = `tureen — real-time audio, video and data in pure TypeScript

Usage:
  tureen start [options]     web app, signaling (/ws) and STUN/TURN on one host
  tureen token [options]     print a room token signed with --secret
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
  --log-level LEVEL          fatal|error|warn|info|debug|trace|silent  [TUREEN_LOG_LEVEL] info

token options:
  --secret S  --room NAME  --identity ID  [--name DISPLAY] [--ttl SECONDS (3600)]
  [--no-publish] [--no-subscribe] [--no-publish-data]
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
  return {
    host: values.host ?? env.TUREEN_HOST ?? '127.0.0.1',
    httpPort: port(values.port ?? env.TUREEN_PORT, '--port') ?? 8080,
    turnPort: port(values['turn-port'] ?? env.TUREEN_TURN_PORT, '--turn-port') ?? 3478,
    logLevel: logLevel as LogLevel,
    ...(secret ? { secret } : {}),
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
