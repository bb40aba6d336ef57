/**
 * A stand-in for mysqld's side of the SST contract (sst-contract.md 1.1-2.2): it builds the exact command
 * string mysqld builds, runs it with `sh -c`, reads stdout line by line as mysqld does, and as a donor answers
 * `flush tables` by writing `tables_flushed` atomically (tmp, fsync, rename). The demo uses it when MariaDB is
 * not installed; the integration tests use it to drive the wrapper exactly as mysqld would.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  constants,
  fsyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { atExit } from './exitCleanup.js';
import { EXIT_TERM_MS, running, waitGoneSync } from './processGroup.js';

/** The installation root (this file is src/demo/ or dist/demo/ below it). */
export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** The directory holding the wrapper script, to put first on PATH. */
export const SCRIPTS = join(REPO, 'scripts');

const q = (value: string): string => `'${value}'`;

/** Options shared by both roles' command lines. */
export interface CommandOptions {
  method?: string;
  address: string;
  datadir: string;
  defaultsFile?: string;
  defaultsExtraFile?: string;
  defaultsGroupSuffix?: string;
  progress?: 0 | 1;
  binlog?: string;
  binlogIndex?: string;
  mysqldArgs?: string[];
}

function defaults(o: CommandOptions): string {
  let text = '';
  if (o.defaultsFile !== undefined) text += `--defaults-file ${q(o.defaultsFile)} `;
  if (o.defaultsExtraFile !== undefined) text += `--defaults-extra-file ${q(o.defaultsExtraFile)} `;
  if (o.defaultsGroupSuffix !== undefined) text += `--defaults-group-suffix ${q(o.defaultsGroupSuffix)} `;
  return text;
}

function tail(o: CommandOptions): string {
  let text = '';
  if (o.binlog !== undefined) text += ` --binlog ${q(o.binlog)}`;
  if (o.binlogIndex !== undefined) text += ` --binlog-index ${q(o.binlogIndex)}`;
  return text;
}

function mysqldArgs(o: CommandOptions): string {
  return o.mysqldArgs === undefined || o.mysqldArgs.length === 0
    ? ''
    : ` --mysqld-args ${o.mysqldArgs.join(' ')}`;
}

/** The joiner command exactly as mysqld 10.11 formats it (contract 1.2). */
export function joinerCommand(o: CommandOptions & { parent: number }): string {
  const dd = o.datadir.endsWith('/') ? o.datadir : `${o.datadir}/`;
  return (
    `wsrep_sst_${o.method ?? 'rsync_tunnel'} --role 'joiner' --address ${q(o.address)} --datadir ${q(dd)} ` +
    `${defaults(o)}--parent ${o.parent} --progress ${o.progress ?? 0}${tail(o)}${mysqldArgs(o)}`
  );
}

/** The joiner's ready payload split as mysqld splits it, at the last '@' (contract 1.3.1). */
export function splitReadyPayload(payload: string): { auth?: string; address: string } {
  const at = payload.lastIndexOf('@');
  return at === -1 ? { address: payload } : { auth: payload.slice(0, at), address: payload.slice(at + 1) };
}

/** The `user:secret` a joiner's ready payload carries before its last `@`, as mysqld relays it to the donor. */
export function relayedAuth(payload: string): { user: string; password: string } | undefined {
  const { auth } = splitReadyPayload(payload);
  if (auth === undefined) return undefined;
  const colon = auth.indexOf(':');
  return colon === -1
    ? { user: auth, password: '' }
    : { user: auth.slice(0, colon), password: auth.slice(colon + 1) };
}

/** The donor command exactly as mysqld 10.11 formats it (contract 1.3); an `auth@` in the address is dropped. */
export function donorCommand(
  o: CommandOptions & {
    gtid: string;
    domainId?: number;
    localPort?: number;
    socket?: string;
    bypass?: boolean;
  },
): string {
  const dd = o.datadir.endsWith('/') ? o.datadir : `${o.datadir}/`;
  return (
    `wsrep_sst_${o.method ?? 'rsync_tunnel'} --role 'donor' --address ${q(splitReadyPayload(o.address).address)} --local-port ${o.localPort ?? 3306} ` +
    `--socket ${q(o.socket ?? '/tmp/none.sock')} --progress ${o.progress ?? 0} --datadir ${q(dd)} ${defaults(o)}` +
    `--gtid ${q(o.gtid)} --gtid-domain-id ${o.domainId ?? 0}${tail(o)}${o.bypass === true ? ' --bypass' : ''}${mysqldArgs(o)}`
  );
}

