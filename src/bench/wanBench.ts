/**
 * The wan suite (`sst-tunnel bench --only wan`, issue #17): a real 2-node Galera cluster whose nodes live in two
 * network namespaces joined by a veth pair shaped with tbf (shapedLink.ts), at each rate of `--wan-rates`
 * (Mbit/s; 0 = the veth unshaped). Data: rows of text and numbers (wanRows), not random bytes.
 *
 * Two scenarios per rate, every variant in each, the order rotating from round to round:
 * - full: the joiner's datadir is emptied, it joins by SST;
 * - rejoin: the joiner gets back its copy from before ~5% of the rows changed on the donor (a snapshot taken once
 *   when it was synced; the changes are UPDATEs spread over every table, as a day of writes is), with
 *   grastate.dat's seqno set to -1 (a crash: IST cannot serve it), and joins by SST.
 * - append (instead of rejoin, `--wan-scenarios`): the same, but the changes are rows added at the end of every
 *   table (5% more, new ids): clustered changes, where deltas should pay.
 * Every run records the SST's wall time (joiner log), the bytes that crossed the veth both ways, the CPU of the
 * SST's processes on each side, and whether CHECKSUM TABLE agrees on both nodes afterwards.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { deferCleanup } from '../demo/exitCleanup.js';
import type { BenchCliOptions } from './options.js';
import { join } from 'node:path';
import { treeBytes } from '../sst/datadirScan.js';
import { sstTimingFromLog, type GaleraNode } from '../demo/galera.js';
import { configureSst, withBenchCluster } from './benchCluster.js';
import { flushDirtyPages, roundOrder, warmTree } from './pageCache.js';
import { openShapedLink, planLink } from './shapedLink.js';
import { median } from './stats.js';
import { TreeCpuSampler, type ClassSeconds } from './treeSampler.js';
import { lastTransferChoice } from '../demo/report.js';

/** The compared methods: MariaDB's rsync and rsync_wan (with stunnel TLS), and ours in each transfer mode. */
export const WAN_VARIANTS = [
  { id: 'rsync', method: 'rsync', tls: false, sst: {} },
  { id: 'rsync_wan-stunnel', method: 'rsync_wan', tls: true, sst: { 'ssl-mode': 'VERIFY_CA' } },
  { id: 'ours-whole', method: 'rsync_tunnel', tls: true, sst: { transfer: 'whole' } },
  { id: 'ours-compress', method: 'rsync_tunnel', tls: true, sst: { transfer: 'whole', compress: 'zstd' } },
  { id: 'ours-lz4', method: 'rsync_tunnel', tls: true, sst: { transfer: 'whole', compress: 'lz4' } },
  { id: 'ours-delta', method: 'rsync_tunnel', tls: true, sst: { transfer: 'delta' } },
  { id: 'ours-delta-zstd', method: 'rsync_tunnel', tls: true, sst: { transfer: 'delta', compress: 'zstd' } },
  {
    id: 'ours-delta-zstd-4k',
    method: 'rsync_tunnel',
    tls: true,
    sst: { transfer: 'delta', compress: 'zstd', 'delta-block': '4K' },
  },
  { id: 'ours-auto', method: 'rsync_tunnel', tls: true, sst: { transfer: 'auto' } },
  // The A/B for splitting large directories into parts (splitDirs.ts): one pass per directory.
  {
    id: 'ours-whole-nosplit',
    method: 'rsync_tunnel',
    tls: true,
    sst: { transfer: 'whole', 'split-dirs': 'off' },
  },
  {
    id: 'ours-compress-nosplit',
    method: 'rsync_tunnel',
    tls: true,
    sst: { transfer: 'whole', compress: 'zstd', 'split-dirs': 'off' },
  },
] as const;

/** Our variants' `[sst] copy` in the wan suite. */
export type WanCopy = 'single' | 'two-phase';
export const WAN_COPIES: readonly WanCopy[] = ['single', 'two-phase'];

/** The scenarios: an empty joiner, or one holding a copy from before spread UPDATEs or appended rows. */
export const WAN_SCENARIOS = ['full', 'rejoin', 'append'] as const;
export type WanScenario = (typeof WAN_SCENARIOS)[number];

