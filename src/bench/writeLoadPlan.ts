/**
 * The pure half of the write-load driver (writeLoad.ts): the SQL it sends, how it reads the client's output back,
 * and the latency figures it reports. The load is the one issue #22 measured a donor's read-only window with: a
 * client inserting new rows into and updating existing rows of one hot table, one statement at a time, each
 * followed by a marker SELECT whose echo says the statement is over. No I/O here.
 */

/** Shape of the load: where the hot table lives and what share of statements are UPDATEs. */
export interface WriteLoadShape {
  /** Database of the hot table (created if missing). */
  database: string;
  /** The hot table (created if missing). */
  table: string;
  /** Rows seeded before the load starts; UPDATEs pick one of them (key 1..seedRows). At least 1. */
  seedRows: number;
  /** Share of statements that are UPDATEs of seeded rows, 0..1; the rest INSERT new rows. */
  updateShare: number;
}

export const DEFAULT_SHAPE: WriteLoadShape = {
  database: 'sst_load',
  table: 'hot',
  seedRows: 1000,
  updateShare: 0.5,
};

/** Statement kinds, for the per-statement record. */
export type StatementKind = 'insert' | 'update';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

function checkShape(shape: WriteLoadShape): void {
  for (const name of [shape.database, shape.table]) {
    // Names go into SQL text unquoted-by-value: only plain identifiers, so nothing can break out of them.
    if (!IDENTIFIER.test(name)) throw new Error(`Cannot use "${name}" as a write-load identifier`);
  }
  if (!Number.isInteger(shape.seedRows) || shape.seedRows < 1)
    throw new Error(`Cannot seed ${shape.seedRows} rows: seedRows must be an integer >= 1`);
  if (!(shape.updateShare >= 0 && shape.updateShare <= 1))
    throw new Error(`Cannot use updateShare ${shape.updateShare}: it must lie in 0..1`);
}

/**
 * One line that creates the database and hot table if missing and seeds rows 1..seedRows (kept if present, so a
 * second load on the same node reuses them). `k` is the seeded rows' key: the inserted rows leave it NULL and take
 * an AUTO_INCREMENT id, which Galera's auto_increment_control keeps unique across nodes.
 */
export function setupSql(shape: WriteLoadShape): string {
  checkShape(shape);
  const t = `\`${shape.database}\`.\`${shape.table}\``;
  return [
    `CREATE DATABASE IF NOT EXISTS \`${shape.database}\``,
    `CREATE TABLE IF NOT EXISTS ${t} (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, k INT NULL UNIQUE, ` +
      `n INT NOT NULL DEFAULT 0, v VARCHAR(64) NOT NULL, at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ` +
      `ENGINE=InnoDB`,
    // seq_1_to_N is MariaDB's built-in Sequence engine: no client-side loop for the seed.
    `INSERT IGNORE INTO ${t} (k, n, v) SELECT seq, 0, 'seed' FROM \`${shape.database}\`.seq_1_to_${shape.seedRows}`,
  ]
    .map((s) => `${s};`)
    .join(' ');
}

/** Whether statement `i` (0-based) is an UPDATE: spreads updateShare evenly over the sequence. */
export function kindOf(i: number, updateShare: number): StatementKind {
  return Math.floor((i + 1) * updateShare) > Math.floor(i * updateShare) ? 'update' : 'insert';
}

/** Which seeded row statement `i` updates: a fixed scramble of i over 1..seedRows, so updates hit many rows. */
export function updateKey(i: number, seedRows: number): number {
  // Multiplying by a large odd constant modulo 2^32 spreads consecutive i; deterministic, so runs repeat.
  return ((Math.imul(i + 1, 0x9e3779b1) >>> 0) % seedRows) + 1;
}

/** The text of statement `i`, one line, ending in ';'. */
export function statementSql(i: number, shape: WriteLoadShape): { kind: StatementKind; sql: string } {
  const t = `\`${shape.database}\`.\`${shape.table}\``;
  const kind = kindOf(i, shape.updateShare);
  if (kind === 'update')
    return {
      kind,
      sql: `UPDATE ${t} SET n = n + 1, v = 'u${i}', at = CURRENT_TIMESTAMP(6) WHERE k = ${updateKey(i, shape.seedRows)};`,
    };
  return { kind, sql: `INSERT INTO ${t} (n, v) VALUES (0, 'i${i}');` };
}

/** The marker SELECT sent after statement `i`; its echo (markerOf) says statement i is over. */
export function markerSql(i: number): string {
  return `SELECT 'wl-mark ${i}';`;
}

/** What one line of the client's merged output (stdout and stderr, `-N -B`) means to the driver. */
export type OutputLine =
  | { type: 'marker'; index: number }
  | { type: 'error'; line: number | undefined; message: string }
  | { type: 'other'; text: string };

/**
 * Reads one output line. The client prints `ERROR 1047 (08S01) at line 7: WSREP has not yet prepared node ...`
 * for a failed statement: the input line number says whether the statement or its marker failed.
 */
export function parseOutputLine(text: string): OutputLine {
  const marker = /^wl-mark (-?\d+)$/.exec(text);
  if (marker !== null) return { type: 'marker', index: Number(marker[1]) };
  if (text.startsWith('ERROR')) {
    const at = / at line (\d+)/.exec(text);
    return { type: 'error', line: at === null ? undefined : Number(at[1]), message: text };
  }
  return { type: 'other', text };
}

/** One statement as the driver saw it. */
export interface StatementRecord {
  index: number;
  kind: StatementKind;
  /** Wall-clock time (ms since the epoch) the statement was written to the client. */
  sentAt: number;
  /** From send to its marker's echo; for a statement still running at stop(), until stop(). */
  ms: number;
  ok: boolean;
  /** Still running when the load stopped (its ms is a lower bound). */
  unfinished?: boolean;
}

/** Latency distribution of the statements, in ms. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** The p-th percentile (0..100) of sorted values by nearest rank; NaN for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** Mean, p50, p90, p99 and max of the records' latencies (unfinished ones included: a stall is a stall). */
export function summarize(records: readonly StatementRecord[]): LatencySummary {
  const ms = records.map((r) => r.ms).sort((a, b) => a - b);
  const mean = ms.length === 0 ? Number.NaN : ms.reduce((a, b) => a + b, 0) / ms.length;
  return {
    count: ms.length,
    mean,
    p50: percentile(ms, 50),
    p90: percentile(ms, 90),
    p99: percentile(ms, 99),
    max: ms.length === 0 ? Number.NaN : (ms[ms.length - 1] as number),
  };
}

/** The longest statement (the donor's longest refusal to take a write) and when it was sent; undefined for none. */
export function longestStall(
  records: readonly StatementRecord[],
): { ms: number; at: number; index: number } | undefined {
  let worst: StatementRecord | undefined;
  for (const r of records) if (worst === undefined || r.ms > worst.ms) worst = r;
  return worst === undefined ? undefined : { ms: worst.ms, at: worst.sentAt, index: worst.index };
}

/** The records of statements sent in [from, to) (wall clock) that succeeded: "the node took writes then". */
export function succeededBetween(
  records: readonly StatementRecord[],
  from: number,
  to: number,
): StatementRecord[] {
  return records.filter((r) => r.ok && r.sentAt >= from && r.sentAt < to);
}
