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

  it('mixed: the whole-file worker takes the classes and the largest directories, a delta worker the smallest it finishes in time', async () => {
    const r = manualRunner();
    const plan: DataPasses = {
      classes: [pass('innodb', 110)],
      dirs: dirs('--whole-file'),
      mixed: {
        deltaDirs: dirs('--block-size=1024'),
        rates: { whole: 96 * MiB, delta: 64 * MiB },
        deltaWorkers: 1,
      },
    };
    const done = runDataPasses(plan, 2, new AbortController().signal, r.run);
    await Promise.resolve();
    // db3 (200 MiB) by deltas: 3.1 s; the whole side's 110 + 680 MiB: 8.2 s. Both sides start at once.
    expect(r.started).toEqual(['whole:innodb', 'delta:db3']);
    await r.finish('delta:db3');
    // Next smallest: db2 (340 MiB, 5.3 s by deltas) against the whole side's 110 + 340 MiB (4.7 s): left alone,
    // and the delta worker stops.
    expect(r.started).toEqual(['whole:innodb', 'delta:db3']);
    await r.finish('whole:innodb');
    expect(r.started.slice(2)).toEqual(['whole:db1']);
    await r.finish('whole:db1');
    expect(r.started.slice(3)).toEqual(['whole:db2']);
    await r.finish('whole:db2');
    await expect(done).resolves.toEqual({ whole: ['db1', 'db2'], delta: ['db3'] });
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
    expect(r.started).toEqual(['whole:db1', 'delta:db3']);
    await r.finish('delta:db3', new Error('rsync pass "directory db3" failed with exit code 12'));
    expect(r.signals.get('whole:db1')?.aborted).toBe(true);
    await r.finish('whole:db1');
    await expect(done).rejects.toThrow('directory db3" failed');
    expect(r.started).toEqual(['whole:db1', 'delta:db3']);
  });
});