/** One wan run. */
export interface WanRecord {
  rateMbit: number;
  scenario: WanScenario;
  variant: string;
  round: number;
  wallS: number;
  /** The joiner's datadir after the SST. */
  dataBytes: number;
  /** Bytes through the veth, both directions. */
  wireBytes: number;
  /** CPU seconds of the SST's processes (scripts, tunnels, rsync), per side. */
  donorCpuS: number;
  joinerCpuS: number;
  checksumsEqual: boolean;
  /** What our donor's `Transfer:` line chose (and how a mixed copy split the directories), for ours. */
  transfer?: string;
  error?: string;
}

/**
 * The last transfer choice in a donor's error log, for the bench's progress lines and its JSON: the mode, the
 * link it measured and a mixed copy's split (demo/report.ts reads the lines). Pure.
 */
export function lastTransferSummary(log: string): string | undefined {
  const seen = lastTransferChoice(log);
  if (seen === undefined) return undefined;
  return [seen.mode, seen.link === undefined ? undefined : `link ${seen.link}`, seen.split]
    .filter(Boolean)
    .join('; ');
}

const WORDS = [
  'order', 'shipped', 'pending', 'customer', 'invoice', 'paid', 'refund', 'express', 'standard', 'warehouse',
  'berlin', 'paris', 'madrid', 'rome', 'vienna', 'oslo', 'blue', 'green', 'large', 'small',
  'returned', 'gift', 'priority', 'note', 'delivered', 'address', 'street', 'quantity', 'discount', 'tax',
  'account', 'review',
]; // prettier-ignore

/** One random word of WORDS, as SQL. */
function word(): string {
  return `ELT(1 + FLOOR(RAND() * ${WORDS.length}), ${WORDS.map((w) => `'${w}'`).join(', ')})`;
}

/** A note of about 100 random words with numbers among them, as SQL. */
function note(): string {
  return `CONCAT_WS(' ', ${Array.from({ length: 12 }, () => `${word()}, ${word()}, ${word()}, ${word()}, ${word()}, ${word()}, ${word()}, FLOOR(RAND() * 100000)`).join(', ')})`;
}

/** One INSERT of `rows` new rows into `table` (ids from its AUTO_INCREMENT: appended at the end). */
function insertRows(table: string, db: string, rows: number): string {
  return `INSERT INTO ${table} (customer, qty, price, created, note) SELECT CONCAT(${word()}, '-', FLOOR(RAND() * 1000000)), FLOOR(RAND() * 100), ROUND(RAND() * 1000, 2), NOW() - INTERVAL FLOOR(RAND() * 1000000) MINUTE, ${note()} FROM ${db}.seq_1_to_${rows}`;
}

/** Rows per table for `mib` MiB over `tables` tables (about 1 KiB a row on disk). */
function rowsPerTableFor(mib: number, tables: number): number {
  return Math.max(1, Math.ceil((mib * 2 ** 20) / 1000 / tables));
}

/**
 * SQL that loads `mib` MiB of rows of text and numbers into `tables` tables of `databases` databases: a name,
 * numbers, a price and a note of about 100 random words with numbers among them (about 1 KiB a row on disk).
 */
export function wanRows(mib: number, databases = 3, tablesPerDb = 4): string[] {
  const tables = databases * tablesPerDb;
  const rowsPerTable = rowsPerTableFor(mib, tables);
  const chunk = 20_000;
  const batches: string[] = [];
  for (let d = 1; d <= databases; d++) {
    const db = `wan_db${d}`;
    batches.push(`CREATE DATABASE IF NOT EXISTS ${db}`);
    for (let t = 1; t <= tablesPerDb; t++) {
      const table = `${db}.t${t}`;
      const statements = [
        `CREATE TABLE ${table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(64) NOT NULL, qty INT NOT NULL, price DECIMAL(10,2) NOT NULL, created DATETIME NOT NULL, note TEXT NOT NULL) ENGINE=InnoDB`,
      ];
      for (let done = 0; done < rowsPerTable; done += chunk)
        statements.push(insertRows(table, db, Math.min(chunk, rowsPerTable - done)));
      batches.push(statements.join(';\n'));
    }
  }
  return batches;
}

/** Loads wanRows(mib) into a node, one statement a call (its SQL is one argument: at most 128 KiB, MAX_ARG_STRLEN). */
export async function loadWanRows(node: GaleraNode, mib: number): Promise<void> {
  for (const batch of wanRows(mib))
    for (const sql of batch.split(';\n')) await node.query(sql, { timeoutMs: 3_600_000 });
}

