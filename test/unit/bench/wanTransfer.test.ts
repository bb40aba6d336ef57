import { describe, expect, it } from 'vitest';
import { lastTransferSummary, wanPlan } from '../../../src/bench/wanBench.js';

// Lines as mariadbd's error log holds them: the SST script's stderr, prefixed and stamped by mysqld.
const PROBED =
  "WSREP_SST: [INFO] donor: Transfer: whole files + zstd beside delta + zstd (auto: the joiner holds a datadir of this cluster (seqno -1); the link moved 23.6 MiB/s, below the 240.0 MiB/s zstd feeds on 2 core(s); one worker's whole files fill a link below 30.0 MiB/s: the other 1 compute deltas; zstd pays on a slow link) (20261206 16:04:20.123)";
const SPLIT =
  'WSREP_SST: [INFO] donor: Mixed copy: whole files for directory wan_db1, directory wan_db2; deltas for directory wan_db3 (20261206 16:04:29.001)';
const FIXED =
  'WSREP_SST: [INFO] donor: Transfer: whole files + zstd ([sst] transfer = whole) (20261206 16:01:02.000)';

describe('lastTransferSummary', () => {
  it("reads the last SST's choice, the link it measured and a mixed copy's split", () => {
    expect(lastTransferSummary([FIXED, 'other', PROBED, 'more', SPLIT, ''].join('\n'))).toBe(
      'whole files + zstd beside delta + zstd; link 23.6 MiB/s; whole files for directory wan_db1, directory wan_db2; deltas for directory wan_db3',
    );
  });

  it('does not take an earlier SST’s split for a later one, and says nothing without a Transfer line', () => {
    expect(lastTransferSummary([PROBED, SPLIT, FIXED].join('\n'))).toBe('whole files + zstd');
    expect(lastTransferSummary('WSREP_SST: [INFO] donor: Sending 1.0 GiB\n')).toBeUndefined();
  });
});

describe('wanPlan', () => {
  it('runs our variants with copy = single unless --wan-copy says two-phase', () => {
    expect(wanPlan({})).toEqual({
      rates: [200, 1000, 0],
      variants: undefined,
      scenarios: ['full', 'rejoin'],
      copy: 'single',
      rounds: 1,
      mib: 1024,
    });
    expect(
      wanPlan({ wanCopy: 'two-phase', wanRates: '0', wanVariants: 'ours-whole, ours-auto', rounds: '3' }),
    ).toMatchObject({ copy: 'two-phase', rates: [0], variants: ['ours-whole', 'ours-auto'], rounds: 3 });
  });

  it('names the option that is wrong', () => {
    expect(() => wanPlan({ wanCopy: 'double' })).toThrow(
      'Invalid value for --wan-copy: "double" (use single or two-phase)',
    );
    expect(() => wanPlan({ wanScenarios: 'rejoin,append' })).toThrow('Invalid value for --wan-scenarios');
    expect(() => wanPlan({ wanVariants: 'ours,ours-auto' })).toThrow(
      'Invalid value for --wan-variants: "ours"',
    );
    expect(() => wanPlan({ wanRates: '200,fast' })).toThrow('Invalid value for --wan-rates: "fast"');
  });
});