/** Writes a file the way mysqld does: tmp, fsync, rename (contract 2.2.2). */
export function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o660);
  writeSync(fd, text);
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path);
}

/**
 * Which mysqld the stand-in plays, as far as the donor's credentials go (contract-drift.md, MDEV-31809):
 * - '10.11': `WSREP_SST_OPT_AUTH` set (empty unless `auth` is given), stdin not a credentials pipe (it ends
 *   at once with nothing, like an inherited /dev/null);
 * - '11.8': no `WSREP_SST_OPT_*AUTH*` variables; stdin a pipe carrying `sst_user=`/`sst_password=` (and the
 *   joiner's `sst_remote_*` when `remoteAuth` is given), then EOF;
 * - '11.8-no-user': 11.8 that could not create its SST user: stdin EOF with nothing, and stdout never read
 *   (no answer to `flush tables`), as mysqld 11.8.9 does with --skip-grant-tables.
 */
export type StandinDialect = '10.11' | '11.8' | '11.8-no-user';

/** A temporary SST account of the shape 11.8.9 passes (a 26-character user, a 32-character password). */
export const STANDIN_SST_USER = { user: 'wsrep.sst.261205_150000_1', password: 'x'.repeat(32) };

/** The environment and stdin bytes of a dialect (with `unsetEnv` removed from the inherited environment). Pure. */
export function dialectIo(
  dialect: StandinDialect,
  remoteAuth?: { user: string; password: string },
): { env: NodeJS.ProcessEnv; unsetEnv: string[]; stdin: string } {
  const unsetEnv = ['WSREP_SST_OPT_AUTH', 'WSREP_SST_OPT_REMOTE_AUTH'];
  if (dialect === '10.11') {
    // 10.11 always sets WSREP_SST_OPT_AUTH: empty here, as with an empty wsrep_sst_auth.
    const remote =
      remoteAuth === undefined
        ? {}
        : { WSREP_SST_OPT_REMOTE_AUTH: `${remoteAuth.user}:${remoteAuth.password}` };
    return { env: { WSREP_SST_OPT_AUTH: '', ...remote }, unsetEnv, stdin: '' };
  }
  if (dialect === '11.8-no-user') return { env: {}, unsetEnv, stdin: '' };
  let stdin = `sst_user=${STANDIN_SST_USER.user}\nsst_password=${STANDIN_SST_USER.password}\n`;
  if (remoteAuth !== undefined)
    stdin += `sst_remote_user=${remoteAuth.user}\nsst_remote_password=${remoteAuth.password}\n`;
  return { env: {}, unsetEnv, stdin };
}

/**
 * Writes `text` into a FIFO once its reader (the script's shell) has opened it, then closes it (EOF), as 11.6+
 * mysqld writes its credentials lines and closes the pipe. Never blocks the event loop: a non-blocking open is
 * retried until the reader is there, the child is gone, or 30 s have passed.
 */
async function feedFifo(fifo: string, text: string, childGone: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    let fd: number;
    try {
      fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO' || childGone() || Date.now() > deadline) return;
      await new Promise((wake) => setTimeout(wake, 10));
      continue;
    }
    try {
      if (text !== '') writeSync(fd, text); // a few lines: far below the pipe's buffer, so never EAGAIN
    } finally {
      closeSync(fd);
    }
    return;
  }
}