/** SQL that changes one row in `every` of each wan table, spread over the whole table. */
export function wanChanges(databases = 3, tablesPerDb = 4, every = 20): string[] {
  const out: string[] = [];
  for (let d = 1; d <= databases; d++)
    for (let t = 1; t <= tablesPerDb; t++)
      out.push(
        `UPDATE wan_db${d}.t${t} SET qty = qty + 1, price = price * 1.05, note = CONCAT('changed ', note) WHERE id % ${every} = 7`,
      );
  return out;
}

/** SQL that appends one row in `every` more to each wan table of a `mib` MiB load: clustered changes. */
export function wanAppends(mib: number, databases = 3, tablesPerDb = 4, every = 20): string[] {
  const rows = Math.max(1, Math.ceil(rowsPerTableFor(mib, databases * tablesPerDb) / every));
  const out: string[] = [];
  for (let d = 1; d <= databases; d++)
    for (let t = 1; t <= tablesPerDb; t++) out.push(insertRows(`wan_db${d}.t${t}`, `wan_db${d}`, rows));
  return out;
}

/** Runs the suite; returns no records (with a note on stderr) when MariaDB, Galera or `ip netns` is missing. */
export async function runWanSuite(opts: {
  cli: string;
  rounds: number;
  mib: number;
  rates: number[];
  variants?: string[];
  scenarios?: WanScenario[];
  /** Our variants' `[sst] copy` (wanPlan: single unless --wan-copy says two-phase). */
  copy: WanCopy;
  onRun: (r: WanRecord) => void;
  progress: (text: string) => void;
}): Promise<WanRecord[]> {
  const variants = WAN_VARIANTS.filter((v) => opts.variants === undefined || opts.variants.includes(v.id));
  const link = planLink(process.pid, undefined);
  const [sideA, sideB] = link.sides;
  const shaped = openShapedLink(link);
  // Interrupted: the namespaces go too, after the nodes in them are killed (their cleanups are newer).
  const closeLink = deferCleanup(shaped.close);
  try {
    const sides = [sideA, sideB].map((side) => ({
      address: side.address,
      launcher: ['ip', 'netns', 'exec', side.ns],
    }));
    return await withBenchCluster(
      { suite: 'wan', cli: opts.cli, sides, progress: opts.progress },
      async (made) => {
        const records: WanRecord[] = [];
        const { cluster, donor, joiner } = made;
        // Ours with `copy = single` unless --wan-copy says otherwise: this suite compares transfer modes on a
        // link; two-phase (the product's default) adds its phase-2 re-send to every variant alike (the readonly
        // suite measures that), and puts auto's probe before the first data pass instead of beside the flush.
        const configure = (v: (typeof WAN_VARIANTS)[number]): void =>
          configureSst(made, v.method === 'rsync_tunnel' ? { ...v, sst: { copy: opts.copy, ...v.sst } } : v);
        opts.progress(`[wan] bootstrapping ${donor.name} in ${sideA.ns} and loading ${opts.mib} MiB of rows`);
        await cluster.bootstrap();
        await loadWanRows(donor, opts.mib);
        // The joiner's copy from before the changes: one SST (ours, unshaped), then a snapshot of its datadir.
        configure(WAN_VARIANTS[2]);
        await cluster.join(joiner, 3_600_000);
        await joiner.stop();
        const snapshot = join(made.dir, 'joiner-snapshot');
        cpSync(joiner.paths.datadir, snapshot, { recursive: true, preserveTimestamps: true });
        const scenarios = opts.scenarios ?? ['full', 'rejoin'];
        const appending = scenarios.includes('append');
        opts.progress(`[wan] ${appending ? 'adding 5% more rows' : 'changing ~5% of the rows'} on the donor`);
        for (const sql of appending ? wanAppends(opts.mib) : wanChanges())
          await donor.query(sql, { timeoutMs: 3_600_000 });
        for (let round = 1; round <= opts.rounds; round++) {
          for (const rate of opts.rates) {
            for (const side of link.sides) shaped.shape(side, rate === 0 ? undefined : rate);
            for (const scenario of scenarios) {
              for (const v of roundOrder(variants, round)) {
                configure(v);
                await joiner.stop();
                rmSync(joiner.paths.datadir, { recursive: true, force: true });
                if (scenario === 'full') mkdirSync(joiner.paths.datadir);
                else {
                  cpSync(snapshot, joiner.paths.datadir, { recursive: true, preserveTimestamps: true });
                  // A crash: the position is unknown, IST cannot serve it; the uuid still names the cluster.
                  const grastate = join(joiner.paths.datadir, 'grastate.dat');
                  writeFileSync(
                    grastate,
                    readFileSync(grastate, 'utf8').replace(/^seqno:.*$/m, 'seqno:   -1'),
                  );
                }
                joiner.chownForServer();
                chownTree(joiner);
                flushDirtyPages();
                warmTree(donor.paths.datadir);
                const sampler = new TreeCpuSampler(() => [donor.pid(), joiner.pid()]);
                const wire0 = shaped.wireBytes();
                sampler.start();
                const base = { rateMbit: rate, scenario, variant: v.id, round };
                let record: WanRecord;
                try {
                  await cluster.join(joiner, 3_600_000);
                  const [d, j] = sampler.stop() as [ClassSeconds, ClassSeconds];
                  const timing = sstTimingFromLog(joiner.errorLog());
                  if (timing === undefined) throw new Error('no SST timing in the joiner log');
                  const [a, b] = [await cluster.checksums(donor), await cluster.checksums(joiner)];
                  record = {
                    ...base,
                    wallS: timing.durationMs / 1000,
                    dataBytes: treeBytes(joiner.paths.datadir).bytes,
                    wireBytes: shaped.wireBytes() - wire0,
                    donorCpuS: d.tunnel + d.rsync,
                    joinerCpuS: j.tunnel + j.rsync,
                    checksumsEqual: JSON.stringify([...a]) === JSON.stringify([...b]),
                  };
                  const transfer =
                    v.method === 'rsync_tunnel' ? lastTransferSummary(donor.errorLog()) : undefined;
                  if (transfer !== undefined) record.transfer = transfer;
                } catch (error) {
                  sampler.stop();
                  opts.progress(
                    `[wan] ${v.id} ${scenario} failed: ${(error as Error).message.slice(0, 2000)}`,
                  );
                  record = {
                    ...base,
                    wallS: Number.NaN,
                    dataBytes: 0,
                    wireBytes: Number.NaN,
                    donorCpuS: Number.NaN,
                    joinerCpuS: Number.NaN,
                    checksumsEqual: false,
                    error: (error as Error).message.split('\n')[0] ?? 'failed',
                  };
                }
                keepLogs(record, donor, joiner);
                records.push(record);
                opts.onRun(record);
              }
            }
          }
        }
        return records;
      },
    );
  } finally {
    closeLink();
  }
}

