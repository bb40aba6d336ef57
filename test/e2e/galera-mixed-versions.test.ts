/**
 * Issue #14 on real servers: MariaDB 11.8 (mariadbd and galera-4 from the cached Debian 13 root,
 * scripts/debian-root.sh) next to this machine's 10.11, each node on its own loopback address, every SST through
 * our wsrep_sst_rsync_tunnel on both sides:
 *   - 11.8 -> 11.8 with binary logs, 10.11 -> 11.8 and 11.8 -> 10.11 (a rolling upgrade's days), all as mysql;
 *   - the 11.8 donor that cannot create its SST user (--skip-grant-tables, empty wsrep_sst_auth): our script ends
 *     at once with exit 22 naming wsrep_sst_auth, mariadbd still stops on SIGTERM, and once started normally the
 *     next SST from it works.
 *   - rolling upgrade against the original socat-based script (test/fixtures/original-sst, its shapes on the
 *     wire) on 10.11 nodes: an original donor fills our 11.8 joiner, our 11.8 donor fills an original joiner.
 * An 11.8 node runs chrooted in the root with the checkout bound at `<home>/sst-tunnel` under /tmp (bound into
 * the root too, so the cached root gets no mount point); its mysqld finds our wsrep_sst_rsync_tunnel there on
 * PATH (the root's /usr/bin has none) and that runs the root's own Node 20 on this checkout's dist/.
 */
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, createNodeCert } from '../../src/certs/index.js';
import { REPO, SCRIPTS } from '../../src/demo/contractDriver.js';
import {
  mariadbAvailable,
  sstTimingFromLog,
  type GaleraCluster,
  type GaleraNode,
} from '../../src/demo/galera.js';
import { trixieRoot } from '../helpers/debian-root.js';
import { withCluster, type ClusterNodeSpecs } from '../helpers/galera-fixture.js';
import { processesMentioning } from '../helpers/sst-fixture.js';

const available = mariadbAvailable();
// The root shares only /tmp with this machine: the nodes' directories must lie there, at the same paths.
const sharedTmp = tmpdir() === '/tmp' || tmpdir().startsWith('/tmp/');
const trixie = available.ok && sharedTmp ? trixieRoot() : {};
const skip = !available.ok
  ? available.reason
  : !sharedTmp
    ? `the temp dir ${tmpdir()} (TMPDIR) is not under /tmp, the one directory the Debian root shares`
    : trixie.root === undefined
      ? trixie.skip
      : undefined;
if (skip !== undefined) console.log(`Skipping the mixed-version (10.11 / 11.8) Galera tests: ${skip}`);

type Version = '10.11' | '11.8';
type NodeSpec = ClusterNodeSpecs[number];

/** Where the checkout is bound inside the root: under /tmp, made here and removed (empty) afterwards. */
let home: string;
let pki: string;
/** Figures for the report: SST wall time per direction, from the joiner's log. */
const figures: string[] = [];

beforeAll(async () => {
  if (skip !== undefined) return;
  home = mkdtempSync(join(tmpdir(), 'sst-e2e-home-'));
  chmodSync(home, 0o755);
  mkdirSync(join(home, 'sst-tunnel'), { mode: 0o755 });
  pki = mkdtempSync(join(tmpdir(), 'sst-e2e-pki-'));
  chmodSync(pki, 0o755);
  await createCa({ dir: pki });
});

afterAll(() => {
  if (figures.length > 0) console.log(`Mixed-version SST times:\n  ${figures.join('\n  ')}`);
  if (pki !== undefined) rmSync(pki, { recursive: true, force: true });
  // rmdir, never a recursive remove: should a mount namespace still bind the checkout here, the host sees an
  // empty directory and nothing of the checkout can be reached from it.
  for (const empty of home === undefined ? [] : [join(home, 'sst-tunnel'), home])
    if (existsSync(empty)) rmdirSync(empty);
});

/** uid/gid of `mysql` in the world the node runs in (102 on this Debian 12, 100 in the trixie root). */
function mysqlOwner(root = ''): { uid: number; gid: number } {
  const entry = readFileSync(`${root}/etc/passwd`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('mysql:'))
    ?.split(':');
  return { uid: Number(entry?.[2]), gid: Number(entry?.[3]) };
}

