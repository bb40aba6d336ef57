/**
 * The readonly suite (`sst-tunnel bench --only readonly`, issue #22): how long a full SST keeps the donor
 * read-only, for MariaDB's plain `rsync` method, ours with `[sst] copy = single` and ours with
 * `[sst] copy = two-phase`, on a real 2-node Galera cluster (127.0.0.24/.25, apart from the sst suite's pair).
 *
 * The donor is loaded once with wanRows (rows of text and numbers, as a real database holds) and reused; only the
 * joiner's datadir is emptied between runs. Every round runs every variant on a quiet donor, then every variant
 * under a write load on the donor (writeLoad.ts: one client, statements one at a time, each one timed), the order
 * rotating from round to round. Per run: the SST's wall time (joiner log), the donor's window from
 * `tables_flushed` to `continue` (donor log, readonlyWindow.ts), the longest statement of the load, and
 * CHECKSUM TABLE of every table on both nodes once the joiner has applied everything (data identical).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { treeBytes } from '../sst/datadirScan.js';
import { sstTimingFromLog, type GaleraCluster, type GaleraNode } from '../demo/galera.js';
import { configureSst, withBenchCluster, type SstSetup } from './benchCluster.js';
import type { BenchCliOptions } from './options.js';
import { flushDirtyPages, roundOrder, warmTree } from './pageCache.js';
import {
  donorPhaseLines,
  donorWindowFromLog,
  LOADS,
  READONLY_VARIANTS,
  renderReadonlyTable,
  renderVerdicts,
  summarizeReadonly,
  verdicts,
  type Load,
  type ReadonlyRecord,
  type ReadonlyVariant,
} from './readonlyWindow.js';
import { loadWanRows } from './wanBench.js';
import { WriteLoad, type WriteLoadResult } from './writeLoad.js';

const ADDRESSES = ['127.0.0.24', '127.0.0.25'] as const;

/** The load's pace: a statement every 50 ms, the client issue #22 measured with; a stall is one statement's time. */
const LOAD_INTERVAL_MS = 50;

/** Each variant's method and `[sst]` settings (ours over TLS, as it always runs; plain rsync without). */
const SETUPS: Record<ReadonlyVariant, SstSetup> = {
  rsync: { method: 'rsync', tls: false },
  single: { method: 'rsync_tunnel', tls: true, sst: { copy: 'single' } },
  'two-phase': { method: 'rsync_tunnel', tls: true, sst: { copy: 'two-phase' } },
};