/**
 * For profiling: with SST_TUNNEL_BENCH_LOGS=<dir>, each run's donor and joiner error logs are kept there
 * (`<rate>-<scenario>-<variant>-<round>.donor.log`), to read the stage times and choices behind a figure.
 */
function keepLogs(
  record: Pick<WanRecord, 'rateMbit' | 'scenario' | 'variant' | 'round'>,
  donor: GaleraNode,
  joiner: GaleraNode,
): void {
  const dir = process.env.SST_TUNNEL_BENCH_LOGS;
  if (dir === undefined || dir === '') return;
  mkdirSync(dir, { recursive: true });
  const stem = join(dir, `${record.rateMbit}-${record.scenario}-${record.variant}-${record.round}`);
  writeFileSync(`${stem}.donor.log`, donor.errorLog());
  writeFileSync(`${stem}.joiner.log`, joiner.errorLog());
}

/** A restored datadir belongs to the server's user, every file of it. */
function chownTree(node: GaleraNode): void {
  const walk = (path: string): string[] => {
    const out = [path];
    try {
      for (const name of readdirSync(path)) out.push(...walk(join(path, name)));
    } catch {
      // a file
    }
    return out;
  };
  node.chownForServer(walk(node.paths.datadir));
}

/** The suite's table: median per rate, scenario and variant; speed-up against plain rsync's full SST. */
export function renderWanTable(records: WanRecord[]): string {
  const GiB = 2 ** 30;
  const lines = [
    '| link | scenario | variant | SST s (median) | x plain rsync full | wire / data | donor CPU s/GiB | joiner CPU s/GiB | checksums |',
    '|---|---|---|---:|---:|---:|---:|---:|---|',
  ];
  const keys = [...new Set(records.map((r) => `${r.rateMbit}|${r.scenario}|${r.variant}`))];
  for (const key of keys) {
    const [rate, scenario, variant] = key.split('|') as [string, string, string];
    const runs = records.filter((r) => `${r.rateMbit}|${r.scenario}|${r.variant}` === key);
    const plain = records.filter(
      (r) => `${r.rateMbit}` === rate && r.scenario === 'full' && r.variant === 'rsync',
    );
    const wall = median(runs.map((r) => r.wallS));
    const gib = median(runs.map((r) => r.dataBytes)) / GiB;
    const fmt = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
    lines.push(
      `| ${rate === '0' ? 'unshaped veth' : `${rate} Mbit/s`} | ${scenario} | ${variant} | ${fmt(wall)} | ${fmt(median(plain.map((r) => r.wallS)) / wall, 2)} | ${fmt(median(runs.map((r) => r.wireBytes / r.dataBytes)), 2)} | ${fmt(median(runs.map((r) => r.donorCpuS)) / gib, 2)} | ${fmt(median(runs.map((r) => r.joinerCpuS)) / gib, 2)} | ${runs.every((r) => r.checksumsEqual) ? 'equal' : 'DIFFERENT'} |`,
    );
  }
  return lines.join('\n');
}

