/**
 * The donor's rsync passes (sst-contract.md 3.4, 4.4.5), planned as plain data: which files, from which
 * directory, to which module, with which flags. Pure; the donor role runs them.
 *
 * Order: the datadir root (directories created, stale ones deleted, the binlog tarball), then each file class
 * (InnoDB system tablespace, redo log, undo tablespaces, Aria logs) into its own module when the joiner offers
 * one and into the datadir otherwise (an original socat-based joiner has only the main and `-log_dir`
 * modules), then every database directory recursively, in parallel. The magic file goes last, separately.
 */
import { join } from 'node:path';
import { BINLOG_TAR } from './binlog.js';
import { FILE_CLASSES, NEVER_SENT, type DataLayout } from './layout.js';
import { formatBytes } from './roleContext.js';
import { transferFlags, type TransferChoice } from './transferMode.js';

/** rsync's host part for daemon-over-remote-shell; the connector ignores it and dials its own target. */
export const RSH_HOST = 'sst-joiner';

/** One rsync invocation. */
export interface Pass {
  name: string;
  cwd: string;
  args: string[];
  /** The first transfer maps rsync's exit codes 12 and 22 specially (contract 3.4.5). */
  first: boolean;
  /** Bytes this pass is expected to move (file sizes), for progress. */
  bytes: number;
  /** Files it is expected to move, when known (the donor's "Sending" line). */
  files?: number;
  /** The joiner module it writes into, and the top-level names it writes there (the joiner's space check). */
  target?: { module: string; names: string[] };
  /** What a data pass covers, for the two-phase copy's second phase (refreshPasses.ts). */
  scope?: PassScope;
}

/**
 * What a data pass covers, and how it is built, so the second phase of a two-phase copy can re-run it on a part:
 * `root` (the top of the datadir: listed files, directories, --delete under filters), `files` (listed files of
 * one directory, no --delete) or `tree` (one database directory, recursive, --delete).
 */
export interface PassScope {
  /** Stable across plans: 'root', 'class:<key>', 'dir:<name>'. */
  key: string;
  kind: 'root' | 'files' | 'tree';
  /** The directory the scope's paths are relative to. */
  dir: string;
  /** root and files: the names sent from `dir`. */
  names: string[];
  /** The flags before the filters and operands. */
  flags: string[];
  /** root: the filter rules. */
  filters: string[];
  /** root and tree: the source operand (relative to the pass's cwd). */
  source: string;
  dest: string;
}

/** What the plan is built from: the donor's files as found on disk, and the joiner's modules. */
export interface PassInputs {
  layout: DataLayout;
  module: string;
  /**
   * Modules the joiner lists, with their comments. A class module missing here falls back to the main module;
   * our joiner comments a class module `in-datadir` when that class lives in its datadir.
   */
  offered: ReadonlyMap<string, string>;
  /** Files of each class found in that class's directory, with sizes. */
  classFiles: Record<string, { name: string; size: number }[]>;
  /** Top-level database directories, with their total sizes (and file counts, when scanned). */
  dirs: { name: string; size: number; files?: number }[];
  /** Whether the binlog tarball was written (its size). */
  binlogTarBytes: number;
  /** Whole files or deltas, compressed or not (transferMode.ts). */
  transfer: Pick<TransferChoice, 'delta' | 'compress'>;
  /** `[sst] delta-block`: the smallest delta block; unset = transferMode.ts DELTA_BLOCK_MIN. */
  deltaBlock?: number;
}

/** Flags every data pass uses (contract 3.4.4); the rest comes from the transfer mode (transferMode.ts). */
export function baseFlags(wholeFile: boolean): string[] {
  const flags = [
    '--owner',
    '--group',
    '--perms',
    '--links',
    '--specials',
    '--ignore-times',
    '--inplace',
    '--quiet',
  ];
  return wholeFile ? [...flags, '--whole-file'] : flags;
}

/** `./name`: a file name can never be taken for an option, whatever it starts with. */
export function local(name: string): string {
  return `./${name}`;
}

/** The comment our joiner gives a class module whose directory is its datadir. */
export const IN_DATADIR = 'in-datadir';

