/**
 * withCluster: a throwaway real Galera cluster for one end-to-end test. It creates a temp dir, runs the test body,
 * and always stops every node (and SST leftovers) and removes the dir; with KEEP_E2E=1 a failed run keeps the dir
 * and prints where, so its error logs and datadirs can be read. Whatever fails in the body, the error message
 * ends with every node's SST lines (GaleraCluster.sstReport), read before the logs are removed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GaleraCluster, type GaleraClusterOptions } from '../../src/demo/galera.js';

/** Node specs without their baseDir: withCluster gives each node `<tempdir>/<name>`. */
export type ClusterNodeSpecs = GaleraClusterOptions['nodes'];

/** Creates a cluster in a fresh temp dir, runs fn, and always cleans up (keeps the dir on failure with KEEP_E2E=1). */
export async function withCluster<T>(
  specs: ClusterNodeSpecs,
  fn: (cluster: GaleraCluster, dir: string) => Promise<T>,
  opts: Omit<GaleraClusterOptions, 'baseDir' | 'nodes'> = {},
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'sst-e2e-'));
  let failed = true;
  let cluster: GaleraCluster | undefined;
  try {
    cluster = await GaleraCluster.create({ ...opts, baseDir: dir, nodes: specs });
    const result = await fn(cluster, dir);
    failed = false;
    return result;
  } catch (error) {
    // join() already carries the report; an assertion after it (or a bootstrap failure) does not.
    if (cluster !== undefined && error instanceof Error && !error.message.includes(' SST lines: (full log: '))
      error.message += `\n${cluster.sstReport()}`;
    throw error;
  } finally {
    try {
      await cluster?.stopAll();
    } finally {
      if (failed && process.env.KEEP_E2E === '1') console.error(`KEEP_E2E=1: cluster files kept in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    }
  }
}
