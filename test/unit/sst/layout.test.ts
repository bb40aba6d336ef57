import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { classFiles } from '../../../src/sst/datadirScan.js';
import { FILE_CLASSES, isClassFile, redoLayoutProblem, resolveLayout } from '../../../src/sst/layout.js';

const logClass = FILE_CLASSES.find((c) => c.key === 'log');

describe('the redo log class', () => {
  it('is exactly ib_logfile0: not a resize leftover (ib_logfile101) nor 13.0 archive files', () => {
    expect(logClass?.matches('ib_logfile0')).toBe(true);
    for (const name of ['ib_logfile1', 'ib_logfile101', 'ib_logfile0.bak', 'ib_0000000000001000.log'])
      expect(logClass?.matches(name), name).toBe(false);
    // Nor does the root pass pick them up as class files of another kind.
    expect(isClassFile('ib_logfile101')).toBe(false);
  });

  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('classFiles() sends ib_logfile0 and leaves ib_logfile101 beside it', () => {
    dir = mkdtempSync(join(tmpdir(), 'sst-layout-'));
    writeFileSync(join(dir, 'ib_logfile0'), 'x'.repeat(10));
    writeFileSync(join(dir, 'ib_logfile101'), 'y'.repeat(20));
    writeFileSync(join(dir, 'ibdata1'), 'z');
    mkdirSync(join(dir, 'db1'));
    const found = classFiles(resolveLayout(dir, { args: {}, env: {}, options: {} }));
    expect(found.log).toEqual([{ name: 'ib_logfile0', size: 10 }]);
    expect(found.data).toEqual([{ name: 'ibdata1', size: 1 }]);
  });
});

describe('redoLayoutProblem()', () => {
  it("refuses 13.0's archived redo log (innodb_log_archive=ON: ib_<lsn>.log, no ib_logfile0), naming the fix", () => {
    const problem = redoLayoutProblem('/var/lib/mysql', [
      'ibdata1',
      'ib_0000000000003000.log',
      'ib_000000000000A000.log',
      'mysql',
    ]);
    expect(problem).toBe(
      'Cannot send this donor\'s redo log: "/var/lib/mysql" holds an archived redo log (2 ib_<lsn>.log file(s), ' +
        'no ib_logfile0), as MariaDB 13.0 writes with innodb_log_archive=ON; rsync_tunnel copies ib_logfile0 ' +
        'only. Set innodb_log_archive=OFF on this donor, or pick another donor (wsrep_sst_donor)',
    );
  });

  it('accepts every datadir with ib_logfile0, and one with neither kind (nothing it could misread)', () => {
    expect(redoLayoutProblem('/d', ['ib_logfile0', 'ibdata1'])).toBeUndefined();
    expect(redoLayoutProblem('/d', ['ib_logfile0', 'ib_0000000000003000.log'])).toBeUndefined();
    expect(redoLayoutProblem('/d', ['ib_logfile0', 'ib_logfile101'])).toBeUndefined();
    expect(redoLayoutProblem('/d', ['ibdata1'])).toBeUndefined();
    // Not an LSN: 15 or 17 hex digits, or another suffix.
    expect(redoLayoutProblem('/d', ['ib_000000000000300.log', 'ib_00000000000003000.log'])).toBeUndefined();
    expect(redoLayoutProblem('/d', ['ib_0000000000003000.txt'])).toBeUndefined();
  });
});
