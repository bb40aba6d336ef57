/**
 * The listener's worker processes. Node decrypts TLS on one thread, about 0.5 GiB/s per core here, while each
 * parallel rsync daemon takes about 0.6 GiB/s per core: a joiner with many cores and a fast link would be capped
 * by one listener process. With workers, the listener process only accepts TCP connections and hands each one,
 * unread, to a worker (round robin over the least busy) that does the TLS handshake, the peer check, rsync and
 * the byte pump, exactly as the in-process listener does (createTlsService). Workers report their counters and
 * finished sessions over IPC; the listener sums them, so the SST's progress and timeouts see one listener.
 * A worker ends with its parent (IPC disconnect), and close() ends the workers and waits for them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { logger } from '../log.js';
import { selfCommand } from '../self.js';
import type { ListenerOptions, ListenerStats, LivenessEnd, SessionInfo } from './listenerTypes.js';
import type { WorkerInit, WorkerMessage, WorkerStats } from './workerProtocol.js';

const log = logger('listener');

/** The listener's side of its workers. */
export interface WorkerPool {
  /** Hands an accepted, paused socket to a worker; this process keeps no reference to it. */
  dispatch(socket: Socket): void;
  stats(): ListenerStats;
  /** Passes the joiner's end of the liveness link to every worker (the one holding the link acts on it). */
  endLiveness(end: LivenessEnd): void;
  close(): Promise<void>;
}

interface Worker {
  child: ChildProcess;
  dispatched: number;
  snapshot: WorkerStats;
  exited: Promise<void>;
  gone: boolean;
}

const EMPTY: WorkerStats = {
  sessions: 0,
  active: 0,
  open: 0,
  bytesIn: 0,
  bytesOut: 0,
  lastActivityMs: 0,
  failures: 0,
  received: 0,
};

/** Forks `count` workers and waits until each has loaded its credentials. */
export async function startWorkerPool(
  opts: ListenerOptions,
  logDir: string,
  count: number,
): Promise<WorkerPool> {
  const self = selfCommand(opts.workerEntry ?? process.argv[1]);
  const init: WorkerInit = {
    paths: opts.credentials.paths,
    policy: opts.policy,
    rsync: opts.rsync,
    idleTimeoutMs: opts.idleTimeoutMs,
    ...(opts.killAfterMs !== undefined && { killAfterMs: opts.killAfterMs }),
    // Over the IPC channel, never argv or environment.
    ...(opts.binding !== undefined && { binding: opts.binding }),
    ...(opts.liveness !== undefined && { livenessMs: opts.liveness.boundMs }),
    logDir,
  };
  let lastSession: SessionInfo | undefined;
  let lostFailures = 0;
  let closing = false;
  const workers: Worker[] = [];
  const starting: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    // stdout is mysqld's protocol channel: a worker never gets it.
    // spawn with an 'ipc' channel rather than fork(): fork always puts a script path first, which the single
    // executable would take for its subcommand.
    const child = spawn(self.file, [...self.args, 'listener-worker'], {
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const worker: Worker = {
      child,
      dispatched: 0,
      snapshot: { ...EMPTY },
      gone: false,
      exited: Promise.all([
        new Promise((resolve) => child.once('exit', resolve)),
        new Promise((resolve) => child.once('disconnect', resolve)),
      ]).then(() => undefined),
    };
    workers.push(worker);
    starting.push(
      new Promise<void>((resolve, reject) => {
        const onExit = (code: number | null): void =>
          reject(new Error(`A listener worker exited with code ${code ?? 'none'} before it was ready`));
        child.once('exit', onExit);
        child.on('message', (message: WorkerMessage) => {
          if (message.t === 'ready') {
            child.off('exit', onExit);
            resolve();
          } else if (message.t === 'stats') {
            worker.snapshot = message.stats;
          } else if (message.t === 'liveness') {
            opts.liveness?.onEvent(message.event);
          } else if (message.t === 'session') {
            worker.snapshot = message.stats;
            lastSession = message.info;
            try {
              opts.onSession?.(message.info);
            } catch (error) {
              log.error(`onSession callback failed: ${(error as Error).message}`);
            }
          }
        });
        child.send({ t: 'init', init });
      }),
    );
    // 'exit' can come before the last IPC messages are read; 'disconnect' comes after them.
    const disconnected = new Promise<void>((resolve) => child.once('disconnect', () => resolve()));
    child.once(
      'exit',
      (code, signal) =>
        void disconnected.then(() => {
          worker.gone = true;
          const lost = worker.snapshot.active + Math.max(0, worker.dispatched - worker.snapshot.received);
          if (!closing) {
            lostFailures += lost;
            log.error(
              `Listener worker ${child.pid ?? '?'} exited (${signal ?? `code ${code ?? 'none'}`}): the connections it served are lost`,
            );
          }
          worker.snapshot = { ...worker.snapshot, active: 0, open: 0, received: worker.dispatched };
        }),
    );
  }
  const killAll = (): void => {
    for (const w of workers) if (!w.gone) w.child.kill('SIGKILL');
  };
  try {
    await Promise.all(starting);
  } catch (error) {
    killAll();
    await Promise.all(workers.map((w) => w.exited));
    throw error;
  }

  const load = (w: Worker): number => w.snapshot.active + (w.dispatched - w.snapshot.received);
  let next = 0;
  return {
    dispatch(socket) {
      const alive = workers.filter((w) => !w.gone && w.child.connected);
      if (alive.length === 0) {
        log.error('No listener worker is alive: dropping a connection');
        socket.destroy();
        return;
      }
      // Round robin among the least busy, so parallel rsyncs land on different workers (cores).
      const least = Math.min(...alive.map(load));
      const candidates = alive.filter((w) => load(w) === least);
      const worker = candidates[next++ % candidates.length] as Worker;
      worker.dispatched++;
      worker.child.send({ t: 'conn' }, socket, { keepOpen: false }, (error) => {
        if (error === null) return;
        worker.dispatched--;
        log.error(`Cannot hand a connection to listener worker ${worker.child.pid ?? '?'}: ${error.message}`);
        socket.destroy();
      });
    },
    stats() {
      const sum: ListenerStats = { ...EMPTY, failures: lostFailures };
      for (const w of workers) {
        sum.sessions += w.snapshot.sessions;
        sum.active += load(w);
        sum.open += w.snapshot.open + Math.max(0, w.dispatched - w.snapshot.received);
        sum.bytesIn += w.snapshot.bytesIn;
        sum.bytesOut += w.snapshot.bytesOut;
        sum.failures += w.snapshot.failures;
        sum.lastActivityMs = Math.max(sum.lastActivityMs, w.snapshot.lastActivityMs);
      }
      return { ...sum, ...(lastSession !== undefined && { lastSession }) };
    },
    endLiveness(end) {
      for (const w of workers) if (!w.gone && w.child.connected) w.child.send({ t: 'liveness-end', end });
    },
    async close() {
      closing = true;
      for (const w of workers) if (!w.gone && w.child.connected) w.child.send({ t: 'close' });
      // A worker ends its rsync children (TERM, then KILL after killAfterMs) before it exits.
      const deadline = setTimeout(killAll, (opts.killAfterMs ?? 3000) + 5000);
      await Promise.all(workers.map((w) => w.exited));
      clearTimeout(deadline);
    },
  };
}
