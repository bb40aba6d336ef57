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

  it("times the probe net of the connection's set-up, never below 1 ms", () => {
    expect(probeSample(4 << 20, 300, 100)).toEqual({ wireBytes: 4 << 20, ms: 200 });
    expect(probeSample(4 << 20, 80, 100)).toEqual({ wireBytes: 4 << 20, ms: 1 });
  });
});
