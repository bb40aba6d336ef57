/**
 * What the second phase of a two-phase copy (`[sst] copy = two-phase`, issue #22) must re-send: pure, stamps in,
 * a selection out. The donor sends the whole data set while its node stays writable (phase 1), then takes the
 * lock and re-sends only what may differ from what phase 1 sent (phase 2). Re-sending too much costs time inside
 * the lock; re-sending too little leaves a joiner with silently corrupt data. So the rule errs one way only.
 *
 * The rule. Before phase 1 reads a byte the donor records T0 (the wall clock) and writes a probe file in the
 * datadir to read the file system's own clock (probeMtime), then stats every entry it is about to send (S0).
 * Under the lock it stats them again (S1). An entry is re-sent unless ALL of these hold:
 *   a. it is in S0, with the same kind, device, inode, size, mtime and ctime (nanoseconds) as in S1;
 *   b. its mtime and its ctime (S1) are older than `since` = min(T0, probeMtime) - RESEND_MARGIN;
 *   c. it is not in the always-resent set (the redo log, the binlog tarball made under the lock);
 *   d. the wall clock did not step during the copy (ClockWatch, compared with the monotonic clock), and phase 1's
 *      pass over it did not report a file it could not read (rsync 23/24: then its whole scope is re-sent).
 * Why a skipped entry holds, on the joiner, exactly the bytes it holds on the donor under the lock:
 *   - Every content change goes through write(2)/truncate(2)/rename(2) and friends, and each sets the inode's
 *     mtime and/or ctime to the kernel's current time, which never lags the true time by more than the file
 *     system's timestamp granularity (one scheduler tick for the coarse clock; 1 s on ext3 or 128-byte-inode ext4,
 *     2 s on FAT) and is never earlier than probeMtime for a change made after the probe on the datadir's file
 *     system (same clock, monotonic while it does not step). So a change at any time t >= T0 leaves mtime or ctime
 *     >= T0 - granularity > since: rule b catches it, however coarse the timestamps. This is also why a file that
 *     keeps its size (InnoDB rewrites pages in place) or whose mtime is put back (utimes(2) sets ctime to now) is
 *     still caught: size and mtime alone prove nothing, ctime cannot be set from user space.
 *   - A file modified while phase 1's rsync reads it: the modification happens after T0, see above. Phase 1 may
 *     have sent a torn mix of old and new pages; phase 2 re-sends it whole (or by deltas checked against rsync's
 *     whole-file checksum) from a file nobody writes any more (the lock), so the torn copy is overwritten.
 *   - A file not modified since before T0 - RESEND_MARGIN: phase 1 read it after T0, so it read the bytes it has
 *     now; the joiner holds them unless phase 1's pass failed, which is fatal or, for rsync's "vanished" and
 *     "partial" codes (23, 24, expected while tables are dropped), marks the whole scope for re-sending (rule d).
 *   - Renames and recreations: a table dropped and recreated under the same name is a new inode (rule a); a file
 *     renamed over another changes the name's inode and the moved inode's ctime. New names are not in S0 (rule a).
 *   - The margin (RESEND_MARGIN, 10 s) covers the timestamp granularity (2 s), a clock step smaller than the
 *     ClockWatch tolerance (1 s, rule d catches larger ones), and a write(2) already running at T0: the kernel
 *     stamps a write when it starts, so a write that began before T0 and was still copying bytes after it must
 *     have begun within the margin. InnoDB writes at most a few MiB per call; a single call stalled for over
 *     7 s is not an SST the donor can serve anyway.
 *   - The wall clock stepping back (NTP, an operator) would give later changes older timestamps: ClockWatch
 *     samples wall against monotonic time every 200 ms from T0 to the selection, and any jump over its tolerance
 *     re-sends everything (rule d). A step back and forward again between two samples would escape it, but rule a
 *     still catches such a change unless it also lands on the file's previous mtime and ctime to the nanosecond.
 *   - Files written through a shared mmap(2) may change without a new mtime (the kernel stamps only the first
 *     write after each writeback): the redo log, which MariaDB may map (innodb_log_file_mmap), is always re-sent
 *     (rule c), whatever its stamps say; it is also the one file InnoDB always writes. MyISAM with
 *     myisam_use_mmap=ON is the known exception this rule does not cover (README).
 *   - Clocks other than the datadir's: a file system of the data set elsewhere is assumed to be stamped by this
 *     host's clock (a local file system); the probe covers a datadir on NFS whose server's clock lags ours.
 * Deletions: a name removed from a directory updates that directory's mtime and ctime, so a directory whose
 * entries all pass the rule (the directory itself included) lost no name; otherwise the donor runs a pass that
 * only deletes (`--delete --existing --ignore-existing`), scoped exactly like phase 1's pass, so it deletes what
 * phase 1's own --delete would have, and nothing its filters protect (grastate.dat, the joiner's own files).
 */

import { BINLOG_TAR } from './binlog.js';

/** Entries re-sent whatever their stamps: the redo log (may be written through mmap), the binlog tarball. */
export function alwaysResent(path: string): boolean {
  return /^ib_logfile\d+$/.test(path) || path === BINLOG_TAR;
}

