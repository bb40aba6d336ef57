import { describe, expect, it } from 'vitest';
import { runDataPasses, type DataPasses } from '../../../src/sst/mixedPool.js';
import type { Pass } from '../../../src/sst/passes.js';

const MiB = 1024 * 1024;

function pass(name: string, mib: number, flag = '--whole-file'): Pass {
  return { name, cwd: '/d', args: [flag, name], first: false, bytes: mib * MiB };
}

/** A runner whose passes end when the test says: records what started, in order, with the signal it got. */
function manualRunner(): {
  run: (p: Pass, signal: AbortSignal) => Promise<void>;
  started: string[];
  signals: Map<string, AbortSignal>;
  finish: (name: string, error?: Error) => Promise<void>;
} {
  const started: string[] = [];
  const signals = new Map<string, AbortSignal>();
  const ends = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  return {
    started,
    signals,
    run: (p, signal) =>
      new Promise<void>((resolve, reject) => {
        const label = `${p.args[0] === '--whole-file' ? 'whole' : 'delta'}:${p.name}`;
        started.push(label);
        signals.set(label, signal);
        ends.set(label, { resolve, reject });
      }),
    finish: async (label, error) => {
      const end = ends.get(label);
      if (end === undefined) throw new Error(`${label} has not started (started: ${started.join(', ')})`);
      if (error === undefined) end.resolve();
      else end.reject(error);
      // Let the workers take their next pass.
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
  };
}

const dirs = (flag: string): Pass[] => [
  pass('db1', 340, flag),
  pass('db2', 340, flag),
  pass('db3', 200, flag),
];

describe('runDataPasses', () => {
  it('not mixed: the classes one after another, then the directories, backup-threads at once', async () => {
    const r = manualRunner();
    const plan: DataPasses = { classes: [pass('innodb', 100), pass('aria', 1)], dirs: dirs('--whole-file') };
    const done = runDataPasses(plan, 2, new AbortController().signal, r.run);
    await r.finish('whole:innodb');
    expect(r.started).toEqual(['whole:innodb', 'whole:aria']);
    await r.finish('whole:aria');
    expect(r.started.slice(2)).toEqual(['whole:db1', 'whole:db2']);
    await r.finish('whole:db2');
    expect(r.started.slice(4)).toEqual(['whole:db3']);
    await r.finish('whole:db1');
    await r.finish('whole:db3');
    await expect(done).resolves.toBeUndefined();
  });

  it('mixed: the whole-file worker takes the classes and the largest directory; a delta worker the largest it finishes in time', async () => {
    const r = manualRunner();
    let now = 0;
    const plan: DataPasses = {
      classes: [pass('innodb', 110)],
      dirs: dirs('--whole-file'),
      mixed: {
        deltaDirs: dirs('--block-size=1024'),
        rates: { whole: 96 * MiB, delta: 64 * MiB },
        deltaWorkers: 1,
      },
    };
    const done = runDataPasses(plan, 2, new AbortController().signal, r.run, () => now);
    await Promise.resolve();
    // db1 (340 MiB) by deltas: 5.3 s; the whole side's other 110 + 540 MiB at 96 MiB/s: 6.8 s. Both start at once.
    expect(r.started).toEqual(['whole:innodb', 'delta:db1']);
    now = 1200;
    await r.finish('whole:innodb');
    expect(r.started.slice(2)).toEqual(['whole:db2']);
    now = 4900;
    await r.finish('whole:db2');
    expect(r.started.slice(3)).toEqual(['whole:db3']);
    // db1 done at 5.3 s; nothing left for deltas.
    now = 5300;
    await r.finish('delta:db1');
    now = 7100;
    await r.finish('whole:db3');
    await expect(done).resolves.toEqual({ whole: ['db2', 'db3'], delta: ['db1'] });
  });

  it("mixed: a delta worker takes another directory only while it would finish before the whole side, at the sides' measured rates", async () => {
    const r = manualRunner();
    let now = 0;
    const five = (flag: string): Pass[] => [
      pass('db1', 300, flag),
      ...['db2', 'db3', 'db4', 'db5'].map((name) => pass(name, 120, flag)),
    ];
    const plan: DataPasses = {
      classes: [],
      dirs: five('--whole-file'),
      mixed: {
        deltaDirs: five('--block-size=1024'),
        rates: { whole: 96 * MiB, delta: 64 * MiB },
        deltaWorkers: 1,
      },
    };
    const done = runDataPasses(plan, 2, new AbortController().signal, r.run, () => now);
    await Promise.resolve();
    // The whole side takes db1 at once; deltas take db2 (1.9 s against the rest's 660 MiB at 96 MiB/s, 6.9 s).
    expect(r.started).toEqual(['whole:db1', 'delta:db2']);
    now = 1900;
    await r.finish('delta:db2');
    // The whole side has ~118 MiB of db1 left at 96 MiB/s, plus db3-db5: db3 by deltas (1.9 s) still pays.
    expect(r.started.slice(2)).toEqual(['delta:db3']);
    now = 3000;
    await r.finish('whole:db1'); // 300 MiB in 3 s: the whole side now plans with 100 MiB/s
    expect(r.started.slice(3)).toEqual(['whole:db4']);
    now = 3800;
    await r.finish('delta:db3');
    // The whole side has ~40 MiB of db4 and db5 (0.4 s + 1.2 s) left; db5 by deltas would take 1.9 s: refused.
    expect(r.started.slice(4)).toEqual([]);
    now = 4200;
    await r.finish('whole:db4');
    expect(r.started.slice(4)).toEqual(['whole:db5']);
    now = 5400;
    await r.finish('whole:db5');
    await expect(done).resolves.toEqual({ whole: ['db1', 'db4', 'db5'], delta: ['db2', 'db3'] });
  });

  it('mixed: a failed pass aborts the other side and is thrown; no pass starts after it', async () => {
    const r = manualRunner();
    const plan: DataPasses = {
      classes: [],
      dirs: dirs('--whole-file'),
      mixed: {
        deltaDirs: dirs('--block-size=1024'),
        rates: { whole: 96 * MiB, delta: 64 * MiB },
        deltaWorkers: 1,
      },
    };
    const done = runDataPasses(plan, 2, new AbortController().signal, r.run);
    await Promise.resolve();
    expect(r.started).toEqual(['whole:db1', 'delta:db2']);
    await r.finish('delta:db2', new Error('rsync pass "directory db2" failed with exit code 12'));
    expect(r.signals.get('whole:db1')?.aborted).toBe(true);
    await r.finish('whole:db1');
    await expect(done).rejects.toThrow('directory db2" failed');
    expect(r.started).toEqual(['whole:db1', 'delta:db2']);
  });
});
