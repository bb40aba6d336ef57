/**
 * Read buffers shared by every connection of a process. A buffer Node has handed out is freed only when V8
 * collects the Buffer object, and for a buffer that lived through a few event-loop turns that is the next full
 * collection, which external memory triggers only after tens of MiB more. A listener or relay that made fresh
 * read buffers for every connection (an SST makes a dozen, the rsync bench ninety) therefore grew to 100-140 MB
 * of RSS, most of it garbage. Returning buffers here when a connection is done with them keeps the process at
 * what its busiest moment needed.
 */

/** Buffers of one size, reused; at most `maxSpare` are kept unused, the rest is left to the GC. */
export class BufferPool {
  private readonly spare: Buffer[] = [];
  private made = 0;

  constructor(
    readonly size: number,
    readonly maxSpare: number,
  ) {}

  /** A buffer of `size` bytes with undefined content: a spare one, or a new one. */
  take(): Buffer {
    const reused = this.spare.pop();
    if (reused !== undefined) return reused;
    this.made++;
    // Not from Node's shared slab: a pooled buffer must own its memory, nobody else may write into it.
    return Buffer.allocUnsafeSlow(this.size);
  }

  /** Hands a buffer back; the caller must not touch it afterwards. Buffers of another size are ignored. */
  give(buf: Buffer): void {
    if (buf.length !== this.size || this.spare.length >= this.maxSpare) return;
    this.spare.push(buf);
  }

  /** Figures for tests and diagnostics. */
  stats(): { made: number; spare: number } {
    return { made: this.made, spare: this.spare.length };
  }
}
