import { describe, expect, it } from 'vitest';
import {
  donorPhaseLines,
  donorWindowFromLog,
  renderReadonlyTable,
  renderVerdicts,
  summarizeReadonly,
  verdicts,
  type ReadonlyRecord,
} from '../../../src/bench/readonlyWindow.js';

// Lines from real donor logs (MariaDB 10.11.19 + galera-4, `bench --only readonly --sst-mib 64`, 2026-12-06).
const PLAIN_RSYNC = [
  "2026-12-06  3:04:12 0 [Note] WSREP: Running: 'wsrep_sst_rsync --role 'donor' --address '127.0.0.25:4444/rsync_sst'",
  'WSREP_SST: [INFO] Tables flushed (20261206 03:04:13.023)',
  'WSREP_SST: [INFO] Transfer of normal directories done (20261206 03:04:14.100)',
  'WSREP_SST: [INFO] Sending continue to donor (20261206 03:04:15.070)',
  '2026-12-06  3:04:15 0 [Note] WSREP: resuming provider at 31',
].join('\n');

const OURS_TWO_PHASE = [
  'WSREP_SST: [INFO] donor: Phase 1 (donor writable): sending the data set before "flush tables" (20261206 03:04:27.137)',
  'WSREP_SST: [INFO] donor: Phase 1 done: 225.0 MiB of data, 225.0 MiB on the wire in 1.9 s (20261206 03:04:29.026)',
  'WSREP_SST: [INFO] donor: Tables flushed at position b26aab98-f121-11f1-9ec7-375c47e1f3c0:33 (20261206 03:04:29.053)',
  'WSREP_SST: [INFO] donor: Phase 2 (read-only): re-sending 5 entries, 76.1 MiB (1 new, 4 changed, 1 always) in 3 passes (20261206 03:04:29.089)',
  'WSREP_SST: [INFO] donor: Phase 2 done: 76.1 MiB of data (5 entries), 76.1 MiB on the wire in 0.6 s (20261206 03:04:29.726)',
  'WSREP_SST: [INFO] donor: Read-only window (tables_flushed to continue): 0.7 s (20261206 03:04:29.726)',
  '2026-12-06  3:04:29 0 [Note] WSREP: Provider resumed.',
].join('\n');

describe('donorWindowFromLog()', () => {
  it("reads MariaDB's rsync script: Tables flushed to Sending continue, on the script's millisecond clock", () => {
    const w = donorWindowFromLog(PLAIN_RSYNC);
    expect(w?.seconds).toBeCloseTo(2.047, 3);
    expect(w?.loggedS).toBeUndefined();
  });
  it('reads our donor: Tables flushed at position to the Read-only window line, and keeps the logged figure', () => {
    const w = donorWindowFromLog(OURS_TWO_PHASE);
    expect(w?.seconds).toBeCloseTo(0.673, 3);
    expect(w?.loggedS).toBe(0.7);
  });
  it('takes the last SST of a log that holds several', () => {
    expect(donorWindowFromLog(`${PLAIN_RSYNC}\n${OURS_TWO_PHASE}`)?.seconds).toBeCloseTo(0.673, 3);
    expect(donorWindowFromLog(`${OURS_TWO_PHASE}\n${PLAIN_RSYNC}`)?.seconds).toBeCloseTo(2.047, 3);
  });
  it('is undefined for an SST that never released the lock, or a log without one', () => {
    expect(donorWindowFromLog(PLAIN_RSYNC.split('\n').slice(0, 3).join('\n'))).toBeUndefined();
    expect(donorWindowFromLog('2026-12-06  3:04:12 0 [Note] WSREP: Tables flushed.')).toBeUndefined();
    expect(donorWindowFromLog('')).toBeUndefined();
  });
  it('crosses midnight on the stamps, not on the text', () => {
    const log = [
      'WSREP_SST: [INFO] Tables flushed (20261206 23:59:59.500)',
      'WSREP_SST: [INFO] Sending continue to donor (20261207 00:00:01.000)',
    ].join('\n');
    expect(donorWindowFromLog(log)?.seconds).toBeCloseTo(1.5, 3);
  });
});

