/**
 * The little file-system surface the option-file reader needs, so tests can hand it an in-memory tree. The node
 * implementation reproduces what mysys observes through stat/fopen/my_dir.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';

/** What the option-file reader may ask of a file system. */
export interface OptionFs {
  /** Directory that relative paths (`--defaults-file=x.cnf`, `!include x.cnf`) are relative to. */
  cwd(): string;
  /** stat(2), following symlinks; undefined when the path does not exist (or cannot be stat'ed). */
  stat(path: string): { regular: boolean; mode: number } | undefined;
  /** The whole content, or why it cannot be opened. A directory reads as empty: fopen succeeds, reads fail. */
  read(path: string): { content: Uint8Array } | { error: string };
  /** Entry names of a directory (no `.`/`..`); throws an Error with the reason when it cannot be listed. */
  list(dir: string): string[];
}

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR') return 'not a directory';
  return error instanceof Error ? error.message : String(error);
}

/** The real file system, through synchronous node:fs calls (option files are read once, before anything runs). */
export const nodeOptionFs: OptionFs = {
  cwd: () => process.cwd(),
  stat(path) {
    try {
      const stats = statSync(path, { throwIfNoEntry: false });
      return stats === undefined ? undefined : { regular: stats.isFile(), mode: stats.mode };
    } catch {
      return undefined;
    }
  },
  read(path) {
    try {
      return { content: readFileSync(path) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EISDIR') return { content: new Uint8Array() };
      return { error: reason(error) };
    }
  },
  list(dir) {
    try {
      return readdirSync(dir);
    } catch (error) {
      throw new Error(reason(error), { cause: error });
    }
  },
};
