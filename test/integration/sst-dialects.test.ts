/**
 * The donor under both mysqld dialects of the credentials (contract-drift.md, MDEV-31809), driven by the stand-in
 * with real rsync and real TLS: 10.11 (WSREP_SST_OPT_AUTH set, stdin not a credentials pipe), 11.8 (credentials
 * on a stdin pipe, no variables), and 11.8 whose SST user could not be created (stdin EOF with nothing, stdout
 * never read): a named error before `flush tables`, never a wait for ever. Also the [sst] flush-timeout bound, and
 * 13.0's archived redo log (innodb_log_archive=ON), refused before anything starts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  StandinMysqld,
  donorCommand,
  startStandinJoiner,
  type StandinDialect,
} from '../helpers/mysqld-standin.js';
import { fillDonorDatadir, processesMentioning, treeDigest } from '../helpers/sst-fixture.js';
import { makePair, UUID } from './faults-kit.js';

const pair = makePair('dialects', { joiner: '127.0.0.80', donor: '127.0.0.81' });
const { joiner, donor } = pair;
/** The donor's option file with `[sst] flush-timeout = 2`. */
const shortFlushCnf = join(pair.base, 'donor', 'short-flush.cnf');

beforeAll(() => {
  mkdirSync(join(pair.base, 'external'));
  fillDonorDatadir(donor.datadir, join(pair.base, 'external'));
  writeFileSync(shortFlushCnf, `${readFileSync(donor.cnf, 'utf8')}flush-timeout=2\n`);
});

afterAll(() => pair.cleanup());

function startJoiner(): { j: StandinMysqld; payload: () => string } {
  const { joiner: j, payload } = startStandinJoiner(joiner);
  return { j, payload };
}

function startDonor(
  address: string,
  dialect: StandinDialect,
  extra: { cnf?: string; flushAnswer?: string } = {},
): StandinMysqld {
  return new StandinMysqld(
    donorCommand({
      address,
      datadir: donor.datadir,
      defaultsFile: extra.cnf ?? donor.cnf,
      gtid: `${UUID}:42`,
    }),
    {
      datadir: donor.datadir,
      dialect,
      ...(extra.flushAnswer !== undefined && { flushAnswer: extra.flushAnswer }),
      ...(dialect !== '10.11' && { remoteAuth: { user: 'joiner', password: 'not-logged-zq81' } }),
    },
  );
}

function expectNothingLeft(): void {
  expect(readdirSync(pair.tmp), 'private temp dirs left').toEqual([]);
  expect(processesMentioning(pair.base), 'processes left').toEqual([]);
  expect(existsSync(join(donor.datadir, 'wsrep_sst.pid')), 'donor lock left').toBe(false);
}

async function fullSst(dialect: StandinDialect): Promise<void> {
  const { j, payload } = startJoiner();
  expect(await j.firstLine()).toMatch(/^ready /);
  const d = startDonor(payload(), dialect, { flushAnswer: `${UUID}:42 0` });
  const [jr, dr] = await Promise.all([j.wait(), d.wait()]);
  expect(dr.exitCode, dr.stderr).toBe(0);
  expect(jr.exitCode, jr.stderr).toBe(0);
  expect(dr.lines).toEqual(['flush tables', 'continue', `done ${UUID}:42 0`]);
  expect(dr.stderr).not.toContain('not-logged-zq81');
  expect(dr.stderr).not.toContain('x'.repeat(32));
}

describe('the donor under each mysqld dialect', () => {
  it('10.11: WSREP_SST_OPT_AUTH set, stdin ends with nothing: a whole SST', async () => {
    await fullSst('10.11');
    expectNothingLeft();
  });

  it('11.8: credentials on a stdin pipe, no variables: a whole SST, no value logged', async () => {
    await fullSst('11.8');
    const skip = (rel: string) =>
      rel.startsWith('wsrep_sst') || rel.startsWith('sst_') || rel === 'tables_flushed';
    const digest = (dir: string) =>
      [...treeDigest(dir).entries()].filter(([rel]) => !skip(rel) && !rel.endsWith('.cnf')).sort();
    expect(digest(joiner.datadir).length).toBeGreaterThan(3);
    expectNothingLeft();
  });

  it('11.8 that could not create its SST user: a named error before flush tables, bounded, then a working SST', async () => {
    const { j, payload } = startJoiner();
    await j.firstLine();
    const t0 = Date.now();
    const d = startDonor(payload(), '11.8-no-user');
    const dr = await d.wait(30_000);
    const took = Date.now() - t0;
    expect(dr.exitCode).toBe(22);
    expect(dr.lines).toEqual([]); // never `flush tables`: mysqld would not answer it
    expect(dr.stderr).toContain('wsrep_sst_auth');
    expect(dr.stderr).toContain('rsync_tunnel:none');
    expect(took).toBeLessThan(20_000);
    j.kill('SIGTERM');
    await j.wait();
    expectNothingLeft();
    // The cause fixed (mysqld now passes credentials), the next SST from that node works: no lock left behind.
    await fullSst('11.8');
    expectNothingLeft();
  });

  it("13.0's archived redo log (innodb_log_archive=ON): refused with exit 22 before the joiner or flush tables", async () => {
    const datadir = join(pair.base, 'archived-donor');
    mkdirSync(join(datadir, 'db1'), { recursive: true });
    writeFileSync(join(datadir, 'ibdata1'), 'x');
    writeFileSync(join(datadir, 'ib_0000000000003000.log'), 'redo');
    writeFileSync(join(datadir, 'db1', 't1.ibd'), 'data');
    const d = new StandinMysqld(
      // Nobody listens there: the refusal comes before any connection.
      donorCommand({
        address: '127.0.0.80:4444/rsync_tunnel_sst',
        datadir,
        defaultsFile: donor.cnf,
        gtid: `${UUID}:42`,
      }),
      { datadir, dialect: '10.11' },
    );
    const dr = await d.wait(30_000);
    expect(dr.exitCode).toBe(22);
    expect(dr.lines).toEqual([]);
    expect(dr.stderr).toContain('holds an archived redo log (1 ib_<lsn>.log file(s), no ib_logfile0)');
    expect(dr.stderr).toContain('innodb_log_archive=OFF');
    expectNothingLeft();
  });

  it('an unanswered flush tables ends at [sst] flush-timeout (exit 110), children ended, lock released', async () => {
    const { j, payload } = startJoiner();
    await j.firstLine();
    const t0 = Date.now();
    const d = startDonor(payload(), '10.11', { cnf: shortFlushCnf }); // no flushAnswer: mysqld never answers
    const dr = await d.wait(60_000);
    expect(dr.lines).toEqual(['flush tables']);
    expect(dr.exitCode).toBe(110);
    expect(dr.stderr).toContain('flush-timeout');
    expect(Date.now() - t0).toBeLessThan(40_000);
    j.kill('SIGTERM');
    await j.wait();
    expectNothingLeft();
  });
});
