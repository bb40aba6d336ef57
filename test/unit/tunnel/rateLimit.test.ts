import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../src/tunnel/rateLimit.js';

const MiB = 1024 * 1024;

describe('RateLimiter', () => {
  it('lets a first burst of a tenth of a second through, then asks for the wait that repays the debt', () => {
    let now = 0;
    const limiter = new RateLimiter(10 * MiB, () => now);
    expect(limiter.take(MiB)).toBe(0); // the full bucket: 1 MiB = 0.1 s of 10 MiB/s
    expect(limiter.take(MiB)).toBe(100); // 1 MiB in debt: 100 ms at 10 MiB/s
    now += 100;
    expect(limiter.take(512 * 1024)).toBe(50);
  });

  it('holds any sequence of chunks to the rate over time, whatever their sizes', () => {
    let now = 0;
    const rate = 4 * MiB;
    const limiter = new RateLimiter(rate, () => now);
    let sent = 0;
    // A sender that sends chunks of varying size and waits exactly as long as it is told to.
    for (let i = 0; i < 2000; i++) {
      const chunk = 1024 + ((i * 7919) % (256 * 1024));
      sent += chunk;
      now += limiter.take(chunk);
    }
    // Over the elapsed time at most one burst (0.4 MiB) more than the rate allows, and not much less.
    expect(sent).toBeLessThanOrEqual((rate * now) / 1000 + rate / 10 + 256 * 1024);
    expect(sent).toBeGreaterThan(((rate * now) / 1000) * 0.99);
  });

  it('does not save up more than one burst while idle', () => {
    let now = 0;
    const limiter = new RateLimiter(MiB, () => now);
    now += 60_000; // a minute idle
    expect(limiter.take(64 * 1024)).toBe(0);
    expect(limiter.take(64 * 1024)).toBeGreaterThan(0);
  });

  it('refuses a rate of 0 or less', () => {
    expect(() => new RateLimiter(0)).toThrow(RangeError);
  });
});
