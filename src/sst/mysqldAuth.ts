/**
 * The credentials mysqld hands a donor script, in both dialects (contract-drift.md, MDEV-31809):
 * - 10.x: environment variables `WSREP_SST_OPT_AUTH` (always set by 10.11, maybe empty) and
 *   `WSREP_SST_OPT_REMOTE_AUTH` (the joiner's `user:secret@`), each "user:password", split at the first ':'.
 * - 11.6+: no such variables; fd 0 is a pipe from mysqld carrying `sst_user=`, `sst_password=` (and
 *   `sst_remote_user=`/`sst_remote_password=`) lines, then EOF.
 *
 * This method needs no database account; the values matter only to tell the 11.6+ failure (mysqld could not make
 * its temporary SST user: EOF with no `sst_user=` line, after which mysqld never reads our stdout) and for the
 * joiner's `user:secret@` (issue #18). No value is ever logged: errors name the key, never the value.
 */
import { fstatSync } from 'node:fs';
import { MysqldAuthError } from '../errors.js';
import { logger } from '../log.js';

const log = logger('donor');

export interface MysqldAuth {
  /** 10.x environment, 11.6+ stdin pipe, or nothing. */
  readonly source: 'env' | 'stdin' | 'none';
  /** wsrep_sst_auth (ours: unused except to detect the 11.6+ failure). */
  readonly user?: string;
  readonly password?: string;
  /** The joiner's `user:secret@` from its ready line. */
  readonly remoteUser?: string;
  readonly remotePassword?: string;
}

/** A credentials line or value mysqld sent that cannot be taken as it is. Carries no value, only the key. */
export class MysqldAuthParseError extends Error {}

/** Most bytes read from the pipe: four short lines; anything larger is not mysqld's credentials pipe. */
export const MAX_AUTH_BYTES = 64 * 1024;

const KEYS = {
  sst_user: 'user',
  sst_password: 'password',
  sst_remote_user: 'remoteUser',
  sst_remote_password: 'remotePassword',
} as const;

type Mutable = { -readonly [K in keyof MysqldAuth]?: MysqldAuth[K] };

/** A value fit for a config file or a comparison: no control characters (newline, NUL, ESC, DEL ...). */
function checkValue(key: string, value: string): string {
  if (/\p{Cc}/u.test(value)) throw new MysqldAuthParseError(`mysqld sent a control character in ${key}`);
  return value;
}

/**
 * Parses the 11.6+ pipe's text: `key=value` lines, split at the first '='; unknown keys and blank lines are
 * ignored (a later mysqld may add keys); a known key given twice keeps its last value, as a shell reader would.
 * Pure.
 */
export function parseAuthLines(text: string): Omit<MysqldAuth, 'source'> {
  const out: Mutable = {};
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const field = (KEYS as Record<string, keyof Mutable>)[key];
    if (field === undefined) continue;
    (out as Record<string, string>)[field] = checkValue(key, line.slice(eq + 1));
  }
  return out;
}

/** Splits a 10.x "user:password" at its first ':' (no ':' = a user with no password). Pure. */
export function splitUserPassword(
  name: string,
  value: string | undefined,
): { user?: string; password?: string } {
  if (value === undefined || value === '') return {};
  checkValue(name, value);
  const colon = value.indexOf(':');
  if (colon === -1) return { user: value };
  return { user: value.slice(0, colon), password: value.slice(colon + 1) };
}

/** The 10.x environment's credentials, or undefined when neither variable is set (11.6+, or not mysqld). Pure. */
export function authFromEnv(env: NodeJS.ProcessEnv): MysqldAuth | undefined {
  if (env.WSREP_SST_OPT_AUTH === undefined && env.WSREP_SST_OPT_REMOTE_AUTH === undefined) return undefined;
  const local = splitUserPassword('WSREP_SST_OPT_AUTH', env.WSREP_SST_OPT_AUTH);
  const remote = splitUserPassword('WSREP_SST_OPT_REMOTE_AUTH', env.WSREP_SST_OPT_REMOTE_AUTH);
  return {
    source: 'env',
    ...local,
    ...(remote.user !== undefined && { remoteUser: remote.user }),
    ...(remote.password !== undefined && { remotePassword: remote.password }),
  };
}

