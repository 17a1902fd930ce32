// The load generator's bots against the real server (startTureen, SFU rooms): they join, publish,
// receive every other publisher with no loss, report join times; one vanishing does not disturb
// the others; `tureen load` runs end to end over two bot processes and prints its JSON report.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type LoadReport, LoadRunner, type Snapshot, summarize } from '../../src/load/index.js';
import { startTureen, type TureenServer } from '../../src/server/index.js';
import { sleep, waitFor } from '../helpers/wait.js';

const VIDEO = { kbps: 300, fps: 30, keyFrameIntervalMs: 10_000 };
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

let server: TureenServer;

before(async () => {
  server = await startTureen({
    host: '127.0.0.1',
    httpPort: 0,
    turnPort: 0,
    logLevel: 'warn',
    roomMode: 'sfu',
    sfuWorkers: 1,
    rtcMinPort: 47000,
    rtcMaxPort: 47499,
  });
});

after(async () => {
  await server?.close();
});

/** Streams with packets between the snapshots, by (receiver name, sender peerId, kind). */
function flows(before: Snapshot, after: Snapshot): Map<string, { packets: number; lost: number }> {
  const first = new Map(before.bots.flatMap((b) => b.streams.map((s) => [s.consumerId, s] as const)));
  const out = new Map<string, { packets: number; lost: number }>();
  for (const bot of after.bots) {
    for (const s of bot.streams) {
      const packets = s.packets - (first.get(s.consumerId)?.packets ?? 0);
      const expected = s.expected - (first.get(s.consumerId)?.expected ?? 0);
      out.set(`${bot.name} ${s.peerId} ${s.kind}`, { packets, lost: Math.max(0, expected - packets) });
    }
  }
  return out;
}

/**
 * Measures windows of `windowMs` until one passes `problems` (returns none), at most `attempts`.
 * On this shared 2-core machine a process may get no CPU for a second or more; then the kernel
 * drops datagrams for full socket buffers, which is the machine, not the SFU: one clean window out
 * of a few shows the media path itself loses nothing. Every window's problems are reported.
 */
async function cleanWindow(
  runner: LoadRunner,
  t: TestContext,
  windowMs: number,
  problems: (first: Snapshot, last: Snapshot) => string[],
  attempts = 4,
): Promise<{ first: Snapshot; last: Snapshot }> {
  const seen: string[] = [];
  for (let i = 0; i < attempts; i++) {
    const first = await runner.snapshot();
    await sleep(windowMs);
    const last = await runner.snapshot();
    const found = problems(first, last);
    if (found.length === 0) return { first, last };
    t.diagnostic(`window ${i + 1}: ${found.join('; ')}`);
    seen.push(...found);
  }
  throw new Error(`no clean window in ${attempts}: ${seen.join('; ')}`);
}

