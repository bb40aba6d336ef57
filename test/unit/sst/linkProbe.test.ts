import { describe, expect, it } from 'vitest';
import {
  liveProbeBytes,
  PROBE_FILE,
  probePass,
  probeSample,
  slopeSample,
  startReading,
} from '../../../src/sst/linkProbe.js';

describe('link probe', () => {
  it('sends the probe whole and uncompressed into the progress module, never the datadir', () => {
    const pass = probePass('/tmp/sst', 'rsync_tunnel_sst');
    expect(pass.args).toEqual([
      '--quiet',
      '--whole-file',
      '--sparse',
      `./${PROBE_FILE}`,
      'sst-joiner::rsync_tunnel_sst-progress/',
    ]);
    expect(pass.args.join(' ')).not.toContain('--compress');
    expect(pass.bytes).toBe(0);
  });

  it('rates the link by the difference of two probes, which cancels their set-up, never below 1 ms', () => {
    // 1 MiB in 150 ms and 8 MiB in 444 ms: 100 ms of set-up each, 7 MiB in 294 ms = ~23.8 MiB/s (200 Mbit/s).
    expect(probeSample({ bytes: 1 << 20, ms: 142 }, { bytes: 8 << 20, ms: 436 })).toEqual({
      wireBytes: 7 << 20,
      ms: 294,
    });
    expect(probeSample({ bytes: 1 << 20, ms: 90 }, { bytes: 8 << 20, ms: 80 })).toEqual({
      wireBytes: 7 << 20,
      ms: 1,
    });
  });

  it('rides the byte-total pass: the total file first, then the probe, in one connection', () => {
    const pass = probePass('/tmp/sst', 'rsync_tunnel_sst', ['sst_total']);
    expect(pass.name).toBe('byte total and link probe');
    expect(pass.args).toEqual([
      '--quiet',
      '--whole-file',
      '--sparse',
      './sst_total',
      `./${PROBE_FILE}`,
      'sst-joiner::rsync_tunnel_sst-progress/',
    ]);
  });

  it('rates the link by the slope from half the probe to the last rise of the counter', () => {
    const MiB = 1 << 20;
    // Set-up 100 ms, then the socket buffers take 4 MiB at once, then 200 Mbit/s (~23.8 MiB/s: 1 MiB per 42 ms),
    // then rsync's goodbye (the counter stays).
    const readings = [
      { ms: 0, bytes: 0 },
      { ms: 100, bytes: 20_000 },
      { ms: 102, bytes: 4 * MiB },
      ...Array.from({ length: 12 }, (_, i) => ({ ms: 102 + 42 * (i + 1), bytes: (5 + i) * MiB })),
      { ms: 700, bytes: 16 * MiB },
      { ms: 760, bytes: 16 * MiB },
    ];
    const sample = slopeSample(readings, 8 * MiB);
    // From the first reading past 8 MiB (270 ms) to the last rise of the counter (16 MiB at 606 ms): 8 MiB in 336 ms.
    expect(sample).toBeDefined();
    const rate = ((sample?.wireBytes ?? 0) * 1000) / (sample?.ms ?? 1);
    expect(rate / MiB).toBeGreaterThan(20);
    expect(rate / MiB).toBeLessThan(26);
    // The goodbye after the last rise does not count: the same readings with a long tail rate the same.
    expect(slopeSample([...readings, { ms: 5000, bytes: 16 * MiB }], 8 * MiB)).toEqual(sample);
  });

  it('reads a probe that went by within one poll as one poll wide, and nothing when the counter never got there', () => {
    const MiB = 1 << 20;
    const fast = slopeSample(
      [
        { ms: 0, bytes: 0 },
        { ms: 2, bytes: 1 * MiB },
        { ms: 4, bytes: 16 * MiB },
        { ms: 6, bytes: 16 * MiB },
      ],
      8 * MiB,
    );
    expect(fast).toEqual({ wireBytes: 15 * MiB, ms: 2 });
    expect(
      slopeSample(
        [
          { ms: 0, bytes: 0 },
          { ms: 2, bytes: MiB },
        ],
        8 * MiB,
      ),
    ).toBeUndefined();
    expect(slopeSample([], 8 * MiB)).toBeUndefined();
  });

  it('reads a counter from where it stood at the start until stopped, and not after (the root pass as the sample)', async () => {
    let bytes = 5000;
    const grow = setInterval(() => (bytes += 1000), 1);
    const stop = startReading(() => bytes);
    await new Promise((resolve) => setTimeout(resolve, 40));
    const readings = stop();
    clearInterval(grow);
    expect(readings.length).toBeGreaterThan(3);
    // Bytes since the start, by time since the start, both never going back.
    expect(readings[0]?.bytes).toBeLessThan(5000);
    for (let i = 1; i < readings.length; i++) {
      expect(readings[i]?.ms).toBeGreaterThanOrEqual(readings[i - 1]?.ms ?? 0);
      expect(readings[i]?.bytes).toBeGreaterThanOrEqual(readings[i - 1]?.bytes ?? 0);
    }
    expect(readings.at(-1)?.bytes).toBeGreaterThan(0);
    const count = readings.length;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(readings).toHaveLength(count);
  });

  it('probes with 16 MiB, at most an eighth of the data set, never below 8 MiB', () => {
    const MiB = 1 << 20;
    expect(liveProbeBytes(1024 * MiB)).toBe(16 * MiB);
    expect(liveProbeBytes(100 * MiB)).toBe(12 * MiB);
    expect(liveProbeBytes(64 * MiB)).toBe(8 * MiB);
  });
});