/** Runs the suite; no records (a note on stderr) when MariaDB or Galera is missing. */
export async function runReadonlySuite(opts: {
  cli: string;
  rounds: number;
  mib: number;
  loads: readonly Load[];
  variants: readonly ReadonlyVariant[];
  onRun: (r: ReadonlyRecord) => void;
  progress: (text: string) => void;
}): Promise<ReadonlyRecord[]> {
  const sides = ADDRESSES.map((address) => ({ address }));
  return withBenchCluster(
    { suite: 'readonly', cli: opts.cli, sides, progress: opts.progress },
    async (made) => {
      const records: ReadonlyRecord[] = [];
      const { cluster, donor, joiner } = made;
      opts.progress(
        `[readonly] bootstrapping ${donor.name} on ${ADDRESSES[0]} and loading ${opts.mib} MiB of rows`,
      );
      await cluster.bootstrap();
      const t0 = Date.now();
      await loadWanRows(donor, opts.mib);
      opts.progress(`[readonly] loaded in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      for (let round = 1; round <= opts.rounds; round++) {
        for (const load of opts.loads) {
          for (const variant of roundOrder(opts.variants, round)) {
            configureSst(made, SETUPS[variant]);
            const record = await oneRun(cluster, donor, joiner, { load, variant, round }, opts.progress);
            records.push(record);
            opts.onRun(record);
          }
        }
      }
      return records;
    },
  );
}

/** One SST into an emptied joiner, under the load or not; a failure is a record with `error`, not a throw. */
async function oneRun(
  cluster: GaleraCluster,
  donor: GaleraNode,
  joiner: GaleraNode,
  base: Pick<ReadonlyRecord, 'load' | 'variant' | 'round'>,
  progress: (text: string) => void,
): Promise<ReadonlyRecord> {
  await joiner.stop();
  joiner.resetDatadir();
  // Same start for every method: the last join's writes on disk, the donor's files in the page cache.
  flushDirtyPages();
  warmTree(donor.paths.datadir);
  // The donor's log grows over the whole suite: this SST's lines are the ones after here.
  const logFrom = donor.errorLog().length;
  let writer: WriteLoad | undefined;
  let stats: WriteLoadResult | undefined;
  try {
    if (base.load === 'write') {
      writer = new WriteLoad({ target: { defaultsFile: donor.paths.config }, intervalMs: LOAD_INTERVAL_MS });
      await writer.start();
    }
    await cluster.join(joiner, 1_800_000);
    stats = await writer?.stop();
    // A causal read waits until the joiner has applied every write set the donor committed before it.
    await joiner.query('SET SESSION wsrep_sync_wait = 15; SELECT 1', { timeoutMs: 600_000 });
    const timing = sstTimingFromLog(joiner.errorLog());
    const donorLog = donor.errorLog().slice(logFrom);
    const window = donorWindowFromLog(donorLog);
    if (timing === undefined) throw new Error('no SST timing in the joiner log');
    if (window === undefined) throw new Error('no tables_flushed/continue lines in the donor log');
    const [a, b] = await Promise.all([cluster.checksums(donor), cluster.checksums(joiner)]);
    return {
      ...base,
      wallS: timing.durationMs / 1000,
      windowS: window.seconds,
      stallS: stats === undefined ? Number.NaN : stats.longestStallMs / 1000,
      ...(stats !== undefined && { statements: stats.statements, statementErrors: stats.errors }),
      dataBytes: treeBytes(joiner.paths.datadir).bytes,
      checksumsEqual: a.size > 0 && JSON.stringify([...a]) === JSON.stringify([...b]),
      donorLines: donorPhaseLines(donorLog),
    };
  } catch (error) {
    if (stats === undefined) await writer?.stop().catch(() => undefined);
    const message = (error as Error).message;
    progress(`[readonly] ${base.load} ${base.variant} round ${base.round} failed: ${message.slice(0, 3000)}`);
    return {
      ...base,
      wallS: Number.NaN,
      windowS: Number.NaN,
      stallS: Number.NaN,
      dataBytes: 0,
      checksumsEqual: false,
      error: message.split('\n')[0] ?? 'failed',
    };
  }
}

/** A comma-separated subset of `known`, or all of them. */
function subset<T extends string>(value: string | undefined, option: string, known: readonly T[]): T[] {
  if (value === undefined) return [...known];
  const list = value.split(',').map((v) => v.trim());
  const bad = list.filter((v) => !(known as readonly string[]).includes(v));
  if (bad.length > 0 || list.length === 0)
    throw new UsageError(
      `Invalid value for ${option}: "${value}" (use ${known.join(', ')}, comma-separated)`,
    );
  return list as T[];
}

/** `sst-tunnel bench --only readonly`: checks the options, runs the suite, prints the table and the verdicts. */
export async function runReadonlyCommand(opts: BenchCliOptions): Promise<void> {
  const number = (value: string | undefined, option: string, fallback: number): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`Invalid value for ${option}: "${value}"`);
    return n;
  };
  const rounds = number(opts.rounds, '--rounds', 3);
  if (!Number.isInteger(rounds)) throw new UsageError(`Invalid value for --rounds: "${opts.rounds ?? ''}"`);
  const mib = number(opts.sstMib, '--sst-mib', 1700);
  const loads = subset(opts.readonlyLoads, '--readonly-loads', LOADS);
  // single is every ratio's reference: it always runs.
  const asked = subset(opts.readonlyVariants, '--readonly-variants', READONLY_VARIANTS);
  const variants = READONLY_VARIANTS.filter((v) => v === 'single' || asked.includes(v));
  const progress = (text: string): void => void process.stderr.write(`${text}\n`);
  const started = new Date();
  const records = await runReadonlySuite({
    cli: fileURLToPath(new URL('../cli.js', import.meta.url)),
    rounds,
    mib,
    loads,
    variants,
    onRun: (r) =>
      progress(
        `[readonly] round ${r.round} ${r.load} ${r.variant}: ${r.error ?? `SST ${r.wallS.toFixed(1)} s, window ${r.windowS.toFixed(2)} s, longest stall ${Number.isFinite(r.stallS) ? `${r.stallS.toFixed(2)} s (${r.statements ?? 0} statements, ${r.statementErrors ?? 0} failed)` : '–'}, ${(r.dataBytes / 2 ** 30).toFixed(2)} GiB, checksums ${r.checksumsEqual ? 'equal' : 'DIFFERENT'}`}`,
      ),
    progress,
  });
  const rows = summarizeReadonly(records);
  process.stdout.write(
    `sst-tunnel bench --only readonly, ${started.toISOString()}, ${mib} MiB of rows loaded, ${rounds} round(s)\n\n` +
      `${renderReadonlyTable(rows)}\n\nTargets (paired medians against single in the same round):\n` +
      `${renderVerdicts(verdicts(rows))}\n`,
  );
  if (opts.json !== undefined)
    writeFileSync(
      opts.json,
      `${JSON.stringify({ started: started.toISOString(), mib, rounds, rows, records }, null, 1)}\n`,
    );
}