/** A node of `version` on `address` with its own certificate, its key given to that world's mysql. */
async function nodeSpec(name: string, address: string, version: Version, extra: Partial<NodeSpec> = {}) {
  const made = await createNodeCert({
    dir: pki,
    name: `${name}-${address.replaceAll('.', '-')}`,
    ips: [address],
  });
  const root = version === '11.8' ? trixie.root : undefined;
  const owner = mysqlOwner(root);
  chownSync(made.keyPath, owner.uid, owner.gid);
  const spec: NodeSpec = {
    name,
    address,
    sstMethod: 'rsync_tunnel',
    user: 'mysql',
    binlog: true,
    sst: { tca: made.caPath, tcert: made.certPath, tkey: made.keyPath },
    ...(root !== undefined && { root, rootBinds: [{ source: REPO, target: join(home, 'sst-tunnel') }] }),
    ...extra,
  };
  return spec;
}

/**
 * A cluster mid-upgrade: node1 on 10.11, node2 on 11.8, and node3 on 10.11 taking its SST from the 11.8 node (a
 * physical downgrade, as in a rolled-back upgrade). `extra` goes to every node.
 */
async function upgradeTrio(addresses: [string, string, string], extra: Partial<NodeSpec> = {}) {
  const [first, second, third] = addresses;
  return [
    await nodeSpec('node1', first, '10.11', extra),
    await nodeSpec('node2', second, '11.8', extra),
    await nodeSpec('node3', third, '10.11', {
      ...extra,
      mysqld: { ...extra.mysqld, wsrep_sst_donor: 'node2' },
    }),
  ];
}

/**
 * PATH for every node: the host's nodes find the checkout's scripts/ first; inside the root that path does not
 * exist and the bound checkout's scripts/ is found instead.
 */
const clusterOptions = () => ({ pathPrepend: [SCRIPTS, join(home, 'sst-tunnel', 'scripts')] });

async function serverVersion(node: GaleraNode): Promise<string> {
  return node.query('SELECT VERSION()');
}

