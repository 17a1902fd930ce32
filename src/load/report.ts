// Turns two snapshots of every bot into the load report: per bot, per room and overall received
// bitrate, packet loss, jitter and join times, and the table `tureen load` prints.
import type { BotSnapshot, StreamSnapshot } from './bot.js';

export interface BotReport {
  name: string;
  room: string;
  state: string;
  error?: string;
  joinMs: number | null;
  /** Received RTP (headers and payload, decrypted), kbps over the window. */
  rxKbps: number;
  /** Sent SRTP, kbps over the window. */
  txKbps: number;
  rxPacketsPerSecond: number;
  expectedPackets: number;
  lostPackets: number;
  lossPercent: number;
  /** Packets other bots published in the window, on streams this bot receives. */
  sentToIt: number;
  /** Of those, received; 100 − this is what the SFU did not deliver, whether or not it left a sequence gap. */
  deliveredPercent: number;
  audioJitterMs: number;
  videoJitterMs: number;
  /** Streams (one per kind per other publisher) that carried packets in the window. */
  streams: number;
  expectedStreams: number;
  /** Sequence jumps of more than 3000 in received streams over the window (should be 0). */
  sequenceJumps: number;
  keyFramesSent: number;
  retransmitted: number;
}

export interface GroupReport {
  bots: number;
  /** Bots whose SFU session ran at the end of the window. */
  running: number;
  failed: number;
  rxKbps: number;
  rxPacketsPerSecond: number;
  lossPercent: number;
  deliveredPercent: number;
  audioJitterMs: number;
  videoJitterMs: number;
  joinP50Ms: number | null;
  joinP95Ms: number | null;
  /** Running bots still without media from everyone present at their join. */
  notJoined: number;
  /** Expected streams that carried nothing in the window. */
  missingStreams: number;
  sequenceJumps: number;
}

export interface LoadReport {
  windowSeconds: number;
  /** Bots that could not join (no token, no signaling, join or SFU setup refused), with why. */
  notStarted: { name: string; error: string }[];
  overall: GroupReport;
  rooms: Record<string, GroupReport>;
  bots: BotReport[];
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Per-stream differences between the snapshots. `publishersByRoom` gives how many bots of each
 * room publish, for the streams a bot should receive.
 */
export function summarize(
  before: { at: number; bots: BotSnapshot[] },
  after: { at: number; bots: BotSnapshot[] },
  publishersByRoom: ReadonlyMap<string, number>,
): LoadReport {
  const seconds = Math.max(0.001, (after.at - before.at) / 1000);
  const earlier = new Map<string, StreamSnapshot>();
  const sentBefore = new Map<string, BotSnapshot>();
  for (const bot of before.bots) {
    sentBefore.set(bot.name, bot);
    for (const s of bot.streams) earlier.set(s.consumerId, s);
  }
  // What each publishing bot sent in the window, by peerId and kind.
  const published = new Map<string, { audio: number; video: number }>();
  for (const bot of after.bots) {
    const first = sentBefore.get(bot.name);
    if (!first || first.peerId !== bot.peerId) continue;
    published.set(bot.peerId, {
      audio: bot.audioSent - first.audioSent,
      video: bot.videoSent - first.videoSent,
    });
  }
  const bots: BotReport[] = after.bots.map((bot) => {
    let bytes = 0;
    let packets = 0;
    let expected = 0;
    let lost = 0;
    let streams = 0;
    let jumps = 0;
    let sentToIt = 0;
    let receivedOfSent = 0;
    const audioJitter: number[] = [];
    const videoJitter: number[] = [];
    for (const s of bot.streams) {
      const first = earlier.get(s.consumerId);
      const dPackets = s.packets - (first?.packets ?? 0);
      const dExpected = s.expected - (first?.expected ?? 0);
      bytes += s.bytes - (first?.bytes ?? 0);
      packets += dPackets;
      expected += dExpected;
      lost += Math.max(0, dExpected - dPackets);
      jumps += s.restarts - (first?.restarts ?? 0);
      const source = published.get(s.peerId);
      // Streams present over the whole window, from bots (not from browsers that joined).
      if (source && first) {
        sentToIt += source[s.kind];
        receivedOfSent += dPackets;
      }
      if (dPackets > 0) {
        streams++;
        (s.kind === 'audio' ? audioJitter : videoJitter).push(s.jitterMs);
      }
    }
    const publishers = publishersByRoom.get(bot.room) ?? 0;
    return {
      name: bot.name,
      room: bot.room,
      state: bot.state,
      ...(bot.error !== undefined ? { error: bot.error } : {}),
      joinMs: bot.joinMs,
      rxKbps: round((bytes * 8) / seconds / 1000, 0),
      txKbps: round(((bot.bytesSent - (sentBefore.get(bot.name)?.bytesSent ?? 0)) * 8) / seconds / 1000, 0),
      rxPacketsPerSecond: round(packets / seconds, 0),
      expectedPackets: expected,
      lostPackets: lost,
      lossPercent: expected > 0 ? round((lost / expected) * 100, 2) : 0,
      sentToIt,
      deliveredPercent: sentToIt > 0 ? round((receivedOfSent / sentToIt) * 100, 2) : 100,
      audioJitterMs: round(mean(audioJitter), 2),
      videoJitterMs: round(mean(videoJitter), 2),
      streams,
      expectedStreams: 2 * Math.max(0, publishers - (bot.publish ? 1 : 0)),
      sequenceJumps: jumps,
      keyFramesSent: bot.keyFramesSent,
      retransmitted: bot.retransmitted,
    };
  });
  const rooms: Record<string, GroupReport> = {};
  for (const room of new Set(bots.map((b) => b.room))) {
    rooms[room] = group(bots.filter((b) => b.room === room));
  }
  return { windowSeconds: round(seconds, 1), notStarted: [], overall: group(bots), rooms, bots };
}

function group(bots: BotReport[]): GroupReport {
  const running = bots.filter((b) => b.state === 'running');
  const joins = running.map((b) => b.joinMs).filter((ms): ms is number => ms !== null);
  joins.sort((a, b) => a - b);
  const expected = bots.reduce((sum, b) => sum + b.expectedPackets, 0);
  const lost = bots.reduce((sum, b) => sum + b.lostPackets, 0);
  const sentTo = bots.reduce((sum, b) => sum + b.sentToIt, 0);
  const receivedOf = bots.reduce((sum, b) => sum + (b.deliveredPercent / 100) * b.sentToIt, 0);
  const withAudio = running.filter((b) => b.audioJitterMs > 0);
  const withVideo = running.filter((b) => b.videoJitterMs > 0);
  return {
    bots: bots.length,
    running: running.length,
    failed: bots.filter((b) => b.state === 'failed').length,
    rxKbps: round(
      bots.reduce((sum, b) => sum + b.rxKbps, 0),
      0,
    ),
    rxPacketsPerSecond: round(
      bots.reduce((sum, b) => sum + b.rxPacketsPerSecond, 0),
      0,
    ),
    lossPercent: expected > 0 ? round((lost / expected) * 100, 3) : 0,
    deliveredPercent: sentTo > 0 ? round((receivedOf / sentTo) * 100, 2) : 100,
    audioJitterMs: round(mean(withAudio.map((b) => b.audioJitterMs)), 2),
    videoJitterMs: round(mean(withVideo.map((b) => b.videoJitterMs)), 2),
    joinP50Ms: percentile(joins, 50),
    joinP95Ms: percentile(joins, 95),
    notJoined: running.length - joins.length,
    missingStreams: running.reduce((sum, b) => sum + Math.max(0, b.expectedStreams - b.streams), 0),
    sequenceJumps: bots.reduce((sum, b) => sum + b.sequenceJumps, 0),
  };
}

function table(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]!) : String(cell).padStart(widths[c]!)))
        .join('  '),
    )
    .join('\n');
}

