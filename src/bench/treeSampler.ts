/**
 * CPU of everything a process tree runs, split into tunnel and rsync, for the full-SST suite. An SST is many
 * short- and long-lived processes started by two mariadbd (the scripts, their rsyncs, connectors, stunnel), so no
 * single pid can be read at the end. The sampler walks the descendants of each root every `intervalMs` and keeps
 * each process's last CPU reading; a process started after the sampler counts from zero.
 *
 * What a process spends after its last reading is not lost: when its parent reaps it, the kernel adds its final
 * CPU (and that of everything it reaped) to the parent's cutime/cstime. At each sample, the growth of a
 * surviving ancestor's reaped-children time beyond what the vanished processes under it were last seen with is
 * their unseen CPU, shared among them in proportion to what they were seen using. Without this, each process lost
 * up to one interval (100 ms) at its end: a method that starts a tunnel process per rsync connection (MariaDB's
 * stunnel client) was under-counted by ~50 ms per connection, one long-lived process (ours) by ~50 ms once.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { clockTicks, parseProcStat, type ProcStat } from './procStat.js';

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

/** How the sampler reads processes (tests give a scripted tree). */
export interface ProcReader {
  children(pid: number): number[];
  /** undefined when the process is gone. */
  stat(pid: number): ProcStat | undefined;
}

const procReader: ProcReader = {
  children: childrenOf,
  stat: (pid) => {
    try {
      return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return undefined; // gone between the listing and the read
    }
  },
};

interface Seen {
  side: number;
  cls: CpuClass;
  /** A root: read for its reaped-children time only, its own CPU never counts. */
  root: boolean;
  ppid: number;
  baseTicks: number;
  lastTicks: number;
  /** cutime + cstime at the last reading, and at the one before it. */
  childTicks: number;
  prevChildTicks: number;
  /** Ticks it never was seen using, found when it was reaped (see the header). */
  unseenTicks: number;
  alive: boolean;
}

/** Samples the descendants of a list of roots (their own CPU is not counted); sides are indexes into that list. */
export class TreeCpuSampler {
  private readonly seen = new Map<number, Seen>();
  private timer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(
    private readonly roots: () => (number | undefined)[],
    private readonly intervalMs = 100,
    private readonly reader: ProcReader = procReader,
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
      if (side !== undefined && !s.root)
        side[s.cls] += (s.lastTicks - s.baseTicks + s.unseenTicks) / clockTicks();
    }
    return sides;
  }

  private sample(): void {
    const found = new Set<number>();
    for (const [side, root] of this.roots().entries()) {
      if (root === undefined) continue;
      this.read(root, side, true, found);
      const queue = this.reader.children(root);
      for (let i = 0; i < queue.length; i++) {
        const pid = queue[i] as number;
        queue.push(...this.reader.children(pid));
        this.read(pid, side, false, found);
      }
    }
    if (this.started) this.accountExits(found);
  }

  private read(pid: number, side: number, root: boolean, found: Set<number>): void {
    const stat = this.reader.stat(pid);
    if (stat === undefined) return;
    found.add(pid);
    const ticks = stat.utime + stat.stime;
    const childTicks = stat.cutime + stat.cstime;
    const known = this.seen.get(pid);
    if (known === undefined) {
      // Before start(): count from now. After: the process is new, its whole CPU counts.
      this.seen.set(pid, {
        side,
        cls: classifyComm(stat.comm),
        root,
        ppid: stat.ppid,
        baseTicks: this.started ? 0 : ticks,
        lastTicks: ticks,
        childTicks,
        prevChildTicks: childTicks,
        unseenTicks: 0,
        alive: true,
      });
      return;
    }
    known.lastTicks = Math.max(known.lastTicks, ticks);
    known.prevChildTicks = known.childTicks;
    known.childTicks = Math.max(known.childTicks, childTicks);
    known.ppid = stat.ppid;
    known.alive = true;
    // A fork that exec()s changes its name (bash → rsync): class by the latest name.
    known.cls = classifyComm(stat.comm);
  }

  /** Gives the processes that vanished since the last sample the CPU their surviving ancestor's reaping shows. */
  private accountExits(found: Set<number>): void {
    const gone = new Map<number, Seen[]>();
    for (const [pid, s] of this.seen) {
      if (!s.alive || found.has(pid)) continue;
      s.alive = false;
      // The nearest ancestor still here reaped it (directly, or through a parent that vanished too).
      let anchor = s.ppid;
      while (!found.has(anchor) && this.seen.get(anchor)?.alive === false)
        anchor = this.seen.get(anchor)?.ppid ?? 0;
      if (!found.has(anchor)) continue; // reparented outside the tree: its end is not visible
      const group = gone.get(anchor) ?? [];
      group.push(s);
      gone.set(anchor, group);
    }
    for (const [anchor, group] of gone) {
      const parent = this.seen.get(anchor);
      if (parent === undefined) continue;
      const reaped = parent.childTicks - parent.prevChildTicks;
      const explained = group.reduce((sum, s) => sum + s.lastTicks + s.childTicks, 0);
      const unseen = reaped - explained;
      if (unseen <= 0) continue;
      const counted = group.filter((s) => !s.root);
      const weights = counted.map((s) => s.lastTicks - s.baseTicks);
      const total = weights.reduce((a, b) => a + b, 0);
      counted.forEach((s, i) => {
        s.unseenTicks += total > 0 ? (unseen * (weights[i] ?? 0)) / total : unseen / counted.length;
      });
    }
  }
}
