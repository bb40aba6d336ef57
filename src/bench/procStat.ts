/**
 * CPU and memory figures of running processes from /proc (proc(5)): utime, stime, cutime and cstime of
 * /proc/<pid>/stat, VmHWM/VmRSS of /proc/<pid>/status, and the `/usr/bin/time -f '%e %U %S %M'` line used for
 * short-lived processes such as the connector rsync starts per connection. Parsing is pure; reading is separate.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat the benchmark uses; times in clock ticks. */
export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  utime: number;
  stime: number;
  /** Reaped children (forked socat workers, rsync daemons): added to the parent when it waits for them. */
  cutime: number;
  cstime: number;
  numThreads: number;
}

/**
 * Parses one /proc/<pid>/stat line. `comm` may hold spaces and parentheses, so fields are counted from the last
 * ')' (proc(5): field 2 is "(comm)", field 14 utime, 15 stime, 16 cutime, 17 cstime, 20 num_threads).
 */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open)
    throw new Error(`Cannot parse /proc stat line "${text.slice(0, 60)}": no "(comm)"`);
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state): field n is rest[n - 3].
  const field = (n: number): number => {
    const value = Number(rest[n - 3]);
    if (!Number.isFinite(value))
      throw new Error(
        `Cannot parse /proc stat line "${text.slice(0, 60)}": field ${n} is "${rest[n - 3] ?? ''}"`,
      );
    return value;
  };
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: rest[0] ?? '?',
    ppid: field(4),
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
    numThreads: field(20),
  };
}

/** A "Key:   123 kB" field of /proc/<pid>/status, in bytes; undefined when absent. */
export function parseStatusKb(text: string, key: string): number | undefined {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
  return m === null ? undefined : Number(m[1]) * 1024;
}

/** One `/usr/bin/time -f '%e %U %S %M'` line: wall, user and system seconds, peak RSS (KiB in, bytes out). */
export interface TimeLine {
  wallS: number;
  userS: number;
  sysS: number;
  maxRssBytes: number;
}

/** The format string the benchmark passes to /usr/bin/time; parseTimeLines reads what it writes. */
export const TIME_FORMAT = 'TIME %e %U %S %M';

/**
 * Every TIME_FORMAT line of a /usr/bin/time output file (several connectors append to one file). Lines such as
 * "Command exited with non-zero status 1" are skipped.
 */
export function parseTimeLines(text: string): TimeLine[] {
  const lines: TimeLine[] = [];
  for (const line of text.split('\n')) {
    const m = /^TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)$/.exec(line.trim());
    if (m === null) continue;
    lines.push({
      wallS: Number(m[1]),
      userS: Number(m[2]),
      sysS: Number(m[3]),
      maxRssBytes: Number(m[4]) * 1024,
    });
  }
  return lines;
}

let ticks: number | undefined;

/** Clock ticks per second (getconf CLK_TCK; 100 on every Linux we run on). */
export function clockTicks(): number {
  ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticks;
}

/** CPU seconds of a live process (all threads), with its reaped children when asked. */
export function cpuSeconds(pid: number, withChildren: boolean): number {
  const s = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return (s.utime + s.stime + (withChildren ? s.cutime + s.cstime : 0)) / clockTicks();
}

/** CPU seconds of the reaped children only (the rsync daemons a listener ran). */
export function childCpuSeconds(pid: number): number {
  const s = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return (s.cutime + s.cstime) / clockTicks();
}

/** Peak RSS (VmHWM) of a live process in bytes. */
export function peakRss(pid: number): number {
  return parseStatusKb(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmHWM') ?? Number.NaN;
}

/** Resets VmHWM to the current RSS (proc(5) clear_refs "5"), so each run reports its own peak; false if refused. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Pids whose parent is `pid` (from /proc/<n>/stat). */
export function childPids(pid: number): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (parseProcStat(readFileSync(`/proc/${name}/stat`, 'utf8')).ppid === pid) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** The command line of `pid` with spaces between arguments; '' when it is gone. */
export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}
