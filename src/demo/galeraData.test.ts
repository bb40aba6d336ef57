import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, checksumSql, loadStatements, parseChecksums } from './galeraData.js';

describe('loadStatements()', () => {
  it('creates each database, then one batch per table with chunked random inserts', () => {
    const batches = loadStatements({ databases: 2, tablesPerDb: 1, rowsPerTable: 10, blobBytes: 100 });
    expect(batches).toHaveLength(4);
    expect(batches[0]).toBe('CREATE DATABASE IF NOT EXISTS sst_db1');
    expect(batches[1]).toContain('CREATE TABLE sst_db1.t1 ');
    expect(batches[1]).toContain('SELECT MD5(RAND()), RANDOM_BYTES(100) FROM sst_db1.seq_1_to_10');
  });

  it('splits a table into chunks of about CHUNK_BYTES and concatenates RANDOM_BYTES beyond 1024', () => {
    const rowsPerChunk = CHUNK_BYTES / 4096;
    const [, table] = loadStatements({
      databases: 1,
      tablesPerDb: 1,
      rowsPerTable: rowsPerChunk + 5,
      blobBytes: 4096,
    });
    const inserts = table?.split(';\n').filter((s) => s.startsWith('INSERT')) ?? [];
    expect(inserts).toHaveLength(2);
    expect(inserts[0]).toContain(`seq_1_to_${rowsPerChunk}`);
    expect(inserts[1]).toContain('seq_1_to_5');
    expect(inserts[0]).toContain(
      'CONCAT(RANDOM_BYTES(1024), RANDOM_BYTES(1024), RANDOM_BYTES(1024), RANDOM_BYTES(1024))',
    );
  });

  it('rejects an empty blob', () => {
    expect(() => loadStatements({ databases: 1, tablesPerDb: 1, rowsPerTable: 1, blobBytes: 0 })).toThrow(
      'Cannot load data: blobBytes "0" must be at least 1 and rowsPerTable at least 0',
    );
  });
});

describe('checksumSql() and parseChecksums()', () => {
  it('quotes names and pairs CHECKSUM TABLE with COUNT(*)', () => {
    expect(checksumSql(['a.t', 'b.u'])).toBe(
      'CHECKSUM TABLE `a`.`t`; SELECT COUNT(*) FROM `a`.`t`;\nCHECKSUM TABLE `b`.`u`; SELECT COUNT(*) FROM `b`.`u`',
    );
  });

  it('parses two lines per table', () => {
    expect(parseChecksums(['a.t', 'b.u'], 'a.t\t123\n5\nb.u\t456\n0')).toEqual(
      new Map([
        ['a.t', '123/5'],
        ['b.u', '456/0'],
      ]),
    );
  });

  it('fails on output that does not match the tables', () => {
    expect(() => parseChecksums(['a.t'], 'a.t\t1')).toThrow(
      'Cannot parse checksums: expected 2 lines for 1 tables, got 1',
    );
    expect(() => parseChecksums(['a.t'], 'a.t\t1\nx')).toThrow(
      'Cannot parse the checksum of table "a.t": got "a.t\t1" and "x"',
    );
  });
});
