/**
 * Prompt waits on the SST's critical path. The waits for mysqld's `tables_flushed` (donor) and for the donor's
 * completion marker (joiner) poll, as the contract's scripts do; a poll every 200 ms costs 100 ms on average at
 * each of those two points of every SST. A Wakeup lets an event (a file appearing, a connection ending) cut the
 * current poll short, while the poll stays as the fallback for events that never come (no inotify, a watch
 * limit reached, a worker's counters that lag behind).
 */
import { watch, type FSWatcher } from 'node:fs';

export class Wakeup {
  private pending: (() => void) | undefined;
  private woken = false;

  /** Ends the current sleep, or the next one at once if none is running. */
  wake(): void {
    this.woken = true;
    const resolve = this.pending;
    this.pending = undefined;
    resolve?.();
  }

  /** Sleeps `ms`, less if woken; rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.pending === onWake) this.pending = undefined;
        this.woken = false;
      };
      const onWake = (): void => {
        settle();
        resolve();
      };
      const onAbort = (): void => {
        settle();
        reject(signal?.reason as Error);
      };
      const timer = setTimeout(onWake, ms);
      this.pending = onWake;
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * Wakes `wakeup` whenever an entry named in `names` is created, renamed into place or changed in `dir` (inotify
 * through fs.watch; only direct children). Returns the function that stops watching. Cannot watch: returns a
 * no-op and the caller's poll does the work alone.
 */
export function wakeOnEntries(dir: string, names: readonly string[], wakeup: Wakeup): () => void {
  let watcher: FSWatcher;
  try {
    watcher = watch(dir, { persistent: false }, (_event, name) => {
      // No name (some filesystems): wake anyway, the poll's check decides.
      if (name === null || names.includes(name.toString())) wakeup.wake();
    });
  } catch {
    return () => undefined;
  }
  watcher.on('error', () => watcher.close());
  return () => watcher.close();
}
