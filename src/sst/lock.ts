/**
 * One SST per datadir: `<datadir>/wsrep_sst.pid` names the running SST script, as MariaDB's own rsync method
 * does (sst-contract.md 3.2.3), so our script and MariaDB's exclude each other too. A live holder is waited
 * for (30 s by default, logging every second), then refused with EALREADY; a stale file is removed.
 */
import { openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AlreadyRunningError } from '../errors.js';
import { logger } from '../log.js';
import { processAlive } from './lifecycle.js';

const log = logger('lock');

/** The lock file's name in the datadir. */
export const SST_PID_FILE = 'wsrep_sst.pid';

/** A live process that looks like an SST script; a recycled pid of an unrelated program does not count. */
function isSstProcess(pid: number): boolean {
  if (!processAlive(pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /sst/i.test(cmdline);
  } catch {
    return true; // cannot tell (no /proc, other user): assume it is one, as the shell scripts do
  }
}

function holderOf(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the datadir's SST lock; resolves with a release function. */
export async function acquireSstLock(
  datadir: string,
  options: { waitMs?: number; pollMs?: number; signal?: AbortSignal } = {},
): Promise<() => void> {
  const path = join(datadir, SST_PID_FILE);
  const deadline = Date.now() + (options.waitMs ?? 30_000);
  for (;;) {
    try {
      // O_EXCL: two SSTs starting together cannot both win.
      const fd = openSync(path, 'wx', 0o640);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        if (holderOf(path) === process.pid) unlinkSync(path);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = holderOf(path);
    if (holder === undefined || holder === process.pid || !isSstProcess(holder)) {
      log.info(`Removing stale ${SST_PID_FILE} (PID ${holder ?? 'unreadable'} is not running)`);
      try {
        unlinkSync(path);
      } catch {
        // Someone else removed it first: try again.
      }
      continue;
    }
    if (Date.now() >= deadline) {
      throw new AlreadyRunningError(
        `Cannot start the SST: a previous SST (PID ${holder}) of "${datadir}" is still running after ${Math.round((options.waitMs ?? 30_000) / 1000)} s ([sst] previous-sst-timeout)`,
      );
    }
    log.info(`Previous SST (PID ${holder}) is not completed, waiting for it to exit`);
    await sleep(options.pollMs ?? 1000, undefined, options.signal ? { signal: options.signal } : undefined);
  }
}
