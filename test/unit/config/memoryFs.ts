/** An in-memory OptionFs for unit tests: files with modes, directories implied by paths, unreadable files. */
import { posix } from 'node:path';
import type { OptionFs } from '../../../src/config/optionFs.js';

export interface MemoryFile {
  content: string | Buffer;
  mode?: number;
  /** Simulates EACCES on open. */
  unreadable?: boolean;
}

/** Builds an OptionFs over `files` (absolute paths), with `cwd` for relative paths. */
export function memoryFs(files: Record<string, string | Buffer | MemoryFile>, cwd = '/work'): OptionFs {
  const table = new Map<string, MemoryFile>();
  for (const [path, file] of Object.entries(files)) {
    table.set(path, typeof file === 'string' || Buffer.isBuffer(file) ? { content: file } : file);
  }
  const isDir = (path: string): boolean => {
    const prefix = path.endsWith('/') ? path : `${path}/`;
    return [...table.keys()].some((key) => key.startsWith(prefix));
  };
  return {
    cwd: () => cwd,
    stat(path) {
      const file = table.get(path);
      if (file !== undefined) return { regular: true, mode: 0o100000 | (file.mode ?? 0o644) };
      return isDir(path) ? { regular: false, mode: 0o040755 } : undefined;
    },
    read(path) {
      const file = table.get(path);
      if (file === undefined)
        return isDir(path) ? { content: new Uint8Array() } : { error: 'no such file or directory' };
      if (file.unreadable === true) return { error: 'permission denied' };
      return { content: Buffer.from(file.content) };
    },
    list(dir) {
      const prefix = posix.normalize(`${dir}/`);
      const names = new Set<string>();
      for (const key of table.keys()) {
        if (key.startsWith(prefix)) names.add(key.slice(prefix.length).split('/')[0] ?? '');
      }
      if (names.size === 0) throw new Error('no such file or directory');
      return [...names];
    },
  };
}
