/**
 * Reads option files exactly as mysqld 10.11 does (mysys `my_load_defaults`), with `my_print_defaults` as the
 * oracle (test/integration/option-files-oracle.test.ts). The original rsync_tunnel script ignores mysqld's
 * --defaults-file/--defaults-extra-file/--defaults-group-suffix; we honour them (design.md).
 *
 * What mysys does, found by experiment:
 * - Files: /etc/my.cnf, /etc/mysql/my.cnf, $MARIADB_HOME/my.cnf (else $MYSQL_HOME), --defaults-extra-file,
 *   $HOME/.my.cnf (only $HOME: with HOME unset no ~/.my.cnf is read). A directory listed twice moves to the end.
 *   --defaults-file replaces the whole list and makes --defaults-extra-file ignored.
 * - Missing or unreadable default files are skipped silently; a missing --defaults-file/--defaults-extra-file is
 *   fatal. World-writable regular files are ignored with a warning, even when named explicitly.
 * - `!include` paths are relative to the current directory, not to the including file. `!includedir` reads
 *   files ending in `.cnf` (case-sensitive; hidden files too) in byte order; a missing includedir is an error.
 * - Errors in a top-level file are fatal; in an included file they stop that file only. Includes nest 10 deep.
 * - Entries come out in file order whatever their group: a `[mysqld.suffix]` value ranks by position, not
 *   above `[mysqld]`. Group names match case-insensitively; trailing blanks in `[name ]` are ignored.
 */
import { posix } from 'node:path';
import { nodeOptionFs, type OptionFs } from './optionFs.js';
import { readOptionFiles } from './optionReader.js';
import { OptionSet, type OptionEntry } from './optionSet.js';

export { OptionSet, normalizeOptionName, type OptionEntry } from './optionSet.js';
export type { OptionFs } from './optionFs.js';

/** Where options come from: mysqld's --defaults-* arguments, plus what the tests inject. */
export interface OptionSources {
  defaultsFile?: string;
  defaultsExtraFile?: string;
  defaultsGroupSuffix?: string;
  /** Home for ~/.my.cnf; default $HOME of `env` (mysys uses $HOME only). */
  homeDir?: string;
  /** Environment for MARIADB_HOME, MYSQL_HOME, MARIADB_GROUP_SUFFIX, MYSQL_GROUP_SUFFIX, HOME; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** File system; default the real one. */
  fs?: OptionFs;
  /** The server groups to read (serverGroups() of the running server's version); default SERVER_GROUPS (10.11). */
  serverGroups?: readonly string[];
  /** Receives what mysqld prints as a warning and then carries on after (ignored files, stopped includes). */
  onWarning?: (message: string) => void;
}

/** Exactly the groups `my_print_defaults --mysqld` (and mariadbd) reads on 10.11 (from its strings and tests). */
export const SERVER_GROUPS: readonly string[] = Object.freeze([
  'mysqld',
  'server',
  'mysqld-10.11',
  'mariadb',
  'mariadb-10.11',
  'mariadbd',
  'mariadbd-10.11',
  'client-server',
  'galera',
]);

function groupSuffix(sources: OptionSources): string {
  const env = sources.env ?? process.env;
  return sources.defaultsGroupSuffix ?? env.MARIADB_GROUP_SUFFIX ?? env.MYSQL_GROUP_SUFFIX ?? '';
}

/** The option files mysqld would read for `sources`, in read order (whether or not they exist). */
export function defaultOptionFiles(sources: OptionSources): string[] {
  const env = sources.env ?? process.env;
  const cwd = (sources.fs ?? nodeOptionFs).cwd();
  if (sources.defaultsFile !== undefined) return [posix.resolve(cwd, sources.defaultsFile)];
  const dirs: string[] = [];
  const addDir = (dir: string): void => {
    const normal = posix.normalize(dir).replace(/\/?$/, '/');
    const seen = dirs.indexOf(normal);
    if (seen !== -1) dirs.splice(seen, 1); // mysys array_append_string_unique moves a duplicate to the end
    dirs.push(normal);
  };
  addDir('/etc/');
  addDir('/etc/mysql/');
  const home = env.MARIADB_HOME ?? env.MYSQL_HOME; // set-but-empty MARIADB_HOME hides MYSQL_HOME, as in mysys
  if (home !== undefined && home !== '') addDir(home);
  const files = dirs.map((dir) => posix.resolve(cwd, dir, 'my.cnf'));
  if (sources.defaultsExtraFile !== undefined) files.push(posix.resolve(cwd, sources.defaultsExtraFile));
  const userHome = sources.homeDir ?? env.HOME;
  if (userHome !== undefined && userHome !== '') files.push(posix.resolve(cwd, userHome, '.my.cnf'));
  return files;
}

function collect(
  groups: readonly string[],
  sources: OptionSources,
): { entries: OptionEntry[]; files: string[]; warnings: string[] } {
  const suffix = groupSuffix(sources);
  const fs = sources.fs ?? nodeOptionFs;
  const warnings: string[] = [];
  const required = new Map<string, string>();
  if (sources.defaultsFile !== undefined) {
    required.set(posix.resolve(fs.cwd(), sources.defaultsFile), '--defaults-file');
  } else if (sources.defaultsExtraFile !== undefined) {
    required.set(posix.resolve(fs.cwd(), sources.defaultsExtraFile), '--defaults-extra-file');
  }
  const read = readOptionFiles(
    defaultOptionFiles(sources).map((path) => ({ path, requiredBy: required.get(path) })),
    groups.flatMap((group) => (suffix === '' ? [group] : [group, group + suffix])),
    fs,
    (message) => {
      warnings.push(message);
      sources.onWarning?.(message);
    },
  );
  return { ...read, warnings };
}

/** Every entry of `groups` (and each group + the suffix), in the order mysqld reads them. */
export function readOptions(groups: readonly string[], sources: OptionSources): OptionEntry[] {
  return collect(groups, sources).entries;
}

/** `[sst]` and the server groups (each with the suffix), read once; `files` are those actually read. */
export function loadNodeOptions(sources: OptionSources): {
  sst: OptionSet;
  mysqld: OptionSet;
  files: string[];
  warnings: string[];
} {
  const { entries, files, warnings } = collect(['sst', ...(sources.serverGroups ?? SERVER_GROUPS)], sources);
  const suffix = groupSuffix(sources).toLowerCase();
  const isSst = (entry: OptionEntry): boolean => {
    const group = entry.group.toLowerCase();
    return group === 'sst' || (suffix !== '' && group === `sst${suffix}`);
  };
  return {
    sst: new OptionSet(entries.filter(isSst)),
    mysqld: new OptionSet(entries.filter((entry) => !isSst(entry))),
    files,
    warnings,
  };
}