/** Plans every data pass; run `root` first, then `classes` in order, then `dirs` in parallel. */
export function planPasses(inputs: PassInputs): { root: Pass; classes: Pass[]; dirs: Pass[] } {
  const { layout, module } = inputs;
  // Per pass: the delta block size grows with the pass's data (transferMode.ts deltaBlockSize).
  const flagsFor = (bytes: number): string[] => [
    ...baseFlags(false),
    ...transferFlags(inputs.transfer, bytes, inputs.deltaBlock),
  ];
  const classes: Pass[] = [];
  const inRoot: { name: string; size: number }[] = [];
  for (const fileClass of FILE_CLASSES) {
    const files = inputs.classFiles[fileClass.key] ?? [];
    if (files.length === 0) continue;
    const own = `${module}${fileClass.moduleSuffix}`;
    const comment = inputs.offered.get(own);
    const joinerInDatadir = comment === undefined || comment === IN_DATADIR;
    if (joinerInDatadir && fileClass.dirOf(layout) === layout.datadir) {
      // Same place on both sides: these files ride with the root pass, one connection fewer each.
      inRoot.push(...files);
      continue;
    }
    const target = joinerInDatadir ? module : own;
    const dest = `${RSH_HOST}::${target}/`;
    const flags = flagsFor(files.reduce((sum, f) => sum + f.size, 0));
    classes.push({
      name: `${fileClass.key} files to ${target}`,
      cwd: fileClass.dirOf(layout),
      args: [...flags, ...files.map((f) => local(f.name)), dest],
      first: false,
      bytes: files.reduce((sum, f) => sum + f.size, 0),
      files: files.length,
      target: { module: target, names: files.map((f) => f.name) },
      scope: {
        key: `class:${fileClass.key}`,
        kind: 'files',
        dir: fileClass.dirOf(layout),
        names: files.map((f) => f.name),
        flags,
        filters: [],
        source: '',
        dest,
      },
    });
  }
  const rootFilters = [
    ...NEVER_SENT.map((name) => `--filter=- /${name}`),
    `--filter=+ /${BINLOG_TAR}`,
    ...inRoot.map((f) => `--filter=+ /${f.name}`),
    '--filter=+ /*/',
    '--filter=- /*',
  ];
  const rootNames = [...inRoot.map((f) => f.name), ...(inputs.binlogTarBytes > 0 ? [BINLOG_TAR] : [])];
  const rootBytes = inputs.binlogTarBytes + inRoot.reduce((sum, f) => sum + f.size, 0);
  const flags = flagsFor(rootBytes);
  const root: Pass = {
    name: 'datadir root',
    cwd: layout.datadir,
    args: [...flags, '--dirs', '--delete', ...rootFilters, './', `${RSH_HOST}::${module}/`],
    scope: {
      key: 'root',
      kind: 'root',
      dir: layout.datadir,
      names: rootNames,
      flags,
      filters: rootFilters,
      source: './',
      dest: `${RSH_HOST}::${module}/`,
    },
    first: true,
    bytes: rootBytes,
    files: inRoot.length + (inputs.binlogTarBytes > 0 ? 1 : 0),
    target: { module, names: rootNames },
  };
  const dirs = inputs.dirs.map((dir): Pass => {
    const flags = flagsFor(dir.size);
    // Trailing slashes: copy the contents, and follow a top-level symlink to a directory (as `find -L` does).
    // `./` in the remote path: the daemon would take a name starting with a dash for an option.
    const source = `${local(dir.name)}/`;
    const dest = `${RSH_HOST}::${module}/./${dir.name}/`;
    return {
      name: `directory ${dir.name}`,
      cwd: layout.datadir,
      args: treeArgs(flags, source, dest),
      first: false,
      bytes: dir.size,
      ...(dir.files !== undefined && { files: dir.files }),
      target: { module, names: [dir.name] },
      scope: {
        key: `dir:${dir.name}`,
        kind: 'tree',
        dir: join(layout.datadir, dir.name),
        names: [],
        flags,
        filters: [],
        source,
        dest,
      },
    };
  });
  return { root, classes, dirs };
}

/**
 * A database directory's tree pass: recursive, --delete, and `filters` before the operands (the files other
 * passes send, when the directory goes as parts: splitDirs.ts).
 */
export function treeArgs(flags: string[], source: string, dest: string, filters: string[] = []): string[] {
  return [...flags, '--recursive', '--delete', ...filters, source, dest];
}

/**
 * What the donor is about to send, by pass kind, for its "Sending" line: the database directories, the files at
 * the top of the datadir (InnoDB and Aria system files, the binlog tarball), and the groups of such files that
 * live in a directory of their own (innodb_data_home_dir and friends), only when there are any.
 */
export function describePlan(plan: { root: Pass; classes: Pass[]; dirs: Pass[] }): string {
  const group = (passes: Pass[]): string => {
    const bytes = passes.reduce((sum, p) => sum + p.bytes, 0);
    const known = passes.every((p) => p.files !== undefined);
    const files = passes.reduce((sum, p) => sum + (p.files ?? 0), 0);
    return known ? `${files} file${files === 1 ? '' : 's'}, ${formatBytes(bytes)}` : formatBytes(bytes);
  };
  const n = plan.dirs.length;
  const parts = [
    `${n} database director${n === 1 ? 'y' : 'ies'} (${group(plan.dirs)})`,
    `the top of the datadir (${group([plan.root])})`,
  ];
  if (plan.classes.length > 0)
    parts.push(
      `${plan.classes.length} InnoDB/Aria file group(s) in their own directories (${group(plan.classes)})`,
    );
  return parts.join(', ');
}

/** Parses rsync's module listing (`name<TAB>comment` per line) into name -> comment. */
export function parseModuleListing(text: string): Map<string, string> {
  const modules = new Map<string, string>();
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    const name = (tab === -1 ? line : line.slice(0, tab)).trim();
    if (name !== '' && !name.startsWith('@')) modules.set(name, tab === -1 ? '' : line.slice(tab + 1).trim());
  }
  return modules;
}

/** The pass that sends the magic file last; without --inplace rsync renames it into place atomically. */
export function magicPass(datadir: string, module: string, magicName: string): Pass {
  return {
    name: 'completion marker',
    cwd: datadir,
    args: ['--archive', '--quiet', '--checksum', local(magicName), `${RSH_HOST}::${module}/`],
    first: false,
    bytes: 0,
  };
}

/** Our joiner's module for the donor's byte total (a private directory, never the datadir). */
export const PROGRESS_MODULE_SUFFIX = '-progress';
/** The file that carries the total. */
export const TOTAL_FILE = 'sst_total_bytes';

/** The pass that tells our joiner how many bytes to expect, so it can speak mysqld's `total` line. */
export function totalPass(dir: string, module: string): Pass {
  return {
    name: 'byte total',
    cwd: dir,
    args: ['--quiet', local(TOTAL_FILE), `${RSH_HOST}::${module}${PROGRESS_MODULE_SUFFIX}/`],
    first: false,
    bytes: 0,
  };
}

/** Maps a failed pass's rsync exit code to the SST's (contract 3.4.5: the first transfer is special). */
export function passExitCode(pass: Pass, rsyncExit: number): number {
  if (pass.first && rsyncExit === 12) return 71;
  if (pass.first && rsyncExit === 22) return 12;
  return 255;
}
