/**
 * The benchmark's own processes: started with argv arrays (a shell only where a pipeline is the point), tracked
 * so that every exit path stops them (TERM, then KILL), plus free-port and port-wait helpers.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { atExit } from '../demo/exitCleanup.js';

/** A started process: its exit, and the tail of its stderr for failure messages. */
export interface BenchProcess {
  child: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
  stderr(): string;
}

const live = new Set<BenchProcess>();

/** Waits `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts `file args`; stdout ignored unless `opts.stdio` says otherwise; stderr kept (last 64 KiB). */
export function startProcess(file: string, args: readonly string[], opts: SpawnOptions = {}): BenchProcess {
  const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
  let err = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    err = (err + chunk).slice(-65536);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      err += `\n${error.message}`;
      resolve(null);
    });
    child.once('close', (code) => resolve(code));
  });
  const p: BenchProcess = { child, pid: child.pid ?? -1, exited, stderr: () => err };
  live.add(p);
  const forget = atExit(() => child.kill('SIGKILL'));
  void exited.then(() => {
    live.delete(p);
    forget();
  });
  return p;
}

/** Runs a process to its end; rejects with its stderr when it exits non-zero. */
export async function runProcess(
  file: string,
  args: readonly string[],
  opts: SpawnOptions = {},
): Promise<void> {
  const p = startProcess(file, args, opts);
  const code = await p.exited;
  if (code !== 0)
    throw new Error(
      `Command "${file} ${args.join(' ')}" failed with exit code ${code}: ${p.stderr().trim()}`,
    );
}

/** SIGTERM, then SIGKILL after `killAfterMs`; resolves when it is gone. */
export async function stopProcess(p: BenchProcess, killAfterMs = 3000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), killAfterMs);
  await p.exited;
  clearTimeout(timer);
}

/** Stops every process the benchmark started and that still runs. */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...live].map((p) => stopProcess(p)));
}

/** A TCP port free on `host` right now. */
export async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('Cannot find a free port');
  return address.port;
}

/** Resolves once `host:port` accepts a connection; throws after `timeoutMs`. */
export async function waitPort(host: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, host, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`Nothing listens on ${host}:${port} after ${timeoutMs} ms`);
}

/** Resolves once `test()` is true, polling every `everyMs`; throws `message` after `timeoutMs`. */
export async function waitFor(
  test: () => boolean,
  timeoutMs: number,
  message: string,
  everyMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(message);
    await sleep(everyMs);
  }
}
