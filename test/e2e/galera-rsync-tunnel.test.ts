/**
 * The product end to end: a real 2-node MariaDB Galera cluster on 127.0.0.2/127.0.0.3 where the empty node joins
 * through `wsrep_sst_method=rsync_tunnel`, i.e. real mysqld running our wrapper on both sides, with certificates
 * made by our own `certs`. Runs whenever MariaDB and galera-4 are installed (CI installs them).
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, createNodeCert } from '../../src/certs/index.js';
import { SCRIPTS } from '../../src/demo/contractDriver.js';
import { mariadbAvailable, sstTimingFromLog, type GaleraCluster } from '../../src/demo/galera.js';
import { withCluster } from '../helpers/galera-fixture.js';
import { processesMentioning } from '../helpers/sst-fixture.js';

const available = mariadbAvailable();
if (!available.ok) console.log(`Skipping the rsync_tunnel end-to-end tests: ${available.reason}`);

let pki: string;
const sst: Record<string, Record<string, string>> = {};

beforeAll(async () => {
  if (!available.ok) return;
  pki = mkdtempSync(join(tmpdir(), 'sst-e2e-pki-'));
  chmodSync(pki, 0o755);
  await createCa({ dir: pki });
  for (const [name, ip] of [
    ['node1', '127.0.0.2'],
    ['node2', '127.0.0.3'],
  ] as const) {
    const made = await createNodeCert({ dir: pki, name, ips: [ip] });
    sst[name] = { tca: made.caPath, tcert: made.certPath, tkey: made.keyPath };
  }
});

afterAll(() => {
  if (pki !== undefined) rmSync(pki, { recursive: true, force: true });
});

/** Lets the server's OS user read the key material (0600 keys, 0700 dir as `certs` writes them). */
function shareKeys(user: 'mysql' | 'root'): void {
  const entry = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`))
    ?.split(':');
  const uid = Number(entry?.[2] ?? 0);
  const gid = Number(entry?.[3] ?? 0);
  for (const name of readdirSync(pki)) chownSync(join(pki, name), uid, gid);
  chownSync(pki, uid, gid);
}

// The private temp dir an SST that ran as root left when it was killed (SIGKILL, OOM): 0700, root's. The pid is
// 2^22, above any pid_max, so never alive. A `mysql` SST must join with it there (it cannot remove it: until
// issue #16 that EACCES ended the SST before `ready`, the e2e flake); a root SST sweeps it.
const STALE_ROOT_TMP = 'sst-tunnel-4194304-kill3d';

/** A shared [sst] tmpdir like /tmp (1777) holding a killed root SST's leftover; /tmp itself is shared with others. */
function sharedTmpWithRootLeftover(): string {
  const dir = join(pki, 'tmp');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  chmodSync(dir, 0o1777);
  mkdirSync(join(dir, STALE_ROOT_TMP), { mode: 0o700 });
  writeFileSync(join(dir, STALE_ROOT_TMP, 'rsyncd.conf'), '');
  return dir;
}

async function joinAndCompare(cluster: GaleraCluster, dir: string): Promise<void> {
  const [node1, node2] = cluster.nodes as [GaleraCluster['nodes'][0], GaleraCluster['nodes'][0]];
  await cluster.bootstrap();
  await cluster.loadData({ databases: 3, tablesPerDb: 2, rowsPerTable: 3000, blobBytes: 2048 });
  await cluster.join(node2, 180_000);

  const [sum1, sum2] = [await cluster.checksums(node1), await cluster.checksums(node2)];
  expect([...sum1.keys()].filter((t) => t.startsWith('sst_db'))).toHaveLength(6);
  expect(sum2).toEqual(sum1);
  // Writes keep working in both directions.
  await node2.query(
    'CREATE TABLE sst_db1.w (id INT PRIMARY KEY, v CHAR(8)); INSERT INTO sst_db1.w VALUES (1, "from2")',
  );
  expect(await node1.query('SET SESSION wsrep_sync_wait = 1; SELECT v FROM sst_db1.w WHERE id = 1')).toBe(
    'from2',
  );
  await node1.query('INSERT INTO sst_db1.w VALUES (2, "from1")');
  expect(await node2.query('SET SESSION wsrep_sync_wait = 1; SELECT v FROM sst_db1.w WHERE id = 2')).toBe(
    'from1',
  );

  // Our wrapper ran on both sides, over verified TLS, and said so in each error log.
  const joinerLog = node2.errorLog();
  const donorLog = node1.errorLog();
  expect(joinerLog).toContain('rsync_tunnel SST started on joiner (sst-tunnel');
  expect(joinerLog).toMatch(/SST joiner finished: .* over \d+ TLS connection\(s\), TLSv1\.3/);
  expect(donorLog).toContain('rsync_tunnel SST started on donor (sst-tunnel');
  expect(donorLog).toMatch(/SST donor finished: .*peer verified by SAN IP "127\.0\.0\.3"/);
  if (node2.spec.user === 'mysql')
    expect(joinerLog).toContain(`this user cannot remove (another user's, e.g. root's): ${STALE_ROOT_TMP}`);
  // The binary log arrived and the joiner's index names it.
  expect(await node2.query('SHOW BINARY LOGS')).not.toBe('');
  // Nothing transient is left in either datadir, and no process of ours runs.
  for (const node of [node1, node2]) {
    for (const name of [
      'wsrep_sst.pid',
      'sst_in_progress',
      'rsync_tunnel_sst_complete',
      'wsrep_sst_binlog.tar',
    ]) {
      expect(existsSync(join(node.paths.datadir, name)), `${name} in ${node.name}`).toBe(false);
    }
  }
  // Scoped to this cluster's directory (the scripts' --datadir): /proc is shared with every other SST on the host.
  const ours = processesMentioning(dir).filter((p) => /--role (joiner|donor)/.test(p.cmdline));
  expect(ours).toEqual([]);
  const timing = sstTimingFromLog(joinerLog);
  console.log(`rsync_tunnel SST (${node2.spec.user}): ${timing?.durationMs ?? '?'} ms`);
}

describe.skipIf(!available.ok)('wsrep_sst_method=rsync_tunnel on a real Galera cluster', () => {
  for (const user of ['mysql', 'root'] as const) {
    it(`joins an empty node by an encrypted SST with mariadbd running as ${user}`, async () => {
      shareKeys(user);
      const tmp = sharedTmpWithRootLeftover();
      const nodes = [
        {
          name: 'node1',
          address: '127.0.0.2',
          sstMethod: 'rsync_tunnel',
          user,
          binlog: true,
          sst: { ...sst.node1, tmpdir: tmp },
        },
        {
          name: 'node2',
          address: '127.0.0.3',
          sstMethod: 'rsync_tunnel',
          user,
          binlog: true,
          sst: { ...sst.node2, tmpdir: tmp },
        },
      ];
      await withCluster(nodes, joinAndCompare, { pathPrepend: [SCRIPTS] });
      // mysql may not remove root's leftover and must have left it (and said so); root sweeps it.
      expect(existsSync(join(tmp, STALE_ROOT_TMP))).toBe(user === 'mysql');
      expect(readdirSync(tmp).filter((n) => n !== STALE_ROOT_TMP)).toEqual([]);
    }, 300_000);
  }
});
