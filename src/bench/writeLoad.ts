/**
 * A write load on a real mariadbd, timed statement by statement (issue #22): one long-lived `mariadb` client in
 * batch mode reads statements from a pipe, one at a time, each followed by a marker SELECT; the marker's echo says
 * the statement is over, so every statement's latency (write -> echo) is known, and the longest one is the node's
 * longest refusal to take a write (a donor's read-only window). A statement that fails (the node refuses writes) is
 * counted and the load goes on (`--force`); stop() always ends the client. SQL text and figures: writeLoadPlan.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { SstTunnelError } from '../errors.js';
import {
  DEFAULT_SHAPE,
  longestStall,
  markerSql,
  parseOutputLine,
  setupSql,
  statementSql,
  summarize,
  type LatencySummary,
  type StatementKind,
  type StatementRecord,
  type WriteLoadShape,
} from './writeLoadPlan.js';

export { succeededBetween, type StatementRecord, type LatencySummary } from './writeLoadPlan.js';

/** The load could not start (client missing, setup SQL refused). */
export class WriteLoadError extends SstTunnelError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: 'WRITE_LOAD', exitCode: 1, cause: options.cause });
  }
}

/** Where the client connects: a my.cnf naming the socket (GaleraNode.paths.config), a socket, or host/port. */
export interface WriteLoadTarget {
  /** Read first (`--defaults-file`): a node's my.cnf whose [client] section names its socket. */
  defaultsFile?: string;
  socket?: string;
  host?: string;
  port?: number;
  user?: string;
  /** Runs the client through this prefix, e.g. `['ip', 'netns', 'exec', 'ns1']`. */
  launcher?: string[];
  /** The client program; `mariadb` by default. */
  client?: string;
}

export interface WriteLoadOptions extends Partial<WriteLoadShape> {
  target: WriteLoadTarget;
  /** Time between statement starts, as a client "one insert every 50 ms" does; 0 (default) = back to back. */
  intervalMs?: number;
  /** How long stop() waits for a running statement before recording it as unfinished (default 5 s). */
  stopGraceMs?: number;
  /** How long the setup (database, table, seed rows) may take (default 60 s). */
  setupTimeoutMs?: number;
}

/** What a load saw, from start() to stop(). */
export interface WriteLoadResult {
  /** Statements sent (an unfinished last one included). */
  statements: number;
  /** Of which failed (or never finished). */
  errors: number;
  /** The longest statement, ms, and the wall-clock time (ms since the epoch) it was sent; 0/undefined for none. */
  longestStallMs: number;
  longestStallAt: number | undefined;
  latencies: LatencySummary;
  /** Every statement, in order. */
  records: StatementRecord[];
  /** The first few error lines the client printed, for diagnostics. */
  firstErrors: string[];
  /** Set when the client ended on its own before stop() (the load then stopped sending). */
  clientExit?: string;
}

/** The statement the driver waits on. */
interface Pending {
  index: number;
  kind: StatementKind;
  statementLine: number;
  markerLine: number;
  sentAt: number;
  t0: number;
  ok: boolean;
  done: (ok: boolean) => void;
}

const KEEP_ERRORS = 10;

/** Client argv: batch, no column names, flushed after every statement, going on after an error. */
export function clientArgs(target: WriteLoadTarget): string[] {
  const args: string[] = [];
  // --defaults-file must be the first option or the client refuses it.
  if (target.defaultsFile !== undefined) args.push(`--defaults-file=${target.defaultsFile}`);
  if (target.socket !== undefined) args.push(`--socket=${target.socket}`);
  if (target.host !== undefined) args.push(`--host=${target.host}`, '--protocol=TCP');
  if (target.port !== undefined) args.push(`--port=${target.port}`);
  if (target.user !== undefined) args.push(`--user=${target.user}`);
  return [...args, '--batch', '--skip-column-names', '--unbuffered', '--force'];
}

/** One write load against one node: start(), then stop() for the figures. Not restartable. */
export class WriteLoad {
  private readonly shape: WriteLoadShape;
  private readonly opts: WriteLoadOptions;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly done: StatementRecord[] = [];
  private readonly errorLines: string[] = [];
  private pending: Pending | undefined;
  private linesSent = 0;
  private stopping = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  /** Why the client ended before stop(), if it did. */
  private clientExit: string | undefined;
  private output: string[] = [];

  constructor(opts: WriteLoadOptions) {
    this.opts = opts;
    this.shape = {
      database: opts.database ?? DEFAULT_SHAPE.database,
      table: opts.table ?? DEFAULT_SHAPE.table,
      seedRows: opts.seedRows ?? DEFAULT_SHAPE.seedRows,
      updateShare: opts.updateShare ?? DEFAULT_SHAPE.updateShare,
    };
    setupSql(this.shape); // checks the shape before anything runs
  }

  /** The statements finished so far (a live view, for a test that looks while the load runs). */
  records(): readonly StatementRecord[] {
    return this.done;
  }