/** How a stand-in run ended. */
export interface StandinResult {
  lines: string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** How a stand-in drives its script, beyond the command line. */
export interface StandinOptions {
  datadir: string;
  env?: NodeJS.ProcessEnv;
  /** Donor: the state to write into tables_flushed on `flush tables`; 'error' writes sst_error. */
  flushAnswer?: string | 'error';
  /** Donor: called on `flush tables` before the answer (the donor's last writes before the lock). */
  onFlush?: () => void;
  /** Joiner: called with the ready payload (the donor's --address). */
  onReady?: (payload: string) => void;
  stdin?: 'ignore' | 'pipe';
  /** Donor: the joiner's ready payload, whose auth part is relayed as mysqld of `dialect` does (11.6: stdin). */
  relayFrom?: { payload: string; dialect?: '10.11' | '11.6' };
  /** The mysqld the stand-in plays (default '10.11'). */
  dialect?: StandinDialect;
  /** The joiner's `user:secret@` as mysqld passes it on (10.11: WSREP_SST_OPT_REMOTE_AUTH; 11.8: stdin). */
  remoteAuth?: { user: string; password: string };
  /** Copy the script's stderr to ours as it arrives. */
  echoStderr?: boolean;
}

/** One SST script run driven like mysqld drives it. */
export class StandinMysqld {
  /**
   * Every stand-in started since the last clear: the test setup (test/helpers/sst-failure-report.ts) prints
   * each one's SST lines when a test fails, so no suite has to remember to.
   */
  static readonly started = new Set<StandinMysqld>();
  readonly lines: string[] = [];
  stderr = '';
  /** The command line, for failure reports. */
  readonly command: string;
  private readonly child: ChildProcess;
  private readonly done: Promise<StandinResult>;
  private lineWaiters: (() => void)[] = [];

