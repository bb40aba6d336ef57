/**
 * File checks, pure: can the user mysqld runs as open tcert, tkey and tca (mode bits and ownership along the
 * whole path, as the kernel decides; ACLs are not read), and is the private key kept from other users.
 */
import type { CheckResult } from '../../preflight/result.js';
import { fail, ok, warn } from '../../preflight/result.js';
import { groupName, type UserIdentity } from '../userDb.js';

/** Ownership and mode of one path, as stat(2) reports it. */
export interface FileStat {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  /** Owner and group names for messages, when known. */
  owner?: string;
  group?: string;
}

/** What run.ts found about one configured file. */
export interface FileFacts {
  /** "tcert", "tkey" or "tca". */
  role: 'tcert' | 'tkey' | 'tca';
  path: string;
  /** Whether the file holds the private key (tkey, or tcert when tkey is not set). */
  holdsKey: boolean;
  /** stat(2) of the file itself; undefined when it cannot be stat'ed (see `error`). */
  stat?: FileStat & { isDirectory: boolean };
  /** errno code when stat failed: ENOENT, EACCES, ENOTDIR... */
  error?: string;
  /** Every directory from / down to the file's directory (symlinks resolved). */
  ancestors: FileStat[];
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, '0')}`;

function ownership(stat: FileStat): string {
  return `owner ${stat.owner ?? stat.uid}:${stat.group ?? stat.gid}, mode ${octal(stat.mode)}`;
}

/** The permission bit for `user` among owner/group/other: `bits` is 0o4 (read), 0o2 (write) or 0o1 (search). */
export function allows(
  stat: Pick<FileStat, 'mode' | 'uid' | 'gid'>,
  user: UserIdentity,
  bits: number,
): boolean {
  // root passes read, write and directory search checks whatever the mode (CAP_DAC_OVERRIDE).
  if (user.uid === 0) return true;
  if (stat.uid === user.uid) return (stat.mode & (bits << 6)) !== 0;
  if (user.gids.includes(stat.gid)) return (stat.mode & (bits << 3)) !== 0;
  return (stat.mode & bits) !== 0;
}

function fixReadable(stat: FileStat, user: UserIdentity, isDir: boolean): string {
  const bit = isDir ? 'x' : 'r';
  const primary = groupName(user, user.gids[0] ?? 0);
  if (user.gids.includes(stat.gid)) return `chmod g+${bit} ${stat.path}`;
  return `chgrp ${primary} ${stat.path} && chmod g+${bit} ${stat.path}`;
}

function accessCheck(facts: FileFacts, user: UserIdentity): CheckResult {
  const what = `${facts.role} "${facts.path}"`;
  const blocked = facts.ancestors.find((dir) => !allows(dir, user, 0o1));
  if (blocked !== undefined) {
    return fail(
      'file.readable',
      `${what} is not readable by user "${user.name}" (uid ${user.uid}): directory "${blocked.path}" is not searchable (${ownership(blocked)})`,
      fixReadable(blocked, user, true),
    );
  }
  const stat = facts.stat;
  if (stat === undefined)
    return fail('file.readable', `${what} cannot be checked: ${facts.error ?? 'unknown error'}`);
  const readable = allows(stat, user, 0o4) && (!stat.isDirectory || allows(stat, user, 0o1));
  if (!readable) {
    return fail(
      'file.readable',
      `${what} is not readable by user "${user.name}" (uid ${user.uid}): ${ownership(stat)}`,
      fixReadable(stat, user, stat.isDirectory),
    );
  }
  return ok('file.readable', `${what} is readable by user "${user.name}" (${ownership(stat)})`);
}

function privacyCheck(facts: FileFacts, user: UserIdentity | undefined): CheckResult | undefined {
  const stat = facts.stat;
  if (!facts.holdsKey || stat === undefined || stat.isDirectory) return undefined;
  const what = `Private key "${facts.path}"`;
  if ((stat.mode & 0o004) !== 0) {
    return fail(
      'file.key-private',
      `${what} is readable by every user (${ownership(stat)})`,
      `chmod o-rwx ${facts.path}`,
    );
  }
  if (user !== undefined && (stat.mode & 0o040) !== 0 && !user.gids.includes(stat.gid) && stat.gid !== 0) {
    return warn(
      'file.key-private',
      `${what} is readable by group "${stat.group ?? stat.gid}", which user "${user.name}" is not in (${ownership(stat)})`,
      `chmod g-r ${facts.path}`,
    );
  }
  return ok('file.key-private', `${what} is not readable by other users (${ownership(stat)})`);
}

/** Existence, readability by `user` (skipped when the user is unknown) and key privacy of each configured file. */
export function fileChecks(files: readonly FileFacts[], user: UserIdentity | undefined): CheckResult[] {
  const results: CheckResult[] = [];
  for (const facts of files) {
    if (facts.error === 'ENOENT' || facts.error === 'ENOTDIR') {
      results.push(
        fail(
          'file.exists',
          `Cannot find ${facts.role} "${facts.path}": file not found`,
          `check [sst] ${facts.role}`,
        ),
      );
      continue;
    }
    if (user !== undefined) results.push(accessCheck(facts, user));
    const privacy = privacyCheck(facts, user);
    if (privacy !== undefined) results.push(privacy);
  }
  return results;
}
