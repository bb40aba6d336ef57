/**
 * What the donor finds on disk: the files of each class in their directories and the database directories
 * of the datadir with their sizes (for the pass plan and the progress total).
 */
import { readdirSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { FILE_CLASSES, NEVER_SENT, type DataLayout } from './layout.js';

/** Total size of regular files under `dir`, following symlinks at the top only (as rsync `dir/` does). */
export function treeBytes(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop() as string;
    let entries: Dirent[];
    try {
      entries = readdirSync(current, { withFileTypes: true });
    } catch {
      continue; // vanished or unreadable: rsync will report it if it matters
    }
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) stack.push(path);
      else if (entry.isFile()) {
        files++;
        try {
          bytes += statSync(path).size;
        } catch {
          // raced with a delete
        }
      }
    }
  }
  return { bytes, files };
}

/** The database directories (top-level directories, symlinks to directories included) with sizes. */
export function databaseDirs(datadir: string): { name: string; size: number; files: number }[] {
  const never = new Set<string>(NEVER_SENT);
  const dirs: { name: string; size: number; files: number }[] = [];
  for (const entry of readdirSync(datadir, { withFileTypes: true })) {
    if (never.has(entry.name)) continue;
    let isDir = entry.isDirectory();
    if (entry.isSymbolicLink()) {
      try {
        isDir = statSync(join(datadir, entry.name)).isDirectory();
      } catch {
        isDir = false; // dangling link
      }
    }
    if (!isDir) continue;
    const { bytes, files } = treeBytes(join(datadir, entry.name));
    dirs.push({ name: entry.name, size: bytes, files });
  }
  // Largest first: with parallel passes the long pole starts early.
  return dirs.sort((a, b) => b.size - a.size || a.name.localeCompare(b.name));
}

/** The names in `dir`; none when it cannot be read (a missing directory has nothing to send either). */
export function namesIn(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The files of each class in that class's directory. */
export function classFiles(layout: DataLayout): Record<string, { name: string; size: number }[]> {
  const found: Record<string, { name: string; size: number }[]> = {};
  for (const fileClass of FILE_CLASSES) {
    const dir = fileClass.dirOf(layout);
    found[fileClass.key] = namesIn(dir)
      .filter((name) => fileClass.matches(name))
      .flatMap((name) => {
        try {
          const st = statSync(join(dir, name));
          return st.isFile() ? [{ name, size: st.size }] : [];
        } catch {
          return [];
        }
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }
  return found;
}
