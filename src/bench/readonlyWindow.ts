/**
 * The readonly suite's pure half (issue #22, readonlyBench.ts runs it): the donor's read-only window of one SST
 * read from the donor's error log, and the medians, paired ratios and target verdicts of the suite's table.
 *
 * The window runs from the donor script seeing `tables_flushed` to its `continue`, on the script's own clock
 * (millisecond stamps, sst-contract.md 2.5), the same two lines for every method:
 *   ours (single and two-phase): `WSREP_SST: [INFO] donor: Tables flushed at position <uuid>:<seqno> (<stamp>)`
 *     to `WSREP_SST: [INFO] donor: Read-only window (tables_flushed to continue): 1.2 s (<stamp>)`, logged just
 *     before `continue` (donor.ts); the figure in that line is kept as `loggedS` (0.1 s resolution);
 *   MariaDB's wsrep_sst_rsync: `WSREP_SST: [INFO] Tables flushed (<stamp>)` to
 *     `WSREP_SST: [INFO] Sending continue to donor (<stamp>)`, printed just before its `echo continue`.
 * mysqld's own lines ("Provider paused", "resuming provider") have second stamps only; they are not used.
 */
import { lineTime } from '../demo/sstDuration.js';
import { median, pairedRatio, spread, type Spread } from './stats.js';
import { fmt } from './table.js';

/** The donor's read-only window of the last SST in a log. */
export interface DonorWindow {
  seconds: number;
  /** Our donor's own figure, where it logs one. */
  loggedS?: number;
}

const isFlushed = (l: string): boolean => l.startsWith('WSREP_SST:') && /\bTables flushed\b/.test(l);
const LOGGED = /Read-only window \(tables_flushed to continue\): ([\d.]+) s/;
const isContinue = (l: string): boolean =>
  l.startsWith('WSREP_SST:') && (LOGGED.test(l) || l.includes('Sending continue to donor'));

/** The last SST's window in a donor's error log (or the part of it one SST wrote); undefined without both lines. */
export function donorWindowFromLog(errorLog: string): DonorWindow | undefined {
  const lines = errorLog.split('\n');
  let start = -1;
  for (let i = lines.length - 1; i >= 0 && start < 0; i--) if (isFlushed(lines[i] as string)) start = i;
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && isContinue(l));
  if (end < 0) return undefined;
  const [from, to] = [lineTime(lines[start] as string), lineTime(lines[end] as string)];
  if (from === undefined || to === undefined) return undefined;
  const logged = LOGGED.exec(lines[end] as string);
  return {
    seconds: (to.ms - from.ms) / 1000,
    ...(logged !== null && { loggedS: Number(logged[1]) }),
  };
}

/** Our donor's lines that say where a two-phase SST spent its time (phases, bytes, the summary's stages). */
export function donorPhaseLines(errorLog: string): string[] {
  return errorLog
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('WSREP_SST:') &&
        /Phase [12]|Tables flushed|Read-only window|SST donor finished|Sending \d|Sending continue/.test(l),
    )
    .map((l) => l.replace(/^WSREP_SST: \[\w+\] /, ''));
}

/** The compared methods, by id; `single` is the reference of every ratio. */
export const READONLY_VARIANTS = ['rsync', 'single', 'two-phase'] as const;
export type ReadonlyVariant = (typeof READONLY_VARIANTS)[number];
export const LOADS = ['quiet', 'write'] as const;
export type Load = (typeof LOADS)[number];

/** One SST of the readonly suite. */
export interface ReadonlyRecord {
  load: Load;
  variant: ReadonlyVariant;
  round: number;
  /** The SST's wall time, from the joiner's log (sstTimingFromLog). */
  wallS: number;
  /** The donor's window, tables_flushed to continue (donorWindowFromLog). */
  windowS: number;
  /** The longest statement of the write load on the donor during the SST (NaN on a quiet donor). */
  stallS: number;
  /** Statements the write load ran, and how many failed. */
  statements?: number;
  statementErrors?: number;
  /** The joiner's datadir after the SST. */
  dataBytes: number;
  checksumsEqual: boolean;
  /** donorPhaseLines of this SST, for the profile. */
  donorLines?: string[];
  error?: string;
}

/** One (load, variant) of the table. */
export interface ReadonlyRow {
  load: Load;
  variant: ReadonlyVariant;
  runs: number;
  failures: number;
  wallS: Spread;
  windowS: Spread;
  stallS: Spread;
  /** Paired medians over rounds of this ÷ single's, same load. */
  wallVsSingle: number;
  windowVsSingle: number;
  stallVsSingle: number;
  checksumsEqual: boolean;
  dataGiB: number;
}

