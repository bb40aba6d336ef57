/**
 * Runs one donor rsync pass through the TLS connector. rsync runs in its own process group so that ending it
 * also ends the connector it spawned as its remote shell: no orphan survives an abort. Its stderr is the
 * SST's stderr (mysqld's error log), as in the original scripts; its stdout never reaches mysqld.
 */
import { existsSync, readFileSync } from 'node:fs';
import { PeerVerificationError, TransferError } from '../errors.js';
import { logger } from '../log.js';
import { startChild } from '../rsync/child.js';
import type { Pass } from './passes.js';
import { passExitCode, RSH_HOST } from './passes.js';

const log = logger('rsync');

/**
 * How rsync is started for every pass: the binary, and how it reaches the joiner: the donor relay's loopback
 * port (rsync as a daemon client over TCP) or a remote shell (one connector per connection), with its environment.
 */
export interface PassRunner {
  rsync: string;
  transport: { relay: { host: string; port: number } } | { rsh: string };
  env: Record<string, string>;
  /** Time between SIGTERM and SIGKILL when a pass must be ended. */
  killAfterMs?: number;
  /** Where the connector of this pass writes its report; its error explains a failed pass. */
  reportFile?: string;
  /**
   * How long rsync may outlive its failed TLS connection before its group is killed: an rsync that is stopped
   * or hung would otherwise never exit, and the donor would wait for it for ever.
   */
  orphanGraceMs?: number;
  /** The in-process relay's account of the latest failed connection, when the relay carries the pass. */
  explain?: () => string | undefined;
  /** How many relay connections have failed so far; a rise during a pass starts the orphan grace. */
  failures?: () => number;
  /** How many relay connections have ended so far, cleanly or not. */
  closed?: () => number;
}

/** The connector's own account of why its connection failed, if it wrote one. */
export function connectorError(reportFile: string | undefined): string | undefined {
  if (reportFile === undefined) return undefined;
  try {
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { error?: unknown };
    return typeof report.error === 'string' ? report.error : undefined;
  } catch {
    return undefined;
  }
}

// Connector failures that mean the peer is not who it must be: a configuration problem, not a transfer one.
const VERIFICATION = /certificate|verif|identity|does not match|alert|handshake/i;

/** The outcome of a pass: rsync's exit code, its stdout (module listings), and how long it took. */
export interface PassResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  durationMs: number;
}

/**
 * What rsync adds to reach the relay besides its port. TCP_NODELAY on rsync's own socket: rsync's small
 * protocol messages must not wait for an ACK behind Nagle (stunnel sets it on both sockets; with it socat went
 * from 0.68x to 0.98x of no tunnel for per-directory rsyncs of small files, tunnel-performance.md 5).
 */
export const RELAY_RSYNC_ARGS: readonly string[] = ['--sockopts=TCP_NODELAY'];

/**
 * Every pass asks the joiner's rsync to send its messages through the protocol stream (rsync >= 3.1; forwarded
 * to the daemon). Our joiner runs each daemon with a stderr of its own, and rsync >= 3.2.4 then writes errors
 * only there: the donor's rsync learnt the exit code ("failed with exit code 11") but not why. With this the
 * donor's log names the cause ("write failed on ...: No space left on device (28)") as well; the joiner's daemon
 * log file still has it.
 */
export const MESSAGES_TO_CLIENT = '--no-msgs2stderr';

/**
 * rsync's arguments for this runner: `--rsh` for a remote shell, or `--port` and the relay's address in place
 * of the placeholder host of every `<host>::<module>` argument.
 */
export function transportArgs(runner: PassRunner, args: readonly string[]): string[] {
  if ('rsh' in runner.transport) return [`--rsh=${runner.transport.rsh}`, MESSAGES_TO_CLIENT, ...args];
  const { host, port } = runner.transport.relay;
  const prefix = `${RSH_HOST}::`;
  return [
    `--port=${port}`,
    ...RELAY_RSYNC_ARGS,
    MESSAGES_TO_CLIENT,
    ...args.map((a) => (a.startsWith(prefix) ? `${host}::${a.slice(prefix.length)}` : a)),
  ];
}

/**
 * The environment of a pass. Through the relay rsync must open its own TCP connection to it: a proxy or a
 * connect program from the operator's environment would carry the plaintext somewhere else.
 */
export function transportEnv(runner: PassRunner, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = { ...base, ...runner.env };
  if ('relay' in runner.transport)
    for (const name of ['RSYNC_PROXY', 'RSYNC_CONNECT_PROG', 'RSYNC_RSH']) delete env[name];
  return env;
}

/**
 * rsync exit codes whose cause rsync itself has printed (file I/O 11, partial transfer 23, vanished files 24):
 * the tunnel worked, so the pass fails at once instead of waiting for a tunnel error that never comes.
 */
const RSYNC_EXPLAINS: ReadonlySet<number> = new Set([11, 23, 24]);

/**
 * Runs rsync with `args` in `cwd` as a supervised child in its own process group; on abort the whole group
 * (rsync and the connector it started) gets TERM, then KILL.
 */
