/**
 * What mysqld hands the donor about credentials (sst-contract.md 1.5, contract-drift.md MDEV-31809).
 *
 * INTERIM VERSION (issue #18): issue #14 owns this module; its version replaces this one at merge. Same exports.
 * 10.x passes WSREP_SST_OPT_AUTH and, when the joiner's `ready` line had `user:secret@`, WSREP_SST_OPT_REMOTE_AUTH
 * (split at the first ':'). 11.6+ passes neither: it writes `sst_user=`, `sst_password=`, `sst_remote_user=`,
 * `sst_remote_password=` lines on the donor's stdin pipe and closes it. stdin is read only when it is a FIFO
 * (or a socketpair; never a TTY, a file or /dev/null), to EOF, within timeoutMs; values are never logged.
 */
import { fstatSync } from 'node:fs';

export interface MysqldAuth {
  readonly source: 'env' | 'stdin' | 'none';
  readonly user?: string;
  readonly password?: string;
  /** The joiner's `user:secret@` from its ready line. */
  readonly remoteUser?: string;
  readonly remotePassword?: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** `user:secret` split at the first ':' as wsrep_sst_common does. */
function splitAuth(text: string): { user: string; password?: string } {
  const colon = text.indexOf(':');
  return colon === -1 ? { user: text } : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The key=value lines of 11.6+'s stdin; unknown keys ignored. */
export function parseAuthLines(text: string): Omit<MysqldAuth, 'source'> {
  const out: Mutable<Omit<MysqldAuth, 'source'>> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq === -1) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).replace(/\r$/, '');
    if (key === 'sst_user') out.user = value;
    else if (key === 'sst_password') out.password = value;
    else if (key === 'sst_remote_user') out.remoteUser = value;
    else if (key === 'sst_remote_password') out.remotePassword = value;
  }
  return out;
}

function fromEnv(env: NodeJS.ProcessEnv): MysqldAuth | undefined {
  const local = env.WSREP_SST_OPT_AUTH;
  const remote = env.WSREP_SST_OPT_REMOTE_AUTH;
  // 10.x always sets WSREP_SST_OPT_AUTH for the donor, even empty; 11.6+ sets neither (then stdin is read).
  if (local === undefined && (remote === undefined || remote === '')) return undefined;
  const out: Mutable<MysqldAuth> = { source: 'env' };
  if (local !== undefined && local !== '') {
    const { user, password } = splitAuth(local);
    out.user = user;
    if (password !== undefined) out.password = password;
  }
  if (remote !== undefined && remote !== '') {
    const { user, password } = splitAuth(remote);
    out.remoteUser = user;
    if (password !== undefined) out.remotePassword = password;
  }
  return out;
}

/** mysqld's pipe(2) is a FIFO; a socketpair (Node's own 'pipe' stdio, the stand-in) counts the same. */
function stdinIsFifo(): boolean {
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isSocket();
  } catch {
    return false;
  }
}

/** Reads a stream to EOF, or what came within timeoutMs. Never closes it. */
function readToEnd(stream: NodeJS.ReadableStream, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const finish = (): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', finish);
      stream.off('error', finish);
      stream.pause();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onData = (chunk: Buffer | string): void => {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    };
    const timer = setTimeout(finish, timeoutMs);
    stream.on('data', onData);
    stream.once('end', finish);
    stream.once('error', finish);
    stream.resume();
  });
}

/** What mysqld handed over: the environment (10.x) first, else 11.6+'s stdin lines, else nothing. */
export async function readMysqldAuth(opts: {
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream | null;
  timeoutMs: number;
}): Promise<MysqldAuth> {
  const env = fromEnv(opts.env);
  if (env !== undefined) return env;
  if (opts.stdin === null || !stdinIsFifo()) return { source: 'none' };
  const lines = parseAuthLines(await readToEnd(opts.stdin, opts.timeoutMs));
  return Object.keys(lines).length > 0 ? { source: 'stdin', ...lines } : { source: 'none' };
}
