/**
 * The SST's private temp directory (rsyncd.conf, connector reports, the donor's byte total) under [sst] tmpdir,
 * named after our pid so that the next SST can remove what a killed one (SIGKILL, OOM) could not.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../errors.js';
import { logger } from '../log.js';
import { processAlive } from './lifecycle.js';

const log = logger('tmpdir');
const PREFIX = 'sst-tunnel-';

/**
 * Removes private temp dirs of SST processes that are gone; returns their names. Best effort: a leftover this
 * user may not remove is logged and left alone, never a reason to fail the SST. [sst] tmpdir defaults to the
 * shared system temp dir, so a mariadbd running as `mysql` meets the 0700 dirs of SSTs that ran as root (a
 * killed `--user=root` node, a manual run); removing one fails with EACCES, and once that error ended the SST
 * before `ready` ("SST request callback failed" on the joiner, issue #16).
 */
export function sweepStaleTempDirs(
  parent: string,
  alive: (pid: number) => boolean = processAlive,
  remove: (path: string) => void = (path) => rmSync(path, { recursive: true, force: true }),
): string[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  const kept: string[] = [];
  for (const name of names) {
    const match = /^sst-tunnel-(\d+)-[A-Za-z0-9]{6}$/.exec(name);
    const pid = Number(match?.[1]);
    if (match === null || pid === process.pid || alive(pid)) continue;
    try {
      remove(join(parent, name));
      removed.push(name);
    } catch (error) {
      kept.push(`${name} (${describeError(error)})`);
    }
  }
  if (removed.length > 0)
    log.info(`Removed temp directories of ended SSTs in "${parent}": ${removed.join(', ')}`);
  if (kept.length > 0)
    log.info(
      `Left temp directories of ended SSTs in "${parent}" that this user cannot remove (another user's, e.g. root's): ${kept.join(', ')}`,
    );
  return removed;
}

/** Creates this SST's private (0700) temp dir under `parent`, after sweeping those of dead SSTs. */
export function makePrivateTempDir(parent: string): string {
  sweepStaleTempDirs(parent);
  return mkdtempSync(join(parent, `${PREFIX}${process.pid}-`));
}
