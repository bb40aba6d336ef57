/**
 * Large database directories, split into parts that run as passes of their own, so backup-threads workers
 * finish together. One pass per directory leaves workers idle at the end whenever a few directories hold most of
 * the data (the wan bench: three 340 MiB databases on two workers ran two at once, then the third alone, 1.05-1.4 s
 * of one idle worker in a 3-4 s SST).
 *
 * A split directory becomes:
 * - its tree pass (--recursive --delete: subdirectories, small files, what cannot be split off), with an exclude
 *   rule for every file another part sends. rsync neither sends an excluded file nor deletes it on the joiner
 *   (no --delete-excluded), so the part that sends it owns it alone;
 * - one pass per further part: listed top-level files of the directory, sent as operands into the same
 *   destination, with the same flags (--inplace: the joiner's file is written under its own name, never a
 *   temporary name the tree pass's --delete could take for a stranger).
 * Every part keeps the directory's scope: a two-phase copy stamps and refreshes the directory as one, and a
 * part that could not read everything marks the whole directory for phase 2 (twoPhaseCopy.ts).
 *
 * Sizes: a part is at least PART_MIN_BYTES (each pass costs an rsync start and a TLS handshake, ~0.1 s) and
 * about 1/PARTS_PER_WORKER of a worker's share of the directories, so the longest-first schedule ends within a
 * part of even. Only regular top-level files whose names need no quoting in a filter rule are split off
 * (MariaDB encodes anything else in table names as @xxxx; what remains stays in the tree pass).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { local, treeArgs, type Pass } from './passes.js';

/** A part is never smaller than this: below it the pass's start costs more than the balance gains. */
export const PART_MIN_BYTES = 64 * 1024 * 1024;

/** Parts per worker's share of the directories: enough for an even end, few enough to start cheaply. */
export const PARTS_PER_WORKER = 3;

/**
 * A mixed copy (auto on a slow link, mixedPool.ts) cuts finer: its two sides move data at rates 2-3x apart, and
 * near the end the delta side can take only a part it finishes before the whole-file side does. With 170 MiB
 * parts at 200 Mbit/s its two workers sat idle for the last 3.5 s of an 8 s copy while the link carried whole
 * files; a table at a time lets them take two more.
 */
export const MIXED_PART_MIN_BYTES = 32 * 1024 * 1024;
export const MIXED_PARTS_PER_WORKER = 6;

/** File names safe as an rsync filter pattern and as an operand (no wildcard, no space, no backslash). */
const SPLITTABLE_NAME = /^[A-Za-z0-9_@#$%+,.=-]+$/;

/** One top-level file of a directory. */
export interface DirFile {
  name: string;
  size: number;
}

/** The regular top-level files of `dir` (symlinks followed only for the directory itself), largest first. */
export function topFiles(dir: string): DirFile[] {
  const out: DirFile[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return []; // gone (a database dropped while a two-phase copy runs): nothing to split
  }
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    try {
      out.push({ name: entry.name, size: statSync(join(dir, entry.name)).size });
    } catch {
      // vanished between the listing and the stat
    }
  }
  return out.sort((a, b) => b.size - a.size || a.name.localeCompare(b.name));
}

/** The part size for `dirBytes` of directories over `workers` workers; `mixed`: for a mixed copy (finer). */
export function partBytes(dirBytes: number, workers: number, mixed = false): number {
  const [floor, perWorker] = mixed
    ? [MIXED_PART_MIN_BYTES, MIXED_PARTS_PER_WORKER]
    : [PART_MIN_BYTES, PARTS_PER_WORKER];
  return Math.max(floor, Math.ceil(dirBytes / (Math.max(1, workers) * perWorker)));
}

/**
 * How a directory of `bytes` splits into parts of about `part` bytes: groups of file names for the parts after
 * the first (the tree pass keeps the rest). Longest first onto the lightest part, the tree part starting with
 * what it must carry anyway. Empty when the directory is not worth splitting.
 */
export function groupFiles(bytes: number, files: readonly DirFile[], part: number): string[][] {
  if (bytes < part * 1.5) return [];
  const movable = files.filter((f) => SPLITTABLE_NAME.test(f.name)).sort((a, b) => b.size - a.size);
  const count = Math.min(Math.round(bytes / part), movable.length + 1);
  if (count < 2) return [];
  const fixed = bytes - movable.reduce((sum, f) => sum + f.size, 0);
  const parts = Array.from({ length: count }, (_, i) => ({
    load: i === 0 ? fixed : 0,
    names: [] as string[],
  }));
  for (const file of movable) {
    const lightest = parts.reduce((min, p) => (p.load < min.load ? p : min));
    lightest.load += file.size;
    lightest.names.push(file.name);
  }
  return parts
    .slice(1)
    .map((p) => p.names)
    .filter((names) => names.length > 0);
}

