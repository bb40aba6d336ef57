/**
 * The life of one SST process: signals, the watch on mysqld, and cleanup that runs exactly once on every exit
 * path (sst-contract.md 6.5, 6.6). Roles register cleanups as they acquire things; `run()` races the role
 * against an abort (signal, parent gone) and always runs the cleanups, newest first.
 */
import { readFileSync } from 'node:fs';
import { ParentGoneError, TerminatedError, describeError } from '../errors.js';
import { logger } from '../log.js';

const log = logger('lifecycle');

type Cleanup = { name: string; fn: () => void | Promise<void> };

/** True when `pid` names a live process (EPERM: alive, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The parent pid, command name, state (`R`, `S`, `Z`...) and process group of `pid`, from /proc; undefined when
 * it cannot be read.
 */
export function procInfo(
  pid: number,
): { ppid: number; comm: string; state: string; pgrp: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may itself contain spaces or parentheses: split at the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const [state = '', ppidText, pgrpText] = stat.slice(close + 2).split(' ');
    const ppid = Number(ppidText);
    const pgrp = Number(pgrpText);
    return Number.isFinite(ppid) && Number.isFinite(pgrp) ? { ppid, comm, state, pgrp } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The processes whose death means mysqld is gone, for a role without `--parent` (the donor). mysqld runs us
 * through `sh -c`, and that shell may or may not exec us: watch our ancestors up to and including the first
 * one named mariadbd/mysqld, or the parent and grandparent when none is.
 */
export function ancestorsToWatch(start: number = process.pid): number[] {
  const watched: number[] = [];
  let pid = start;
  for (let depth = 0; depth < 4; depth++) {
    const info = procInfo(pid);
    if (info === undefined || info.ppid <= 1) break;
    watched.push(info.ppid);
    const parent = procInfo(info.ppid);
    if (parent !== undefined && /^(mariadbd|mysqld)$/.test(parent.comm)) return watched;
    pid = info.ppid;
  }
  return watched.slice(0, 2);
}

/** Options of a lifecycle; the poll interval is injectable so tests need not wait. */
export interface LifecycleOptions {
  /** Pids to watch; the first that dies aborts the SST with exit 32. */
  watchPids: number[];
  pollMs?: number;
}

/** One SST process's signal handling, parent watch and cleanup stack. */
export class Lifecycle {
  private readonly controller = new AbortController();
  private readonly cleanups: Cleanup[] = [];
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly handlers = new Map<NodeJS.Signals, () => void>();
  private cleanedUp = false;

  /** Aborted when a signal arrives or a watched process dies; `signal.reason` is the typed error. */
  readonly signal = this.controller.signal;

  constructor(options: LifecycleOptions) {
    // Not SIGPIPE: a listener makes Node stop ignoring it, and then any write to a pipe or socket whose reader is
    // gone (an rsync daemon that already exited, a reset TLS peer) would abort the whole SST. mysqld's own end of
    // stdout is covered by the EPIPE check in protocol.ts (contract 6.6).
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP'] as const) {
      const handler = (): void => this.abort(new TerminatedError(sig));
      this.handlers.set(sig, handler);
      process.on(sig, handler);
    }
    // SIGUSR1 would open Node's inspector on 127.0.0.1:9229 (a plaintext port that runs code with our key).
    const inspectorGuard = (): void => log.warn('Ignoring SIGUSR1: it would open a Node.js debugger port');
    this.handlers.set('SIGUSR1', inspectorGuard);
    process.on('SIGUSR1', inspectorGuard);
    const watch = options.watchPids.filter((pid) => pid > 1);
    if (watch.length > 0) {
      this.timer = setInterval(() => {
        const dead = watch.find((pid) => !processAlive(pid));
        if (dead !== undefined) {
          this.abort(new ParentGoneError(`Parent mysqld process (PID: ${dead}) terminated unexpectedly`));
        }
      }, options.pollMs ?? 1000);
      this.timer.unref();
    }
  }

  /** Aborts the SST with `reason` (first reason wins). */
  abort(reason: Error): void {
    if (!this.controller.signal.aborted) {
      log.warn(describeError(reason));
      this.controller.abort(reason);
    }
  }

  /** Registers a cleanup; cleanups run newest first, each at most once, errors logged and swallowed. */
  onCleanup(name: string, fn: () => void | Promise<void>): void {
    this.cleanups.push({ name, fn });
  }

  /** Throws the abort reason if the SST was aborted. */
  throwIfAborted(): void {
    if (this.signal.aborted) throw this.signal.reason;
  }

  /** Runs `role` until it settles or the SST is aborted, then always cleans up. */
  async run<T>(role: (signal: AbortSignal) => Promise<T>): Promise<T> {
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(this.signal.reason);
      if (this.signal.aborted) onAbort();
      else this.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([role(this.signal), aborted]);
    } finally {
      if (onAbort !== undefined) this.signal.removeEventListener('abort', onAbort);
      aborted.catch(() => undefined);
      await this.cleanup();
    }
  }

  /** Runs every registered cleanup once, newest first, and stops watching. */
  async cleanup(): Promise<void> {
    if (this.cleanedUp) return;
    this.cleanedUp = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const { name, fn } of this.cleanups.reverse()) {
      try {
        await fn();
      } catch (error) {
        log.warn(`Cleanup "${name}" failed: ${describeError(error)}`);
      }
    }
    for (const [sig, handler] of this.handlers) process.off(sig, handler);
  }
}