/** One entry as lstat(2) saw it (bigint stats: nanosecond times). */
export interface Stamp {
  kind: 'file' | 'dir' | 'link' | 'other';
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** Every entry of one scope (a pass's files or tree), by path relative to the scope's directory ('.' = itself). */
export type Snapshot = ReadonlyMap<string, Stamp>;

/** Timestamp granularity, a sub-tolerance clock step, and a write(2) running at T0: see the header. */
export const RESEND_MARGIN_NS = 10_000_000_000n;

/** The largest wall-versus-monotonic drift ClockWatch accepts before it declares a step. */
export const CLOCK_STEP_TOLERANCE_MS = 1000;

/** The instant before which an entry's stamps must lie for it to be skipped: min(T0, probe) - margin. */
export function resendSince(t0WallMs: number, probeMtimeNs: bigint | undefined): bigint {
  const t0 = BigInt(Math.floor(t0WallMs)) * 1_000_000n;
  const start = probeMtimeNs !== undefined && probeMtimeNs < t0 ? probeMtimeNs : t0;
  return start - RESEND_MARGIN_NS;
}

/** A pair of clock readings taken together: `Date.now()` and `performance.now()`. */
export interface ClockSample {
  wallMs: number;
  monoMs: number;
}

/** The largest drift of the wall clock against the monotonic clock between the first sample and any other. */
export function clockDrift(samples: readonly ClockSample[]): number {
  const first = samples[0];
  if (first === undefined) return 0;
  let worst = 0;
  for (const s of samples) {
    const drift = Math.abs(s.wallMs - first.wallMs - (s.monoMs - first.monoMs));
    if (drift > worst) worst = drift;
  }
  return worst;
}

/** Why an entry is re-sent. */
export type Reason = 'new' | 'changed' | 'recent' | 'always' | 'everything';

/** What the rule says about one scope. */
export interface Selection {
  /** Entries to re-send (files, links and directories; directories only carry their attributes), sorted. */
  send: string[];
  /** Whether a name may have disappeared from the scope since phase 1 began: run the delete-only pass. */
  deletions: boolean;
  /** How many entries were re-sent for each reason, for the log. */
  reasons: Partial<Record<Reason, number>>;
  /** Bytes of the files re-sent (their size under the lock). */
  bytes: number;
}

/** The rule's inputs besides the two snapshots. */
export interface Rule {
  /** resendSince(T0, probe). */
  since: bigint;
  /** Re-send the whole scope: the clock stepped, or phase 1's pass over the scope could not read everything. */
  everything: boolean;
  /** Entries always re-sent, whatever their stamps (the redo log, the binlog tarball). */
  always: (path: string) => boolean;
}

/** Why `now` must be re-sent, or undefined when phase 1's copy of it still holds (the rule of the header). */
export function reasonFor(
  before: Stamp | undefined,
  now: Stamp,
  path: string,
  rule: Rule,
): Reason | undefined {
  if (rule.everything) return 'everything';
  if (before === undefined) return 'new';
  if (rule.always(path)) return 'always';
  if (
    before.kind !== now.kind ||
    before.dev !== now.dev ||
    before.ino !== now.ino ||
    before.size !== now.size ||
    before.mtimeNs !== now.mtimeNs ||
    before.ctimeNs !== now.ctimeNs
  )
    return 'changed';
  if (now.mtimeNs >= rule.since || now.ctimeNs >= rule.since) return 'recent';
  return undefined;
}

/**
 * Selects what phase 2 re-sends of one scope: `before` is S0 (undefined when the scope did not exist before
 * phase 1, e.g. a database created during it), `now` is S1, taken under the lock.
 */
export function selectChanged(before: Snapshot | undefined, now: Snapshot, rule: Rule): Selection {
  const send: string[] = [];
  const reasons: Partial<Record<Reason, number>> = {};
  let bytes = 0;
  let deletions = before === undefined || rule.everything;
  for (const [path, stamp] of now) {
    const reason = reasonFor(before?.get(path), stamp, path, rule);
    if (reason === undefined) continue;
    send.push(path);
    reasons[reason] = (reasons[reason] ?? 0) + 1;
    if (stamp.kind === 'file') bytes += Number(stamp.size);
    // A directory touched since phase 1 began may have lost a name; an entry whose kind changed left one behind.
    if (stamp.kind === 'dir' || (before?.get(path)?.kind ?? stamp.kind) !== stamp.kind) deletions = true;
  }
  if (before !== undefined && !deletions)
    for (const path of before.keys()) if (!now.has(path)) deletions = true;
  send.sort();
  return { send, deletions, reasons, bytes };
}

/** `3 new, 12 changed, 1 always`: the reasons of a selection (or several), for the log. */
export function describeReasons(reasons: Partial<Record<Reason, number>>): string {
  const order: Reason[] = ['new', 'changed', 'recent', 'always', 'everything'];
  const parts = order.filter((r) => (reasons[r] ?? 0) > 0).map((r) => `${reasons[r]} ${r}`);
  return parts.length > 0 ? parts.join(', ') : 'nothing';
}