/**
 * The passes of one directory's tree `pass` split by `groups` (groupFiles): the tree pass without the grouped
 * files, then one pass per group. `sizes` gives each grouped file's bytes. The same pass when there are no groups
 * or the pass is not a directory's tree pass.
 */
export function splitTree(
  pass: Pass,
  groups: readonly string[][],
  sizes: ReadonlyMap<string, number>,
): Pass[] {
  const scope = pass.scope;
  if (groups.length === 0 || scope?.kind !== 'tree') return [pass];
  const count = groups.length + 1;
  const bytesOf = (names: readonly string[]): number =>
    names.reduce((sum, name) => sum + (sizes.get(name) ?? 0), 0);
  const splitOff = groups.flat();
  const tree: Pass = {
    ...pass,
    name: `${pass.name}, part 1/${count}`,
    args: treeArgs(
      scope.flags,
      scope.source,
      scope.dest,
      splitOff.map((name) => `--filter=- /${name}`),
    ),
    bytes: Math.max(0, pass.bytes - bytesOf(splitOff)),
    ...(pass.files !== undefined && { files: Math.max(0, pass.files - splitOff.length) }),
  };
  const parts = groups.map((names, i): Pass => ({
    ...pass,
    name: `${pass.name}, part ${i + 2}/${count}`,
    cwd: scope.dir,
    args: [...scope.flags, ...names.map(local), scope.dest],
    bytes: bytesOf(names),
    files: names.length,
  }));
  return [tree, ...parts];
}

/** A plan's directories, split for `workers`; the delta side of a mixed copy split the same way. */
export interface SplitDirs {
  dirs: Pass[];
  deltaDirs?: Pass[];
  /** `directory db1 (3 parts)` for each directory split, for the log. */
  split: string[];
}

/**
 * Splits the large directories among `dirs` (and the same directories among `deltaDirs`, index for index, in
 * the finer parts of a mixed copy) for `workers` workers; `filesOf` lists a directory's top-level files (topFiles
 * on its scope's directory).
 * Largest parts first, so the longest pass starts first.
 */
export function splitDirs(
  dirs: readonly Pass[],
  deltaDirs: readonly Pass[] | undefined,
  workers: number,
  filesOf: (pass: Pass) => DirFile[],
): SplitDirs {
  if (workers < 2)
    return { dirs: [...dirs], ...(deltaDirs !== undefined && { deltaDirs: [...deltaDirs] }), split: [] };
  const part = partBytes(
    dirs.reduce((sum, p) => sum + p.bytes, 0),
    workers,
    deltaDirs !== undefined,
  );
  const out: SplitDirs = { dirs: [], split: [] };
  const deltas: Pass[] = [];
  dirs.forEach((pass, i) => {
    const files = pass.bytes >= part * 1.5 ? filesOf(pass) : [];
    const groups = groupFiles(pass.bytes, files, part);
    const sizes = new Map(files.map((f) => [f.name, f.size]));
    const whole = splitTree(pass, groups, sizes);
    out.dirs.push(...whole);
    const delta = deltaDirs?.[i];
    deltas.push(...(delta === undefined ? whole : splitTree(delta, groups, sizes)));
    if (whole.length > 1) out.split.push(`${pass.name} (${whole.length} parts)`);
  });
  // Largest first across directories: the pool takes them in order, the mixed copy by size.
  const order = out.dirs
    .map((pass, i) => ({ pass, i }))
    .sort((a, b) => b.pass.bytes - a.pass.bytes || a.i - b.i);
  out.dirs = order.map((o) => o.pass);
  if (deltaDirs !== undefined) out.deltaDirs = order.map((o) => deltas[o.i] ?? o.pass);
  return out;
}

/**
 * A plan's data passes with their large directories split (splitDirs on the files found now), and one line for
 * the log when any was; the plan itself (scopes, stamps, the joiner's space check) stays as it was.
 */
export function splitPlan<T extends { dirs: Pass[]; mixed?: { deltaDirs: Pass[] } }>(
  plan: T,
  workers: number,
): { plan: T; line?: string } {
  const result = splitDirs(plan.dirs, plan.mixed?.deltaDirs, workers, (pass) =>
    pass.scope === undefined ? [] : topFiles(pass.scope.dir),
  );
  if (result.split.length === 0) return { plan };
  const mixed =
    plan.mixed === undefined ? {} : { mixed: { ...plan.mixed, deltaDirs: result.deltaDirs ?? [] } };
  return {
    plan: { ...plan, dirs: result.dirs, ...mixed },
    line: `Large directories split for ${workers} workers to end together: ${result.split.join(', ')}`,
  };
}
