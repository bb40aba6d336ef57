/**
 * Large database directories split into parts (splitDirs.ts) on a real SST through the stand-in mysqld: a
 * 128 MiB database of four tables, on two workers, goes as the directory's tree pass without two of its tables
 * plus a pass of those two. The joiner must end identical whatever it held: its own stale file in that
 * directory deleted (the tree pass's --delete), its changed copy of a split-off table overwritten, a missing one
 * created, its extra file in a subdirectory deleted; and in a two-phase copy with deltas, tables of both parts
 * rewritten in place (mtime put back) while phase 1 runs and just before the lock arrive as the donor has them.
 * `[sst] split-dirs = off` sends the directory in one pass.
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RESEND_MARGIN_NS } from '../../src/sst/changeSelect.js';
import { PAGE, rewritePage, treeDigest } from '../helpers/sst-fixture.js';
import { StandinMysqld } from '../helpers/mysqld-standin.js';
import {
  UUID,
  donorCmd,
  expectNothingLeft,
  fillSmallDatadir,
  killLeftovers,
  makePair,
  show,
  startJoiner,
  type Pair,
} from './faults-kit.js';

const TABLE = 32 << 20;

/** Everything the SST must make identical (the node-local files are the joiner's own). */
function dataOf(datadir: string): Map<string, string> {
  const local = new Set(['grastate.dat', 'mysql-bin.000001', 'mysql-bin.index', 'wsrep_sst.pid']);
  return treeDigest(datadir, (rel) => local.has(rel) || rel.startsWith('stand'));
}

/** The donor: small databases, and `big` with four 32 MiB tables, their .frm files and a subdirectory. */
function fillDonor(datadir: string): void {
  fillSmallDatadir(datadir, 2);
  mkdirSync(join(datadir, 'big', 'sub'), { recursive: true });
  for (const t of ['t1', 't2', 't3', 't4']) {
    writeFileSync(join(datadir, 'big', `${t}.ibd`), randomBytes(TABLE));
    writeFileSync(join(datadir, 'big', `${t}.frm`), randomBytes(900));
  }
  writeFileSync(join(datadir, 'big', 'sub', 'kept'), randomBytes(100));
}

/** The joiner's older copy of the donor: a stale file, a changed table, a missing table, an extra nested file. */
function olderCopy(donor: string, joiner: string): void {
  cpSync(donor, joiner, { recursive: true, preserveTimestamps: true });
  writeFileSync(join(joiner, 'big', 'stale.ibd'), randomBytes(PAGE));
  for (const t of ['t1', 't2', 't3', 't4']) rewritePage(join(joiner, 'big', `${t}.ibd`), 5);
  rmSync(join(joiner, 'big', 't4.ibd'));
  writeFileSync(join(joiner, 'big', 'sub', 'extra'), randomBytes(100));
  writeFileSync(join(joiner, 'grastate.dat'), `version: 2.1\nuuid:    ${UUID}\nseqno:   40\n`);
}

const CASES = [
  {
    name: 'whole files, single copy',
    sst: { transfer: 'whole', copy: 'single' },
    addresses: { joiner: '127.0.0.196', donor: '127.0.0.197' },
    port: 14793,
  },
  {
    name: 'deltas, two-phase copy',
    sst: { transfer: 'delta', copy: 'two-phase' },
    addresses: { joiner: '127.0.0.198', donor: '127.0.0.199' },
    port: 14794,
  },
  {
    name: 'split-dirs = off',
    sst: { transfer: 'whole', copy: 'single', 'split-dirs': 'off' },
    addresses: { joiner: '127.0.0.200', donor: '127.0.0.201' },
    port: 14795,
  },
] as const;
const pairs: Pair[] = CASES.map((c) =>
  makePair(`split-${c.port}`, c.addresses, {}, { donor: { 'backup-threads': '2', ...c.sst } }),
);
afterEach(() => killLeftovers(...pairs));
afterAll(() => {
  for (const pair of pairs) pair.cleanup();
});

describe.each(CASES.map((c, i) => [c.name, c, i] as const))(
  'large directories in parts: %s',
  (_, mode, i) => {
    it(
      'sends a large database as parts, and the joiner ends identical to the donor',
      { timeout: 120_000 },
      async () => {
        const pair = pairs[i] as Pair;
        const donorDir = pair.donor.datadir;
        fillDonor(donorDir);
        olderCopy(donorDir, pair.joiner.datadir);
        const twoPhase = mode.sst.copy === 'two-phase';
        // Two-phase: let the fixture age past the change rule's margin, so phase 2 must find the rewrites itself.
        if (twoPhase) await new Promise((r) => setTimeout(r, Number(RESEND_MARGIN_NS / 1_000_000n) + 1000));
        expect(dataOf(pair.joiner.datadir)).not.toEqual(dataOf(donorDir));
        const { joiner, payload } = await startJoiner(pair, mode.port);
        const started: { donor?: StandinMysqld } = {};
        let writes = 0;
        // While phase 1 runs: a page of a table in each part rewritten, mtime put back.
        const load = setInterval(() => {
          if (!twoPhase || started.donor?.stderr.includes('Phase 1 (donor writable)') !== true) return;
          for (const t of ['t1', 't2', 't3', 't4'])
            rewritePage(join(donorDir, 'big', `${t}.ibd`), writes % 64);
          writes++;
        }, 10);
        const donor = new StandinMysqld(donorCmd(pair, payload), {
          datadir: donorDir,
          flushAnswer: `${UUID}:42 0`,
          relayFrom: { payload },
          onFlush: () => {
            clearInterval(load);
            if (twoPhase)
              for (const t of ['t1', 't2', 't3', 't4']) rewritePage(join(donorDir, 'big', `${t}.ibd`), 99);
          },
        });
        started.donor = donor;
        const [jr, dr] = await Promise.all([joiner.wait(90_000), donor.wait(90_000)]);
        clearInterval(load);
        expect(dr.exitCode, show(dr)).toBe(0);
        expect(jr.exitCode, show(jr)).toBe(0);
        expect(jr.lines).toEqual([`ready ${payload}`, `${UUID}:42 0`]);
        expect(dr.lines).toEqual(['flush tables', 'continue', `done ${UUID}:42 0`]);
        await expectNothingLeft(pair, [{ host: pair.joiner.address, port: mode.port }]);
        // 128 MiB of tables over two workers: parts of at least 64 MiB, so two; none when told not to.
        if (mode.name === 'split-dirs = off') expect(dr.stderr).not.toMatch(/Large directories split/);
        else
          expect(dr.stderr).toMatch(
            /Large directories split for 2 workers to end together: directory big \(2 parts\)/,
          );
        if (twoPhase) expect(writes, 'the load ran during phase 1').toBeGreaterThan(2);
        expect(dataOf(pair.joiner.datadir)).toEqual(dataOf(donorDir));
      },
    );
  },
);
