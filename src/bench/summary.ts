/**
 * From run records to one row per (suite, dataset, variant): medians with ranges, CPU per GiB by side, peak RSS
 * and paired ratios against the suite's reference variant in the same round. Pure, so it is unit-tested and the
 * same code renders stdout, the JSON file and BENCHMARKS.md.
 */
import { GiB, type RunRecord, type Suite } from './record.js';
import { pairedRatio, spread, type Spread } from './stats.js';
import { fmt, fmtSpread, renderTable, type Column } from './table.js';

/** The variant each suite's ratios are taken against. */
export const REFERENCE: Record<Suite, string> = { tunnel: 'socat-b128k', rsync: 'none', sst: 'rsync' };

/** One summarised variant. */
export interface SummaryRow {
  suite: Suite;
  dataset: string;
  variant: string;
  name: string;
  runs: number;
  failures: number;
  wallS: Spread;
  mbPerS: Spread;
  /** Tunnel CPU seconds per GiB moved (medians over rounds). */
  donorCpuPerGiB: number;
  joinerCpuPerGiB: number;
  tunnelCpuPerGiB: number;
  /** Joiner tunnel CPU ÷ wall: cores the joiner process kept busy. */
  joinerCores: number;
  rsyncCpuPerGiB?: number;
  /** Largest peak RSS seen, MB (10^6 bytes). */
  donorRssMB: number;
  joinerRssMB: number;
  /** Median over rounds of reference wall ÷ this wall (> 1 = faster than the reference). */
  speedVsRef: number;
  /** Median over rounds of this tunnel CPU ÷ the reference's (only where the reference has a tunnel). */
  cpuVsRef: number;
}

const key = (r: Pick<RunRecord, 'suite' | 'dataset' | 'variant'>): string =>
  `${r.suite}/${r.dataset}/${r.variant}`;

/** Summarises records; rows keep the order in which variants first appear. */
export function summarize(records: readonly RunRecord[]): SummaryRow[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  const rows: SummaryRow[] = [];
  for (const runs of groups.values()) {
    const first = runs[0] as RunRecord;
    const ok = runs.filter((r) => r.error === undefined && Number.isFinite(r.wallS));
    const ref = groups.get(key({ ...first, variant: REFERENCE[first.suite] })) ?? [];
    const byRound = (list: readonly RunRecord[], f: (r: RunRecord) => number): (number | undefined)[] => {
      const out: (number | undefined)[] = [];
      for (const r of list) if (r.error === undefined) out[r.round] = f(r);
      return out;
    };
    const perGiB = (f: (r: RunRecord) => number | undefined): number =>
      spread(ok.map((r) => ((f(r) ?? Number.NaN) * GiB) / r.bytes)).median;
    const tunnelCpu = (r: RunRecord): number =>
      r.cost === undefined ? Number.NaN : r.cost.donorCpuS + r.cost.joinerCpuS;
    const maxMB = (f: (r: RunRecord) => number | undefined): number => {
      const xs = ok.map((r) => f(r) ?? Number.NaN).filter(Number.isFinite);
      return xs.length === 0 ? Number.NaN : Math.max(...xs) / 1e6;
    };
    const rsync = ok.some((r) => r.rsyncCpuS !== undefined)
      ? perGiB((r) => (r.rsyncCpuS === undefined ? undefined : r.rsyncCpuS.client + r.rsyncCpuS.daemon))
      : undefined;
    rows.push({
      suite: first.suite,
      dataset: first.dataset,
      variant: first.variant,
      name: first.name,
      runs: runs.length,
      failures: runs.length - ok.length,
      wallS: spread(ok.map((r) => r.wallS)),
      mbPerS: spread(ok.map((r) => r.bytes / r.wallS / 1e6)),
      donorCpuPerGiB: perGiB((r) => r.cost?.donorCpuS),
      joinerCpuPerGiB: perGiB((r) => r.cost?.joinerCpuS),
      tunnelCpuPerGiB: perGiB(tunnelCpu),
      joinerCores: spread(ok.map((r) => (r.cost?.joinerCpuS ?? Number.NaN) / r.wallS)).median,
      ...(rsync !== undefined && { rsyncCpuPerGiB: rsync }),
      donorRssMB: maxMB((r) => r.cost?.donorRssBytes),
      joinerRssMB: maxMB((r) => r.cost?.joinerRssBytes),
      speedVsRef: pairedRatio(
        byRound(ref, (r) => r.wallS),
        byRound(runs, (r) => r.wallS),
      ),
      cpuVsRef: pairedRatio(byRound(runs, tunnelCpu), byRound(ref, tunnelCpu)),
    });
  }
  return rows;
}

const COLUMNS: Column[] = [
  { title: 'dataset' },
  { title: 'variant' },
  { title: 'MB/s median [min–max]', align: 'right' },
  { title: 'wall s', align: 'right' },
  { title: '× ref', align: 'right' },
  { title: 'CPU-s/GiB donor+joiner', align: 'right' },
  { title: 'CPU × ref', align: 'right' },
  { title: 'joiner cores', align: 'right' },
  { title: 'rsync CPU-s/GiB', align: 'right' },
  { title: 'peak RSS MB d/j', align: 'right' },
  { title: 'ok', align: 'right' },
];

/** One suite's rows as a text table; the heading says which variant the ratios are against. */
export function renderSummary(suite: Suite, rows: readonly SummaryRow[]): string {
  const mine = rows.filter((r) => r.suite === suite);
  if (mine.length === 0) return '';
  const cells = mine.map((r) => [
    r.dataset,
    r.name,
    fmtSpread(r.mbPerS, 0),
    fmt(r.wallS.median, 2),
    fmt(r.speedVsRef, 2),
    Number.isFinite(r.tunnelCpuPerGiB) && r.tunnelCpuPerGiB > 0
      ? `${fmt(r.donorCpuPerGiB)}+${fmt(r.joinerCpuPerGiB)}=${fmt(r.tunnelCpuPerGiB)}`
      : '–',
    fmt(r.cpuVsRef, 2),
    fmt(r.joinerCores, 2),
    fmt(r.rsyncCpuPerGiB, 2),
    `${fmt(r.donorRssMB, 0)}/${fmt(r.joinerRssMB, 0)}`,
    `${r.runs - r.failures}/${r.runs}`,
  ]);
  return `${suite} (ratios: paired medians vs "${REFERENCE[suite]}" in the same round)\n${renderTable(COLUMNS, cells)}\n`;
}
