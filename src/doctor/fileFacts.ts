/** Gathers stat(2) facts about the configured files and their directories for the pure file checks. */
import { realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { FileFacts, FileStat } from './checks/files.js';

/** uid/gid to name, from /etc/passwd and /etc/group text. */
export interface NameTables {
  users: Map<number, string>;
  groups: Map<number, string>;
}

/** Name tables from passwd and group text. */
export function nameTables(passwd: string, group: string): NameTables {
  const table = (text: string): Map<number, string> =>
    new Map(
      text
        .split('\n')
        .map((line) => line.split(':'))
        .filter((f) => f.length > 2 && /^\d+$/.test(f[2] ?? ''))
        .map((f) => [Number(f[2]), f[0] ?? ''] as const),
    );
  return { users: table(passwd), groups: table(group) };
}

function statOf(path: string, stats: Stats, names: NameTables): FileStat {
  const owner = names.users.get(stats.uid);
  const group = names.groups.get(stats.gid);
  return {
    path,
    mode: stats.mode,
    uid: stats.uid,
    gid: stats.gid,
    ...(owner !== undefined && { owner }),
    ...(group !== undefined && { group }),
  };
}

/** Every directory from / down to `dir`. */
function ancestorsOf(dir: string, names: NameTables): FileStat[] {
  const out: FileStat[] = [];
  let current = dir;
  for (;;) {
    try {
      out.unshift(statOf(current, statSync(current), names));
    } catch {
      // A directory we cannot stat as root does not exist; the file's own stat reports that.
    }
    const parent = dirname(current);
    if (parent === current) return out;
    current = parent;
  }
}

/** stat facts of one configured file (symlinks followed, directories of the real path). */
export function fileFacts(
  role: FileFacts['role'],
  path: string,
  holdsKey: boolean,
  names: NameTables,
): FileFacts {
  const absolute = resolve(path);
  try {
    const stats = statSync(absolute);
    const real = realpathSync(absolute);
    // Both the link's directories and the target's must be searchable.
    const dirs = [...ancestorsOf(dirname(absolute), names), ...ancestorsOf(dirname(real), names)];
    const unique = dirs.filter((d, i) => dirs.findIndex((e) => e.path === d.path) === i);
    return {
      role,
      path,
      holdsKey,
      stat: { ...statOf(real, stats, names), path: absolute, isDirectory: stats.isDirectory() },
      ancestors: unique,
    };
  } catch (error) {
    return {
      role,
      path,
      holdsKey,
      error: (error as NodeJS.ErrnoException).code ?? String(error),
      ancestors: [],
    };
  }
}

/** stat facts of the datadir. */
export function dirFacts(
  path: string,
  names: NameTables,
): { path: string; stat?: FileStat & { isDirectory: boolean }; error?: string } {
  try {
    const stats = statSync(path);
    return { path, stat: { ...statOf(path, stats, names), isDirectory: stats.isDirectory() } };
  } catch (error) {
    return {
      path,
      error: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (error as Error).message,
    };
  }
}
