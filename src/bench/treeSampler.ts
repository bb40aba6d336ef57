/**
 * CPU of everything a process tree runs, split into tunnel and rsync, for the full-SST suite. An SST is many
 * short- and long-lived processes started by two mariadbd (the scripts, their rsyncs, connectors, stunnel), so no
 * single pid can be read at the end. The sampler walks the descendants of each root every `intervalMs` and keeps
 * each process's last CPU reading; a process started after the sampler counts from zero. What a process spends in
 * its last interval before it exits is lost (at most 100 ms each, a few per SST pass), the same for every method.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { clockTicks, parseProcStat } from './procStat.js';

/** What a process's CPU counts as. */
export type CpuClass = 'tunnel' | 'rsync' | 'other';

/** Tunnel programs by process name: our SST process and connectors (node), stunnel, socat. */
export function classifyComm(comm: string): CpuClass {
  if (comm === 'rsync') return 'rsync';
  if (/^(node|stunnel\d?|socat)$/.test(comm)) return 'tunnel';
  return 'other';
}

/** Direct children of `pid`, across all its threads (/proc/<pid>/task/<tid>/children). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const task of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' '))
        if (c.trim() !== '') out.push(Number(c));
    } catch {
      // the thread is gone
    }
  }
  return out;
}

/** CPU seconds per class, for one side. */
export type ClassSeconds = Record<CpuClass, number>;

interface Seen {
  side: number;
  cls: CpuClass;
  baseTicks: number;
  lastTicks: number;
}

/** Samples the descendants of a list of roots (their own CPU is not counted); sides are indexes into that list. */
export class TreeCpuSampler {
  private readonly seen = new Map<number, Seen>();
  private timer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(
    private readonly roots: () => (number | undefined)[],
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.sample();
    this.started = true;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  /** Stops sampling; CPU seconds per class for each root, in the order of `roots()`. */
  stop(): ClassSeconds[] {
    clearInterval(this.timer);
    this.sample();
    const sides = this.roots().map(() => ({ tunnel: 0, rsync: 0, other: 0 }));
    for (const s of this.seen.values()) {
      const side = sides[s.side];
      if (side !== undefined) side[s.cls] += (s.lastTicks - s.baseTicks) / clockTicks();
    }
    return sides;
  }

  private sample(): void {
    for (const [side, root] of this.roots().entries()) {
      if (root === undefined) continue;
      const queue = childrenOf(root);
      for (let i = 0; i < queue.length; i++) {
        const pid = queue[i] as number;
        queue.push(...childrenOf(pid));
        let stat;
        try {
          stat = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
        } catch {
          continue; // gone between the listing and the read
        }
        const ticks = stat.utime + stat.stime;
        const known = this.seen.get(pid);
        if (known === undefined) {
          // Before start(): count from now. After: the process is new, its whole CPU counts.
          this.seen.set(pid, {
            side,
            cls: classifyComm(stat.comm),
            baseTicks: this.started ? 0 : ticks,
            lastTicks: ticks,
          });
        } else {
          known.lastTicks = Math.max(known.lastTicks, ticks);
          // A fork that exec()s changes its name (bash → rsync): class by the latest name.
          known.cls = classifyComm(stat.comm);
        }
      }
    }
  }
}
