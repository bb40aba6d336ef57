import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { sweepStaleTempDirs } from '../../../src/sst/privateTmp.js';

let parent: string;
beforeEach(() => {
  parent = mkdtempSync(join(tmpdir(), 'private-tmp-test-'));
});
afterEach(() => rmSync(parent, { recursive: true, force: true }));

const DEAD = 4_194_301; // a pid the injected `alive` calls dead

it('removes the dirs of ended SSTs and keeps live ones, other files and its own', () => {
  for (const name of [
    `sst-tunnel-${DEAD}-abc123`,
    `sst-tunnel-${process.pid}-own123`,
    'sst-tunnel-1-live12',
    'sst-e2e-other',
  ])
    mkdirSync(join(parent, name));
  const removed = sweepStaleTempDirs(parent, (pid) => pid === 1);
  expect(removed).toEqual([`sst-tunnel-${DEAD}-abc123`]);
  expect(existsSync(join(parent, `sst-tunnel-${DEAD}-abc123`))).toBe(false);
  for (const kept of [`sst-tunnel-${process.pid}-own123`, 'sst-tunnel-1-live12', 'sst-e2e-other'])
    expect(existsSync(join(parent, kept))).toBe(true);
});

// A mysqld running as `mysql` sharing the system temp dir with an SST that ran as root and was killed: removing
// root's 0700 dir fails with EACCES. That must not end the SST (it did: issue #16's flaky e2e join).
it('leaves a dir it may not remove and sweeps the others, without throwing', () => {
  mkdirSync(join(parent, `sst-tunnel-${DEAD}-root12`));
  mkdirSync(join(parent, `sst-tunnel-${DEAD - 1}-mine12`));
  const remove = (path: string): void => {
    if (path.endsWith('root12'))
      throw Object.assign(new Error(`EACCES: permission denied, scandir '${path}'`), { code: 'EACCES' });
    rmSync(path, { recursive: true });
  };
  const removed = sweepStaleTempDirs(parent, () => false, remove);
  expect(removed).toEqual([`sst-tunnel-${DEAD - 1}-mine12`]);
  expect(existsSync(join(parent, `sst-tunnel-${DEAD}-root12`))).toBe(true);
});

it('returns nothing for a parent that does not exist', () => {
  expect(sweepStaleTempDirs(join(parent, 'missing'))).toEqual([]);
});