/** The joiner joins from the donor by our SST; data, binlogs, logs and leftovers checked; returns the SST ms. */
async function joinAndCheck(
  cluster: GaleraCluster,
  dir: string,
  donor: GaleraNode,
  joiner: GaleraNode,
  versions: [Version, Version],
): Promise<number> {
  await cluster.join(joiner, 240_000);
  expect(await serverVersion(donor)).toMatch(new RegExp(`^${versions[0].replace('.', '\\.')}\\.`));
  expect(await serverVersion(joiner)).toMatch(new RegExp(`^${versions[1].replace('.', '\\.')}\\.`));
  const [sumDonor, sumJoiner] = [await cluster.checksums(donor), await cluster.checksums(joiner)];
  expect([...sumDonor.keys()].filter((t) => t.startsWith('sst_db') && !t.includes('.w_'))).toHaveLength(4);
  expect(sumJoiner).toEqual(sumDonor);
  // Replication works both ways afterwards.
  const table = `sst_db1.w_${joiner.name}`;
  await joiner.query(
    `CREATE TABLE ${table} (id INT PRIMARY KEY, v CHAR(8)); INSERT INTO ${table} VALUES (1, "j")`,
  );
  expect(await donor.query(`SET SESSION wsrep_sync_wait = 1; SELECT v FROM ${table} WHERE id = 1`)).toBe('j');

  const joinerLog = joiner.errorLog();
  const donorLog = donor.errorLog();
  expect(joinerLog).toContain('rsync_tunnel SST started on joiner (sst-tunnel');
  expect(donorLog).toContain('rsync_tunnel SST started on donor (sst-tunnel');
  expect(joinerLog).toMatch(/SST joiner finished: .* over \d+ TLS connection\(s\), TLSv1\.3/);
  expect(donorLog).toMatch(
    new RegExp(
      `SST donor finished: .*peer verified by SAN IP "${joiner.spec.address.replaceAll('.', '\\.')}"`,
    ),
  );
  // Issue #18 on real mysqld of both versions: our joiner's ready line carried its token (relayed by 10.11 in
  // WSREP_SST_OPT_REMOTE_AUTH, by 11.8 on the donor's stdin), the donor proved it on every connection, and the
  // joiner checked each proof.
  expect(donorLog).toContain("The joiner asked for SST binding: every connection proves this SST's token");
  expect(joinerLog).toMatch(/SST binding: the donor proved this SST's token on all \d+ connection\(s\)/);
  expect(joinerLog).not.toContain('This SST is not bound to its donor');
  // The default copy is two-phase (issue #22): a donor of either version sends before the lock, then re-sends.
  expect(donorLog).toContain('Phase 1 (donor writable)');
  expect(donorLog).toMatch(/Read-only window \(tables_flushed to continue\): [\d.]+ s/);
  // The binary log arrived and the joiner's index names it.
  expect(await joiner.query('SHOW BINARY LOGS')).not.toBe('');
  // Nothing of the SST runs any more (scoped to this cluster's directory: other SSTs may run on the host).
  expect(processesMentioning(dir).filter((p) => /--role (joiner|donor)/.test(p.cmdline))).toEqual([]);
  const ms = sstTimingFromLog(joinerLog)?.durationMs ?? -1;
  const window = /Read-only window \(tables_flushed to continue\): ([\d.]+ s)/.exec(donorLog)?.[1];
  figures.push(`${versions[0]} -> ${versions[1]}: ${ms} ms, donor read-only ${window ?? 'n/a'}`);
  return ms;
}

/** `original` (donor or joiner) ran the original-shape script, the other side ours; data equal, said so. */
async function originalPairCheck(
  cluster: GaleraCluster,
  dir: string,
  donor: GaleraNode,
  joiner: GaleraNode,
  versions: [Version, Version],
  original: 'donor' | 'joiner',
): Promise<void> {
  await cluster.join(joiner, 240_000);
  expect(await serverVersion(donor)).toMatch(new RegExp(`^${versions[0].replace('.', '\\.')}\\.`));
  expect(await serverVersion(joiner)).toMatch(new RegExp(`^${versions[1].replace('.', '\\.')}\\.`));
  const [sumDonor, sumJoiner] = [await cluster.checksums(donor), await cluster.checksums(joiner)];
  expect([...sumDonor.keys()].filter((t) => t.startsWith('sst_db'))).toHaveLength(4);
  expect(sumJoiner).toEqual(sumDonor);
  const [ours, theirs] = original === 'donor' ? [joiner, donor] : [donor, joiner];
  const ourRole = original === 'donor' ? 'joiner' : 'donor';
  expect(theirs.errorLog()).toContain(`original-shape ${original}:`);
  expect(theirs.errorLog()).not.toContain('(sst-tunnel');
  expect(ours.errorLog()).toContain(`rsync_tunnel SST started on ${ourRole} (sst-tunnel`);
  expect(ours.errorLog()).toMatch(new RegExp(`SST ${ourRole} finished: .*TLSv1\\.3`));
  if (original === 'donor') {
    // Accepted for rolling upgrades, and said: the original donor proves no binding token.
    expect(ours.errorLog()).toMatch(/This SST is not bound to its donor: .*require-donor-binding=1/);
    expect(ours.errorLog()).toMatch(/SST binding: (\d+) of \1 connection\(s\) carried no proof/);
  } else {
    // The original joiner asked for no binding: our donor sends the plain rsync stream it expects.
    expect(ours.errorLog()).toContain('The joiner did not ask for SST binding');
    // Two-phase (the default, issue #22) into an original joiner: its extra passes are ordinary rsync passes.
    expect(ours.errorLog()).toMatch(/Phase 2 done: .* of data/);
  }
  expect(processesMentioning(dir).filter((p) => /--role (joiner|donor)/.test(p.cmdline))).toEqual([]);
  // Nor any socat of the original (its command lines name the key files).
  await waitFor(() => processesMentioning(pki).length === 0, 30_000, "the original's socat processes to end");
  // The original joiner logs no summary of its own: then mysqld's lines (whole seconds) time it.
  const timing = sstTimingFromLog(joiner.errorLog());
  const ms = timing === undefined ? undefined : `${timing.durationMs} ms (${timing.precision})`;
  figures.push(
    `${versions[0]} -> ${versions[1]} (${original === 'donor' ? 'original donor, our joiner' : 'our donor, original joiner'}): ${ms ?? 'n/a'}`,
  );
}

const DATA = { databases: 2, tablesPerDb: 2, rowsPerTable: 2000, blobBytes: 2048 };

/** ms between the first log line matching `from` and the first one after it matching `to`, by our lines' stamps. */
function stampOf(log: string, from: RegExp, to: RegExp): number {
  const lines = log.split('\n');
  const at = (line: string | undefined): number => {
    const m = /\((\d{4})(\d\d)(\d\d) (\d\d:\d\d:\d\d\.\d{3})\)$/.exec(line ?? '');
    if (m === null) throw new Error(`No time stamp in "${line}"`);
    return Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}Z`);
  };
  const i = lines.findIndex((l) => from.test(l));
  const j = lines.findIndex((l, k) => k > i && to.test(l));
  return at(lines[j]) - at(lines[i]);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it holds; fails with `what` after `timeoutMs`. Returns the ms it took. */
async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
  return Date.now() - started;
}

describe.skipIf(skip !== undefined)('real Galera SSTs between MariaDB 10.11 and 11.8 (rsync_tunnel)', () => {
  it('11.8 -> 11.8 with binary logs, mariadbd as mysql', async () => {
    const nodes = [
      await nodeSpec('node1', '127.0.0.111', '11.8'),
      await nodeSpec('node2', '127.0.0.112', '11.8'),
    ];
    await withCluster(
      nodes,
      async (cluster, dir) => {
        const [node1, node2] = cluster.nodes as [GaleraNode, GaleraNode];
        await cluster.bootstrap(120_000);
        expect(await node1.query('SELECT @@log_bin, @@wsrep_sst_method')).toBe('1\trsync_tunnel');
        await cluster.loadData(DATA);
        await joinAndCheck(cluster, dir, node1, node2, ['11.8', '11.8']);
        // 11.8 relayed the SST user on stdin; the joiner, 11.8 too, drops the donor's temporary account.
        expect(await node2.query("SELECT COUNT(*) FROM mysql.user WHERE user LIKE 'wsrep.sst.%'")).toBe('0');
      },
      clusterOptions(),
    );
  }, 300_000);

  it('10.11 donor -> 11.8 joiner, then 11.8 donor -> 10.11 joiner', async () => {
    const nodes = await upgradeTrio(['127.0.0.113', '127.0.0.114', '127.0.0.115']);
    await withCluster(
      nodes,
      async (cluster, dir) => {
        const [node1, node2, node3] = cluster.nodes as [GaleraNode, GaleraNode, GaleraNode];
        await cluster.bootstrap(120_000);
        await cluster.loadData(DATA);
        await joinAndCheck(cluster, dir, node1, node2, ['10.11', '11.8']);
        await joinAndCheck(cluster, dir, node2, node3, ['11.8', '10.11']);
        // The 11.8 donor (empty wsrep_sst_auth) made a temporary superuser for the SST; the physical copy carried
        // it, and 10.11 keeps it where 11.8 drops it: what the README tells operators to look for and drop.
        const accounts = "SELECT CONCAT(user, '@', host) FROM mysql.user WHERE user LIKE 'wsrep.sst.%'";
        expect(await node3.query(accounts)).toMatch(/^wsrep\.sst\.\d+_\d+_node2@localhost$/);
        expect(await node2.query(accounts)).toBe('');
      },
      clusterOptions(),
    );
  }, 300_000);

  it('rolling upgrade with the original socat-based script on 10.11: original donor -> our 11.8 joiner, our 11.8 donor -> original joiner', async () => {
    // The original lives where only this machine's (10.11) mysqld finds it: not under /tmp, which the root shares.
    const originalBin = mkdtempSync('/var/tmp/sst-e2e-original-');
    try {
      chmodSync(originalBin, 0o755);
      copyFileSync(
        join(REPO, 'test', 'fixtures', 'original-sst', 'wsrep_sst_rsync_tunnel'),
        join(originalBin, 'wsrep_sst_rsync_tunnel'),
      );
      chmodSync(join(originalBin, 'wsrep_sst_rsync_tunnel'), 0o755);
      // No binary logs: the original-shape script does not carry them (its joiner would leave the tarball).
      const nodes = await upgradeTrio(['127.0.0.118', '127.0.0.119', '127.0.0.120'], { binlog: false });
      const opts = { pathPrepend: [originalBin, ...clusterOptions().pathPrepend] };
      await withCluster(
        nodes,
        async (cluster, dir) => {
          const [node1, node2, node3] = cluster.nodes as [GaleraNode, GaleraNode, GaleraNode];
          await cluster.bootstrap(120_000);
          await cluster.loadData(DATA);
          await originalPairCheck(cluster, dir, node1, node2, ['10.11', '11.8'], 'donor');
          await originalPairCheck(cluster, dir, node2, node3, ['11.8', '10.11'], 'joiner');
        },
        opts,
      );
    } finally {
      rmSync(originalBin, { recursive: true, force: true });
    }
  }, 300_000);

  it('an 11.8 donor that cannot create its SST user: exit 22 naming wsrep_sst_auth, SIGTERM stops it, and the next SST works', async () => {
    const nodes = [
      await nodeSpec('node1', '127.0.0.116', '11.8'),
      await nodeSpec('node2', '127.0.0.117', '11.8'),
    ];
    // A stop that needs SIGKILL must show as a failure below, not pass quietly: the stop deadline is long.
    const opts = { ...clusterOptions(), timeouts: { stopMs: 120_000 } };
    await withCluster(
      nodes,
      async (cluster, dir) => {
        const [donor, joiner] = cluster.nodes as [GaleraNode, GaleraNode];
        // No grant tables: 11.8 cannot create its temporary `wsrep.sst.*` user for an empty wsrep_sst_auth.
        await donor.init();
        await donor.start({ bootstrap: true, args: ['--skip-grant-tables'] });
        await donor.waitSynced(120_000);
        expect(await donor.query('SELECT @@wsrep_sst_auth IS NULL OR @@wsrep_sst_auth = ""')).toBe('1');
        await cluster.loadData(DATA);

        await joiner.start();
        // Our donor read the credentials pipe to its end, found no sst_user line and said why, at once: before
        // the fix it waited for `tables_flushed` for ever (issue #14).
        const ended =
          /sst_user line: it could not create its temporary SST user .* set wsrep_sst_auth to any placeholder/;
        const failMs = await waitFor(() => ended.test(donor.errorLog()), 120_000, "our donor's error");
        expect(donor.errorLog()).toMatch(/WSREP_SST: \[ERROR\].*wsrep_sst_auth/);
        // mysqld saw the script exit with 22 (EINVAL).
        await waitFor(
          () => /wsrep_sst_rsync_tunnel --role 'donor'.*: 22 \(Invalid argument\)/.test(donor.errorLog()),
          30_000,
          "mysqld's report of the donor script's exit 22",
        );
        await waitFor(
          () =>
            processesMentioning(donor.paths.datadir).filter((p) => /--role donor/.test(p.cmdline)).length ===
            0,
          30_000,
          'the donor script to be gone',
        );
        // Bounded by its own clock too: from our donor's first line to its error (the rest is the joiner's start).
        const ranMs = stampOf(donor.errorLog(), /SST started on donor/, ended);
        expect(ranMs).toBeLessThan(30_000);
        figures.push(
          `11.8 donor without an SST user: our donor failed ${ranMs} ms after it started (${failMs} ms after the joiner started)`,
        );
        // The joiner cannot get a state from this donor and gives up; then the donor stops on SIGTERM (before the
        // fix, a graceful stop hung on the script that never ended).
        await expect(joiner.waitSynced(120_000)).rejects.toThrow('exited before reaching Synced');
        await joiner.stop();
        const stopStarted = Date.now();
        await donor.stop();
        const stopMs = Date.now() - stopStarted;
        figures.push(`that donor's mariadbd stopped on SIGTERM in ${stopMs} ms`);
        expect(stopMs).toBeLessThan(60_000);

        // The cause fixed (grant tables back), the next SST from the same node works.
        await donor.start({ bootstrap: true });
        await donor.waitSynced(120_000);
        joiner.resetDatadir();
        await joinAndCheck(cluster, dir, donor, joiner, ['11.8', '11.8']);
      },
      opts,
    );
  }, 300_000);
});