  /** Starts the client, creates and seeds the hot table, then sends statements until stop(). */
  async start(): Promise<void> {
    if (this.child !== undefined) throw new WriteLoadError('Cannot start a write load twice');
    const target = this.opts.target;
    const client = target.client ?? 'mariadb';
    // One pipe for stdout and stderr: an error line then arrives before the marker echo that follows it.
    const argv = [
      ...(target.launcher ?? []),
      'sh',
      '-c',
      'exec "$@" 2>&1',
      'sh',
      client,
      ...clientArgs(target),
    ];
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (!this.stopping.signal.aborted)
          this.clientExit = `the client exited (${signal ?? `code ${code}`})`;
        this.child = undefined;
        this.pending?.done(false);
        resolve();
      });
      child.once('error', (error) => {
        if (!this.stopping.signal.aborted) this.clientExit = `the client could not run: ${error.message}`;
        this.child = undefined;
        this.pending?.done(false);
        resolve();
      });
    });
    // A write after the client died fails with EPIPE; the exit handler has already recorded why.
    child.stdin?.on('error', () => undefined);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => this.onLine(line));

    const ready = await Promise.race([
      this.send(-1, 'insert', setupSql(this.shape)).then((r) => r.ok),
      sleep(this.opts.setupTimeoutMs ?? 60_000, false),
    ]);
    if (!ready) {
      const why = this.clientExit ?? 'the setup failed or timed out';
      this.stopping.abort();
      await this.end();
      throw new WriteLoadError(
        `Cannot set up the write load on ${describeTarget(target)}: ${why}; client output:\n${this.output.join('\n')}`,
      );
    }
    this.loop = this.run();
  }

  /** Stops sending, waits a grace period for the running statement, ends the client, and returns the figures. */
  async stop(): Promise<WriteLoadResult> {
    this.stopping.abort();
    const grace = this.opts.stopGraceMs ?? 5_000;
    await Promise.race([this.loop, sleep(grace)]);
    const running = this.pending;
    if (running !== undefined && running.index >= 0) {
      // A statement still blocked (a donor under FLUSH TABLES WITH READ LOCK) is a stall that has not ended yet.
      this.done.push({
        index: running.index,
        kind: running.kind,
        sentAt: running.sentAt,
        ms: performance.now() - running.t0,
        ok: false,
        unfinished: true,
      });
      // Still pending: the client's exit below resolves it, and run() then sees it recorded already.
    }
    await this.end();
    await this.loop;
    const records = [...this.done];
    const worst = longestStall(records);
    return {
      statements: records.length,
      errors: records.filter((r) => !r.ok).length,
      longestStallMs: worst?.ms ?? 0,
      longestStallAt: worst?.at,
      latencies: summarize(records),
      records,
      firstErrors: [...this.errorLines],
      ...(this.clientExit !== undefined && { clientExit: this.clientExit }),
    };
  }

  private async run(): Promise<void> {
    const interval = this.opts.intervalMs ?? 0;
    const signal = this.stopping.signal;
    let next = performance.now();
    for (let i = 0; !signal.aborted; i++) {
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) break;
      if (this.child === undefined) break; // the client died: clientExit says why
      const { kind, sql } = statementSql(i, this.shape);
      next = performance.now() + interval;
      const record = await this.send(i, kind, sql);
      // stop() may have recorded it as unfinished already; a late echo must not count it twice.
      if (this.done.at(-1)?.index === i) continue;
      this.done.push(record);
    }
  }

  /** Writes statement and marker; resolves when the marker's echo (or the marker's error, or the exit) comes back. */
  private send(index: number, kind: StatementKind, sql: string): Promise<StatementRecord> {
    return new Promise((resolve) => {
      const statementLine = ++this.linesSent;
      const markerLine = ++this.linesSent;
      const pending: Pending = {
        index,
        kind,
        statementLine,
        markerLine,
        sentAt: Date.now(),
        t0: performance.now(),
        ok: true,
        done: (ok) => {
          if (this.pending === pending) this.pending = undefined;
          resolve({
            index,
            kind,
            sentAt: pending.sentAt,
            ms: performance.now() - pending.t0,
            ok: ok && pending.ok,
          });
        },
      };
      this.pending = pending;
      if (this.child === undefined) {
        pending.done(false);
        return;
      }
      this.child.stdin?.write(`${sql}\n${markerSql(index)}\n`);
    });
  }

  private onLine(text: string): void {
    if (this.output.length < 50) this.output.push(text);
    const line = parseOutputLine(text);
    const pending = this.pending;
    if (line.type === 'error') {
      if (this.errorLines.length < KEEP_ERRORS) this.errorLines.push(text);
      if (pending === undefined) return;
      pending.ok = false;
      // The marker failed too (connection lost, no reconnect): no echo will come, the statement is over.
      if (line.line === pending.markerLine) pending.done(false);
    } else if (line.type === 'marker' && pending !== undefined && line.index === pending.index) {
      pending.done(true);
    }
  }

  /** Closes the client's input (it exits at EOF), then SIGTERM and SIGKILL if it lingers; waits for the exit. */
  private async end(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    child.stdin?.end();
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const gone = await Promise.race([this.exited.then(() => true), sleep(2_000, false)]);
      if (gone) return;
      child.kill(signal);
    }
    await this.exited;
  }
}

function describeTarget(t: WriteLoadTarget): string {
  return t.host !== undefined
    ? `${t.host}:${t.port ?? 3306}`
    : (t.socket ?? t.defaultsFile ?? 'the default server');
}
