/**
 * Progress of an SST side (design.md "Numbers"): periodic human log lines with bytes, rate and ETA, never more
 * often than the configured interval, and, on a joiner run with `--progress 1`, mysqld's `total`/`complete`
 * lines (sst-contract.md 2.1.4). The clock is injectable; formatting is pure.
 */
import { formatBytes } from './roleContext.js';

/** One progress observation. */
export interface ProgressSample {
  doneBytes: number;
  totalBytes: number | undefined;
  elapsedMs: number;
}

/** `1.2 GiB of 3.4 GiB (35%), 120.0 MiB/s, ETA 18 s` (parts that are unknown are left out). */
export function formatProgress(sample: ProgressSample): string {
  const { doneBytes, totalBytes, elapsedMs } = sample;
  const rate = elapsedMs > 0 ? (doneBytes * 1000) / elapsedMs : 0;
  const parts: string[] = [];
  if (totalBytes !== undefined && totalBytes > 0) {
    const pct = Math.min(100, Math.floor((doneBytes * 100) / totalBytes));
    parts.push(`${formatBytes(doneBytes)} of ${formatBytes(totalBytes)} (${pct}%)`);
  } else {
    parts.push(formatBytes(doneBytes));
  }
  parts.push(`${formatBytes(rate)}/s`);
  if (totalBytes !== undefined && rate > 0 && doneBytes < totalBytes) {
    parts.push(`ETA ${Math.ceil((totalBytes - doneBytes) / rate)} s`);
  }
  return parts.join(', ');
}

/** Calls `emit` with a progress line at most every `intervalMs`, from a `read` of the bytes done so far. */
export class ProgressTicker {
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly started: number;
  totalBytes: number | undefined;

  constructor(
    private readonly read: () => number,
    private readonly emit: (line: string, sample: ProgressSample) => void,
    options: { intervalMs: number; totalBytes?: number; now?: () => number },
  ) {
    const now = options.now ?? Date.now;
    this.started = now();
    this.totalBytes = options.totalBytes;
    if (options.intervalMs > 0) {
      this.timer = setInterval(() => {
        const sample = {
          doneBytes: this.read(),
          totalBytes: this.totalBytes,
          elapsedMs: now() - this.started,
        };
        this.emit(formatProgress(sample), sample);
      }, options.intervalMs);
      this.timer.unref();
    }
  }

  /** Stops the periodic lines. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }
}
