/**
 * Where a node keeps the files an SST moves outside the database directories, and how those files are
 * classified (sst-contract.md 3.3.2, 3.4.6-3.4.9, 4.7). Pure: paths in, paths out.
 */
import { underDatadir } from './args.js';

/** The one redo log file of MariaDB 10.5 and later. */
export const REDO_LOG = 'ib_logfile0';
/** 13.0's archived redo log (innodb_log_archive=ON, MDEV-37949): `ib_<16 hex digits of an LSN>.log`. */
const ARCHIVED_REDO = /^ib_[0-9a-fA-F]{16}\.log$/;

/** The absolute directories of one node's data set. */
export interface DataLayout {
  datadir: string;
  /** innodb_data_home_dir: ibdata*, ib_lru_dump. */
  dataHome: string;
  /** innodb_log_group_home_dir: ib_logfile*. */
  logDir: string;
  /** innodb_undo_directory: undo*. */
  undoDir: string;
  /** aria_log_dir_path: aria_log_control, aria_log.*. */
  ariaDir: string;
}

/** A class of top-level files that lives in its own configurable directory and has its own rsync module. */
export interface FileClass {
  key: 'data' | 'log' | 'undo' | 'aria';
  /** Suffix of the module name (`rsync_tunnel_sst-log_dir`), as MariaDB's rsync method names them. */
  moduleSuffix: string;
  dirOf: (layout: DataLayout) => string;
  matches: (name: string) => boolean;
}

/** The four classes, in the order the donor sends them. */
export const FILE_CLASSES: readonly FileClass[] = [
  {
    key: 'data',
    moduleSuffix: '-data_dir',
    dirOf: (l) => l.dataHome,
    matches: (n) => n.startsWith('ibdata') || n === 'ib_lru_dump',
  },
  // 10.5+ keeps one redo file. Exactly ib_logfile0: an online innodb_log_file_size change (10.9+) writes the new
  // log as ib_logfile101 and renames it; a leftover of that must not travel (contract-drift.md, redo rows).
  { key: 'log', moduleSuffix: '-log_dir', dirOf: (l) => l.logDir, matches: (n) => n === REDO_LOG },
  { key: 'undo', moduleSuffix: '-undo_dir', dirOf: (l) => l.undoDir, matches: (n) => /^undo\d+$/.test(n) },
  {
    key: 'aria',
    moduleSuffix: '-aria_log',
    dirOf: (l) => l.ariaDir,
    matches: (n) => n === 'aria_log_control' || /^aria_log\.\d+$/.test(n),
  },
];

/** Directory settings from argv, environment and option files; the first defined one wins. */
export interface LayoutSources {
  args: {
    innodbDataHomeDir?: string;
    innodbLogGroupHomeDir?: string;
    innodbUndoDirectory?: string;
    ariaLogDirPath?: string;
  };
  env: NodeJS.ProcessEnv;
  options: {
    innodbDataHomeDir?: string;
    innodbLogGroupHomeDir?: string;
    innodbUndoDirectory?: string;
    ariaLogDirPath?: string;
  };
}

/** Resolves the layout: argv > mysqld's environment > option files > the datadir; relative to the datadir. */
export function resolveLayout(datadir: string, sources: LayoutSources): DataLayout {
  const { args, env, options } = sources;
  const first = (...values: (string | undefined)[]): string | undefined =>
    values.find((value) => value !== undefined && value !== '');
  return {
    datadir,
    dataHome: underDatadir(
      datadir,
      first(args.innodbDataHomeDir, env.INNODB_DATA_HOME_DIR, options.innodbDataHomeDir),
    ),
    logDir: underDatadir(
      datadir,
      first(
        args.innodbLogGroupHomeDir,
        env.INNODB_LOG_GROUP_HOME,
        env.WSREP_LOG_DIR,
        options.innodbLogGroupHomeDir,
      ),
    ),
    undoDir: underDatadir(
      datadir,
      first(args.innodbUndoDirectory, env.INNODB_UNDO_DIR, options.innodbUndoDirectory),
    ),
    ariaDir: underDatadir(datadir, first(args.ariaLogDirPath, options.ariaLogDirPath)),
  };
}

/** True when `name` in the datadir root belongs to one of the file classes. */
export function isClassFile(name: string): boolean {
  return FILE_CLASSES.some((fileClass) => fileClass.matches(name));
}

/**
 * Top-level names the donor never sends as a database directory (filesystem furniture, snapshots) and the
 * joiner's rsync never deletes. Matches the exclusions of the original scripts.
 */
export const NEVER_SENT = ['lost+found', '.zfs', '.snapshot', '.fseventsd', '.Trashes'] as const;

/**
 * Why the donor must refuse the redo log it finds in `logDir` (the names there), or undefined. 13.0 with
 * innodb_log_archive=ON writes `ib_<lsn>.log` files and no ib_logfile0 (its server refuses to start with one):
 * copying only ib_logfile0 would give the joiner no redo log at all, so say so before mysqld takes its lock.
 */
export function redoLayoutProblem(logDir: string, names: readonly string[]): string | undefined {
  if (names.includes(REDO_LOG)) return undefined;
  const archived = names.filter((name) => ARCHIVED_REDO.test(name));
  if (archived.length === 0) return undefined;
  return (
    `Cannot send this donor's redo log: "${logDir}" holds an archived redo log (${archived.length} ` +
    `ib_<lsn>.log file(s), no ${REDO_LOG}), as MariaDB 13.0 writes with innodb_log_archive=ON; rsync_tunnel ` +
    `copies ${REDO_LOG} only. Set innodb_log_archive=OFF on this donor, or pick another donor (wsrep_sst_donor)`
  );
}
