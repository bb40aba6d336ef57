/**
 * Process groups of detached servers: signal a whole group, wait until it is empty, and end every group still
 * registered if this process exits early (exitCleanup.ts), so no orphan mariadbd or SST daemon keeps its ports
 * or files for the next run.
 */

import { readdirSync } from 'node:fs';
import { procInfo } from '../sst/lifecycle.js';
import { atExit } from './exitCleanup.js';

/** Tracked groups, each with the call that cancels its exit cleanup. */
const liveGroups = new Map<number, () => void>();

/** Sends a signal (0 = existence check) to every process of a group; false when the group is empty (ESRCH). */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** How long the exit cleanup lets tracked groups end on SIGTERM before it SIGKILLs them. */
export const EXIT_TERM_MS = 5_000;

/** Blocks this thread for `ms` (the exit cleanup cannot await). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Whether a process /proc describes has exited (a zombie waiting to be reaped, or dead). */
const exited = (state: string): boolean => state === 'Z' || state === 'X';

/**
 * Whether a process still runs. Not kill(pid, 0): a child of ours that exited stays a zombie until we reap it,
 * which an exit cleanup (synchronous) never does.
 */
export function running(pid: number): boolean {
  const info = procInfo(pid);
  return info !== undefined && !exited(info.state);
}

/** Whether any process of group `pgid` still runs (zombies do not count, as in `running`). */
function groupRunning(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = procInfo(Number(entry));
    if (info !== undefined && info.pgrp === pgid && !exited(info.state)) return true;
  }
  return false;
}

/** Waits (blocking) until `alive` is false for every id, or `ms` passed; the ids still alive. */
export function waitGoneSync(ids: number[], alive: (id: number) => boolean, ms: number): number[] {
  const deadline = Date.now() + ms;
  let left = ids.filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    sleepSync(50);
    left = left.filter(alive);
  }
  return left;
}

/**
 * Ends every tracked group from an exit cleanup: SIGTERM to all at once, so mariadbd shuts down and its SST
 * scripts remove their private directories and rsync daemons (a SIGKILL would leave those behind), then SIGKILL
 * to whatever is still there after EXIT_TERM_MS.
 */
function endTrackedGroupsSync(): void {
  const groups = [...liveGroups.keys()];
  for (const pgid of groups) signalGroup(pgid, 'SIGTERM');
  const stuck = waitGoneSync(groups, groupRunning, EXIT_TERM_MS);
  for (const pgid of stuck) signalGroup(pgid, 'SIGKILL');
  waitGoneSync(stuck, groupRunning, 1_000);
}

/** Remembers a group so that it is ended (endTrackedGroupsSync) if this process exits before reapGroup. */
export function trackGroup(pgid: number): void {
  // An exit cleanup of its own: made after the node's directory, so it runs before that directory is removed.
  // The first group's cleanup to run ends them all at once; the others find their group gone.
  if (!liveGroups.has(pgid)) liveGroups.set(pgid, atExit(endTrackedGroupsSync));
}

/** SIGKILLs what is left of a group, waits until it is empty (its ports free), and forgets it. */
export async function reapGroup(pgid: number, timeoutMs = 5_000): Promise<void> {
  if (signalGroup(pgid, 'SIGKILL')) {
    const deadline = Date.now() + timeoutMs;
    while (signalGroup(pgid, 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
  liveGroups.get(pgid)?.();
  liveGroups.delete(pgid);
}