const ms = (value: number | null) => (value === null ? '-' : String(Math.round(value)));

/** The summary table; with `verbose` one line per bot too. */
export function formatReport(report: LoadReport, verbose = false): string {
  const header = [
    '',
    'bots',
    'running',
    'rx kbps',
    'rx pkt/s',
    'loss %',
    'delivered %',
    'jitter a/v ms',
    'join p50/p95 ms',
    'missing',
  ];
  const line = (name: string, g: GroupReport) => [
    name,
    g.bots,
    g.running,
    g.rxKbps,
    g.rxPacketsPerSecond,
    g.lossPercent.toFixed(3),
    g.deliveredPercent.toFixed(2),
    `${g.audioJitterMs.toFixed(1)}/${g.videoJitterMs.toFixed(1)}`,
    `${ms(g.joinP50Ms)}/${ms(g.joinP95Ms)}`,
    g.missingStreams,
  ];
  const rows = [
    header,
    ...Object.entries(report.rooms).map(([room, g]) => line(room, g)),
    line('overall', report.overall),
  ];
  let out = `measured over ${report.windowSeconds} s\n${table(rows)}`;
  if (report.overall.sequenceJumps > 0) {
    out += `\n${report.overall.sequenceJumps} sequence jump(s) of more than 3000 in received streams`;
  }
  if (report.notStarted.length > 0) {
    out += `\n${report.notStarted.length} bot(s) could not join, e.g. ${report.notStarted[0]!.name}: ${report.notStarted[0]!.error}`;
  }
  if (verbose) {
    const botRows = [
      [
        'bot',
        'state',
        'join ms',
        'rx kbps',
        'tx kbps',
        'loss %',
        'delivered %',
        'jitter a/v ms',
        'streams',
        'key frames',
        'rtx',
      ],
      ...report.bots.map((b) => [
        b.name,
        b.state,
        ms(b.joinMs),
        b.rxKbps,
        b.txKbps,
        b.lossPercent.toFixed(2),
        b.deliveredPercent.toFixed(2),
        `${b.audioJitterMs.toFixed(1)}/${b.videoJitterMs.toFixed(1)}`,
        `${b.streams}/${b.expectedStreams}`,
        b.keyFramesSent,
        b.retransmitted,
      ]),
    ];
    out += `\n\n${table(botRows)}`;
    for (const b of report.bots) if (b.error) out += `\n${b.name}: ${b.error}`;
  }
  return out;
}
