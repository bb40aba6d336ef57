import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SHAPE,
  kindOf,
  longestStall,
  markerSql,
  parseOutputLine,
  percentile,
  setupSql,
  statementSql,
  succeededBetween,
  summarize,
  updateKey,
  type StatementRecord,
} from '../../../src/bench/writeLoadPlan.js';
import { clientArgs } from '../../../src/bench/writeLoad.js';

const rec = (index: number, ms: number, ok = true, sentAt = 1000 + index): StatementRecord => ({
  index,
  kind: 'insert',
  sentAt,
  ms,
  ok,
});

describe('the write-load SQL', () => {
  it('creates and seeds the hot table on one line, idempotently', () => {
    const sql = setupSql({ ...DEFAULT_SHAPE, seedRows: 50 });
    expect(sql).not.toContain('\n');
    expect(sql).toContain('CREATE DATABASE IF NOT EXISTS `sst_load`;');
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS `sst_load`.`hot`');
    expect(sql).toContain(
      "INSERT IGNORE INTO `sst_load`.`hot` (k, n, v) SELECT seq, 0, 'seed' FROM `sst_load`.seq_1_to_50;",
    );
  });

  it('refuses identifiers that could break out of the SQL, and shapes out of range', () => {
    expect(() => setupSql({ ...DEFAULT_SHAPE, table: 'hot`; DROP DATABASE x; --' })).toThrow(/identifier/);
    expect(() => setupSql({ ...DEFAULT_SHAPE, seedRows: 0 })).toThrow(/seedRows/);
    expect(() => setupSql({ ...DEFAULT_SHAPE, updateShare: 1.5 })).toThrow(/updateShare/);
  });

  it('mixes updates in at the asked share, spread evenly', () => {
    const kinds = (share: number): string =>
      Array.from({ length: 8 }, (_, i) => kindOf(i, share)[0]).join('');
    expect(kinds(0.5)).toBe('iuiuiuiu');
    expect(kinds(0)).toBe('iiiiiiii');
    expect(kinds(1)).toBe('uuuuuuuu');
    expect(kinds(0.25)).toBe('iiiuiiiu');
  });

  it('updates seeded rows only, many different ones', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => updateKey(i, 100));
    expect(Math.min(...keys)).toBe(1);
    expect(Math.max(...keys)).toBe(100);
    expect(new Set(keys).size).toBeGreaterThan(90);
  });

  it('writes each statement on one line, followed by a marker naming it', () => {
    const shape = { ...DEFAULT_SHAPE, seedRows: 10 };
    expect(statementSql(0, shape)).toEqual({
      kind: 'insert',
      sql: "INSERT INTO `sst_load`.`hot` (n, v) VALUES (0, 'i0');",
    });
    const update = statementSql(1, shape);
    expect(update.kind).toBe('update');
    expect(update.sql).toMatch(
      /^UPDATE `sst_load`.`hot` SET n = n \+ 1, v = 'u1', .* WHERE k = ([1-9]|10);$/,
    );
    expect(markerSql(7)).toBe("SELECT 'wl-mark 7';");
  });
});

describe('parseOutputLine()', () => {
  it('reads a marker echo, a client error with its input line, and anything else', () => {
    expect(parseOutputLine('wl-mark 12')).toEqual({ type: 'marker', index: 12 });
    expect(parseOutputLine('wl-mark -1')).toEqual({ type: 'marker', index: -1 });
    expect(
      parseOutputLine('ERROR 1047 (08S01) at line 7: WSREP has not yet prepared node for application use'),
    ).toMatchObject({ type: 'error', line: 7 });
    expect(parseOutputLine('ERROR 2006 (HY000): MySQL server has gone away')).toMatchObject({
      type: 'error',
      line: undefined,
    });
    expect(parseOutputLine('wl-mark 12 extra')).toEqual({ type: 'other', text: 'wl-mark 12 extra' });
  });
});

describe('the figures', () => {
  it('takes percentiles by nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile([5], 90)).toBe(5);
    expect(percentile([], 50)).toBeNaN();
  });

  it('summarizes latencies, failed and unfinished statements included', () => {
    const s = summarize([rec(0, 2), rec(1, 4, false), rec(2, 9000, false), rec(3, 6)]);
    expect(s).toEqual({ count: 4, mean: 2253, p50: 4, p90: 9000, p99: 9000, max: 9000 });
    expect(summarize([]).count).toBe(0);
  });

  it('names the longest stall and when it began', () => {
    expect(longestStall([rec(0, 2), rec(1, 800, true, 5000), rec(2, 3)])).toEqual({
      ms: 800,
      at: 5000,
      index: 1,
    });
    expect(longestStall([])).toBeUndefined();
  });

  it('picks the statements that succeeded within a time window', () => {
    const records = [rec(0, 1, true, 100), rec(1, 1, false, 150), rec(2, 1, true, 199), rec(3, 1, true, 200)];
    expect(succeededBetween(records, 100, 200).map((r) => r.index)).toEqual([0, 2]);
  });
});

describe('clientArgs()', () => {
  it('puts --defaults-file first and asks for batch output flushed per statement, going on after errors', () => {
    expect(clientArgs({ defaultsFile: '/n/my.cnf' })).toEqual([
      '--defaults-file=/n/my.cnf',
      '--batch',
      '--skip-column-names',
      '--unbuffered',
      '--force',
    ]);
    expect(clientArgs({ host: '10.0.0.1', port: 3307, user: 'root' }).slice(0, 4)).toEqual([
      '--host=10.0.0.1',
      '--protocol=TCP',
      '--port=3307',
      '--user=root',
    ]);
  });
});
