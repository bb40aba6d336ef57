/**
 * Page-cache hygiene between benchmark runs that touch a disk. Every SST method must start from the same state:
 * the previous run's written data flushed (its writeback otherwise lands in the next run's time), and the donor's
 * files in the page cache. InnoDB writes its data files with O_DIRECT, so they are cached only after someone reads
 * them, and this kernel's DAMON reclaim (kdamond) evicts pages left unread for a while: without this, whichever
 * method ran first after a pause paid for the disk reads.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Flushes dirty pages to disk (sync(1)); a missing `sync` is not an error, only an unsettled run. */
export function flushDirtyPages(): void {
  spawnSync('sync', [], { stdio: 'ignore' });
}

/** Reads every regular file under `root` once, so it is in the page cache; returns the bytes read. */
export function warmTree(root: string): number {
  const buffer = Buffer.allocUnsafe(1 << 20);
  let total = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) total += readAll(path, buffer);
    }
  };
  walk(root);
  return total;
}

function readAll(path: string, buffer: Buffer): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 0; // a file mysqld removed or keeps private: nothing to warm
  }
  let total = 0;
  try {
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) total += n;
  } finally {
    closeSync(fd);
  }
  return total;
}

/** `items` rotated left by `by` places: round r of a benchmark starts with a different variant each time. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const k = ((by % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * The variants' order in round `round` (1-based): rotated by round - 1, and reversed in every even round, so
 * that each variant follows different ones from round to round. A rotation alone keeps the cyclic order: on the
 * wan bench auto always ran right after whole files + zstd, and the SST after a zstd one had a slower flush in
 * mysqld (median 0.68 s against 0.47 s over ~70 SSTs each, issue #17), which a rotation charges to one variant.
 */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  const order = rotate(items, round - 1);
  return round % 2 === 0 ? order.reverse() : order;
}
