/**
 * Opt-in measurement (E2E_SST_MIB=<MiB>, E2E_SST_RUNS=<n>, default 1): the wall time of a plain `rsync` SST of
 * about that much data between two real nodes on 127.0.0.2/.3, read from the joiner's log (sstTimingFromLog)
 * and, for comparison, from outside (start of the joiner until it is Synced). Prints one line per run.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mariadbAvailable, sstTimingFromLog } from '../../src/demo/galera.js';
import { withCluster } from '../helpers/galera-fixture.js';

/** Disk use of a directory in MiB. */
const duMiB = (dir: string): string =>
  execFileSync('du', ['-sm', dir], { encoding: 'utf8' }).split('\t')[0] ?? '?';

const mib = Number(process.env.E2E_SST_MIB ?? 0);
const runs = Number(process.env.E2E_SST_RUNS ?? 1);
const available = mariadbAvailable();
if (mib > 0 && !available.ok) console.log(`Skipping the SST timing run: ${available.reason}`);

describe.skipIf(!(mib > 0) || !available.ok)(`rsync SST timing (${mib} MiB)`, () => {
  it('measures each join', async () => {
    const nodes = [
      { name: 'node1', address: '127.0.0.2', sstMethod: 'rsync', user: 'mysql' as const, binlog: true },
      { name: 'node2', address: '127.0.0.3', sstMethod: 'rsync', user: 'mysql' as const },
    ];
    await withCluster(nodes, async (cluster) => {
      const [node1, node2] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
      await cluster.bootstrap();
      const tables = 12; // 3 databases x 4 tables
      const rowsPerTable = Math.ceil((mib * 1024 * 1024) / 1024 / tables);
      let t = Date.now();
      await cluster.loadData({ databases: 3, tablesPerDb: 4, rowsPerTable, blobBytes: 1024 });
      const binlogs = await node1.query('SHOW BINARY LOGS');
      const binlogMiB =
        binlogs.split('\n').reduce((sum, l) => sum + Number(l.split('\t')[1] ?? 0), 0) / 2 ** 20;
      console.log(
        `loaded ${mib} MiB of payload in ${Date.now() - t} ms; donor datadir ${duMiB(node1.paths.datadir)} MiB, ` +
          `of which binlog ${binlogMiB.toFixed(0)} MiB`,
      );
      for (let run = 1; run <= runs; run++) {
        if (run > 1) {
          await node2.stop();
          node2.resetDatadir();
        }
        t = Date.now();
        await cluster.join(node2, 600_000);
        const outside = Date.now() - t;
        const timing = sstTimingFromLog(node2.errorLog());
        console.log(
          `run ${run}: SST ${timing?.durationMs} ms (${timing?.precision} precision, joiner log); ` +
            `start-to-Synced ${outside} ms; joiner datadir ${duMiB(node2.paths.datadir)} MiB`,
        );
        expect(timing?.durationMs).toBeGreaterThan(0);
      }
      const top = execFileSync(
        'du',
        ['-sm', '--', ...readdirSync(node2.paths.datadir).map((f) => join(node2.paths.datadir, f))],
        {
          encoding: 'utf8',
        },
      );
      console.log(
        `joiner datadir after SST, MiB: ${top
          .trim()
          .split('\n')
          .filter((l) => !l.startsWith('0\t'))
          .map((l) => l.replace(/\t.*\//, ' '))
          .join(', ')}`,
      );
      expect(await cluster.checksums(node2)).toEqual(await cluster.checksums(node1));
    });
  }, 1_800_000);
});
