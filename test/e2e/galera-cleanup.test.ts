/**
 * The harness under failure, on real mariadbd (127.0.0.2/.3): a join that cannot succeed fails fast with both
 * logs in the message, and stopping a cluster in the middle of an SST leaves no mariadbd, SST script or rsync.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { mariadbAvailable } from '../../src/demo/galera.js';
import { withCluster } from '../helpers/galera-fixture.js';

const available = mariadbAvailable();
if (!available.ok) console.log(`Skipping the real Galera cleanup tests: ${available.reason}`);

/** Command lines of every process that mentions a path (all SST command lines carry the datadir). */
function processesUsing(path: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(path) && !line.includes('ps -eo'));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!available.ok)('cleanup and failure reporting on a real cluster', () => {
  it('fails a join fast when the SST fails, quoting the donor (rsync SST with mariadbd as root)', async () => {
    // The documented pitfall: as root, rsync's daemon drops to "nobody" and cannot write the datadir (exit 23).
    const nodes = [
      { name: 'node1', address: '127.0.0.2', sstMethod: 'rsync', user: 'root' as const },
      { name: 'node2', address: '127.0.0.3', sstMethod: 'rsync', user: 'root' as const },
    ];
    let dir = '';
    await withCluster(nodes, async (cluster, d) => {
      dir = d;
      await cluster.bootstrap();
      await cluster.loadData({ databases: 1, tablesPerDb: 1, rowsPerTable: 100, blobBytes: 100 });
      const started = Date.now();
      const error = await cluster.join(cluster.nodes[1]!, 120_000).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error?.message).toContain('Node "node2" exited before reaching Synced; error log tail:');
      expect(error?.message).toContain('Will never receive state. Need to abort.');
      expect(error?.message).toContain('donor "node1" SST lines:');
      expect(error?.message).toMatch(/rsync error: .*\(code 23\)/);
      expect(Date.now() - started).toBeLessThan(60_000);
    });
    expect(processesUsing(dir)).toEqual([]);
  }, 180_000);

  it('stops a cluster in the middle of an SST and leaves no process behind', async () => {
    const nodes = [
      { name: 'node1', address: '127.0.0.2', sstMethod: 'rsync', user: 'mysql' as const },
      { name: 'node2', address: '127.0.0.3', sstMethod: 'rsync', user: 'mysql' as const },
    ];
    let dir = '';
    await withCluster(nodes, async (cluster, d) => {
      dir = d;
      const node2 = cluster.nodes[1]!;
      await cluster.bootstrap();
      await cluster.loadData({ databases: 1, tablesPerDb: 2, rowsPerTable: 40_000, blobBytes: 1024 });
      await node2.start();
      // Wait until both SST scripts run, then pull the plug.
      const deadline = Date.now() + 60_000;
      while (!cluster.first.errorLog().includes('SST started on donor') && Date.now() < deadline)
        await sleep(100);
      expect(processesUsing(d).some((p) => p.includes('wsrep_sst_rsync'))).toBe(true);
      await cluster.stopAll();
      expect(processesUsing(d)).toEqual([]);
      await cluster.stopAll(); // idempotent
    });
    expect(processesUsing(dir)).toEqual([]);
  }, 180_000);
});
