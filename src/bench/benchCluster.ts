/**
 * The 2-node Galera cluster the SST suites measure (sstBench.ts on loopback, wanBench.ts across a shaped link):
 * a throwaway CA with one certificate per node (its address as IP SAN), nodes running as mysql with binlogs on
 * and our scripts first on mysqld's PATH. One place, so the suites compare the same setup.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createCa, createNodeCert } from '../certs/index.js';
import { GaleraCluster, type GaleraNode } from '../demo/galera.js';

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
  return { cluster, donor, joiner, tls };
}
