import { describe, expect, it } from 'vitest';
import { benchPlan } from '../../../src/bench/run.js';
import { GiB, type RunRecord } from '../../../src/bench/record.js';
import { renderSummary, summarize } from '../../../src/bench/summary.js';
import { fmt, fmtSpread, renderTable } from '../../../src/bench/table.js';

describe('renderTable()', () => {
  it('aligns columns, right-aligns numbers and rules the heading', () => {
    const text = renderTable(
      [{ title: 'name' }, { title: 'MB/s', align: 'right' }],
      [
        ['socat', '743'],
        ['sst-tunnel', '1020'],
      ],
    );
    expect(text).toBe(
      ['name        MB/s', '----------  ----', 'socat        743', 'sst-tunnel  1020'].join('\n'),
    );
  });
  it('fills missing cells and formats missing numbers as a dash', () => {
    expect(renderTable([{ title: 'a' }, { title: 'b' }], [['x']])).toBe('a  b\n-  -\nx');
    expect(fmt(Number.NaN)).toBe('–');
    expect(fmt(undefined)).toBe('–');
    expect(fmt(1.005, 1)).toBe('1.0');
    expect(fmtSpread({ median: 2, min: 1, max: 3 }, 1)).toBe('2.0 [1.0–3.0]');
    expect(fmtSpread({ median: 2, min: 2, max: 2 })).toBe('2');
  });
});

const run = (
  variant: string,
  round: number,
  wallS: number,
  cpu?: [number, number],
  error?: string,
): RunRecord => ({
  suite: 'tunnel',
  dataset: 'stream',
  variant,
  name: variant,
  round,
  bytes: 2 * GiB,
  wallS,
  ...(cpu !== undefined && {
    cost: { donorCpuS: cpu[0], joinerCpuS: cpu[1], donorRssBytes: 50e6, joinerRssBytes: 60e6 },
  }),
  ...(error !== undefined && { error }),
});

describe('summarize()', () => {
  const records = [
    run('socat-b128k', 1, 2, [1, 1]),
    run('ours', 1, 1, [1, 2]),
    run('socat-b128k', 2, 4, [2, 2]),
    run('ours', 2, 5, [2, 2], 'sink did not see every stream end'),
    run('socat-b128k', 3, 3, [1.5, 1.5]),
    run('ours', 3, 2, [1, 2]),
  ];
  const rows = summarize(records);
  const ours = rows.find((r) => r.variant === 'ours');
  it('keeps one row per variant in first-seen order and counts failures', () => {
    expect(rows.map((r) => r.variant)).toEqual(['socat-b128k', 'ours']);
    expect(ours?.runs).toBe(3);
    expect(ours?.failures).toBe(1);
  });
  it('takes CPU per GiB by side from the successful runs', () => {
    expect(ours?.donorCpuPerGiB).toBe(0.5);
    expect(ours?.joinerCpuPerGiB).toBe(1);
    expect(ours?.tunnelCpuPerGiB).toBe(1.5);
    expect(ours?.joinerRssMB).toBe(60);
  });
  it('pairs ratios by round against the reference and skips the failed round', () => {
    // Rounds 1 and 3: 2/1 and 3/2 -> median 1.75.
    expect(ours?.speedVsRef).toBe(1.75);
    // CPU: 3/2 and 3/3 -> 1.25.
    expect(ours?.cpuVsRef).toBe(1.25);
    expect(rows[0]?.speedVsRef).toBe(1);
  });
  it('renders a table headed by the reference', () => {
    const text = renderSummary('tunnel', rows);
    expect(text.split('\n')[0]).toBe('tunnel (ratios: paired medians vs "socat-b128k" in the same round)');
    expect(text).toContain('0.50+1.00=1.50');
    expect(text).toContain('2/3');
    expect(renderSummary('sst', rows)).toBe('');
  });
});

describe('benchPlan()', () => {
  it('defaults to every suite, 2 GiB and 3 rounds; --quick shrinks and leaves the SST out', () => {
    expect(benchPlan({})).toMatchObject({
      gib: 2,
      rounds: 3,
      suites: ['tunnel', 'rsync', 'sst'],
      quick: false,
    });
    expect(benchPlan({ quick: true })).toMatchObject({ gib: 0.25, rounds: 1, suites: ['tunnel', 'rsync'] });
    expect(benchPlan({ only: 'sst', size: '8', rounds: '5' })).toMatchObject({
      gib: 8,
      rounds: 5,
      suites: ['sst'],
    });
  });
  it('takes --variants and --datasets as comma-separated known names', () => {
    expect(benchPlan({ variants: 'ours, ours-pipe', datasets: 'large' })).toMatchObject({
      variants: ['ours', 'ours-pipe'],
      datasets: ['large'],
    });
    expect(benchPlan({}).variants).toBeUndefined();
    expect(() => benchPlan({ variants: 'ours,wireguard' })).toThrow(
      'Invalid value for --variants: "wireguard" (use none, plain, ours, ours-w2, ours-pipe, socat, socat-b128k, stunnel, comma-separated)',
    );
    expect(() => benchPlan({ datasets: ',' })).toThrow(
      'Invalid value for --datasets: "," (use large, small, smallpar, comma-separated)',
    );
  });

  it('names the option that is wrong', () => {
    expect(() => benchPlan({ only: 'disk' })).toThrow(
      'Invalid value for --only: "disk" (use tunnel, rsync, sst, wan or readonly)',
    );
    expect(() => benchPlan({ size: '-1' })).toThrow(
      'Invalid value for --size: "-1" is not a positive number',
    );
    expect(() => benchPlan({ rounds: '1.5' })).toThrow(
      'Invalid value for --rounds: "1.5" is not a whole number',
    );
  });
});