describe('donorPhaseLines()', () => {
  it("keeps the phase, flush and window lines without the WSREP_SST prefix, and none of mysqld's", () => {
    const lines = donorPhaseLines(OURS_TWO_PHASE);
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^donor: Phase 1 \(donor writable\)/);
    expect(lines.some((l) => l.includes('Provider resumed'))).toBe(false);
  });
});

const run = (
  load: ReadonlyRecord['load'],
  variant: ReadonlyRecord['variant'],
  round: number,
  wallS: number,
  windowS: number,
  stallS = Number.NaN,
  extra: Partial<ReadonlyRecord> = {},
): ReadonlyRecord => ({
  load,
  variant,
  round,
  wallS,
  windowS,
  stallS,
  dataBytes: 1.6 * 2 ** 30,
  checksumsEqual: true,
  ...extra,
});

describe('summarizeReadonly() and verdicts()', () => {
  const records = [
    run('quiet', 'single', 1, 20, 10),
    run('quiet', 'two-phase', 1, 22, 0.5),
    run('quiet', 'rsync', 1, 30, 14),
    run('quiet', 'single', 2, 40, 20),
    run('quiet', 'two-phase', 2, 44, 3),
    run('quiet', 'rsync', 2, 50, 24),
    run('quiet', 'single', 3, 30, 12),
    run('quiet', 'two-phase', 3, 30, 0.6),
    run('quiet', 'rsync', 3, 40, 16),
    run('write', 'single', 1, 20, 10, 11),
    run('write', 'two-phase', 1, 28, 2, 3),
    run('write', 'two-phase', 2, Number.NaN, Number.NaN, Number.NaN, {
      error: 'failed',
      checksumsEqual: false,
    }),
    run('write', 'single', 2, 20, 10, 12),
  ];
  const rows = summarizeReadonly(records);

  it('orders rows quiet then write, rsync, single, two-phase, with medians and ranges', () => {
    expect(rows.map((r) => `${r.load}/${r.variant}`)).toEqual([
      'quiet/rsync',
      'quiet/single',
      'quiet/two-phase',
      'write/single',
      'write/two-phase',
    ]);
    const two = rows[2];
    expect(two?.windowS).toEqual({ median: 0.6, min: 0.5, max: 3, n: 3 });
    expect(two?.wallS.median).toBe(30);
  });
  it('pairs each round with single in the same round and load: the ratio is the median of the ratios', () => {
    const two = rows[2];
    // windows: 0.5/10, 3/20, 0.6/12 -> 0.05, 0.15, 0.05; walls: 1.1, 1.1, 1.0
    expect(two?.windowVsSingle).toBeCloseTo(0.05, 6);
    expect(two?.wallVsSingle).toBeCloseTo(1.1, 6);
    expect(rows[1]?.windowVsSingle).toBe(1);
  });
  it('counts a failed run, drops it from the medians, and calls the data not identical', () => {
    const two = rows[4];
    expect(two).toMatchObject({ runs: 2, failures: 1, checksumsEqual: false });
    expect(two?.stallVsSingle).toBeCloseTo(3 / 11, 6);
  });
  it('judges the targets: 10% quiet, 25% under load, 1.3x wall, identical data', () => {
    const list = verdicts(rows);
    const met = Object.fromEntries(list.map((v) => [v.target, v.met]));
    expect(met).toEqual({
      "quiet: two-phase window ÷ single's": true,
      "quiet: two-phase SST wall ÷ single's": true,
      'quiet: two-phase data identical in every run': true,
      "write: two-phase window ÷ single's": true,
      "write: two-phase longest stall ÷ single's": false,
      "write: two-phase SST wall ÷ single's": false,
      'write: two-phase data identical in every run': false,
    });
    expect(renderVerdicts(list)).toContain(
      "- write: two-phase longest stall ÷ single's: 0.273 (target <= 0.25): NOT met",
    );
  });
  it('renders one markdown row per variant with ratios in per cent', () => {
    const table = renderReadonlyTable(rows).split('\n');
    expect(table).toHaveLength(2 + rows.length);
    expect(table[4]).toBe(
      '| quiet | two-phase | 30.0 [22.0–44.0] | 1.10 | 0.60 [0.50–3.00] | 5% | – | – | 1.60 | equal | 3/3 |',
    );
    expect(table[6]).toContain('| DIFFERENT | 1/2 |');
  });
});
