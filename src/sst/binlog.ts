/**
 * Binary logs across an SST (sst-contract.md 3.3.12, 3.4.3): the donor packs the last N files named in its
 * binlog index into `wsrep_sst_binlog.tar` (basenames only) and sends it with the datadir root; the joiner
 * removes its old binlogs, extracts the tarball next to its own `--binlog` base and rebuilds the index.
 */
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
} from 'node:fs';
import { rm, writeFile, rename } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { TransferError } from '../errors.js';
import { logger } from '../log.js';

const log = logger('binlog');

/**
 * tar-stream, loaded only when binlogs actually travel: its import costs 10-14 ms of CPU and wall time at the
 * start of every SST process, and the donor's start-up lies on the SST's critical path.
 */
async function tarStream(): Promise<TarStream> {
  const mod = (await import('tar-stream')) as TarStream & { default?: TarStream };
  // Node gives a CommonJS module's exports both by name and as `default`; the bundle's chunk of it (esbuild with
  // code splitting, scripts/bundle.mjs) only as `default`. Reading the named export alone broke every bundled
  // donor that had binlogs to send ("pack is not a function").
  return mod.default ?? mod;
}
type TarStream = typeof import('tar-stream');

/** The tarball's name in the datadir, shared with the original scripts. */
export const BINLOG_TAR = 'wsrep_sst_binlog.tar';

/** Where a node keeps its binlogs, resolved as mysqld does (relative names are relative to the datadir). */
export interface BinlogNames {
  /** Absolute path of the base, e.g. /var/lib/mysql/mysql-bin. */
  base: string;
  dir: string;
  /** Absolute path of the index file. */
  index: string;
  /** The base was given relative to the datadir: index lines are then written as `./<file>`, like mysqld. */
  relative: boolean;
}

/** Resolves `--binlog` / `--binlog-index` against the datadir. */
export function binlogNames(datadir: string, binlog: string, binlogIndex?: string): BinlogNames {
  const base = resolve(datadir, binlog);
  let index = `${base}.index`;
  if (binlogIndex !== undefined && binlogIndex !== '') {
    const named = resolve(datadir, binlogIndex);
    index = extname(named) === '' ? `${named}.index` : named;
  }
  return { base, dir: dirname(base), index, relative: !isAbsolute(binlog) && !binlog.includes('/') };
}

/** The files named by an index, resolved (lines may be relative to the datadir, e.g. `./mysql-bin.000001`). */
export function readBinlogIndex(datadir: string, indexPath: string): string[] {
  return readFileSync(indexPath, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => resolve(datadir, line));
}

/** The last `count` entries (0: none; negative: all), as `sst-max-binlogs` means. */
export function lastBinlogs(files: string[], count: number): string[] {
  if (count === 0) return [];
  return count < 0 ? files : files.slice(-count);
}

/** Donor: writes the tarball of the chosen binlogs; returns the names packed (none: no tarball written). */
export async function packBinlogs(
  datadir: string,
  names: BinlogNames,
  count: number,
  tarPath: string,
): Promise<string[]> {
  if (!existsSync(names.index)) {
    log.warn(`Binary log index "${names.index}" not found: sending no binary logs`);
    return [];
  }
  const files = lastBinlogs(readBinlogIndex(datadir, names.index), count).filter((file) => {
    if (existsSync(file)) return true;
    log.warn(`Binary log "${file}" is listed in "${names.index}" but missing: skipped`);
    return false;
  });
  if (files.length === 0) return [];
  const pack = (await tarStream()).pack();
  const written = pipeline(pack, createWriteStream(tarPath, { mode: 0o640 }));
  for (const file of files) {
    const st = statSync(file);
    const entry = pack.entry({ name: basename(file), size: st.size, mode: st.mode & 0o777, mtime: st.mtime });
    await pipeline(createReadStream(file), entry);
  }
  pack.finalize();
  await written;
  log.info(
    `Packed ${files.length} binary log(s) for the joiner: ${files.map((f) => basename(f)).join(', ')}`,
  );
  return files.map((file) => basename(file));
}

// A tar entry we write into the binlog directory: a plain basename, nothing that climbs or hides.
const SAFE_NAME = /^[^/\\\0]+$/;

/** Joiner: removes the old binlogs and index, extracts the tarball (if any) and rebuilds the index. */
export async function installBinlogs(
  datadir: string,
  names: BinlogNames,
  tarPath: string,
): Promise<string[]> {
  const stem = basename(names.base);
  // Old files: those the old index names, plus any `<base>.NNNNNN` in the directory.
  const old = new Set<string>();
  if (existsSync(names.index)) for (const file of readBinlogIndex(datadir, names.index)) old.add(file);
  if (existsSync(names.dir)) {
    for (const entry of readdirSync(names.dir)) {
      if (entry.startsWith(`${stem}.`) && /^\d+$/.test(entry.slice(stem.length + 1)))
        old.add(join(names.dir, entry));
    }
  }
  for (const file of old) await rm(file, { force: true });
  await rm(names.index, { force: true });
  if (!existsSync(tarPath)) return [];

  mkdirSync(names.dir, { recursive: true });
  const extracted: string[] = [];
  const extract = (await tarStream()).extract();
  extract.on('entry', (header, stream, next) => {
    if (
      header.type !== 'file' ||
      !SAFE_NAME.test(header.name) ||
      header.name === '.' ||
      header.name === '..'
    ) {
      stream.resume();
      next(
        new TransferError(`Cannot extract "${header.name}" from ${BINLOG_TAR}: not a plain binary log file`),
      );
      return;
    }
    const target = join(names.dir, header.name);
    pipeline(stream, createWriteStream(target, { mode: 0o660 })).then(
      () => {
        extracted.push(header.name);
        next();
      },
      (error: unknown) => next(error as Error),
    );
  });
  try {
    await pipeline(createReadStream(tarPath), extract);
  } catch (error) {
    throw new TransferError(`Cannot extract binary logs from "${tarPath}"`, { cause: error, exitCode: 32 });
  }
  extracted.sort();
  const lines = extracted.map((file) => (names.relative ? `./${file}` : join(names.dir, file)));
  const tmp = `${names.index}.sst-tmp`;
  await writeFile(tmp, lines.map((line) => `${line}\n`).join(''), { mode: 0o660 });
  await rename(tmp, names.index);
  log.info(`Installed ${extracted.length} binary log(s): ${extracted.join(', ')}`);
  return extracted;
}
