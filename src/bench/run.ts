/**
 * `sst-tunnel bench`: checks its options, makes throwaway certificates on tmpfs, runs the chosen suites and
 * prints one table per suite (stdout) with progress on stderr; `--json` writes the runs and the summaries.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { deferCleanup } from '../demo/exitCleanup.js';
import { VERSION } from '../version.js';
import { makePki } from './pki.js';
import { stopAllProcesses } from './procs.js';
import { GiB, type RunRecord, type Suite } from './record.js';
import { RELAY_IDS, type RelayContext, type RelayId } from './relays.js';
import { renderSummary, summarize } from './summary.js';
import { fmt } from './table.js';
import { runTunnelSuite, STREAM_VARIANTS } from './tunnelBench.js';
import type { BenchCliOptions } from './options.js';

/** The rsync suite's datasets (rsyncBench.ts), for --datasets without loading that module. */
const DATASET_IDS = ['large', 'small', 'smallpar'] as const;
type DatasetId = (typeof DATASET_IDS)[number];

/** Checked options. */
export interface BenchPlan {
  gib: number;
  rounds: number;
  suites: Suite[];
  quick: boolean;
  json?: string;
  profile: boolean;
  sstMib: number;
  /** --variants: the tunnels to run (each suite adds its reference); undefined = the suite's own list. */
  variants?: RelayId[];
  /** --datasets: the rsync datasets to run; undefined = all. */
  datasets?: DatasetId[];
}

/** A comma-separated list of known names, or a UsageError naming the option and what it accepts. */
function names<T extends string>(
  value: string | undefined,
  option: string,
  known: readonly T[],
): T[] | undefined {
  if (value === undefined) return undefined;
  const list = value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  const bad = list.filter((v) => !(known as readonly string[]).includes(v));
  if (list.length === 0 || bad.length > 0) {
    throw new UsageError(
      `Invalid value for ${option}: "${bad.join(',') || value}" (use ${known.join(', ')}, comma-separated)`,
    );
  }
  return list as T[];
}

function positive(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`Invalid value for ${option}: "${value}" is not a positive number`);
  return n;
}

/** Turns command-line options into a plan; UsageError names the option that is wrong. */
export function benchPlan(opts: BenchCliOptions): BenchPlan {
  const quick = opts.quick === true;
  const suites: Suite[] = quick ? ['tunnel', 'rsync'] : ['tunnel', 'rsync', 'sst'];
  if (opts.only !== undefined && !['tunnel', 'rsync', 'sst'].includes(opts.only))
    throw new UsageError(
      `Invalid value for --only: "${opts.only}" (use tunnel, rsync, sst, wan or readonly)`,
    );
  const rounds = positive(opts.rounds, '--rounds', quick ? 1 : 3);
  if (!Number.isInteger(rounds))
    throw new UsageError(`Invalid value for --rounds: "${opts.rounds ?? ''}" is not a whole number`);
  return {
    gib: positive(opts.size, '--size', quick ? 0.25 : 2),
    rounds,
    suites: opts.only === undefined ? suites : [opts.only as Suite],
    quick,
    ...(opts.json !== undefined && { json: opts.json }),
    profile: opts.profile === true,
    sstMib: positive(opts.sstMib, '--sst-mib', quick ? 128 : 1024),
    ...optionalList('variants', names(opts.variants, '--variants', RELAY_IDS)),
    ...optionalList('datasets', names(opts.datasets, '--datasets', DATASET_IDS)),
  };
}

function optionalList<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

const out = (text: string): void => void process.stdout.write(text);
const progress = (text: string): void => void process.stderr.write(`${text}\n`);

function describeRun(r: RunRecord): string {
  if (r.error !== undefined)
    return `[${r.suite}] round ${r.round} ${r.dataset} ${r.name}: FAILED: ${r.error}`;
  const mbs = r.bytes / r.wallS / 1e6;
  const cpu =
    r.cost === undefined
      ? ''
      : `, tunnel CPU ${fmt(((r.cost.donorCpuS + r.cost.joinerCpuS) * GiB) / r.bytes)} s/GiB`;
  return `[${r.suite}] round ${r.round} ${r.dataset} ${r.name}: ${fmt(r.wallS)} s, ${fmt(mbs, 0)} MB/s${cpu}`;
}

/** Runs the benchmark. */
export async function runBench(opts: BenchCliOptions): Promise<void> {
  // The wan suite builds its own hosts (network namespaces) and table: wanBench.ts.
  if (opts.only === 'wan') return (await import('./wanBench.js')).runWanCommand(opts);
  // So does the readonly suite (issue #22): readonlyBench.ts.
  if (opts.only === 'readonly') return (await import('./readonlyBench.js')).runReadonlyCommand(opts);
  const plan = benchPlan(opts);
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkdtempSync(join(base, 'sst-bench-'));
  const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
  const records: RunRecord[] = [];
  const onRun = (r: RunRecord): void => {
    records.push(r);
    progress(describeRun(r));
  };
  const started = new Date();
  // Interrupted (command.ts: endOnSignals): the bench's processes are killed first (procs.ts), then this goes.
  const removeDir = deferCleanup(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const pki = await makePki(join(dir, 'pki'));
    const ctx: RelayContext = {
      dir,
      pki,
      cli,
      host: '127.0.0.1',
      ...(plan.profile && {
        nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${join(process.cwd(), 'bench-profiles')}`],
      }),
    };
    progress(`bench: ${plan.suites.join(', ')}; ${plan.rounds} round(s); working in ${dir}`);
    const wanted = (id: RelayId, reference: RelayId): boolean =>
      plan.variants === undefined || id === reference || plan.variants.includes(id);
    if (plan.suites.includes('tunnel')) {
      const variants = STREAM_VARIANTS.filter((v) => wanted(v.relay, 'socat-b128k'));
      await runTunnelSuite(ctx, { gib: plan.gib, rounds: plan.rounds, variants, onRun });
    }
    if (plan.suites.includes('rsync')) {
      const { runRsyncSuite, RSYNC_RELAYS } = await import('./rsyncBench.js');
      await runRsyncSuite(ctx, {
        rounds: plan.rounds,
        quick: plan.quick,
        // Any tunnel can carry rsync: --variants may name one the default list leaves out (ours-pipe, ours-w2).
        relays:
          plan.variants === undefined
            ? RSYNC_RELAYS
            : ['none', ...plan.variants.filter((id) => id !== 'none')],
        ...(plan.datasets !== undefined && { datasets: plan.datasets }),
        onRun,
      });
    }
    if (plan.suites.includes('sst')) {
      const { runSstSuite } = await import('./sstBench.js');
      await runSstSuite({ cli, rounds: plan.rounds, mib: plan.sstMib, onRun, progress });
    }
  } finally {
    await stopAllProcesses();
    removeDir();
  }
  const rows = summarize(records);
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  out(
    `sst-tunnel ${VERSION} bench, ${started.toISOString()}, Node ${process.version}, ${cpus().length} × ${cpu}\n` +
      `tunnel-only size ${plan.gib} GiB, ${plan.rounds} round(s)\n\n`,
  );
  for (const suite of plan.suites) out(`${renderSummary(suite, rows)}\n`);
  if (plan.json !== undefined) {
    writeFileSync(
      plan.json,
      `${JSON.stringify({ version: VERSION, started: started.toISOString(), node: process.version, cpu, cores: cpus().length, plan, summary: rows, runs: records }, null, 1)}\n`,
    );
    progress(`bench: wrote ${plan.json}`);
  }
}
