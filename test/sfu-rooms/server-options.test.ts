// startTureen's SFU options and the CLI flags / environment variables for them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startOptions, UsageError } from '../../src/cli/options.js';
import { startTureen } from '../../src/server/index.js';
import { ok, TestClient } from './helpers.js';

test('CLI flags and environment variables for room mode, workers and the RTC port range', () => {
  const fromFlags = startOptions(
    { 'room-mode': 'sfu', 'sfu-workers': '3', 'rtc-min-port': '41000', 'rtc-max-port': '41999' },
    {},
  );
  assert.equal(fromFlags.roomMode, 'sfu');
  assert.equal(fromFlags.sfuWorkers, 3);
  assert.equal(fromFlags.rtcMinPort, 41000);
  assert.equal(fromFlags.rtcMaxPort, 41999);
  const fromEnv = startOptions(
    {},
    { TUREEN_ROOM_MODE: 'auto', TUREEN_SFU_WORKERS: '0', TUREEN_RTC_MIN_PORT: '1', TUREEN_RTC_MAX_PORT: '2' },
  );
  assert.deepEqual(
    [fromEnv.roomMode, fromEnv.sfuWorkers, fromEnv.rtcMinPort, fromEnv.rtcMaxPort],
    ['auto', 0, 1, 2],
  );
  const defaults = startOptions({}, {});
  assert.equal(defaults.roomMode, undefined);
  assert.equal(defaults.sfuWorkers, undefined);
  assert.throws(() => startOptions({ 'room-mode': 'mesh' }, {}), UsageError);
  assert.throws(() => startOptions({ 'sfu-workers': '-1' }, {}), UsageError);
  assert.throws(() => startOptions({ 'sfu-workers': 'many' }, {}), UsageError);
  assert.throws(() => startOptions({ 'rtc-min-port': '5000', 'rtc-max-port': '4000' }, {}), UsageError);
  assert.throws(() => startOptions({ 'rtc-max-port': '70000' }, {}), UsageError);
});

test('startTureen starts the worker pool, serves SFU rooms, reports load and closes the workers', {
  timeout: 30_000,
}, async () => {
  const server = await startTureen({
    host: '127.0.0.1',
    httpPort: 0,
    turnPort: 0,
    logLevel: 'silent',
    roomMode: 'sfu',
    sfuWorkers: 2,
    rtcMinPort: 44500,
    rtcMaxPort: 44999,
  });
  let closed = false;
  try {
    assert.equal(server.sfu?.pool.size, 2);
    const workers = server.sfu!.pool.workers;
    const { token } = (await (await fetch(`${server.httpUrl}/api/dev-token?room=r1&name=a`)).json()) as {
      token: string;
    };
    const c = await TestClient.connect(Number(new URL(server.httpUrl).port));
    try {
      assert.equal((await c.join(token)).mode, 'sfu');
      await ok(c, 'getRouterRtpCapabilities', {});
      const transport = await ok<{ iceCandidates: Array<{ ip: string; port: number; protocol: string }> }>(
        c,
        'createWebRtcTransport',
        { direction: 'recv' },
      );
      // Listening where the server listens, inside the configured port range.
      for (const candidate of transport.iceCandidates) {
        assert.equal(candidate.ip, '127.0.0.1');
        assert.ok(candidate.port >= 44500 && candidate.port <= 44999, String(candidate.port));
      }
      assert.deepEqual(transport.iceCandidates.map((x) => x.protocol).sort(), ['tcp', 'udp']);
      const health = (await (await fetch(`${server.httpUrl}/healthz`)).json()) as {
        sfuWorkers: Array<{ routers: number; peers: number }>;
        sfuRooms: number;
      };
      assert.equal(health.sfuRooms, 1);
      assert.deepEqual(health.sfuWorkers.map((w) => w.routers).sort(), [0, 1]);
    } finally {
      await c.close();
    }
    await server.close();
    closed = true;
    assert.ok(workers.every((w) => w.closed));
  } finally {
    if (!closed) await server.close();
  }
});

test('rooms spread over workers: each new room goes to the least-loaded one', {
  timeout: 30_000,
}, async () => {
  const { WorkerPool } = await import('../../src/rooms/index.js');
  const pool = await WorkerPool.start({ workers: 2, rtcMinPort: 45000, rtcMaxPort: 45099 });
  try {
    const routers = [];
    for (let i = 0; i < 4; i++) routers.push(await pool.createRouter({ mediaCodecs: [] }));
    assert.deepEqual(
      pool.load().map((l) => l.routers),
      [2, 2],
    );
    routers[0]!.peerAdded();
    routers[0]!.peerAdded();
    const busy = routers[0]!.workerPid;
    const next = await pool.createRouter({ mediaCodecs: [] });
    assert.notEqual(next.workerPid, busy);
    routers[0]!.close();
    assert.deepEqual(
      pool.load().find((l) => l.pid === busy),
      { pid: busy, routers: 1, peers: 0 },
    );
  } finally {
    pool.close();
  }
});

test('a room mode that needs the SFU without workers is refused', async () => {
  await assert.rejects(
    startTureen({
      host: '127.0.0.1',
      httpPort: 0,
      turnPort: 0,
      logLevel: 'silent',
      roomMode: 'sfu',
      sfuWorkers: 0,
    }),
    /needs SFU workers/,
  );
});
