/**
 * `[sst] rlimit`: a cap on the rate at which the donor sends, for every connection of an SST together (the
 * relay shares one limiter), as mariabackup's and PXC's `rlimit` cap theirs through pv. A running SST then leaves
 * the donor's disks and network to the traffic the donor node still serves.
 *
 * A token bucket kept in debt form: a chunk is always taken whole (the tokens may go negative) and the caller
 * pauses its source until the debt is repaid, so chunks of any size work and the long-run rate is exact. The
 * bucket holds at most a tenth of a second of rate (at least 64 KiB): over any period T at most that burst plus
 * rate × T bytes pass. Pure: the clock is injectable.
 */

export class RateLimiter {
  private tokens: number;
  private last: number;
  private readonly burst: number;

  constructor(
    readonly bytesPerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(bytesPerSecond > 0))
      throw new RangeError(`A rate limit must be above 0 bytes/s, not ${bytesPerSecond}`);
    this.burst = Math.max(64 * 1024, bytesPerSecond / 10);
    this.tokens = this.burst;
    this.last = now();
  }

  /** Counts `bytes` as sent; returns how many milliseconds to wait before sending more (0: go on). */
  take(bytes: number): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.bytesPerSecond) / 1000);
    this.last = t;
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.bytesPerSecond);
  }
}