  constructor(command: string, options: StandinOptions) {
    this.command = command;
    StandinMysqld.started.add(this);
    // relayFrom: what mysqld relays of the joiner's ready line (its auth part), in the way of its version.
    const relayed = options.relayFrom === undefined ? undefined : relayedAuth(options.relayFrom.payload);
    const dialect: StandinDialect =
      options.relayFrom?.dialect === '11.6' ? '11.8' : (options.dialect ?? '10.11');
    const io = dialectIo(dialect, options.remoteAuth ?? relayed);
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${SCRIPTS}:${process.env.PATH ?? ''}` };
    for (const name of io.unsetEnv) delete env[name];
    // 11.6+ mysqld gives the donor a pipe(2) on fd 0; node's own 'pipe' is a socketpair, which a donor must not
    // take for mysqld's credentials pipe. So the 11.8 dialects hand the script a real FIFO, written from here.
    const fifoDir =
      dialect !== '10.11' && options.stdin !== 'ignore'
        ? mkdtempSync(join(tmpdir(), 'standin-fifo-'))
        : undefined;
    const fifo = fifoDir === undefined ? undefined : join(fifoDir, 'stdin');
    if (fifo !== undefined) {
      const made = spawnSync('mkfifo', ['-m', '600', fifo]);
      if (made.status !== 0) throw new Error(`mkfifo ${fifo} failed: ${String(made.stderr)}`);
    }
    this.child = spawn('sh', ['-c', fifo === undefined ? command : `exec <${q(fifo)}; ${command}`], {
      cwd: options.datadir,
      env: { ...env, ...io.env, ...options.env },
      stdio: [options.stdin ?? 'pipe', 'pipe', 'pipe'],
    });
    // 11.8-no-user: mysqld failed the SST at once and never reads stdout, so `flush tables` gets no answer.
    const flushAnswer = dialect === '11.8-no-user' ? undefined : options.flushAnswer;
    let pending = '';
    this.child.stdout?.setEncoding('utf8');
    this.child.stdout?.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        this.lines.push(line);
        if (line === 'flush tables' && flushAnswer !== undefined) {
          options.onFlush?.();
          if (flushAnswer === 'error') writeAtomically(join(options.datadir, 'sst_error'), '');
          else writeAtomically(join(options.datadir, 'tables_flushed'), `${flushAnswer}\n`);
        }
        if (this.lines.length === 1 && line.startsWith('ready ')) options.onReady?.(line.slice(6));
        for (const wake of this.lineWaiters.splice(0)) wake();
      }
    });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
      if (options.echoStderr === true || process.env.SST_TEST_VERBOSE === '1') process.stderr.write(chunk);
    });
    // 10.11 writes nothing on stdin; 11.6+ writes its sst_user lines there and closes it (contract-drift.md).
    this.child.stdin?.on('error', () => undefined); // a script that exited first: EPIPE is not the test's concern
    this.child.stdin?.end(fifo === undefined ? io.stdin : '');
    if (fifo !== undefined && fifoDir !== undefined)
      void feedFifo(
        fifo,
        io.stdin,
        () => this.child.exitCode !== null || this.child.signalCode !== null,
      ).finally(() => rmSync(fifoDir, { recursive: true, force: true }));
    // If this process exits first (an interrupted demo), the script is told to end and given EXIT_TERM_MS to
    // clean up after itself (its rsync daemon, its private directory) before the demo's directory goes.
    const forget = atExit(() => {
      const pid = this.scriptPid();
      if (pid === undefined || !running(pid)) return;
      process.kill(pid, 'SIGTERM');
      if (waitGoneSync([pid], running, EXIT_TERM_MS).length > 0) process.kill(pid, 'SIGKILL');
    });
    this.done = new Promise((resolveDone) => {
      this.child.on('close', (exitCode, signal) => {
        forget();
        if (pending !== '') this.lines.push(pending);
        for (const wake of this.lineWaiters.splice(0)) wake();
        resolveDone({ lines: this.lines, exitCode, signal, stderr: this.stderr });
      });
    });
  }

  /** The pid of the `sh -c` process. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Resolves with the first line (mysqld blocks on it, contract 2.1.1), or undefined if stdout closed first. */
  async firstLine(timeoutMs = 30_000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0 && this.child.exitCode === null && this.child.signalCode === null) {
      if (Date.now() > deadline)
        throw new Error(`No first line within ${timeoutMs} ms; stderr:\n${this.stderr}`);
      await new Promise<void>((wake) => {
        this.lineWaiters.push(wake);
        setTimeout(wake, 100);
      });
    }
    return this.lines[0];
  }

  /**
   * The pid of the SST program itself: Debian's sh (dash) does not exec the last command of `sh -c`, so the
   * script runs as the shell's child, as it does under mysqld.
   */
  scriptPid(): number | undefined {
    const shell = this.child.pid;
    if (shell === undefined) return undefined;
    try {
      const children = readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim().split(/\s+/);
      const first = Number(children[0]);
      return Number.isInteger(first) && first > 0 ? first : shell;
    } catch {
      return shell;
    }
  }

  /** Sends a signal to the SST program (not to the waiting shell), as systemd's cgroup-wide stop would. */
  kill(signal: NodeJS.Signals): void {
    const pid = this.scriptPid();
    if (pid !== undefined) process.kill(pid, signal);
  }

  /** Waits for the script to exit. */
  wait(timeoutMs = 120_000): Promise<StandinResult> {
    return Promise.race([
      this.done,
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error(`SST script still running after ${timeoutMs} ms; stderr:\n${this.stderr}`)),
          timeoutMs,
        ).unref(),
      ),
    ]);
  }
}

/** Both sides of one SST through stand-ins, as runStandinPair takes them. */
export interface StandinPair {
  joiner: { command: string; options: StandinOptions };
  /** The donor's command for the address the joiner's `ready` line gave. */
  donor: {
    command: (address: string) => string;
    options: StandinOptions;
    /** How mysqld hands the joiner's auth part to the donor: 10.x environment (default) or 11.6+ stdin. */
    relayDialect?: '10.11' | '11.6';
  };
  /** Looks at the joiner's first line before the donor starts (a test asserts it here). */
  onJoinerFirstLine?: (first: string | undefined, joiner: StandinMysqld) => void;
  /** How long each side may run; StandinMysqld.wait's default when omitted. */
  timeoutMs?: number;
}

/**
 * One SST the way two mysqld run it: the joiner starts and says `ready <address>`, then the donor is started with
 * that address; resolves when both scripts have exited.
 */
export async function runStandinPair(
  pair: StandinPair,
): Promise<{ joiner: StandinResult; donor: StandinResult; payload: string }> {
  let payload = '';
  const joiner = new StandinMysqld(pair.joiner.command, {
    ...pair.joiner.options,
    onReady: (p) => {
      payload = p;
      pair.joiner.options.onReady?.(p);
    },
  });
  // Awaited on its own: inside `onJoinerFirstLine?.(...)` the wait would be skipped when there is no callback.
  const first = await joiner.firstLine();
  pair.onJoinerFirstLine?.(first, joiner);
  // mysqld relays the auth part of the joiner's ready line to the donor (sstBinding.ts), as the real one does.
  const donor = new StandinMysqld(pair.donor.command(payload), {
    relayFrom: { payload, ...(pair.donor.relayDialect && { dialect: pair.donor.relayDialect }) },
    ...pair.donor.options,
  });
  const [jr, dr] = await Promise.all([joiner.wait(pair.timeoutMs), donor.wait(pair.timeoutMs)]);
  return { joiner: jr, donor: dr, payload };
}
