/**
 * Entry of an SST role as mysqld runs it: parse argv, preflight, then the joiner or donor inside a lifecycle
 * that owns signals, the parent watch and cleanup.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir as osTmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { logger } from '../log.js';
import { endAllChildren } from '../rsync/child.js';
import { IN_SEA, selfCommand } from '../self.js';
import { parseSstArgs } from './args.js';
import { runDonor } from './donor.js';
import { runJoiner } from './joiner.js';
import { Lifecycle, ancestorsToWatch } from './lifecycle.js';
import { acquireSstLock } from './lock.js';
import { prepare } from './prepare.js';
import { fifoStdin, readMysqldAuth, type MysqldAuth } from './mysqldAuth.js';
import { makePrivateTempDir } from './privateTmp.js';
import { Protocol } from './protocol.js';

const log = logger();

/**
 * How long a donor reads an 11.6+ credentials pipe: mysqld writes its lines and closes the pipe right after the
 * spawn, so this only bounds a stdin pipe that is not mysqld's (never reached with 10.x, which sets the variables).
 */
export const AUTH_READ_TIMEOUT_MS = 10_000;

/** Runs one SST role to completion; throws a typed error (with its exit code) on failure. */
export async function runSst(argv: readonly string[]): Promise<void> {
  const args = parseSstArgs(argv);
  log.info(
    `rsync_tunnel ${args.bypass ? 'IST' : 'SST'} started on ${args.role} (sst-tunnel, pid ${process.pid})`,
  );
  // Started before anything else, so mysqld's pipe is drained while the preflight runs; awaited before the
  // donor tells the joiner or mysqld anything.
  let mysqldAuth: Promise<MysqldAuth> | undefined;
  if (args.role === 'donor') {
    mysqldAuth = readMysqldAuth({ env: process.env, stdin: fifoStdin(), timeoutMs: AUTH_READ_TIMEOUT_MS });
    mysqldAuth.catch(() => undefined); // the donor awaits it; an early failure must not be an unhandled rejection
  }
  const watchPids = args.role === 'joiner' && args.parent !== undefined ? [args.parent] : ancestorsToWatch();
  const lifecycle = new Lifecycle({ watchPids });
  await lifecycle.run(async (signal) => {
    const prepared = prepare(args);
    lifecycle.throwIfAborted();
    // wsrep_sst_common creates a missing datadir (contract 1.4.5); the lock file lives in it.
    mkdirSync(args.datadir, { recursive: true });
    const release = await acquireSstLock(args.datadir, {
      signal,
      waitMs: prepared.settings.previousSstTimeoutMs,
    });
    lifecycle.onCleanup('sst lock', release);
    const tmpdir = makePrivateTempDir(prepared.settings.tmpdir ?? osTmpdir());
    lifecycle.onCleanup('private temp dir', () => rmSync(tmpdir, { recursive: true, force: true }));
    // Runs after the role's cleanups, before the temp dir and the lock go: an abort (a signal, mysqld gone, the
    // liveness link lost) settles the SST before its passes have seen it, and the process must not exit, nor let
    // the next SST in, while a child it started still runs.
    lifecycle.onCleanup('children', () => endAllChildren());
    const ctx = {
      prepared,
      lifecycle,
      protocol: new Protocol(args.role),
      signal,
      tmpdir,
      cli: selfCommand(IN_SEA ? undefined : fileURLToPath(new URL('../cli.js', import.meta.url))),
      ...(mysqldAuth !== undefined && { mysqldAuth }),
    };
    if (args.role === 'joiner') await runJoiner(ctx);
    else await runDonor(ctx);
  });
}
