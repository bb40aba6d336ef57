/**
 * Process groups of detached servers: signal a whole group, wait until it is empty, and kill every group still
 * registered if this process exits early, so no orphan mariadbd or SST daemon keeps its ports for the next run.
 */

const liveGroups = new Set<number>();
// One listener for all groups: a listener per node would trip Node's MaxListeners warning.
process.on('exit', () => {
  for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
});

/** Sends a signal (0 = existence check) to every process of a group; false when the group is empty (ESRCH). */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Remembers a group so that it is SIGKILLed if this process exits before releaseGroup. */
export function trackGroup(pgid: number): void {
  liveGroups.add(pgid);
}

/** SIGKILLs what is left of a group, waits until it is empty (its ports free), and forgets it. */
export async function reapGroup(pgid: number, timeoutMs = 5_000): Promise<void> {
  if (signalGroup(pgid, 'SIGKILL')) {
    const deadline = Date.now() + timeoutMs;
    while (signalGroup(pgid, 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
  liveGroups.delete(pgid);
}
