import { describe, expect, it } from 'vitest';
import { PROBE_FILE, probePass, probeSample } from '../../../src/sst/linkProbe.js';

describe('link probe', () => {
  it('sends the probe whole and uncompressed into the progress module, never the datadir', () => {
    const pass = probePass('/tmp/sst', 'rsync_tunnel_sst');
    expect(pass.args).toEqual([
      '--quiet',
      '--whole-file',
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
});
