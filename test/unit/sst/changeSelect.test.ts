/**
 * The two-phase copy's selection rule (src/sst/changeSelect.ts), one case per hazard its header names: coarse
 * timestamps, a file modified while phase 1 read it, a file that keeps its size (and its mtime put back), new and
 * recreated files, deletions, the always-resent redo log, and a stepped clock.
 */
import { describe, expect, it } from 'vitest';
import {
  alwaysResent,
  clockDrift,
  describeReasons,
  reasonFor,
  RESEND_MARGIN_NS,
  resendSince,
  selectChanged,
  type Rule,
  type Stamp,
} from '../../../src/sst/changeSelect.js';

const S = 1_000_000_000n;
/** T0 = 1,000,000 s after the epoch; the probe agrees with the wall clock. */
const T0_MS = 1_000_000_000;
const T0 = BigInt(T0_MS) * 1_000_000n;
const since = resendSince(T0_MS, T0);
const rule: Rule = { since, everything: false, always: alwaysResent };

/** A file last written `age` before T0 (negative: after). */
function file(age: bigint, extra: Partial<Stamp> = {}): Stamp {
  const t = T0 - age;
  return { kind: 'file', dev: 1n, ino: 100n, size: 16384n, mtimeNs: t, ctimeNs: t, ...extra };
}

describe('resendSince()', () => {
  it('is T0 minus the margin, or the file system clock minus the margin when that clock lags', () => {
    expect(resendSince(T0_MS, undefined)).toBe(T0 - RESEND_MARGIN_NS);
    expect(resendSince(T0_MS, T0 + 5n * S)).toBe(T0 - RESEND_MARGIN_NS);
    expect(resendSince(T0_MS, T0 - 30n * S)).toBe(T0 - 30n * S - RESEND_MARGIN_NS);
  });
});

describe('reasonFor()', () => {
  it('skips a file untouched since well before the copy began', () => {
    const old = file(3600n * S);
    expect(reasonFor(old, { ...old }, 'db/t.ibd', rule)).toBeUndefined();
  });

  it('re-sends a file changed in place within one coarse tick of T0 (mtime unchanged since S0)', () => {
    // 1-s granularity: the change at T0 + 0.4 s is stamped T0 - 0.6 s, identical to the S0 stamp taken at T0.
    const coarse = file(600_000_000n);
    expect(reasonFor(coarse, { ...coarse }, 'db/t.ibd', rule)).toBe('recent');
  });

  it('re-sends a file stamped on a 2-second file system (FAT) just before T0', () => {
    const fat = file(2n * S);
    expect(reasonFor(fat, { ...fat }, 'db/t.ibd', rule)).toBe('recent');
  });

  it('re-sends a file modified while phase 1 read it, same size', () => {
    const before = file(3600n * S);
    const now = file(-5n * S); // written 5 s into phase 1
    expect(reasonFor(before, now, 'db/t.ibd', rule)).toBe('changed');
  });

  it('re-sends a file whose mtime was put back: its ctime moved', () => {
    const before = file(3600n * S);
    const now = { ...before, ctimeNs: T0 + 7n * S };
    expect(reasonFor(before, now, 'db/t.ibd', rule)).toBe('changed');
  });

  it('re-sends a file whose stamps match S0 but lie after the reference (modified between T0 and S0)', () => {
    const racy = file(-1n * S);
    expect(reasonFor(racy, { ...racy }, 'db/t.ibd', rule)).toBe('recent');
  });

  it('re-sends a table dropped and recreated under the same name: a new inode', () => {
    const before = file(3600n * S);
    expect(reasonFor(before, { ...before, ino: 101n }, 'db/t.ibd', rule)).toBe('changed');
  });

  it('re-sends a file that grew or shrank, even with an old mtime', () => {
    const before = file(3600n * S);
    expect(reasonFor(before, { ...before, size: 32768n }, 'db/t.ibd', rule)).toBe('changed');
  });

  it('re-sends a name phase 1 did not see', () => {
    expect(reasonFor(undefined, file(3600n * S), 'db/new.ibd', rule)).toBe('new');
  });

  it('always re-sends the redo log and the binlog tarball, whatever their stamps', () => {
    const old = file(3600n * S);
    expect(reasonFor(old, { ...old }, 'ib_logfile0', rule)).toBe('always');
    expect(reasonFor(old, { ...old }, 'wsrep_sst_binlog.tar', rule)).toBe('always');
    expect(reasonFor(old, { ...old }, 'ibdata1', rule)).toBeUndefined();
  });

  it('re-sends everything when the clock stepped', () => {
    const old = file(3600n * S);
    expect(reasonFor(old, { ...old }, 'db/t.ibd', { ...rule, everything: true })).toBe('everything');
  });
});

