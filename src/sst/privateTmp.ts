/**
 * The SST's private temp directory (rsyncd.conf, connector reports, the donor's byte total) under [sst] tmpdir,
 * named after our pid so that the next SST can remove what a killed one (SIGKILL, OOM) could not.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { logger } from '../log.js';
import { processAlive } from './lifecycle.js';

const log = logger('tmpdir');
const PREFIX = 'sst-tunnel-';

/** Removes private temp dirs of SST processes that are gone; returns their names. */
export function sweepStaleTempDirs(parent: string, alive: (pid: number) => boolean = processAlive): string[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = /^sst-tunnel-(\d+)-[A-Za-z0-9]{6}$/.exec(name);
    const pid = Number(match?.[1]);
    if (match === null || pid === process.pid || alive(pid)) continue;
    rmSync(join(parent, name), { recursive: true, force: true });
    removed.push(name);
  }
  if (removed.length > 0)
    log.info(`Removed temp directories of ended SSTs in "${parent}": ${removed.join(', ')}`);
  return removed;
}

/** Creates this SST's private (0700) temp dir under `parent`, after sweeping those of dead SSTs. */
export function makePrivateTempDir(parent: string): string {
  sweepStaleTempDirs(parent);
  return mkdtempSync(join(parent, `${PREFIX}${process.pid}-`));
}