/** True when the 11.6+ pipe ended without `sst_user=`: mysqld could not make its SST user and gave up. */
export function userCreationFailed(auth: MysqldAuth): boolean {
  return auth.source === 'stdin' && (auth.user === undefined || auth.user === '');
}

/**
 * process.stdin when fd 0 is a FIFO (the 11.6+ donor's credentials pipe), else null: a TTY, /dev/null, a file
 * or a socket is never read. Reading process.stdin to EOF leaves fd 0 itself open (libuv never closes fds 0-2),
 * as contract-drift.md asks: mysqld's own close of its end must not meet an error.
 */
export function fifoStdin(): NodeJS.ReadableStream | null {
  try {
    return fstatSync(0).isFIFO() ? process.stdin : null;
  } catch {
    return null;
  }
}

/** Reads `stream` to EOF, at most MAX_AUTH_BYTES and `timeoutMs`; what arrived by then on a timeout. */
function readBounded(
  stream: NodeJS.ReadableStream,
  timeoutMs: number,
): Promise<{ text: string; ended: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (ended: boolean): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.pause();
      resolve({ text: Buffer.concat(chunks).toString('utf8'), ended });
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (size > MAX_AUTH_BYTES) return finish(false);
      chunks.push(buf);
    };
    const onEnd = (): void => finish(true);
    const onError = (): void => finish(true);
    const timer = setTimeout(() => finish(false), timeoutMs);
    timer.unref();
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.resume();
  });
}

/**
 * The credentials mysqld gave this donor. The environment wins (10.x sets it and leaves stdin alone); else a
 * FIFO stdin is read to EOF, bounded by `timeoutMs` (mysqld writes and closes it right after the spawn, so a
 * pipe still open then is not its credentials pipe: what arrived is used, the rest ignored). Malformed values
 * are a MysqldAuthParseError naming the key only.
 */
export async function readMysqldAuth(opts: {
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream | null;
  timeoutMs: number;
}): Promise<MysqldAuth> {
  const fromEnv = authFromEnv(opts.env);
  if (fromEnv !== undefined) return fromEnv;
  if (opts.stdin === null) return { source: 'none' };
  const { text, ended } = await readBounded(opts.stdin, opts.timeoutMs);
  const parsed = parseAuthLines(text);
  // A pipe that neither ended nor carried a known key is some other pipe (a shell's), not mysqld's: 'none', so
  // that only mysqld's own "EOF with nothing" reads as the 11.6+ user-creation failure.
  if (!ended && Object.keys(parsed).length === 0) return { source: 'none' };
  return { source: 'stdin', ...parsed };
}

/**
 * Fails the donor before anything is locked or sent when mysqld's credentials say it gave up: an 11.6+ mysqld
 * whose temporary SST user could not be created closes our stdin with no `sst_user=` line and never reads our
 * stdout, so `flush tables` would go unanswered (contract-drift.md, MDEV-31809).
 */
export async function checkMysqldAuth(pending: Promise<MysqldAuth> | undefined): Promise<MysqldAuth> {
  if (pending === undefined) return { source: 'none' };
  let auth: MysqldAuth;
  try {
    auth = await pending;
  } catch (error) {
    if (error instanceof MysqldAuthParseError)
      throw new MysqldAuthError(`Cannot use the credentials mysqld passed: ${error.message}`);
    throw error;
  }
  log.debug(
    `mysqld credentials: ${auth.source}${auth.remoteUser !== undefined ? " (with the joiner's)" : ''}`,
  );
  if (userCreationFailed(auth)) {
    throw new MysqldAuthError(
      'mysqld closed the SST credentials pipe without an sst_user line: it could not create its temporary SST ' +
        'user (MariaDB 11.6+ with an empty wsrep_sst_auth; see its error log) and has abandoned this SST. ' +
        'rsync_tunnel needs no database account: set wsrep_sst_auth to any placeholder, e.g. ' +
        'wsrep_sst_auth = rsync_tunnel:none, on this donor',
    );
  }
  return auth;
}
