/**
 * Suite 3, full SST on a real 2-node Galera cluster on 127.0.0.20/127.0.0.21 (reserved for benchmarks): our
 * rsync_tunnel against MariaDB's plain `rsync` and MariaDB's `rsync` with stunnel TLS (`[sst] tca/tcert/tkey` and
 * `ssl-mode=VERIFY_CA`). The donor is loaded once; every round rewrites both option files for each method in turn
 * (the SST script reads them afresh at every SST; the joiner's wsrep_sst_method picks the method), empties the
 * joiner's datadir and joins it again. SST wall time comes from the joiner's error log (sstTimingFromLog).
 * Before every join the disk is settled (pageCache.ts) and the order of the methods rotates from round to round.
 */
import { treeBytes } from '../sst/datadirScan.js';
import { sstTimingFromLog, renderSstSides } from '../demo/galera.js';
import { configureSst, withBenchCluster } from './benchCluster.js';
import { flushDirtyPages, roundOrder, warmTree } from './pageCache.js';
import type { RunRecord } from './record.js';
import { TreeCpuSampler, type ClassSeconds } from './treeSampler.js';

/** The SST methods compared, by variant id. */
// Ours twice: the default copy (two-phase: the donor stays writable, and phase 2 re-sends what changed) and
// `copy = single` (one pass under the lock, as MariaDB's rsync methods do): the price of the short read-only
// window in SST wall time shows side by side.
export const SST_VARIANTS = [
  {
    id: 'rsync_tunnel',
    name: 'sst-tunnel (rsync_tunnel, default two-phase copy)',
    method: 'rsync_tunnel',
    tls: true,
    sslMode: false,
  },
  {
    id: 'rsync_tunnel-single',
    name: 'sst-tunnel (rsync_tunnel, copy = single)',
    method: 'rsync_tunnel',
    tls: true,
    sslMode: false,
    sst: { copy: 'single' },
  },
  { id: 'rsync', name: 'rsync (no TLS)', method: 'rsync', tls: false, sslMode: false },
  { id: 'rsync-stunnel', name: 'rsync + stunnel (VERIFY_CA)', method: 'rsync', tls: true, sslMode: true },
] as const;

const ADDRESSES = ['127.0.0.20', '127.0.0.21'] as const;

/** Runs the suite; returns no records (with a note on stderr) when MariaDB or Galera is missing. */
export async function runSstSuite(opts: {
  cli: string;
  rounds: number;
  mib: number;
  onRun: (r: RunRecord) => void;
  progress: (text: string) => void;
}): Promise<RunRecord[]> {
  const sides = ADDRESSES.map((address) => ({ address }));
  return withBenchCluster({ suite: 'sst', cli: opts.cli, sides, progress: opts.progress }, async (made) => {
    const records: RunRecord[] = [];
    const { cluster, donor, joiner } = made;
    opts.progress(`[sst] bootstrapping ${donor.name} on ${ADDRESSES[0]} and loading ${opts.mib} MiB`);
    await cluster.bootstrap();
    const tables = 12;
    const rowsPerTable = Math.ceil((opts.mib * 2 ** 20) / 1024 / tables);
    await cluster.loadData({ databases: 3, tablesPerDb: 4, rowsPerTable, blobBytes: 1024 });
    for (let round = 1; round <= opts.rounds; round++) {
      // Each round starts with another method, so none is always the one after a pause or after the load.
      for (const v of roundOrder(SST_VARIANTS, round)) {
        configureSst(made, {
          ...v,
          sst: { ...('sst' in v ? v.sst : {}), ...(v.sslMode ? { 'ssl-mode': 'VERIFY_CA' } : {}) },
        });
        await joiner.stop();
        joiner.resetDatadir();
        // Same start for every method: the last join's writes on disk, the donor's files in the page cache.
        flushDirtyPages();
        warmTree(donor.paths.datadir);
        const base = { suite: 'sst' as const, dataset: 'sst', variant: v.id, name: v.name, round };
        let record: RunRecord;
        // CPU of everything both mariadbd start for the SST, tunnel and rsync apart (treeSampler.ts).
        const sampler = new TreeCpuSampler(() => [donor.pid(), joiner.pid()]);
        sampler.start();
        try {
          await cluster.join(joiner, 900_000);
          const [d, j] = sampler.stop() as [ClassSeconds, ClassSeconds];
          const timing = sstTimingFromLog(joiner.errorLog());
          if (timing === undefined) throw new Error('no SST timing in the joiner log');
          record = {
            ...base,
            bytes: treeBytes(joiner.paths.datadir).bytes,
            wallS: timing.durationMs / 1000,
            cost: {
              donorCpuS: d.tunnel,
              joinerCpuS: j.tunnel,
              donorRssBytes: Number.NaN,
              joinerRssBytes: Number.NaN,
            },
            rsyncCpuS: { client: d.rsync, daemon: j.rsync },
          };
        } catch (error) {
          sampler.stop();
          opts.progress(
            `[sst] ${v.name} failed:\n${renderSstSides([
              { label: `joiner "${joiner.name}"`, where: joiner.paths.errorLog, text: joiner.errorLog() },
              { label: `donor "${donor.name}"`, where: donor.paths.errorLog, text: donor.errorLog() },
            ])}`,
          );
          record = {
            ...base,
            bytes: 0,
            wallS: Number.NaN,
            error: (error as Error).message.split('\n')[0] ?? 'failed',
          };
        }
        records.push(record);
        opts.onRun(record);
      }
    }
    const [a, b] = [await cluster.checksums(donor), await cluster.checksums(joiner)];
    if (JSON.stringify([...a]) !== JSON.stringify([...b]))
      opts.progress('[sst] WARNING: the last join has different checksums');
    return records;
  });
}