describe('selectChanged()', () => {
  const dir = (age: bigint): Stamp => ({ ...file(age), kind: 'dir', size: 4096n, ino: 7n });

  it('sends nothing and deletes nothing in an idle database', () => {
    const s0 = new Map([
      ['.', dir(3600n * S)],
      ['a.ibd', file(3600n * S, { ino: 1n })],
      ['b.ibd', file(7200n * S, { ino: 2n })],
    ]);
    const sel = selectChanged(s0, new Map(s0), rule);
    expect(sel).toEqual({ send: [], deletions: false, reasons: {}, bytes: 0 });
  });

  it('sends the changed and new files, and asks for deletions when a table was dropped', () => {
    const s0 = new Map([
      ['.', dir(3600n * S)],
      ['a.ibd', file(3600n * S, { ino: 1n })],
      ['b.ibd', file(3600n * S, { ino: 2n })],
      ['gone.ibd', file(3600n * S, { ino: 3n })],
    ]);
    const s1 = new Map([
      ['.', dir(-2n * S)],
      ['a.ibd', file(-3n * S, { ino: 1n })],
      ['b.ibd', file(3600n * S, { ino: 2n })],
      ['new.ibd', file(-1n * S, { ino: 4n, size: 100n })],
    ]);
    const sel = selectChanged(s0, s1, rule);
    expect(sel.send).toEqual(['.', 'a.ibd', 'new.ibd']);
    expect(sel.deletions).toBe(true);
    expect(sel.bytes).toBe(16384 + 100);
    expect(describeReasons(sel.reasons)).toBe('1 new, 2 changed');
  });

  it('asks for deletions when a name vanished even if the directory stamps say nothing (belt and braces)', () => {
    const s0 = new Map([
      ['.', dir(3600n * S)],
      ['x', file(3600n * S)],
    ]);
    expect(selectChanged(s0, new Map([['.', dir(3600n * S)]]), rule).deletions).toBe(true);
  });

  it('asks for deletions when a name changed kind (a file became a directory)', () => {
    const s0 = new Map([['x', file(3600n * S)]]);
    const s1 = new Map([['x', { ...dir(-1n * S), ino: 100n }]]);
    expect(selectChanged(s0, s1, rule).deletions).toBe(true);
  });

  it('sends a whole scope phase 1 never saw (a database created during it), with deletions', () => {
    const s1 = new Map([
      ['.', dir(-1n * S)],
      ['t.ibd', file(-1n * S)],
    ]);
    const sel = selectChanged(undefined, s1, rule);
    expect(sel.send).toEqual(['.', 't.ibd']);
    expect(sel.deletions).toBe(true);
  });

  it('sends every entry of a scope phase 1 could not read completely', () => {
    const s0 = new Map([['a', file(3600n * S)]]);
    const sel = selectChanged(s0, new Map(s0), { ...rule, everything: true });
    expect(sel.send).toEqual(['a']);
    expect(sel.deletions).toBe(true);
  });
});

describe('clockDrift()', () => {
  it('is 0 while wall and monotonic time advance together', () => {
    expect(
      clockDrift([
        { wallMs: 1000, monoMs: 5 },
        { wallMs: 1200, monoMs: 205 },
        { wallMs: 61_000, monoMs: 60_005 },
      ]),
    ).toBe(0);
  });

  it('sees a step back and a step forward, whichever is larger', () => {
    const samples = [
      { wallMs: 10_000, monoMs: 0 },
      { wallMs: 7_200, monoMs: 200 }, // stepped back 3 s
      { wallMs: 12_400, monoMs: 400 }, // and forward again
    ];
    expect(clockDrift(samples)).toBe(3000);
    expect(clockDrift([])).toBe(0);
  });
});
