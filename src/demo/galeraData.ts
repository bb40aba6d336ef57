/**
 * SQL for test data and for comparing it across nodes. Pure: statements in, parsed maps out; the cluster
 * (galera.ts) runs them through a node's socket.
 */

/** How much data to load on the first node: every table gets `rowsPerTable` rows of `blobBytes` random bytes. */
export interface DataShape {
  databases: number;
  tablesPerDb: number;
  rowsPerTable: number;
  blobBytes: number;
}

/** Bytes of random payload one INSERT may carry: large enough to be fast, small enough not to make one huge write set. */
export const CHUNK_BYTES = 64 * 1024 * 1024;

/** Database names used by loadData: sst_db1, sst_db2, ... */
export function databaseName(index: number): string {
  return `sst_db${index + 1}`;
}

// RANDOM_BYTES() takes at most 1024 bytes, so a larger blob is the concatenation of several calls.
function blobExpression(bytes: number): string {
  const parts: string[] = [];
  for (let left = bytes; left > 0; left -= 1024) parts.push(`RANDOM_BYTES(${Math.min(left, 1024)})`);
  return parts.length === 1 ? (parts[0] as string) : `CONCAT(${parts.join(', ')})`;
}

/**
 * One SQL batch per table: create it, then fill it in chunks of about CHUNK_BYTES. Random bytes and MD5(RAND())
 * keep the data incompressible, so rsync compression or a fast path cannot make a transfer look cheaper than
 * it is; seq_1_to_N (the built-in Sequence engine; it needs a database, hence `db.seq_...`) generates rows without a client round trip per row.
 */
export function loadStatements(shape: DataShape): string[] {
  if (shape.blobBytes < 1 || shape.rowsPerTable < 0) {
    throw new Error(
      `Cannot load data: blobBytes "${shape.blobBytes}" must be at least 1 and rowsPerTable at least 0`,
    );
  }
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / shape.blobBytes));
  const batches: string[] = [];
  for (let d = 0; d < shape.databases; d++) {
    const db = databaseName(d);
    batches.push(`CREATE DATABASE IF NOT EXISTS ${db}`);
    for (let t = 0; t < shape.tablesPerDb; t++) {
      const table = `${db}.t${t + 1}`;
      const statements = [
        `CREATE TABLE ${table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, s CHAR(32) NOT NULL, b BLOB NOT NULL) ENGINE=InnoDB`,
      ];
      for (let done = 0; done < shape.rowsPerTable; done += rowsPerChunk) {
        const rows = Math.min(rowsPerChunk, shape.rowsPerTable - done);
        statements.push(
          `INSERT INTO ${table} (s, b) SELECT MD5(RAND()), ${blobExpression(shape.blobBytes)} FROM ${db}.seq_1_to_${rows}`,
        );
      }
      batches.push(statements.join(';\n'));
    }
  }
  return batches;
}

/** Lists every user table as `db.table`, sorted, one per line of output. */
export const LIST_TABLES_SQL =
  "SELECT CONCAT(table_schema, '.', table_name) FROM information_schema.tables WHERE table_type = 'BASE TABLE' " +
  "AND table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY 1";

/** Quotes `db.table` as `\`db\`.\`table\``. */
function quoteTable(name: string): string {
  const dot = name.indexOf('.');
  const q = (part: string): string => `\`${part.replace(/`/g, '``')}\``;
  return `${q(name.slice(0, dot))}.${q(name.slice(dot + 1))}`;
}

/** One batch for all tables: `CHECKSUM TABLE` plus `COUNT(*)` per table, so a difference in either shows. */
export function checksumSql(tables: string[]): string {
  return tables
    .map((t) => `CHECKSUM TABLE ${quoteTable(t)}; SELECT COUNT(*) FROM ${quoteTable(t)}`)
    .join(';\n');
}

/** Parses checksumSql output (per table: `db.t<TAB><checksum>` then `<count>`) into `db.t` -> `<checksum>/<count>`. */
export function parseChecksums(tables: string[], output: string): Map<string, string> {
  const lines = output === '' ? [] : output.split('\n');
  if (lines.length !== tables.length * 2) {
    throw new Error(
      `Cannot parse checksums: expected ${tables.length * 2} lines for ${tables.length} tables, got ${lines.length}`,
    );
  }
  const result = new Map<string, string>();
  tables.forEach((table, i) => {
    const checksum = lines[2 * i]?.split('\t')[1];
    const count = lines[2 * i + 1] ?? '';
    if (checksum === undefined || !/^\d+$/.test(count)) {
      throw new Error(`Cannot parse the checksum of table "${table}": got "${lines[2 * i]}" and "${count}"`);
    }
    result.set(table, `${checksum}/${count}`);
  });
  return result;
}
