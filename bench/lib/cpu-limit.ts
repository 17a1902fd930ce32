/**
 * CPU budgets for benchmark processes (a cgroup per process with a CFS quota; needs root and a
 * writable cpu controller: cgroup v1 `/sys/fs/cgroup/cpu`, or cgroup v2 with `cpu.max`).
 *
 * Why: on a 2-core machine two busy SFU workers and their load generator cannot all have a core.
 * Giving each worker the same fraction of a core, and the generator the rest, shows whether two
 * workers deliver twice what one does, i.e. whether anything is shared between them.
 */
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A short period, so a capped process is throttled in slices of a few ms, not of 100 ms. */
const PERIOD_US = 10_000;

const V1_ROOT = '/sys/fs/cgroup/cpu';
const V2_ROOT = '/sys/fs/cgroup';

export interface CpuLimit {
  readonly path: string;
  /** Removes the cgroup (call once its process has exited). */
  release(): void;
}

/** Puts process `pid` in a new cgroup that may use `fraction` of one core. */
export function limitCpu(pid: number, fraction: number): CpuLimit {
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`CPU fraction ${fraction} not in (0, 1]`);
  const quota = String(Math.round(PERIOD_US * fraction));
  let path: string;
  if (existsSync(join(V1_ROOT, 'cpu.cfs_quota_us'))) {
    path = join(V1_ROOT, `tureen-bench-${pid}`);
    mkdirSync(path);
    writeFileSync(join(path, 'cpu.cfs_period_us'), String(PERIOD_US));
    writeFileSync(join(path, 'cpu.cfs_quota_us'), quota);
  } else if (existsSync(join(V2_ROOT, 'cgroup.subtree_control'))) {
    writeFileSync(join(V2_ROOT, 'cgroup.subtree_control'), '+cpu');
    path = join(V2_ROOT, `tureen-bench-${pid}`);
    mkdirSync(path);
    writeFileSync(join(path, 'cpu.max'), `${quota} ${PERIOD_US}`);
  } else {
    throw new Error('no writable cgroup cpu controller (run as root on Linux)');
  }
  writeFileSync(join(path, 'cgroup.procs'), String(pid));
  return {
    path,
    release() {
      try {
        rmdirSync(path);
      } catch {
        // Still has a process (not exited yet) or already gone: nothing else to do.
      }
    },
  };
}
