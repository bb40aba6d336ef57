/**
 * The 2-node Galera cluster the SST suites measure (sstBench.ts on loopback, wanBench.ts across a shaped link):
 * a throwaway CA with one certificate per node (its address as IP SAN), nodes running as mysql with binlogs on
 * and our scripts first on mysqld's PATH. One place, so the suites compare the same setup.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createCa, createNodeCert } from '../certs/index.js';
import { GaleraCluster, renderNodeConfig, type GaleraNode } from '../demo/galera.js';

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
  return { cluster, donor, joiner, tls, addresses: sides.map((side) => side.address) };
}