export async function spawnRsync(
  runner: PassRunner,
  args: string[],
  cwd: string,
  signal: AbortSignal,
): Promise<PassResult> {
  const child = await startChild(runner.rsync, transportArgs(runner, args), {
    cwd,
    env: transportEnv(runner),
    // stderr is the SST's own (mysqld's error log), as in the original scripts; stdout never reaches mysqld.
    stdio: ['ignore', 'pipe', 'inherit'],
    processGroup: true,
    stdoutBytes: 1 << 20,
    killAfterMs: runner.killAfterMs ?? 3000,
  });
  const onAbort = (): void => void child.terminate();
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  // The tunnel of this pass ended (the connector wrote its report, or a relay connection failed): rsync must
  // follow within the grace, or its group is ended.
  const failuresAtStart = runner.failures?.() ?? 0;
  const closedAtStart = runner.closed?.() ?? 0;
  const tunnelEnded = (): boolean =>
    (runner.reportFile !== undefined && existsSync(runner.reportFile)) ||
    (runner.failures !== undefined && runner.failures() > failuresAtStart);
  let orphanTimer: NodeJS.Timeout | undefined;
  const watch = setInterval(() => {
    if (orphanTimer !== undefined || !tunnelEnded()) return;
    orphanTimer = setTimeout(() => {
      log.warn(`rsync (PID ${child.pid}) did not exit after its TLS connection ended: ending it`);
      void child.terminate();
    }, runner.orphanGraceMs ?? 5000);
  }, 250);
  try {
    const result = await child.result;
    if (result.exitCode !== 0 && !signal.aborted && !RSYNC_EXPLAINS.has(result.exitCode ?? -1)) {
      // rsync's exit does not wait for its tunnel: give it a moment to record why it failed (a refused
      // certificate, a timeout), which rsync's own "did not see server greeting" does not say.
      // A relay connection that has already ended (a peer's reset is a routine close, no failure recorded)
      // has nothing more to say: waiting the full 2 s for it made every dead joiner cost the donor 2 s more
      // (issue 21). Any connection's end counts: passes run in parallel, and this only shortens the wait.
      const closedSince = (): boolean => runner.closed !== undefined && runner.closed() > closedAtStart;
      const until = Date.now() + 2000;
      while (!tunnelEnded() && !closedSince() && Date.now() < until)
        await new Promise((r) => setTimeout(r, 25));
    }
    // A connector still finishing in the group after rsync failed must not outlive the pass.
    if (result.exitCode !== 0) await child.terminate();
    return {
      exitCode: result.exitCode,
      signal: result.signal,
      stdout: result.stdout,
      durationMs: result.durationMs,
    };
  } finally {
    clearInterval(watch);
    clearTimeout(orphanTimer);
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Runs a data pass and throws a TransferError with the contract's exit code when it fails; rsync exit codes in
 * `tolerate` are returned instead (the two-phase copy's first phase, where files vanish as tables are dropped).
 */
export async function runPass(
  runner: PassRunner,
  pass: Pass,
  signal: AbortSignal,
  tolerate: ReadonlySet<number> = new Set(),
): Promise<PassResult> {
  log.debug({ cwd: pass.cwd, args: pass.args }, `rsync pass: ${pass.name}`);
  const result = await spawnRsync(runner, pass.args, pass.cwd, signal);
  if (signal.aborted) throw signal.reason;
  if (result.exitCode !== null && tolerate.has(result.exitCode)) return result;
  if (result.exitCode !== 0) {
    const how = result.exitCode === null ? `signal ${result.signal ?? '?'}` : `exit code ${result.exitCode}`;
    const cause = runner.explain?.() ?? connectorError(runner.reportFile);
    if (cause !== undefined) {
      const message = `rsync pass "${pass.name}" failed: ${cause}`;
      throw VERIFICATION.test(cause)
        ? new PeerVerificationError(message)
        : new TransferError(message, {
            exitCode:
              cause.includes('timed out') || /No data moved|no TLS handshake within/.test(cause) ? 110 : 255,
          });
    }
    throw new TransferError(`rsync pass "${pass.name}" failed with ${how} (rsync's own message is above)`, {
      exitCode: passExitCode(pass, result.exitCode ?? 255),
    });
  }
  return result;
}

/** What each worker of runWorkers gets: the shared signal, and a way to run one task under the shared failure. */
export interface WorkerScope {
  /** Aborted when the parent is, or when any worker's task failed. */
  signal: AbortSignal;
  /** Whether a task has failed: the worker should take no more. */
  failed(): boolean;
  /** Runs one task; its failure aborts every worker and is rethrown by runWorkers, not here. */
  attempt(task: (signal: AbortSignal) => Promise<unknown>): Promise<void>;
}

/**
 * Runs `count` workers at once (`work(scope, index)`); the first failure of any task aborts the rest and is
 * rethrown once all have stopped, so no rsync is left running behind the error.
 */
export async function runWorkers(
  parent: AbortSignal,
  count: number,
  work: (scope: WorkerScope, index: number) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  const forward = (): void => controller.abort(parent.reason);
  parent.addEventListener('abort', forward, { once: true });
  let failure: unknown;
  const scope: WorkerScope = {
    signal: controller.signal,
    failed: () => failure !== undefined,
    attempt: async (task) => {
      try {
        await task(controller.signal);
      } catch (error) {
        if (failure === undefined) {
          failure = error;
          controller.abort(error);
        }
      }
    },
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, count) }, (_, index) => work(scope, index)));
  } finally {
    parent.removeEventListener('abort', forward);
  }
  if (failure !== undefined) throw failure;
}

/** Runs `tasks` with at most `limit` at a time; the first failure aborts the rest and is rethrown. */
export async function runPool<T>(
  items: readonly T[],
  limit: number,
  parent: AbortSignal,
  task: (item: T, signal: AbortSignal) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await runWorkers(parent, Math.min(limit, items.length), async (scope) => {
    while (!scope.failed() && next < items.length) {
      const item = items[next++] as T;
      await scope.attempt((signal) => task(item, signal));
    }
  });
}
