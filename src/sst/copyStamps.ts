/**
 * The I/O half of the two-phase copy's rule (changeSelect.ts): stamps of every entry a pass sends, the file
 * system's own clock read through a probe file, and a watch on the wall clock against the monotonic one.
 */
import { lstatSync, readdirSync, rmSync, statSync, writeFileSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { clockDrift, type ClockSample, type Stamp } from './changeSelect.js';
import type { PassScope } from './passes.js';

function stampOf(st: BigIntStats): Stamp {
  const kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : 'other';
  return { kind, dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

/**
 * Stamps of a tree as rsync `dir/` sees it: the top followed if it is a symlink, nothing below followed; '.' is
 * the directory itself. Entries that vanish while it walks are left out (they are gone: a deletion).
 */
export function stampTree(root: string): Map<string, Stamp> {
  const stamps = new Map<string, Stamp>();
  let top: BigIntStats;
  try {
    top = statSync(root, { bigint: true });
  } catch {
    return stamps;
  }
  stamps.set('.', stampOf(top));
  if (!top.isDirectory()) return stamps;
  const stack: string[] = [''];
  while (stack.length > 0) {
    const rel = stack.pop() as string;
    let names: string[];
    try {
      names = readdirSync(join(root, rel));
    } catch {
      continue;
    }
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      try {
        const stamp = stampOf(lstatSync(join(root, path), { bigint: true }));
        stamps.set(path, stamp);
        if (stamp.kind === 'dir') stack.push(path);
      } catch {
        // vanished between readdir and lstat
      }
    }
  }
  return stamps;
}

/** Stamps of named files in `dir`, and of `dir` itself as '.'. */
export function stampFiles(dir: string, names: readonly string[]): Map<string, Stamp> {
  const stamps = new Map<string, Stamp>();
  for (const name of ['.', ...names]) {
    try {
      stamps.set(name, stampOf(lstatSync(join(dir, name), { bigint: true })));
    } catch {
      // absent
    }
  }
  return stamps;
}

/** A probe file's name in the datadir; never sent (the root pass sends only the names it lists). */
export const CLOCK_PROBE = 'sst_tunnel_clock_probe';

/**
 * The file system's clock now, as it stamps files: writes and removes a probe file in `dir`. Undefined when it
 * cannot (a read-only datadir): the wall clock alone is then the reference.
 */
export function probeFsClock(dir: string): bigint | undefined {
  const path = join(dir, CLOCK_PROBE);
  try {
    writeFileSync(path, '', { mode: 0o600 });
    return statSync(path, { bigint: true }).mtimeNs;
  } catch {
    return undefined;
  } finally {
    rmSync(path, { force: true });
  }
}

/** Samples wall and monotonic time together every `intervalMs` until stopped; reports the largest drift. */
export class ClockWatch {
  readonly startedWallMs: number;
  private readonly samples: ClockSample[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 200) {
    this.sample();
    this.startedWallMs = (this.samples[0] as ClockSample).wallMs;
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    this.samples.push({ wallMs: Date.now(), monoMs: performance.now() });
    // Only the first sample and the worst drift matter: keep memory flat over a day-long copy.
    if (this.samples.length > 2) {
      const first = this.samples[0] as ClockSample;
      const worst = this.samples
        .slice(1)
        .reduce((a, b) => (clockDrift([first, a]) >= clockDrift([first, b]) ? a : b));
      this.samples.length = 0;
      this.samples.push(first, worst);
    }
  }

  /** The largest drift seen so far, in ms, after one more sample. */
  drift(): number {
    this.sample();
    return clockDrift(this.samples);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Stamps of everything a pass's scope covers (changeSelect.ts). */
export function stampScope(scope: PassScope): Map<string, Stamp> {
  return scope.kind === 'tree' ? stampTree(scope.dir) : stampFiles(scope.dir, scope.names);
}
