/**
 * The two ways sst-tunnel is installed without this checkout, each run as mysqld runs it, through
 * scripts/wsrep_sst_rsync_tunnel and the stand-in mysqld, a whole SST with binlogs:
 * - the bundle (`npm run bundle`, run by `npm pack` too): a home holding dist/bundle/ and nothing else (no
 *   dist/cli.js, no node_modules), reached with SST_TUNNEL_HOME. The bundle lays out modules differently from
 *   tsc's tree (chunks, CommonJS dependencies wrapped), and a bundled donor once failed on its binlog tarball alone.
 * - the single executable (scripts/sea.mjs, what the Debian package installs as /usr/bin/sst-tunnel): reached with
 *   SST_TUNNEL_BIN, and SST_TUNNEL_NODE naming no Node at all, so the wrapper's Node path cannot be what ran.
 *   Inside it process.execPath is the executable, which takes every argument as its own: the connectors rsync
 *   starts (--rsh) and the listener's workers are `<executable> connect` / `<executable> listener-worker`.
 * Both run the donor relay and, the second time, a connector per connection with joiner workers (the installed
 * program starting itself).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runStandinPair } from '../helpers/mysqld-standin.js';
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
  type Pair,
} from './faults-kit.js';

interface Installation {
  name: string;
  joiner: string;
  donor: string;
  ports: [number, number];
  /** Builds it below `base`; returns the environment that makes the wrapper run it. */
  build(base: string): NodeJS.ProcessEnv;
}

