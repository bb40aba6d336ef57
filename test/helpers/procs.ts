/**
 * Process helpers for integration tests: every process is tracked and killed in `finally` (killAll), free ports on
 * 127.0.0.1, waiting for a log line, the built CLI, and a recursive tree hash to compare transfers byte for byte.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI; integration tests run the real program (`npm test` builds first). */
export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** Throws a clear message when the CLI has not been built. */
export function requireBuiltCli(): string {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npx tsc -p tsconfig.build.json" first`);
  return CLI;
}

/** A started process with its collected output. */
export interface Proc {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const tracked = new Set<Proc>();

/** Starts a process (argv, never a shell) and tracks it for killAll(). */
export function start(command: string, args: string[], opts: SpawnOptions = {}): Proc {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', () => resolve({ code: null, signal: null }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const proc: Proc = { child, stdout: () => out, stderr: () => err, exited };
  tracked.add(proc);
  void exited.then(() => tracked.delete(proc));
  return proc;
}

/** Runs a process to its end. */
export async function run(
  command: string,
  args: string[],
  opts: SpawnOptions = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = start(command, args, opts);
  const { code } = await proc.exited;
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

/** Ends every tracked process: SIGTERM, then SIGKILL after `graceMs`; resolves when all are gone. */
export async function killAll(graceMs = 2000): Promise<void> {
  await Promise.all(
    [...tracked].map(async (proc) => {
      proc.child.kill('SIGTERM');
      const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
      await proc.exited;
      clearTimeout(timer);
    }),
  );
}

/** Processes started here and still running. */
export function runningCount(): number {
  return tracked.size;
}

/** A port that was free on `host` a moment ago. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Waits until `pattern` appears in the process's stderr (or stdout); returns the match. */
export async function waitFor(
  proc: Proc,
  pattern: RegExp,
  timeoutMs = 10_000,
  stream: 'stderr' | 'stdout' = 'stderr',
): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = (stream === 'stderr' ? proc.stderr() : proc.stdout()).match(pattern);
    if (match !== null) return match;
    if (Date.now() > deadline || proc.child.exitCode !== null) {
      throw new Error(
        `Timed out waiting for ${pattern} in ${stream} of ${proc.child.spawnargs.join(' ')}:\n${proc.stderr()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A hash over a directory tree: names, types, modes, symlink targets and file contents. */
export function treeHash(root: string): string {
  const hash = createHash('sha256');
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = join(root, rel, name);
      const st = lstatSync(path);
      const entry = join(rel, name);
      if (st.isSymbolicLink()) hash.update(`L ${entry} -> ${readlinkSync(path)}\n`);
      else if (st.isDirectory()) {
        hash.update(`D ${entry} ${(st.mode & 0o7777).toString(8)}\n`);
        walk(entry);
      } else {
        hash.update(`F ${entry} ${(st.mode & 0o7777).toString(8)} ${st.size}\n`);
        hash.update(readFileSync(path));
      }
    }
  };
  walk('');
  return hash.digest('hex');
}

/** The number of entries under a directory (0 = nothing was written). */
export function countEntries(root: string): number {
  return readdirSync(root, { recursive: true }).length;
}

/** Starts `sst-tunnel listen` on 127.0.0.1 with a free port; resolves with the process and the bound port. */
export async function startListenCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ proc: Proc; port: number }> {
  const proc = start(
    process.execPath,
    [requireBuiltCli(), 'listen', '--bind', '127.0.0.1', '--port', '0', ...args],
    {
      env: { ...process.env, ...env },
    },
  );
  const match = await waitFor(proc, /Listening on 127\.0\.0\.1:(\d+)/);
  return { proc, port: Number(match[1]) };
}

/** `sst-tunnel listen`'s TLS options: the CA, the certificate, and its key unless the certificate file holds it. */
export function listenTls(ca: string, cert: string, key?: string): string[] {
  return ['--ca', ca, '--cert', cert, ...(key === undefined ? [] : ['--key', key])];
}

/** Runs rsync with the donor connector as its remote shell (exactly what the donor role passes). */
export async function rsyncViaConnector(
  rsh: { rsh: string; env: Record<string, string> },
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run('rsync', [`--rsh=${rsh.rsh}`, ...args], { env: { ...process.env, ...rsh.env } });
}