/** What `bench --only wan` will run, from its options; a UsageError names the first wrong one. Pure. */
export function wanPlan(opts: BenchCliOptions): {
  rates: number[];
  variants: string[] | undefined;
  scenarios: WanScenario[];
  copy: WanCopy;
  rounds: number;
  mib: number;
} {
  const number = (value: string, option: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`Invalid value for ${option}: "${value}"`);
    return n;
  };
  const rates = (opts.wanRates ?? '200,1000,0').split(',').map((r) => number(r.trim(), '--wan-rates'));
  const variants = opts.wanVariants?.split(',').map((v) => v.trim());
  const unknown = variants?.filter((v) => !WAN_VARIANTS.some((w) => w.id === v)) ?? [];
  if (unknown.length > 0)
    throw new UsageError(
      `Invalid value for --wan-variants: "${unknown.join(',')}" (use ${WAN_VARIANTS.map((v) => v.id).join(', ')})`,
    );
  const scenarios = (opts.wanScenarios ?? 'full,rejoin').split(',').map((v) => v.trim()) as WanScenario[];
  if (
    scenarios.some((v) => !WAN_SCENARIOS.includes(v)) ||
    (scenarios.includes('rejoin') && scenarios.includes('append'))
  )
    throw new UsageError(
      `Invalid value for --wan-scenarios: "${opts.wanScenarios ?? ''}" (use full, and rejoin or append)`,
    );
  const copy = (opts.wanCopy ?? 'single') as WanCopy;
  if (!WAN_COPIES.includes(copy))
    throw new UsageError(`Invalid value for --wan-copy: "${opts.wanCopy ?? ''}" (use single or two-phase)`);
  const rounds = opts.rounds === undefined ? 1 : number(opts.rounds, '--rounds');
  const mib = opts.sstMib === undefined ? 1024 : number(opts.sstMib, '--sst-mib');
  return { rates, variants, scenarios, copy, rounds, mib };
}

/** `sst-tunnel bench --only wan`: checks the options, runs the suite, prints the table; `--json` keeps the runs. */
export async function runWanCommand(opts: BenchCliOptions): Promise<void> {
  const { rates, variants, scenarios, copy, rounds, mib } = wanPlan(opts);
  const progress = (text: string): void => void process.stderr.write(`${text}\n`);
  const started = new Date();
  const records = await runWanSuite({
    cli: fileURLToPath(new URL('../cli.js', import.meta.url)),
    rounds,
    mib,
    rates,
    ...(variants !== undefined && { variants }),
    scenarios,
    copy,
    onRun: (r) =>
      progress(
        `[wan] round ${r.round} ${r.rateMbit === 0 ? 'unshaped' : `${r.rateMbit} Mbit/s`} ${r.scenario} ${r.variant}: ${r.error ?? `${r.wallS.toFixed(1)} s, ${(r.wireBytes / 2 ** 20).toFixed(0)} MiB on the wire for ${(r.dataBytes / 2 ** 20).toFixed(0)} MiB, CPU donor ${r.donorCpuS.toFixed(1)} s joiner ${r.joinerCpuS.toFixed(1)} s, checksums ${r.checksumsEqual ? 'equal' : 'DIFFERENT'}${r.transfer === undefined ? '' : ` (${r.transfer})`}`}`,
      ),
    progress,
  });
  process.stdout.write(
    `sst-tunnel bench --only wan, ${started.toISOString()}, ${mib} MiB loaded, ${rounds} round(s), ours with copy = ${copy}\n\n${renderWanTable(records)}\n`,
  );
  if (opts.json !== undefined) writeFileSync(opts.json, `${JSON.stringify({ records }, null, 2)}\n`);
}
