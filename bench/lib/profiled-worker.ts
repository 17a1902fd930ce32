/**
 * SFU worker entry that records a V8 CPU profile of the worker (benchmarks): starts the
 * inspector's profiler, runs the normal worker entry, and writes the profile to
 * $BENCH_PROFILE_DIR/worker-<pid>.cpuprofile when the worker is closed (SIGTERM) or its parent
 * goes away. Open it in Chrome DevTools or summarise it with bench/lib/cpuprofile-top.ts.
 *
 * SIGUSR2 (which the worker otherwise ignores) runs a full GC and appends the live heap size in
 * bytes to $BENCH_PROFILE_DIR/worker-<pid>.heap, one line per signal (memory per consumer).
 * BENCH_TRACE_DEOPT=1 turns on V8's --trace-deopt (on the worker's stdout).
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
if (process.env.BENCH_TRACE_DEOPT) setFlagsFromString('--trace-deopt');
const gc = runInNewContext('gc') as () => void;
process.on('SIGUSR2', () => {
  gc();
  const file = join(process.env.BENCH_PROFILE_DIR ?? '.', `worker-${process.pid}.heap`);
  appendFileSync(file, `${process.memoryUsage().heapUsed}\n`);
});

const session = new Session();
session.connect();
session.post('Profiler.setSamplingInterval', { interval: 200 });
session.post('Profiler.enable');
session.post('Profiler.start');
let written = false;
const writeProfile = (): void => {
  if (written) return;
  written = true;
  // An in-process session answers synchronously, so this works from 'exit' as well.
  session.post('Profiler.stop', (error, result) => {
    if (error) return;
    const file = join(process.env.BENCH_PROFILE_DIR ?? '.', `worker-${process.pid}.cpuprofile`);
    writeFileSync(file, JSON.stringify(result.profile));
  });
};
process.on('SIGTERM', () => {
  writeProfile();
  process.exit(0);
});
process.on('exit', writeProfile);
await import('../../src/sfu/worker/main.js');
