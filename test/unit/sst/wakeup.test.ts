import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitForFlush } from '../../../src/sst/flushWait.js';
import { SstTimeoutError } from '../../../src/errors.js';
import { waitForMagic } from '../../../src/sst/waitMagic.js';
import { wakeOnEntries, Wakeup } from '../../../src/sst/wakeup.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wakeup-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));
const UUID = '6a1c7f3e-2b4d-11ef-9a3c-0242ac120002';

/** Milliseconds `work` takes. */
async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

describe('Wakeup', () => {
  it('sleeps the full time when nothing wakes it', async () => {
    expect(await timed(() => new Wakeup().sleep(60))).toBeGreaterThanOrEqual(55);
  });

  it('ends a sleep as soon as it is woken', async () => {
    const wakeup = new Wakeup();
    setTimeout(() => wakeup.wake(), 20);
    expect(await timed(() => wakeup.sleep(10_000))).toBeLessThan(5000);
  });

  it('a wake with no sleeper ends the next sleep at once, and only that one', async () => {
    const wakeup = new Wakeup();
    wakeup.wake();
    wakeup.wake();
    expect(await timed(() => wakeup.sleep(10_000))).toBeLessThan(5000);
    expect(await timed(() => wakeup.sleep(60))).toBeGreaterThanOrEqual(55);
  });

  it('a timer that ran out does not leave a wake behind', async () => {
    const wakeup = new Wakeup();
    await wakeup.sleep(5);
    expect(await timed(() => wakeup.sleep(60))).toBeGreaterThanOrEqual(55);
  });

  it('rejects with the abort reason, before or during the sleep', async () => {
    const wakeup = new Wakeup();
    const aborted = new AbortController();
    aborted.abort(new Error('stop now'));
    await expect(wakeup.sleep(10_000, aborted.signal)).rejects.toThrow('stop now');
    const later = new AbortController();
    setTimeout(() => later.abort(new Error('stopped later')), 20);
    await expect(wakeup.sleep(10_000, later.signal)).rejects.toThrow('stopped later');
    // The aborted sleep is gone: a wake now is kept for the next sleep, which it ends at once.
    wakeup.wake();
    expect(await timed(() => wakeup.sleep(10_000))).toBeLessThan(5000);
  });
});

describe('wakeOnEntries()', () => {
  it('wakes on a watched name renamed into place, not on other names', async () => {
    const wakeup = new Wakeup();
    const unwatch = wakeOnEntries(dir, ['tables_flushed'], wakeup);
    try {
      writeFileSync(join(dir, 'other'), 'x');
      expect(await timed(() => wakeup.sleep(150))).toBeGreaterThanOrEqual(140);
      setTimeout(() => {
        writeFileSync(join(dir, 'tables_flushed.tmp'), 'x');
        renameSync(join(dir, 'tables_flushed.tmp'), join(dir, 'tables_flushed'));
      }, 20);
      expect(await timed(() => wakeup.sleep(10_000))).toBeLessThan(5000);
    } finally {
      unwatch();
    }
  });

  it('falls back to a no-op when the directory cannot be watched', () => {
    const unwatch = wakeOnEntries(join(dir, 'missing'), ['x'], new Wakeup());
    expect(() => unwatch()).not.toThrow();
  });
});

describe('the waits on the critical path', () => {
  it("the donor sees mysqld's tables_flushed at once, not at the next poll", async () => {
    // As mysqld does it: written aside, then renamed into place.
    setTimeout(() => {
      writeFileSync(join(dir, 'tables_flushed.tmp'), `${UUID}:42\n`);
      renameSync(join(dir, 'tables_flushed.tmp'), join(dir, 'tables_flushed'));
    }, 30);
    let state;
    const took = await timed(async () => {
      state = await waitForFlush(dir, new AbortController().signal, 60_000, 10_000);
    });
    expect(state).toEqual({ uuid: UUID, seqno: 42n });
    expect(took).toBeLessThan(5000);
  });

  it('an unanswered flush tables ends at [sst] flush-timeout with exit 110, not never', async () => {
    let caught: unknown;
    const took = await timed(async () => {
      try {
        await waitForFlush(dir, new AbortController().signal, 300, 50);
      } catch (error) {
        caught = error;
      }
    });
    expect(caught).toBeInstanceOf(SstTimeoutError);
    expect((caught as SstTimeoutError).exitCode).toBe(110);
    expect((caught as Error).message).toContain('flush-timeout');
    expect(took).toBeLessThan(5000);
  });

  it("the joiner sees the donor's marker when a connection ends, not at the next poll", async () => {
    const magic = join(dir, 'magic');
    const wakeup = new Wakeup();
    const stats = {
      sessions: 1,
      active: 0,
      bytesIn: 10,
      bytesOut: 0,
      lastActivityMs: Date.now(),
      failures: 0,
    };
    setTimeout(() => {
      writeFileSync(magic, 'uuid-1:7 0\n');
      wakeup.wake();
    }, 30);
    let text;
    const took = await timed(async () => {
      text = await waitForMagic(
        magic,
        { stats: () => stats },
        { connectTimeoutMs: 60_000, idleTimeoutMs: 60_000, pollMs: 10_000 },
        new AbortController().signal,
        wakeup,
      );
    });
    expect(text).toBe('uuid-1:7 0\n');
    expect(took).toBeLessThan(5000);
  });
});