/** Rows in LOADS × READONLY_VARIANTS order, for the combinations that ran. */
export function summarizeReadonly(records: readonly ReadonlyRecord[]): ReadonlyRow[] {
  const rows: ReadonlyRow[] = [];
  for (const load of LOADS) {
    const single = records.filter((r) => r.load === load && r.variant === 'single' && r.error === undefined);
    const byRound = (list: readonly ReadonlyRecord[], f: (r: ReadonlyRecord) => number): number[] => {
      const out: number[] = [];
      for (const r of list) out[r.round] = f(r);
      return out;
    };
    for (const variant of READONLY_VARIANTS) {
      const runs = records.filter((r) => r.load === load && r.variant === variant);
      if (runs.length === 0) continue;
      const ok = runs.filter((r) => r.error === undefined);
      const ratio = (f: (r: ReadonlyRecord) => number): number =>
        pairedRatio(byRound(ok, f), byRound(single, f));
      rows.push({
        load,
        variant,
        runs: runs.length,
        failures: runs.length - ok.length,
        wallS: spread(ok.map((r) => r.wallS)),
        windowS: spread(ok.map((r) => r.windowS)),
        stallS: spread(ok.map((r) => r.stallS)),
        wallVsSingle: ratio((r) => r.wallS),
        windowVsSingle: ratio((r) => r.windowS),
        stallVsSingle: ratio((r) => r.stallS),
        checksumsEqual: runs.every((r) => r.checksumsEqual),
        dataGiB: median(ok.map((r) => r.dataBytes)) / 2 ** 30,
      });
    }
  }
  return rows;
}

const cell = (s: Spread, digits = 1): string =>
  !Number.isFinite(s.median)
    ? '–'
    : s.min === s.max
      ? fmt(s.median, digits)
      : `${fmt(s.median, digits)} [${fmt(s.min, digits)}–${fmt(s.max, digits)}]`;
const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : '–');

/** The suite's table (markdown): medians [min–max] over rounds and paired ratios against single. */
export function renderReadonlyTable(rows: readonly ReadonlyRow[]): string {
  const lines = [
    '| donor | variant | SST wall s | × single | window s (donor log) | % of single | longest stall s | % of single | datadir GiB | checksums | ok |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|',
  ];
  for (const r of rows)
    lines.push(
      `| ${r.load === 'quiet' ? 'quiet' : 'write load'} | ${r.variant === 'rsync' ? 'plain rsync' : r.variant} | ${cell(r.wallS)} | ${fmt(r.wallVsSingle, 2)} | ${cell(r.windowS, 2)} | ${pct(r.windowVsSingle)} | ${cell(r.stallS, 2)} | ${pct(r.stallVsSingle)} | ${fmt(r.dataGiB, 2)} | ${r.checksumsEqual ? 'equal' : 'DIFFERENT'} | ${r.runs - r.failures}/${r.runs} |`,
    );
  return lines.join('\n');
}

/** One of issue #22's targets and whether the rows meet it. */
export interface Verdict {
  target: string;
  value: number;
  limit: number;
  met: boolean;
}

/**
 * The targets, on two-phase's paired ratios against single: window <= 10% of single's on a quiet donor, <= 25%
 * under the write load (the logged window, and the longest stall where there is a load), wall <= 1.3x.
 */
export function verdicts(rows: readonly ReadonlyRow[]): Verdict[] {
  const out: Verdict[] = [];
  for (const r of rows.filter((x) => x.variant === 'two-phase')) {
    const limit = r.load === 'quiet' ? 0.1 : 0.25;
    const add = (target: string, value: number, max: number): void => {
      if (Number.isFinite(value)) out.push({ target, value, limit: max, met: value <= max });
    };
    add(`${r.load}: two-phase window ÷ single's`, r.windowVsSingle, limit);
    add(`${r.load}: two-phase longest stall ÷ single's`, r.stallVsSingle, limit);
    add(`${r.load}: two-phase SST wall ÷ single's`, r.wallVsSingle, 1.3);
    out.push({
      target: `${r.load}: two-phase data identical in every run`,
      value: r.checksumsEqual && r.failures === 0 ? 1 : 0,
      limit: 1,
      met: r.checksumsEqual && r.failures === 0,
    });
  }
  return out;
}

/** Verdicts as lines, "met" or "NOT met". */
export function renderVerdicts(list: readonly Verdict[]): string {
  return list
    .map((v) =>
      v.target.endsWith('every run')
        ? `- ${v.target}: ${v.met ? 'met' : 'NOT met'}`
        : `- ${v.target}: ${fmt(v.value, 3)} (target <= ${v.limit}): ${v.met ? 'met' : 'NOT met'}`,
    )
    .join('\n');
}
