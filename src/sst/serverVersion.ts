/**
 * Which MariaDB server this SST runs for, and so which option groups it reads (contract-drift.md, labs.md):
 * mariadbd 11.8 reads `[mariadb-11.8]`, `[mariadb-11]`, `[mariadbd-11.8]`, `[mariadbd-11]`, `[mysqld-11.8]`;
 * 10.11 reads its own `-10.11` groups and no major-only ones. A script that read 10.11's list for an 11.8 server
 * missed `innodb_undo_directory` in `[mariadb-11.8]`: the SST "succeeded" and InnoDB could not open its undo.
 *
 * The version comes from the running server's own binary (the parent mysqld's /proc/<pid>/exe --version), else
 * from the mariadbd installed on PATH, else 10.11 (the baseline of sst-contract.md).
 */
import { spawnSync } from 'node:child_process';
import { procInfo } from './lifecycle.js';

export interface ServerVersion {
  major: number;
  minor: number;
  /** Where it was read: "/proc/123/exe", "mariadbd on PATH", or "assumed". */
  from: string;
}

/** The baseline when no server can be asked. */
export const BASELINE_VERSION: ServerVersion = Object.freeze({ major: 10, minor: 11, from: 'assumed' });

/** `mariadbd --version`'s text -> major.minor, or undefined. Pure. */
export function parseServerVersion(text: string): { major: number; minor: number } | undefined {
  const m = /\bVer\s+(\d+)\.(\d+)\.\d+/.exec(text) ?? /\b(\d+)\.(\d+)\.\d+-MariaDB/.exec(text);
  if (m === null) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/**
 * The server groups mariadbd of `version` reads, in its order (mysys load_defaults with the server's group list,
 * as `mariadbd --no-defaults --help --verbose` prints it on 10.11.19 and 11.8.9). From 11.0 the major-only
 * `mariadb-<major>` and `mariadbd-<major>` groups are read too (inferred for 12.x and later from 11.8). Pure.
 */
export function serverGroups(version: { major: number; minor: number }): string[] {
  const base = `${version.major}.${version.minor}`;
  const major = version.major >= 11;
  return [
    'mysqld',
    'server',
    `mysqld-${base}`,
    'mariadb',
    `mariadb-${base}`,
    ...(major ? [`mariadb-${version.major}`] : []),
    'mariadbd',
    `mariadbd-${base}`,
    ...(major ? [`mariadbd-${version.major}`] : []),
    'client-server',
    'galera',
  ];
}

function versionOfBinary(binary: string): { major: number; minor: number } | undefined {
  const result = spawnSync(binary, ['--version'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 10_000,
  });
  return result.status === 0 ? parseServerVersion(result.stdout) : undefined;
}

/** The first of `pid` and its ancestors (4 levels) named mariadbd or mysqld: mysqld runs us via `sh -c`. */
export function serverAncestor(pid: number = process.pid): number | undefined {
  let current = pid;
  for (let depth = 0; depth < 5; depth++) {
    const info = procInfo(current);
    if (info === undefined) return undefined;
    if (/^(mariadbd|mysqld)$/.test(info.comm)) return current;
    if (info.ppid <= 1) return undefined;
    current = info.ppid;
  }
  return undefined;
}

/** The running server's version: its parent mysqld's binary, else mariadbd on PATH, else the 10.11 baseline. */
export function detectServerVersion(parent?: number): ServerVersion {
  const pid =
    (parent !== undefined && procInfo(parent) !== undefined ? serverAncestor(parent) : undefined) ??
    serverAncestor();
  if (pid !== undefined) {
    const found = versionOfBinary(`/proc/${pid}/exe`);
    if (found !== undefined) return { ...found, from: `/proc/${pid}/exe` };
  }
  for (const name of ['mariadbd', '/usr/sbin/mariadbd', 'mysqld']) {
    const found = versionOfBinary(name);
    if (found !== undefined) return { ...found, from: `${name} on PATH` };
  }
  return BASELINE_VERSION;
}
