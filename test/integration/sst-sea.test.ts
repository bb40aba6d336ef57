/**
 * The single executable (scripts/sea.mjs, what the Debian package installs as /usr/bin/sst-tunnel) as mysqld runs
 * it: through scripts/wsrep_sst_rsync_tunnel with SST_TUNNEL_BIN, and SST_TUNNEL_NODE naming no Node at all, so
 * the Node path of the wrapper cannot be what ran. Inside the executable, process.execPath is the executable and
 * it takes every argument as its own: the connectors rsync starts (--rsh) and the listener's workers are started
 * as `<executable> connect` / `<executable> listener-worker`; both ways are run here, and the relay.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

const JOINER = '127.0.0.74';
const pair = makePair('sea', { joiner: JOINER, donor: '127.0.0.75' }, { 'backup-threads': '2' });
const bin = join(pair.base, 'sea', 'sst-tunnel');

beforeAll(() => {
  const built = spawnSync(
    process.execPath,
    [join(REPO, 'scripts/sea.mjs'), '--outdir', join(pair.base, 'sea')],
    {
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  expect(built.status, built.stderr).toBe(0);
  expect(statSync(bin).mode & 0o111).not.toBe(0);
}, 150_000);
afterEach(() => killLeftovers(pair));
afterAll(() => pair.cleanup());

async function sst(port: number, env: NodeJS.ProcessEnv = {}) {
  const scriptEnv = { SST_TUNNEL_BIN: bin, SST_TUNNEL_NODE: '/nonexistent/node', ...env };
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
  });
  const [jr, dr] = await Promise.all([joiner.wait(60_000), donor.wait(60_000)]);
  return { jr, dr };
}

function expectArrived(): void {
  for (const db of ['db0', 'db1', 'db2'])
    expect(treeDigest(join(pair.joiner.datadir, db))).toEqual(treeDigest(join(pair.donor.datadir, db)));
  expect(readFileSync(join(pair.joiner.datadir, 'mysql-bin.000001'))).toEqual(
    readFileSync(join(pair.donor.datadir, 'mysql-bin.000001')),
  );
  expect(existsSync(join(pair.joiner.datadir, 'wsrep_sst_binlog.tar'))).toBe(false);
}

it('runs a whole SST with binlogs from the single executable, through the donor relay', async () => {
  fillSmallDatadir(pair.donor.datadir, 3);
  const { jr, dr } = await sst(14674);
  expect(dr.exitCode, show(dr)).toBe(0);
  expect(jr.exitCode, show(jr)).toBe(0);
  expect(jr.lines).toEqual([expect.stringMatching(/^ready /), `${UUID}:42 0`]);
  expect(dr.stderr).toContain('Relay listening on 127.0.0.1:');
  // The code cache was made with the wrapper's NODE_OPTIONS: a rejected one would warn on every start.
  expect(`${dr.stderr}${jr.stderr}`).not.toContain('Code cache data rejected');
  expectArrived();
  await expectNothingLeft(pair, [{ host: JOINER, port: 14674 }]);
});

it('runs one with a connector per connection and joiner workers (the executable starts itself)', async () => {
  fillSmallDatadir(pair.donor.datadir, 3);
  const cnf = readFileSync(pair.joiner.cnf, 'utf8');
  writeFileSync(pair.joiner.cnf, `${cnf}joiner-workers=2\n`);
  try {
    const { jr, dr } = await sst(14675, { SST_TUNNEL_RELAY: 'none' });
    expect(dr.exitCode, show(dr)).toBe(0);
    expect(jr.exitCode, show(jr)).toBe(0);
    expect(dr.stderr).not.toContain('Relay listening');
    expect(jr.stderr).toContain('2 worker processes ([sst] joiner-workers)');
    expect(`${dr.stderr}${jr.stderr}`).not.toContain('Code cache data rejected');
    expectArrived();
    await expectNothingLeft(pair, [{ host: JOINER, port: 14675 }]);
  } finally {
    writeFileSync(pair.joiner.cnf, cnf);
  }
});

it('says which executable is missing, with exit code 2, when SST_TUNNEL_BIN names none', () => {
  const r = spawnSync('sh', [join(REPO, 'scripts/wsrep_sst_rsync_tunnel'), '--role', 'joiner'], {
    encoding: 'utf8',
    env: { ...process.env, SST_TUNNEL_BIN: join(pair.base, 'no-such-bin') },
    timeout: 10_000,
  });
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain(`The sst-tunnel executable "${join(pair.base, 'no-such-bin')}" is missing`);
});
