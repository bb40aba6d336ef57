/**
 * Writing certificate material to disk: the directory 0700 when we create it, keys 0600, every file written to a
 * temporary name and renamed into place, so a crash never leaves a half-written key or a key readable by others.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { fileStem } from './names.js';

/** Mode of private key files. */
export const KEY_MODE = 0o600;
/** Mode of certificate files: public material that mysqld's user must be able to read. */
export const CERT_MODE = 0o644;
/** Mode of a certificate directory we create. */
export const DIR_MODE = 0o700;

/** One file to write. */
export interface PendingFile {
  path: string;
  contents: string;
  mode: number;
}

/** The CA files of a directory (absolute paths). */
export function caPaths(dir: string): { certPath: string; keyPath: string } {
  const root = resolve(dir);
  return { certPath: join(root, 'ca.pem'), keyPath: join(root, 'ca-key.pem') };
}

/** The files of a node in a directory (absolute paths): `<stem>-cert.pem` and `<stem>-key.pem`. */
export function nodePaths(dir: string, name: string): { certPath: string; keyPath: string } {
  const root = resolve(dir);
  const stem = fileStem(name);
  return { certPath: join(root, `${stem}-cert.pem`), keyPath: join(root, `${stem}-key.pem`) };
}

/** Creates the directory (mode 0700) if missing; an existing directory keeps its mode. */
export async function ensureDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
  } catch (error) {
    throw new ConfigError(`Cannot create directory "${dir}" for --dir: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Throws unless `force` when any of the files exists; `what` says what would be overwritten. */
export async function refuseOverwrite(paths: readonly string[], what: string, force: boolean): Promise<void> {
  if (force) return;
  for (const path of paths) {
    const found = await lstat(path).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw new ConfigError(`Cannot check "${path}": ${error.message}`, { cause: error });
      },
    );
    if (found)
      throw new ConfigError(`Cannot create ${what}: "${path}" already exists; pass --force to replace it`);
  }
}

/** Writes one file under a temporary name with its final mode, flushed to disk; returns the temporary path. */
async function writeTemporary(file: PendingFile): Promise<string> {
  const tmp = join(dirname(file.path), `.${basename(file.path)}.${randomBytes(6).toString('hex')}.tmp`);
  // O_EXCL: never follow a planted symlink or reuse someone else's file.
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, file.mode);
  try {
    // The umask may have removed bits from the creation mode; set it exactly.
    await handle.chmod(file.mode);
    await handle.writeFile(file.contents, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return tmp;
}

/**
 * Writes every file atomically: all temporaries first, then the renames, keys before certificates, so an error
 * before the renames leaves the directory as it was.
 */
export async function writeFilesAtomically(files: readonly PendingFile[]): Promise<void> {
  const written: { tmp: string; path: string }[] = [];
  try {
    for (const file of files) written.push({ tmp: await writeTemporary(file), path: file.path });
  } catch (error) {
    await Promise.all(written.map(({ tmp }) => rm(tmp, { force: true })));
    const path = files[written.length]?.path ?? '';
    throw new ConfigError(`Cannot write "${path}": ${(error as Error).message}`, { cause: error });
  }
  // rename replaces the inode, so a replaced file takes the temporary's mode, never the old file's.
  for (const { tmp, path } of written) await rename(tmp, path);
}
