import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { earlyProbe } from '../../../src/sst/donorCopy.js';
import {
  describeProbe,
  linkOf,
  probeLink,
  shouldWiden,
  wideProbeBytes,
  type ProbeLook,
} from '../../../src/sst/linkProbe.js';
import type { Pass } from '../../../src/sst/passes.js';
import type { PassResult } from '../../../src/sst/rsyncPass.js';

const MiB = 1024 * 1024;
const relay = { bytes: (): number => 1234 };
const dir = mkdtempSync(join(tmpdir(), 'probe-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A link for the probe's passes: each pass moves its file's bytes (from `sizes`) onto one shared counter, at
 * `rate(connections)` bytes a second shared by the passes running at once, in 1 ms steps.
 */
function fakeLink(rate: (connections: number) => number): {
  run: (pass: Pass) => Promise<PassResult>;
  counter: () => number;
  passes: string[][];
} {
  let bytes = 0;
  let running = 0;
  const passes: string[][] = [];
  const run = async (pass: Pass): Promise<PassResult> => {
    passes.push(pass.args.filter((a) => a.startsWith('./')));
    running++;
    // The probe files are sparse files in `dir`: their sizes say what to move.
    let left = pass.args
      .filter((a) => a.startsWith('./sst_link_probe'))
      .reduce((sum, a) => sum + statSync(join(pass.cwd, a)).size, 0);
    const t0 = performance.now();
    let last = t0;
    while (left > 0) {
      await new Promise((r) => setTimeout(r, 1));
      const now = performance.now();
      const step = Math.min(left, ((now - last) / 1000) * (rate(running) / running));
      last = now;
      bytes += step;
      left -= step;
    }
    running--;
    return { exitCode: 0, signal: null, stdout: '', durationMs: performance.now() - t0 };
  };
  return { run, counter: () => bytes, passes };
}

/** probeLink over `link` for 1 GiB of data and two workers, auto's compression line at `compressLine`. */
function probeOver(
  link: ReturnType<typeof fakeLink>,
  mayWiden: boolean,
  compressLine = 240 * MiB,
): Promise<ProbeLook[]> {
  return probeLink({
    run: link.run,
    counter: link.counter,
    dir,
    module: 'm',
    also: [],
    dataBytes: 1024 * MiB,
    workers: 2,
    mayWiden: () => mayWiden,
    compressLine,
  });
}

const rateOf = (look: ProbeLook | undefined): number =>
  look?.sample === undefined ? 0 : (look.sample.wireBytes * 1000) / look.sample.ms;

describe('the link probe while mysqld flushes its tables', () => {
  it('starts only when auto wants a reading, the joiner has a progress module and the relay counts', () => {
    const calls: number[] = [];
    const probe = async (counter: () => number): Promise<ProbeLook[]> => {
      calls.push(counter());
      return [];
    };
    expect(earlyProbe({ measureLink: false }, true, relay, probe)).toBeUndefined();
    expect(earlyProbe({ measureLink: true }, false, relay, probe)).toBeUndefined();
    expect(earlyProbe({ measureLink: true }, true, undefined, probe)).toBeUndefined();
    expect(calls).toEqual([]);
    expect(earlyProbe({ measureLink: true }, true, relay, probe)).toBeInstanceOf(Promise);
    // The probe reads the relay's own counter.
    expect(calls).toEqual([1234]);
  });

  it('hands over the looks, and a failed probe fails the SST when awaited, not before', async () => {
    const looks = [{ bytes: 16 * MiB, connections: 1, sample: { wireBytes: 8 * MiB, ms: 80 } }];
    await expect(earlyProbe({ measureLink: true }, true, relay, async () => looks)).resolves.toEqual(looks);
    const failing = earlyProbe({ measureLink: true }, true, relay, async () => {
      throw new Error('rsync exit 10');
    });
    // Nothing awaits it for a while (mysqld flushing): vitest fails the run on an unhandled rejection.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(failing).rejects.toThrow('rsync exit 10');
  });

  it('logs what it sent, what it read and how long the copy waited for it', () => {
    const one = { bytes: 16 * MiB, connections: 1, sample: { wireBytes: 8 * MiB, ms: 40 } };
    const wide = { bytes: 32 * MiB, connections: 2, sample: { wireBytes: 32 * MiB, ms: 80 } };
    expect(describeProbe([one], 'while mysqld flushed its tables', 50)).toBe(
      'Link probe: 16.0 MiB of zeros, read 200.0 MiB/s over its second half, while mysqld flushed its tables ' +
        '(the copy waited 0.05 s for it)',
    );
    expect(describeProbe([one, wide], "riding the byte total's pass")).toBe(
      'Link probe: 16.0 MiB of zeros, read 200.0 MiB/s over its second half; then 2 x 32.0 MiB at once, read ' +
        "400.0 MiB/s, riding the byte total's pass",
    );
    expect(describeProbe([{ ...one, sample: undefined }], "riding the byte total's pass")).toBe(
      "Link probe: 16.0 MiB of zeros, no reading (the counter never passed half the probe), riding the byte total's pass",
    );
    // The link is the fastest look: the wide one, or the single one when load slowed the wide one down.
    expect(linkOf([one, wide])).toBe(wide.sample);
    expect(linkOf([one, { ...wide, sample: undefined }])).toBe(one.sample);
    const stalled = { ...wide, sample: { wireBytes: 32 * MiB, ms: 320 } };
    expect(linkOf([one, stalled])).toBe(one.sample);
    expect(linkOf([{ ...one, sample: undefined }])).toBeUndefined();
  });

  it('looks again, wide, only at a fast reading with workers to fill; sized by the data', () => {
    const line = 240 * MiB; // compressBelow(2)
    expect(shouldWiden({ wireBytes: 86 * MiB, ms: 1000 }, 2, line)).toBe(false); // 1 Gbit/s
    expect(shouldWiden({ wireBytes: 150 * MiB, ms: 1000 }, 2, line)).toBe(true);
    // The unshaped veth read by a connection slowed by load (bench, 2026-12-07): it looks again.
    expect(shouldWiden({ wireBytes: 103 * MiB, ms: 1000 }, 2, line)).toBe(true);
    // Past the line already (250 read is ~357 for a long copy): whole files either way, no second look.
    expect(shouldWiden({ wireBytes: 250 * MiB, ms: 1000 }, 2, line)).toBe(false);
    // Many cores, a line far up: a fast reading still below it looks again.
    expect(shouldWiden({ wireBytes: 500 * MiB, ms: 1000 }, 8, 1920 * MiB)).toBe(true);
    expect(shouldWiden({ wireBytes: 150 * MiB, ms: 1000 }, 1, line)).toBe(false);
    expect(shouldWiden(undefined, 4, line)).toBe(false);
    expect(wideProbeBytes(1024 * MiB, 2)).toBe(32 * MiB);
    expect(wideProbeBytes(256 * MiB, 2)).toBe(16 * MiB);
    expect(wideProbeBytes(64 * MiB, 4)).toBe(8 * MiB);
  });

  it("on a link one connection cannot fill, reads what the copy's connections move together", async () => {
    // One connection is CPU-bound at 220 MiB/s, two move 440 MiB/s; the line of an 8-core donor (960 MiB/s)
    // leaves the reading room on both sides (a wide look between 100 and ~670 MiB/s read), so a slow timer on a
    // loaded machine cannot move it out of the band (this fake link runs on real time).
    const link = fakeLink((n) => Math.min(n, 2) * 220 * MiB);
    const looks = await probeOver(link, true, 960 * MiB);
    expect(looks.map((l) => l.connections)).toEqual([1, 2]);
    expect(rateOf(looks[1])).toBeGreaterThan(rateOf(looks[0]) * 1.4);
    expect(link.passes).toEqual(
      [['./sst_link_probe'], ['./sst_link_probe.1'], ['./sst_link_probe.2']].slice(0, 3),
    );
    // The probe files are gone.
    expect(readdirSync(dir)).toEqual([]);
  });

  it('takes one look on a slow link, or when the copy could start (the flush answered)', async () => {
    const slow = fakeLink(() => 60 * MiB);
    const one = await probeOver(slow, true);
    expect(one).toHaveLength(1);
    const fast = fakeLink((n) => n * 300 * MiB);
    const late = await probeOver(fast, false);
    expect(late).toHaveLength(1);
    expect(fast.passes).toHaveLength(1);
  });
});
