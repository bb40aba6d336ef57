/**
 * The 2-node Galera cluster the SST suites measure (sstBench.ts on loopback, wanBench.ts across a shaped link):
 * a throwaway CA with one certificate per node (its address as IP SAN), nodes running as mysql with binlogs on
 * and our scripts first on mysqld's PATH. One place, so the suites compare the same setup.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createCa, createNodeCert } from '../certs/index.js';
import { GaleraCluster, mariadbAvailable, renderNodeConfig, type GaleraNode } from '../demo/galera.js';
import { deferCleanup } from '../demo/exitCleanup.js';

/** A node of the bench cluster: its address, and the command that starts its mariadbd (e.g. `ip netns exec`). */
export interface BenchSide {
  address: string;
  launcher?: string[];
}

export interface BenchCluster {
  cluster: GaleraCluster;
  donor: GaleraNode;
  joiner: GaleraNode;
  /** Per node (in `sides` order): the `[sst]` tca/tcert/tkey for a TLS variant. */
  tls: Record<string, string>[];
  /** The nodes' addresses, in `sides` order. */
  addresses: string[];
  /** The directory below which the PKI and the cluster live; a suite may keep its own files there too. */
  dir: string;
}

/** An SST method as a bench variant sets it up: the method, TLS files or not, and more `[sst]` settings. */
export interface SstSetup {
  method: string;
  tls: boolean;
  sst?: Readonly<Record<string, string>>;
}

/**
 * Rewrites every node's my.cnf for one method. The SST script reads its option file afresh at every SST and the
 * joiner's wsrep_sst_method picks the method, so a restarted joiner runs the new one.
 */
export function configureSst(bench: BenchCluster, setup: SstSetup): void {
  for (const [i, node] of bench.cluster.nodes.entries()) {
    const group: Record<string, string> = { ...(setup.tls ? bench.tls[i] : {}), ...setup.sst };
    writeFileSync(
      node.paths.config,
      renderNodeConfig({ ...node.spec, sstMethod: setup.method, sst: group }, bench.addresses),
    );
  }
}

/**
 * Makes the PKI below `dir`/pki and the (not yet bootstrapped) cluster below `dir`/cluster. `cli` is dist/cli.js:
 * the scripts directory beside dist/ goes first on mysqld's PATH.
 */
export async function createBenchCluster(
  dir: string,
  cli: string,
  sides: readonly BenchSide[],
): Promise<BenchCluster> {
  const pki = join(dir, 'pki');
  mkdirSync(pki);
  await createCa({ dir: pki });
  const tls: Record<string, string>[] = [];
  for (const [i, side] of sides.entries()) {
    const made = await createNodeCert({ dir: pki, name: `node${i + 1}`, ips: [side.address] });
    tls.push({ tca: made.caPath, tcert: made.certPath, tkey: made.keyPath });
  }
  mkdirSync(join(dir, 'cluster'));
  const cluster = await GaleraCluster.create({
    baseDir: join(dir, 'cluster'),
    nodes: sides.map((side, i) => ({
      name: `node${i + 1}`,
      address: side.address,
      sstMethod: 'rsync',
      user: 'mysql' as const,
      binlog: true,
      ...(side.launcher !== undefined && { launcher: side.launcher }),
    })),
    pathPrepend: [join(dirname(cli), '..', 'scripts')],
  });
  const [donor, joiner] = cluster.nodes as [GaleraNode, GaleraNode];
  // mariadbd runs as mysql: it must read the 0600 keys `certs` wrote.
  donor.chownForServer([pki, ...readdirSync(pki).map((n) => join(pki, n))]);
  return { cluster, donor, joiner, tls, addresses: sides.map((side) => side.address), dir };
}

/**
 * Runs a suite's `body` on a fresh bench cluster in a throwaway directory, then stops every node and removes the
 * directory whatever happened. The directory is on disk, not tmpfs: InnoDB wants O_DIRECT; the page cache keeps
 * the datadirs warm, as in galera-on-one-host.md. Without MariaDB or Galera: a note through `progress` and no
 * records.
 */
export async function withBenchCluster<T>(
  opts: { suite: string; cli: string; sides: readonly BenchSide[]; progress: (text: string) => void },
  body: (bench: BenchCluster) => Promise<T[]>,
): Promise<T[]> {
  const available = mariadbAvailable();
  if (!available.ok) {
    opts.progress(`[${opts.suite}] skipped: ${available.reason ?? 'MariaDB is not available'}`);
    return [];
  }
  const dir = mkdtempSync(join(tmpdir(), `sst-bench-${opts.suite}-`));
  chmodSync(dir, 0o755);
  // Interrupted: the nodes' groups are killed first (processGroup.ts), then the directory goes.
  const removeDir = deferCleanup(() => rmSync(dir, { recursive: true, force: true }));
  let cluster: GaleraCluster | undefined;
  try {
    const made = await createBenchCluster(dir, opts.cli, opts.sides);
    cluster = made.cluster;
    return await body(made);
  } finally {
    await cluster?.stopAll().catch(() => undefined);
    removeDir();
  }
}