/** Runs a build script of scripts/ with `--outdir`, failing the suite with its stderr. */
function buildWith(script: string, outdir: string): void {
  const built = spawnSync(process.execPath, [join(REPO, 'scripts', script), '--outdir', outdir], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(built.status, built.stderr).toBe(0);
}

const INSTALLATIONS: Installation[] = [
  {
    name: 'the bundle alone (SST_TUNNEL_HOME)',
    joiner: '127.0.0.68',
    donor: '127.0.0.69',
    ports: [14668, 14669],
    build(base) {
      const home = join(base, 'home');
      buildWith('bundle.mjs', join(home, 'dist/bundle'));
      expect(readdirSync(home)).toEqual(['dist']);
      expect(readdirSync(join(home, 'dist'))).toEqual(['bundle']);
      return { SST_TUNNEL_HOME: home };
    },
  },
  {
    name: 'the single executable (SST_TUNNEL_BIN, no Node)',
    joiner: '127.0.0.74',
    donor: '127.0.0.75',
    ports: [14674, 14675],
    build(base) {
      const bin = join(base, 'sea', 'sst-tunnel');
      buildWith('sea.mjs', join(base, 'sea'));
      expect(statSync(bin).mode & 0o111).not.toBe(0);
      return { SST_TUNNEL_BIN: bin, SST_TUNNEL_NODE: '/nonexistent/node' };
    },
  },
];

/** One SST into an empty joiner (what an earlier SST left must not pass for this one's result). */
async function sst(pair: Pair, port: number, env: NodeJS.ProcessEnv) {
  rmSync(pair.joiner.datadir, { recursive: true, force: true });
  mkdirSync(pair.joiner.datadir);
  const { joiner: jr, donor: dr } = await runStandinPair({
    joiner: {
      command: joinerCmd(pair, port, { binlog: 'mysql-bin' }),
      options: { datadir: pair.joiner.datadir, env },
    },
    onJoinerFirstLine: (first, joiner) =>
      expect(first, `joiner stderr:\n${joiner.stderr}`).toMatch(/^ready /),
    donor: {
      command: (address) => donorCmd(pair, address, { binlog: 'mysql-bin' }),
      options: { datadir: pair.donor.datadir, env, flushAnswer: `${UUID}:42 0` },
    },
    timeoutMs: 60_000,
  });
  expect(dr.exitCode, show(dr)).toBe(0);
  expect(jr.exitCode, show(jr)).toBe(0);
  expect(jr.lines).toEqual([expect.stringMatching(/^ready /), `${UUID}:42 0`]);
  // The single executable's code cache was made with the wrapper's NODE_OPTIONS: a rejected one warns every start.
  expect(`${dr.stderr}${jr.stderr}`).not.toContain('Code cache data rejected');
  return { jr, dr };
}

function expectArrived(pair: Pair): void {
  for (const db of ['db0', 'db1', 'db2'])
    expect(treeDigest(join(pair.joiner.datadir, db))).toEqual(treeDigest(join(pair.donor.datadir, db)));
  // The binlog travelled in the tarball and was installed with a rebuilt index.
  expect(readFileSync(join(pair.joiner.datadir, 'mysql-bin.000001'))).toEqual(
    readFileSync(join(pair.donor.datadir, 'mysql-bin.000001')),
  );
  expect(readFileSync(join(pair.joiner.datadir, 'mysql-bin.index'), 'utf8')).toBe('./mysql-bin.000001\n');
  expect(existsSync(join(pair.joiner.datadir, 'wsrep_sst_binlog.tar'))).toBe(false);
}

describe.each(INSTALLATIONS)('installed as $name', (inst) => {
  const pair = makePair(
    `inst-${inst.ports[0]}`,
    { joiner: inst.joiner, donor: inst.donor },
    { 'backup-threads': '2' },
  );
  let env: NodeJS.ProcessEnv = {};
  beforeAll(() => {
    env = inst.build(pair.base);
  }, 150_000);
  afterEach(() => killLeftovers(pair));
  afterAll(() => pair.cleanup());

  it('runs a whole SST with binlogs through the donor relay', async () => {
    fillSmallDatadir(pair.donor.datadir, 3);
    const [port] = inst.ports;
    const { jr, dr } = await sst(pair, port, env);
    expect(dr.stderr).toContain('Relay listening on 127.0.0.1:');
    // Both summaries name the peer: the donor by the name it checked, the joiner by the certificate it accepted.
    expect(dr.stderr).toContain(`SST donor finished: `);
    expect(dr.stderr).toContain(`peer verified by SAN IP "${inst.joiner}"`);
    expect(jr.stderr).toMatch(/SST joiner finished: .*, peer "[^"]*CN=donor[^"]*" \(chain verified\)/);
    expect(dr.stderr).toMatch(
      /Sending [\d.]+ [KM]iB: 3 database directories \(9 files, [\d.]+ KiB\), the top of the datadir \(\d+ files, /,
    );
    expectArrived(pair);
    await expectNothingLeft(pair, [{ host: inst.joiner, port }]);
  });

  it('runs one with a connector per connection and joiner workers (the program starts itself)', async () => {
    // 2 workers whatever the CPU count: the listener starts the installed program as each worker.
    fillSmallDatadir(pair.donor.datadir, 3);
    const port = inst.ports[1];
    const cnf = readFileSync(pair.joiner.cnf, 'utf8');
    writeFileSync(pair.joiner.cnf, `${cnf}joiner-workers=2\n`);
    try {
      const { jr, dr } = await sst(pair, port, { ...env, SST_TUNNEL_RELAY: 'none' });
      expect(dr.stderr).not.toContain('Relay listening');
      expect(jr.stderr).toContain('2 worker processes ([sst] joiner-workers)');
      expectArrived(pair);
      await expectNothingLeft(pair, [{ host: inst.joiner, port }]);
    } finally {
      writeFileSync(pair.joiner.cnf, cnf);
    }
  });
});

it('says which executable is missing, with exit code 2, when SST_TUNNEL_BIN names none', () => {
  const missing = join(REPO, 'no-such-dir', 'no-such-bin');
  const r = spawnSync('sh', [join(REPO, 'scripts/wsrep_sst_rsync_tunnel'), '--role', 'joiner'], {
    encoding: 'utf8',
    env: { ...process.env, SST_TUNNEL_BIN: missing },
    timeout: 10_000,
  });
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain(`The sst-tunnel executable "${missing}" is missing`);
});
