/**
 * Child process supervision in the manner of execa (style.md habit 6): argv arrays, never a shell; a start that
 * waits for 'spawn' or 'error' (if 'error' comes first, 'exit' never does: execa lib/resolve/exit-async.js); a
 * flat result object; SIGTERM, then SIGKILL after a delay; and a registry so any exit path can end them all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { MissingProgramError } from '../errors.js';

/** One stdio slot: a mode, or a socket whose descriptor the child gets (the listener's loopback pair). */
export type StdioMode = 'pipe' | 'ignore' | 'inherit' | Socket;

/** How to run a child. */
export interface ChildOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** stdin, stdout, stderr; default all piped. */
  stdio?: [StdioMode, StdioMode, StdioMode];
  /** End the child (TERM, then KILL) after this long; 0 or absent = no limit. */
  timeoutMs?: number;
  /** Delay between SIGTERM and SIGKILL. */
  killAfterMs?: number;
  /** Called with each complete line of a piped stderr. */
  onStderrLine?: (line: string) => void;
  /** Bytes of stderr kept for the result. */
  stderrTailBytes?: number;
  /**
   * Run the child in a process group of its own and signal the whole group: ending rsync then also ends the
   * remote shell it started (our connector), so no grandchild outlives an abort.
   */
  processGroup?: boolean;
  /** Bytes of stdout kept for the result (with stdio[1] = 'pipe'), e.g. rsync's module listing. */
  stdoutBytes?: number;
}

/** What became of a child. */
export interface ChildResult {
  command: string;
  pid: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** We asked it to stop (terminate() or endAllChildren()). */
  terminated: boolean;
  stderrTail: string;
  /** The first `stdoutBytes` of a piped stdout (empty unless asked for). */
  stdout: string;
  durationMs: number;
}

/** A running child, its eventual result, and the way to end it. */
export interface SupervisedChild {
  process: ChildProcess;
  pid: number;
  /** It leads a process group of its own (processGroup), which is signalled as a whole. */
  group: boolean;
  result: Promise<ChildResult>;
  /** SIGTERM now, SIGKILL after killAfterMs; resolves with the result once it is gone. */
  terminate(): Promise<ChildResult>;
}

const live = new Set<SupervisedChild>();

/** Starts `file` with `args`; resolves once it runs, MissingProgramError when it cannot be executed at all. */
export function startChild(
  file: string,
  args: readonly string[],
  opts: ChildOptions = {},
): Promise<SupervisedChild> {
  const started = Date.now();
  const command = [file, ...args].join(' ');
  const child = spawn(file, args, {
    ...(opts.cwd !== undefined && { cwd: opts.cwd }),
    env: opts.env ?? process.env,
    stdio: opts.stdio ?? ['pipe', 'pipe', 'pipe'],
    detached: opts.processGroup === true,
  });
  return new Promise((resolveStart, rejectStart) => {
    child.once('error', (error) => {
      rejectStart(new MissingProgramError(`Cannot run "${file}": ${error.message}`, { cause: error }));
    });
    child.once('spawn', () => {
      child.removeAllListeners('error');
      // Later errors (a failed kill, an EPIPE on a pipe) are reported through the streams and the result.
      child.on('error', () => undefined);
      resolveStart(supervise(child, command, started, opts));
    });
  });
}

function supervise(
  child: ChildProcess,
  command: string,
  started: number,
  opts: ChildOptions,
): SupervisedChild {
  const pid = child.pid ?? -1;
  const tailBytes = opts.stderrTailBytes ?? 4096;
  let tail = '';
  let partial = '';
  let timedOut = false;
  let terminated = false;
  let killTimer: NodeJS.Timeout | undefined;
  let limitTimer: NodeJS.Timeout | undefined;
  if (child.stderr !== null) {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-tailBytes);
      if (opts.onStderrLine === undefined) return;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') opts.onStderrLine(line);
    });
    child.stderr.on('error', () => undefined);
  }
  let stdout = '';
  if (child.stdout !== null && opts.stdoutBytes !== undefined) {
    // Only when asked: otherwise stdout belongs to the caller (the listener pumps it into TLS). Drained to the
    // end so a child never blocks on a full pipe; only the first stdoutBytes are kept.
    const keep = opts.stdoutBytes;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (stdout.length < keep) stdout = (stdout + chunk).slice(0, keep);
    });
    child.stdout.on('error', () => undefined);
  }
  const result = new Promise<ChildResult>((resolve) => {
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let done = false;
    const finish = (): void => {
      if (done || exit === undefined) return;
      done = true;
      clearTimeout(killTimer);
      clearTimeout(limitTimer);
      live.delete(handle);
      if (partial.trim() !== '') opts.onStderrLine?.(partial);
      resolve({
        command,
        pid,
        exitCode: exit.code,
        signal: exit.signal,
        timedOut,
        terminated,
        stderrTail: tail,
        stdout,
        durationMs: Date.now() - started,
      });
    };
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      // 'close' waits for stdio; a grandchild holding the pipes, or a pipe nobody reads to its end, must not
      // hold our result forever. Not unref'd: with nothing else left to wait for, an unref'd timer let the
      // process exit (code 13, an unsettled await) in silence before the result arrived.
      setTimeout(finish, 2000);
    });
    child.once('close', (code, signal) => {
      exit ??= { code, signal };
      finish();
    });
  });
  const signalChild = (signal: NodeJS.Signals): void => {
    if (opts.processGroup === true && pid > 0) {
      // The group outlives its leader when a grandchild lingers: signal it even after the leader exited.
      try {
        process.kill(-pid, signal);
      } catch {
        // the whole group is gone
      }
      return;
    }
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const handle: SupervisedChild = {
    process: child,
    pid,
    group: opts.processGroup === true,
    result,
    terminate() {
      const running = child.exitCode === null && child.signalCode === null;
      if ((running || opts.processGroup === true) && killTimer === undefined) {
        terminated = true;
        signalChild('SIGTERM');
        // A stopped child (SIGSTOP, a frozen pass) would hold the TERM pending until the KILL: wake it to take it.
        signalChild('SIGCONT');
        killTimer = setTimeout(() => signalChild('SIGKILL'), opts.killAfterMs ?? 3000);
        killTimer.unref();
      }
      return result;
    },
  };
  if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) {
    limitTimer = setTimeout(() => {
      timedOut = true;
      void handle.terminate();
    }, opts.timeoutMs);
    limitTimer.unref();
  }
  live.add(handle);
  return handle;
}

/** How many supervised children are still running. */
export function liveChildren(): number {
  return live.size;
}

/** Ends every supervised child (TERM, then KILL) and resolves when all are gone: for every exit path. */
export async function endAllChildren(): Promise<void> {
  await Promise.all([...live].map((child) => child.terminate()));
}

/** Last resort for a synchronous 'exit' handler: SIGKILL to every child still running. */
export function killAllChildrenSync(): void {
  for (const child of live) {
    try {
      if (child.group) process.kill(-child.pid, 'SIGKILL');
      else child.process.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
