/**
 * The bundle (`npm run bundle`, run by `npm pack` too) as an installation runs it: a home with dist/bundle/ and
 * nothing else (no dist/cli.js, no node_modules), reached through the wrapper with SST_TUNNEL_HOME. A whole SST
 * through the stand-in mysqld, binlogs included: the bundle lays out modules differently from tsc's tree (chunks,
 * CommonJS dependencies wrapped), and a bundled donor once failed on its binlog tarball alone.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { REPO, StandinMysqld } from '../helpers/mysqld-standin.js';
import { treeDigest } from '../helpers/sst-fixture.js';
import {
  UUID,
  donorCmd,
  expectNothingLeft,
  fillSmallDatadir,
  joinerCmd,
  makePair,
  show,
  killLeftovers,
} from './faults-kit.js';

const JOINER = '127.0.0.68';
const pair = makePair('bundle', { joiner: JOINER, donor: '127.0.0.69' }, { 'backup-threads': '2' });
const home = join(pair.base, 'home');

beforeAll(() => {
  const built = spawnSync(
    process.execPath,
    [join(REPO, 'scripts/bundle.mjs'), '--outdir', join(home, 'dist/bundle')],
    {
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  expect(built.status, built.stderr).toBe(0);
  expect(readdirSync(home)).toEqual(['dist']);
  expect(readdirSync(join(home, 'dist'))).toEqual(['bundle']);
}, 150_000);
afterEach(() => killLeftovers(pair));
afterAll(() => pair.cleanup());

/** One SST from the bundle home; `env` adds to the environment of both scripts. */
async function sst(port: number, env: NodeJS.ProcessEnv = {}) {
  const scriptEnv = { SST_TUNNEL_HOME: home, ...env };
  // An empty joiner each time: what an earlier SST left must not pass for this one's result.
  rmSync(pair.joiner.datadir, { recursive: true, force: true });
  mkdirSync(pair.joiner.datadir);
  let payload = '';
  const joiner = new StandinMysqld(joinerCmd(pair, port, { binlog: 'mysql-bin' }), {
    datadir: pair.joiner.datadir,
    env: scriptEnv,
    onReady: (p) => (payload = p),
  });
  const first = await joiner.firstLine();
  expect(first, `joiner stderr:\n${joiner.stderr}`).toMatch(/^ready /);
  const donor = new StandinMysqld(donorCmd(pair, payload, { binlog: 'mysql-bin' }), {
    datadir: pair.donor.datadir,
    env: scriptEnv,
    flushAnswer: `${UUID}:42 0`,
    relayFrom: { payload },
  });
  const [jr, dr] = await Promise.all([joiner.wait(60_000), donor.wait(60_000)]);
  return { jr, dr };
}

function expectArrived(): void {
  for (const db of ['db0', 'db1', 'db2'])
    expect(treeDigest(join(pair.joiner.datadir, db))).toEqual(treeDigest(join(pair.donor.datadir, db)));
  // The binlog travelled in the tarball and was installed with a rebuilt index.
  expect(readFileSync(join(pair.joiner.datadir, 'mysql-bin.000001'))).toEqual(
    readFileSync(join(pair.donor.datadir, 'mysql-bin.000001')),
  );
  expect(readFileSync(join(pair.joiner.datadir, 'mysql-bin.index'), 'utf8')).toBe('./mysql-bin.000001\n');
  expect(existsSync(join(pair.joiner.datadir, 'wsrep_sst_binlog.tar'))).toBe(false);
}

it('runs a whole SST with binlogs from the bundle alone, through the donor relay', async () => {
  fillSmallDatadir(pair.donor.datadir, 3);
  const { jr, dr } = await sst(14668);
  expect(dr.exitCode, show(dr)).toBe(0);
  expect(jr.exitCode, show(jr)).toBe(0);
  expect(jr.lines).toEqual([expect.stringMatching(/^ready /), `${UUID}:42 0`]);
  expect(dr.stderr).toContain('Relay listening on 127.0.0.1:');
  // Both summaries name the peer: the donor by the name it checked, the joiner by the certificate it accepted.
  expect(dr.stderr).toMatch(/SST donor finished: .*, peer verified by SAN IP "127\.0\.0\.68"/);
  expect(jr.stderr).toMatch(/SST joiner finished: .*, peer "[^"]*CN=donor[^"]*" \(chain verified\)/);
  expect(dr.stderr).toMatch(
    /Sending [\d.]+ [KM]iB: 3 database directories \(9 files, [\d.]+ KiB\), the top of the datadir \(\d+ files, /,
  );
  expectArrived();
  await expectNothingLeft(pair, [{ host: JOINER, port: 14668 }]);
});

it('runs one from the bundle with a connector per connection and joiner workers (the bundle spawns itself)', async () => {
  // 2 workers whatever the CPU count: the listener forks the bundle's entry as each worker.
  fillSmallDatadir(pair.donor.datadir, 3);
  const cnf = readFileSync(pair.joiner.cnf, 'utf8');
  writeFileSync(pair.joiner.cnf, `${cnf}joiner-workers=2\n`);
  try {
    const { jr, dr } = await sst(14669, { SST_TUNNEL_RELAY: 'none' });
    expect(dr.exitCode, show(dr)).toBe(0);
    expect(jr.exitCode, show(jr)).toBe(0);
    expect(dr.stderr).not.toContain('Relay listening');
    expect(jr.stderr).toContain('2 worker processes ([sst] joiner-workers)');
    expectArrived();
    await expectNothingLeft(pair, [{ host: JOINER, port: 14669 }]);
  } finally {
    writeFileSync(pair.joiner.cnf, cnf);
  }
});
