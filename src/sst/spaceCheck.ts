/**
 * Space before data (issue 21): the joiner compares what the donor announces with the free space of every file
 * system that will receive it, before the first data byte lands, and refuses the SST when it cannot fit.
 *
 * How the verdict reaches the donor without a new wire format: the donor's byte total file (sent by its own
 * pass, before any data pass) carries, after the total on line 1 (all that older joiners of ours read), a JSON
 * line with the bytes and top-level names per joiner module. The joiner writes its verdict into a file that
 * every data module's `pre-xfer exec` gate reads: rsyncd.conf(5) aborts a transfer whose pre-xfer command
 * fails and shows its stdout to the client, so the donor's rsync prints the joiner's reason, its pass fails,
 * and the donor exits non-zero without `done`. A donor that announces nothing (the original script, older
 * versions of ours) passes the gate unchecked: the free-space watch below still ends a transfer that fills
 * the disk.
 *
 * Pure apart from the statfs/lstat/readdir readers, which are injectable.
 */
import { lstatSync, readdirSync, statSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { SstTunnelError, ExitCode } from '../errors.js';
import type { Pass as PlannedPass } from './passes.js';
import { formatBytes } from './roleContext.js';

/** What lands in one joiner module: bytes, and the top-level names it writes there (replacing what is there). */
export interface AnnouncedPart {
  module: string;
  bytes: number;
  names: string[];
}

/** The donor's announcement (line 2 of the total file). */
export interface Announcement {
  parts: AnnouncedPart[];
  /** Bytes of the binlog tarball, unpacked again into the binlog directory after the transfer. */
  binlogBytes: number;
  /**
   * The donor copies in two phases (twoPhaseCopy.ts): a pass of its first phase may end with rsync's 23 (a file
   * it could not read while the donor stays writable) and is repaired by the second, so the joiner must not take
   * that 23 for the end of the SST. Older joiners ignore the field.
   */
  twoPhase?: true;
}

/** What a plan sends into each joiner module (passes without a target, the marker and the total, carry none). */
export function announce(
  plan: { root: PlannedPass; classes: PlannedPass[]; dirs: PlannedPass[] },
  binlogTarBytes: number,
): Announcement {
  const parts = new Map<string, AnnouncedPart>();
  for (const pass of [plan.root, ...plan.classes, ...plan.dirs]) {
    if (pass.target === undefined) continue;
    const part = parts.get(pass.target.module) ?? { module: pass.target.module, bytes: 0, names: [] };
    part.bytes += pass.bytes;
    part.names.push(...pass.target.names);
    parts.set(part.module, part);
  }
  return { parts: [...parts.values()], binlogBytes: binlogTarBytes };
}

/** The total file's text: the total on line 1 (what every joiner of ours reads), the announcement on line 2. */
export function renderTotalFile(total: number, announcement: Announcement): string {
  return `${total}\n${JSON.stringify(announcement)}\n`;
}

/** The announcement of a total file, or undefined when it has none (an older donor) or it is malformed. */
export function parseAnnouncement(text: string): Announcement | undefined {
  const line = text.split('\n')[1]?.trim();
  if (line === undefined || line === '') return undefined;
  try {
    const raw = JSON.parse(line) as { parts?: unknown; binlogBytes?: unknown };
    if (!Array.isArray(raw.parts)) return undefined;
    const parts: AnnouncedPart[] = [];
    for (const p of raw.parts as { module?: unknown; bytes?: unknown; names?: unknown }[]) {
      if (typeof p.module !== 'string' || !Number.isSafeInteger(p.bytes) || !Array.isArray(p.names))
        return undefined;
      const names = (p.names as unknown[]).filter((n): n is string => typeof n === 'string');
      parts.push({ module: p.module, bytes: p.bytes as number, names });
    }
    const binlogBytes = Number.isSafeInteger(raw.binlogBytes) ? (raw.binlogBytes as number) : 0;
    return {
      parts,
      binlogBytes,
      ...((raw as { twoPhase?: unknown }).twoPhase === true && { twoPhase: true }),
    };
  } catch {
    return undefined;
  }
}

/** The SST cannot fit on this node's file systems (exit 28, ENOSPC). */
export class NoSpaceError extends SstTunnelError {
  constructor(message: string) {
    super(message, { code: 'SST_NO_SPACE', exitCode: ExitCode.ENOSPC });
  }
}

/** A file system as the check sees it. */
export interface FsInfo {
  /** Identifies the file system (st_dev). */
  dev: number;
  /** Bytes this process may still write there. */
  free: number;
}

/** Readers of the real system; tests pass their own. */
export interface SpaceProbe {
  fsOf(path: string): FsInfo;
  /** Bytes a path occupies now (recursively for a directory; 0 when absent). Never follows symlinks. */
  usedBy(path: string): number;
}

/** Free bytes: root may write into the reserved blocks too, anyone else stops at `bavail`. */
export function freeBytes(path: string): number {
  const s = statfsSync(path);
  const blocks = process.getuid?.() === 0 ? s.bfree : s.bavail;
  return blocks * s.bsize;
}

function usedBy(path: string): number {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.isFile() ? st.size : 0;
  let sum = 0;
  for (const name of readdirSync(path)) sum += usedBy(join(path, name));
  return sum;
}

export const systemProbe: SpaceProbe = {
  fsOf: (path) => ({ dev: statSync(path).dev, free: freeBytes(path) }),
  usedBy,
};

/** One file system's account. */
export interface FsNeed {
  /** The directories on it that receive files, as the operator knows them. */
  dirs: string[];
  incoming: number;
  replaced: number;
  free: number;
}

/**
 * Sums, per file system, what arrives and what it replaces; `modulePaths` maps each joiner module to its
 * directory, `binlogDir` is where the tarball is unpacked (undefined: no binlogs).
 */
export function account(
  announcement: Announcement,
  modulePaths: ReadonlyMap<string, string>,
  binlogDir: string | undefined,
  probe: SpaceProbe = systemProbe,
): FsNeed[] {
  const byDev = new Map<number, FsNeed>();
  const add = (dir: string, incoming: number, replaced: number): void => {
    const fs = probe.fsOf(dir);
    const need = byDev.get(fs.dev) ?? { dirs: [], incoming: 0, replaced: 0, free: fs.free };
    if (!need.dirs.includes(dir)) need.dirs.push(dir);
    need.incoming += incoming;
    need.replaced += replaced;
    byDev.set(fs.dev, need);
  };
  for (const part of announcement.parts) {
    const dir = modulePaths.get(part.module);
    if (dir === undefined) continue;
    // rsync --inplace/--delete rewrites these names: their current bytes are given back as it goes.
    const replaced = part.names.reduce((sum, name) => sum + probe.usedBy(join(dir, name)), 0);
    add(dir, part.bytes, replaced);
  }
  if (binlogDir !== undefined && announcement.binlogBytes > 0) add(binlogDir, announcement.binlogBytes, 0);
  return [...byDev.values()];
}

/** Headroom kept free on top of the announced bytes: block rounding, directories, rsync's own files. */
export const HEADROOM = 1024 * 1024;

/** The refusal line for the first file system that cannot take its share; undefined when all fit. */
export function verdict(needs: FsNeed[]): string | undefined {
  for (const need of needs) {
    const required = Math.max(0, need.incoming - need.replaced) + HEADROOM;
    if (required <= need.free) continue;
    const where = need.dirs.join(', ');
    return (
      `Not enough space for the SST on the file system of ${where}: ${formatBytes(required)} needed ` +
      `(${formatBytes(need.incoming)} incoming, ${formatBytes(need.replaced)} of files it replaces, ` +
      `${formatBytes(HEADROOM)} headroom), ${formatBytes(need.free)} free. ` +
      `Free at least ${formatBytes(required - need.free)} there (or move that directory to a larger file system), then restart this node to retry the SST`
    );
  }
  return undefined;
}

/**
 * The gate each data module runs as its `pre-xfer exec` (a shell script, not a Node start-up per connection):
 * once the donor's total file is there, wait for the joiner's verdict (bounded), and fail with its text when
 * it refuses. No total file: an older donor, nothing to wait for.
 */
export function gateScript(totalPath: string, verdictPath: string): string {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    '#!/bin/sh',
    '# Written by sst-tunnel: refuses a data transfer when the joiner found it cannot fit (issue 21).',
    `t=${q(totalPath)}; v=${q(verdictPath)}; i=0`,
    'if [ -e "$t" ]; then',
    '  while [ ! -e "$v" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done',
    'fi',
    'if [ -s "$v" ]; then cat "$v"; exit 1; fi',
    'exit 0',
    '',
  ].join('\n');
}
