import { describe, expect, it } from 'vitest';
import { earlyProbe } from '../../../src/sst/donorCopy.js';
import { describeProbe } from '../../../src/sst/linkProbe.js';

const relay = { bytes: (): number => 1234 };

describe('the link probe while mysqld flushes its tables', () => {
  it('starts only when auto wants a reading, the joiner has a progress module and the relay counts', () => {
    const calls: number[] = [];
    const probe = async (counter: () => number): Promise<undefined> => {
      calls.push(counter());
      return undefined;
    };
    expect(earlyProbe({ measureLink: false }, true, relay, probe)).toBeUndefined();
    expect(earlyProbe({ measureLink: true }, false, relay, probe)).toBeUndefined();
    expect(earlyProbe({ measureLink: true }, true, undefined, probe)).toBeUndefined();
    expect(calls).toEqual([]);
    expect(earlyProbe({ measureLink: true }, true, relay, probe)).toBeInstanceOf(Promise);
    // The probe reads the relay's own counter.
    expect(calls).toEqual([1234]);
  });

  it('hands over the reading, and a failed probe fails the SST when awaited, not before', async () => {
    const sample = { wireBytes: 8 << 20, ms: 80 };
    await expect(earlyProbe({ measureLink: true }, true, relay, async () => sample)).resolves.toEqual(sample);
    const failing = earlyProbe({ measureLink: true }, true, relay, async () => {
      throw new Error('rsync exit 10');
    });
    // Nothing awaits it for a while (mysqld flushing): vitest fails the run on an unhandled rejection.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(failing).rejects.toThrow('rsync exit 10');
  });

  it('logs what it sent, what it read and how long the copy waited for it', () => {
    expect(
      describeProbe(16 << 20, { wireBytes: 8 << 20, ms: 80 }, 'while mysqld flushed its tables', 50),
    ).toBe(
      'Link probe: 16.0 MiB of zeros, read 100.0 MiB/s over its second half, while mysqld flushed its tables ' +
        '(the copy waited 0.05 s for it)',
    );
    expect(describeProbe(8 << 20, undefined, "riding the byte total's pass")).toBe(
      "Link probe: 8.0 MiB of zeros, no reading (the counter never passed half the probe), riding the byte total's pass",
    );
  });
});