test('three bots in one SFU room each receive the two others audio and video without loss', {
  timeout: 90_000,
}, async (t) => {
  const runner = await LoadRunner.start({ url: server.wsUrl, video: VIDEO });
  try {
    const started = await runner.addRoom({
      room: 'three',
      peers: 3,
      publishers: 3,
      startAt: Date.now(),
      rampMs: 200,
    });
    assert.deepEqual(
      started.map((s) => s.ok),
      [true, true, true],
      JSON.stringify(started),
    );
    // Everyone has media from everyone present at its join (join time set), then measure 5 s.
    await waitFor(
      'join times',
      async () => {
        const { bots } = await runner.snapshot();
        return bots.every((b) => b.joinMs !== null) ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const peerIds = (await runner.snapshot()).bots.map((b) => b.peerId);
    const { first, last } = await cleanWindow(runner, t, 4000, (first, last) => {
      const found: string[] = [];
      const measured = flows(first, last);
      const seconds = (last.at - first.at) / 1000;
      for (const bot of last.bots) {
        for (const other of peerIds.filter((id) => id !== bot.peerId)) {
          for (const kind of ['audio', 'video'] as const) {
            const flow = measured.get(`${bot.name} ${other} ${kind}`);
            assert.ok(flow, `${bot.name} has no ${kind} stream from ${other}`);
            // 50 audio packets/s; 300 kbps video at 30 fps is 1 packet a frame (key frames 2).
            // A starved bot skips what it could not send in time: half is the floor.
            const minimum = seconds * (kind === 'audio' ? 50 : 30) * 0.5;
            if (flow.packets < minimum)
              found.push(`${bot.name} ${kind} from ${other}: ${flow.packets} packets`);
            if (flow.lost > 0) found.push(`${bot.name} ${kind} from ${other}: ${flow.lost} lost`);
          }
        }
      }
      // Nothing the others sent went missing without a gap either (the SFU renumbers its drops).
      for (const bot of summarize(first, last, runner.publishersByRoom).bots) {
        if (bot.deliveredPercent < 99)
          found.push(`${bot.name}: ${bot.deliveredPercent}% of what was sent to it`);
      }
      return found;
    });
    const report: LoadReport = summarize(first, last, runner.publishersByRoom);
    for (const bot of last.bots) {
      t.diagnostic(
        `${bot.name}: join ${bot.joinMs} ms, ${bot.streams.length} streams, key frames sent ${bot.keyFramesSent}`,
      );
      assert.equal(bot.state, 'running');
      assert.equal(bot.srtpErrors, 0);
      assert.ok(
        bot.joinMs !== null && bot.joinMs > 0 && bot.joinMs < 15_000,
        `${bot.name} join ${bot.joinMs}`,
      );
    }
    t.diagnostic(JSON.stringify(report.overall));
    assert.equal(report.overall.running, 3);
    assert.equal(report.overall.missingStreams, 0);
    assert.equal(report.overall.lossPercent, 0);
    assert.ok(report.overall.deliveredPercent >= 99, `delivered ${report.overall.deliveredPercent} %`);
    assert.ok(report.overall.joinP50Ms !== null && report.overall.joinP95Ms !== null);
    // Each bot receives 2 × (~40 kbps audio + ~300 kbps video), at least half of it.
    for (const bot of report.bots)
      assert.ok(bot.rxKbps > 340 && bot.rxKbps < 1000, `${bot.name} ${bot.rxKbps} kbps`);
  } finally {
    await runner.close();
  }
});

test('a bot that vanishes (no leave, sockets gone) does not disturb the others', {
  timeout: 120_000,
}, async (t) => {
  const runner = await LoadRunner.start({ url: server.wsUrl, video: VIDEO });
  try {
    await runner.addRoom({ room: 'vanish', peers: 3, publishers: 3, startAt: Date.now(), rampMs: 100 });
    await waitFor(
      'join times',
      async () => {
        const { bots } = await runner.snapshot();
        return bots.every((b) => b.joinMs !== null) ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const initial = await runner.snapshot();
    const gone = initial.bots.find((b) => b.name === 'vanish-bot2')!;
    assert.ok(await runner.vanish('vanish-bot2'));
    // Right away (its peer is in the grace period) and after the server dropped it, the two
    // others keep receiving each other without loss.
    const check = async () => {
      const { last } = await cleanWindow(runner, t, 3000, (first, last) => {
        const found: string[] = [];
        const measured = flows(first, last);
        for (const [a, b] of [
          ['vanish-bot0', 'vanish-bot1'],
          ['vanish-bot1', 'vanish-bot0'],
        ] as const) {
          assert.equal(last.bots.find((x) => x.name === a)!.state, 'running');
          const from = last.bots.find((x) => x.name === b)!.peerId;
          for (const kind of ['audio', 'video']) {
            const flow = measured.get(`${a} ${from} ${kind}`);
            assert.ok(flow, `${a} has no ${kind} stream from ${b}`);
            // 3 s of 50 audio or 30 video packets/s: at least half of it, none lost.
            if (flow.packets < 45) found.push(`${a} ${kind} from ${b}: ${flow.packets} packets`);
            if (flow.lost > 0) found.push(`${a} ${kind} from ${b}: ${flow.lost} lost`);
          }
        }
        return found;
      });
      return last;
    };
    await check();
    const room = server.sfu!.rooms.room('vanish')!;
    await waitFor('the vanished peer to be dropped', () => (room.peers.has(gone.peerId) ? undefined : true), {
      timeoutMs: 40_000,
      intervalMs: 200,
    });
    const last = await check();
    // Its consumers were closed on the others (consumerClosed): no stream from it is left.
    for (const bot of last.bots.filter((b) => b.name !== 'vanish-bot2')) {
      assert.deepEqual(
        bot.streams.filter((s) => s.peerId === gone.peerId),
        [],
      );
    }
  } finally {
    await runner.close();
  }
});

test('tureen load runs two rooms over two bot processes and prints a JSON report', {
  timeout: 90_000,
}, async () => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'load',
      '--url',
      server.wsUrl,
      '--rooms',
      '2',
      '--peers',
      '3',
      '--publishers',
      '2',
      '--duration',
      '3',
      '--warmup',
      '3',
      '--video-kbps',
      '300',
      '--processes',
      '2',
      '--json',
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 80_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  assert.equal(code, 0, stderr + stdout);
  const report = JSON.parse(stdout) as LoadReport;
  assert.equal(Object.keys(report.rooms).length, 2);
  assert.equal(report.overall.bots, 6);
  assert.equal(report.overall.running, 6);
  // Two publishers per room: a publisher receives 2 streams, the listener 4.
  assert.equal(report.overall.missingStreams, 0);
  assert.deepEqual(report.bots.map((b) => b.expectedStreams).sort(), [2, 2, 2, 2, 4, 4]);
  // Loss itself is checked closely above; here that it is measured (bounded on a busy machine).
  assert.ok(
    report.overall.lossPercent >= 0 && report.overall.lossPercent < 20,
    `loss ${report.overall.lossPercent} %`,
  );
  assert.ok(report.overall.joinP95Ms !== null);
  for (const bot of report.bots) {
    assert.equal(bot.streams, bot.expectedStreams, bot.name);
    assert.ok(bot.rxKbps > 0);
    // Listeners send nothing; publishers ~340 kbps plus SRTP overhead (less when starved).
    if (bot.expectedStreams === 4) assert.equal(bot.txKbps, 0);
    else assert.ok(bot.txKbps > 100, `${bot.name} sends ${bot.txKbps} kbps`);
  }
});
