// `tureen load`: bots that join SFU rooms like real clients, publish synthetic audio and video,
// receive everyone, and report received bitrate, loss, jitter and join times (docs/load.md).
import { parseArgs } from 'node:util';
import { formatReport, runLoad } from '../load/index.js';
import { UsageError } from './options.js';

export const loadUsage = `tureen load — load an SFU with bots (docs/load.md)

Usage: tureen load [options]

  --url URL                signaling WebSocket                      ws://127.0.0.1:8080/ws
  --rooms N                rooms                                    1
  --peers N                bots per room                            7
  --publishers N           of those, bots publishing audio + video  all
  --duration S             measuring window, seconds                20
  --warmup S               settling time after the last join        2
  --ramp MS                between two joins (rooms one after another)  100
  --video-kbps N           video bitrate per publisher              500
  --fps N                  video frames per second                  30
  --key-frame-interval S   periodic key frames (0: only on PLI/FIR) 10
  --processes N            bot processes (use more cores)           1
  --token-secret S         sign tokens (rooms forced to SFU mode)  [TUREEN_SECRET]
                           without it, tokens come from /api/dev-token (dev mode;
                           start the server with --room-mode sfu)
  --room-prefix P          room names P0, P1, ...                   load-<random>-
  --json                   print the report as JSON
  --verbose                one line per bot
  -h, --help
`;

const options = {
  help: { type: 'boolean', short: 'h' },
  url: { type: 'string' },
  rooms: { type: 'string' },
  peers: { type: 'string' },
  publishers: { type: 'string' },
  duration: { type: 'string' },
  warmup: { type: 'string' },
  ramp: { type: 'string' },
  'video-kbps': { type: 'string' },
  fps: { type: 'string' },
  'key-frame-interval': { type: 'string' },
  processes: { type: 'string' },
  'token-secret': { type: 'string' },
  'room-prefix': { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
} as const;

function number(
  value: string | undefined,
  fallback: number,
  what: string,
  { min = 0, integer = true } = {},
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n)))
    throw new UsageError(`${what} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got '${value}'`);
  return n;
}

/** Runs `tureen load` with the arguments after `load`; resolves with the exit code. */
export async function loadCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  if (values.help) {
    console.log(loadUsage);
    return 0;
  }
  const url = values.url ?? 'ws://127.0.0.1:8080/ws';
  if (!/^wss?:\/\//.test(url)) throw new UsageError(`--url must be a ws:// or wss:// URL, got '${url}'`);
  const peers = number(values.peers, 7, '--peers', { min: 1 });
  const publishers = number(values.publishers, peers, '--publishers');
  if (publishers > peers) throw new UsageError('--publishers cannot exceed --peers');
  const tokenSecret = values['token-secret'] ?? env.TUREEN_SECRET;
  const json = values.json ?? false;
  const report = await runLoad({
    url,
    rooms: number(values.rooms, 1, '--rooms', { min: 1 }),
    peers,
    publishers,
    durationMs: number(values.duration, 20, '--duration', { min: 1, integer: false }) * 1000,
    warmupMs: number(values.warmup, 2, '--warmup', { integer: false }) * 1000,
    rampMs: number(values.ramp, 100, '--ramp'),
    processes: number(values.processes, 1, '--processes', { min: 1 }),
    video: {
      kbps: number(values['video-kbps'], 500, '--video-kbps', { min: 1 }),
      fps: number(values.fps, 30, '--fps', { min: 1 }),
      keyFrameIntervalMs:
        number(values['key-frame-interval'], 10, '--key-frame-interval', { integer: false }) * 1000,
    },
    ...(tokenSecret ? { tokenSecret } : {}),
    ...(values['room-prefix'] !== undefined ? { roomPrefix: values['room-prefix'] } : {}),
    ...(json ? {} : { log: (line: string) => console.log(line) }),
  });
  console.log(json ? JSON.stringify(report, null, 2) : formatReport(report, values.verbose ?? false));
  return report.overall.failed > 0 || report.notStarted.length > 0 ? 1 : 0;
}
