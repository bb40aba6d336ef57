import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clockTicks, parseProcStat, type ProcStat } from '../../../src/bench/procStat.js';
import { classifyComm, TreeCpuSampler, type ProcReader } from '../../../src/bench/treeSampler.js';

describe('classifyComm', () => {
  it('counts our node processes, stunnel and socat as tunnel, rsync as rsync, the rest as other', () => {
    expect(classifyComm('node')).toBe('tunnel');
    expect(classifyComm('stunnel')).toBe('tunnel');
    expect(classifyComm('stunnel4')).toBe('tunnel');
    expect(classifyComm('socat')).toBe('tunnel');
    expect(classifyComm('rsync')).toBe('rsync');
    expect(classifyComm('bash')).toBe('other');
    expect(classifyComm('nodejs-helper')).toBe('other');
  });
});

/** A scripted process table: each step is what /proc shows at one sample. */
interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  own: number;
  reaped?: number;
}
function scripted(steps: Proc[][]): { reader: ProcReader; next(): void } {
  let step = 0;
  const now = (): Proc[] => steps[Math.min(step, steps.length - 1)] ?? [];
  return {
    reader: {
      children: (pid) =>
        now()
          .filter((p) => p.ppid === pid)
          .map((p) => p.pid),
      stat: (pid): ProcStat | undefined => {
        const p = now().find((q) => q.pid === pid);
        if (p === undefined) return undefined;
        return {
          pid,
          comm: p.comm,
          state: 'S',
          ppid: p.ppid,
          utime: p.own,
          stime: 0,
          cutime: p.reaped ?? 0,
          cstime: 0,
          numThreads: 1,
        };
      },
    },
    next: () => void step++,
  };
}
/** Runs a sampler over the steps (the first is read by start(), the last by stop()); ticks per class. */
function sampleAll(steps: Proc[][]): { tunnel: number; rsync: number; other: number } {
  const table = scripted(steps);
  const sampler = new TreeCpuSampler(() => [1], 1_000_000, table.reader);
  sampler.start();
  for (let i = 1; i < steps.length; i++) {
    table.next();
    if (i < steps.length - 1) (sampler as unknown as { sample(): void }).sample();
  }
  const [side] = sampler.stop();
  const t = clockTicks();
  return { tunnel: (side?.tunnel ?? 0) * t, rsync: (side?.rsync ?? 0) * t, other: (side?.other ?? 0) * t };
}

describe('TreeCpuSampler', () => {
  it('counts what a process used after its last reading, from its parent reaping it', () => {
    const root = { pid: 1, ppid: 0, comm: 'mariadbd', own: 500 };
    const figures = sampleAll([
      [root],
      [root, { pid: 2, ppid: 1, comm: 'rsync', own: 3 }, { pid: 3, ppid: 2, comm: 'stunnel', own: 4 }],
      [root, { pid: 2, ppid: 1, comm: 'rsync', own: 6 }, { pid: 3, ppid: 2, comm: 'stunnel', own: 10 }],
      // stunnel exited with 25 ticks and rsync reaped it; rsync is still here.
      [root, { pid: 2, ppid: 1, comm: 'rsync', own: 7, reaped: 25 }],
      [root, { pid: 2, ppid: 1, comm: 'rsync', own: 9, reaped: 25 }],
    ]);
    expect(figures.tunnel).toBeCloseTo(25);
    expect(figures.rsync).toBeCloseTo(9);
    expect(figures.other).toBe(0);
  });

  it('finds the surviving ancestor when a process and its parent vanish together, and shares by use', () => {
    const root = { pid: 1, ppid: 0, comm: 'mariadbd', own: 0 };
    const figures = sampleAll([
      [root],
      [
        root,
        { pid: 2, ppid: 1, comm: 'sh', own: 0 },
        { pid: 3, ppid: 2, comm: 'stunnel', own: 8 },
        { pid: 4, ppid: 1, comm: 'rsync', own: 2 },
      ],
      // sh (0 ticks seen, 0 used) and stunnel (8 seen, 20 in the end) are gone: root reaped 20 ticks.
      [root, { pid: 4, ppid: 1, comm: 'rsync', own: 2 }].map((p) => (p.pid === 1 ? { ...p, reaped: 20 } : p)),
      [
        { ...root, reaped: 20 },
        { pid: 4, ppid: 1, comm: 'rsync', own: 2 },
      ],
    ]);
    expect(figures.tunnel).toBeCloseTo(20);
    expect(figures.other).toBeCloseTo(0);
    expect(figures.rsync).toBeCloseTo(2);
  });

  it('does not count time reaped by a parent whose exited children it never saw, nor the roots', () => {
    const root = { pid: 1, ppid: 0, comm: 'mariadbd', own: 0 };
    const figures = sampleAll([[root], [{ ...root, own: 50, reaped: 7 }], [{ ...root, own: 90, reaped: 7 }]]);
    expect(figures).toEqual({ tunnel: 0, rsync: 0, other: 0 });
  });

  it('matches the CPU the kernel charged to exited descendants, short-lived ones included', async () => {
    const reaped = (): number => {
      const s = parseProcStat(readFileSync('/proc/self/stat', 'utf8'));
      return (s.cutime + s.cstime) / clockTicks();
    };
    const before = reaped();
    const sampler = new TreeCpuSampler(() => [process.pid]);
    sampler.start();
    // Four node grandchildren (class "tunnel") of ~150 ms CPU each under a shell (class "other"): with only the
    // last readings, about half an interval of each was lost.
    const burn = `"${process.execPath}" -e "const t=Date.now(); while (Date.now()-t<150);"`;
    const child = spawn('sh', ['-c', `${burn}; ${burn}; ${burn}; ${burn}; true`]);
    await new Promise((resolve) => child.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 30));
    const [side] = sampler.stop();
    const actual = reaped() - before;
    const tick = 1 / clockTicks();
    expect(side?.rsync).toBe(0);
    expect((side?.tunnel ?? 0) + (side?.other ?? 0)).toBeGreaterThan(actual - 2 * tick);
    expect((side?.tunnel ?? 0) + (side?.other ?? 0)).toBeLessThan(actual + 2 * tick);
    expect(side?.tunnel).toBeGreaterThan(0.8 * actual);
  });
});
