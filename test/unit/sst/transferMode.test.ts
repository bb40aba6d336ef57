import { describe, expect, it } from 'vitest';
import {
  chooseCompression,
  chooseTransfer,
  COMPRESS_BELOW,
  datadirComment,
  parseDatadirComment,
  parseGrastate,
  transferFlags,
  wireVersusData,
  type TransferFacts,
} from '../../../src/sst/transferMode.js';
import { defaultTransfer } from '../../../src/config/transferSetting.js';

const CLUSTER = '6a2c0f7e-1b2d-11ef-8a55-0242ac120002';
const MiB = 1024 * 1024;
const auto: TransferFacts = {
  setting: 'auto',
  compress: undefined,
  compressOff: false,
  clusterUuid: CLUSTER,
  joiner: undefined,
};

describe('grastate and the datadir comment', () => {
  it('reads uuid and seqno from grastate.dat and carries them through the module comment', () => {
    const text = `# GALERA saved state\nversion: 2.1\nuuid:    ${CLUSTER.toUpperCase()}\nseqno:   -1\nsafe_to_bootstrap: 0\n`;
    const state = parseGrastate(text);
    expect(state).toEqual({ uuid: CLUSTER, seqno: -1n });
    expect(parseDatadirComment(datadirComment(state))).toEqual(state);
  });

  it('knows nothing from an empty or zero grastate, or from an original joiner comment-less listing', () => {
    expect(parseGrastate('')).toBeUndefined();
    expect(parseGrastate('uuid: 00000000-0000-0000-0000-000000000000\nseqno: -1\n')).toBeUndefined();
    expect(datadirComment(undefined)).toBe('datadir');
    expect(parseDatadirComment('datadir')).toBeUndefined();
    expect(parseDatadirComment(undefined)).toBeUndefined();
  });
});

describe('chooseTransfer()', () => {
  it('does what a fixed [sst] transfer says, with the compression [sst] compress names', () => {
    expect(chooseTransfer({ ...auto, setting: 'whole' })).toMatchObject({
      delta: false,
      compress: undefined,
      measureLink: false,
      reason: 'whole files ([sst] transfer = whole)',
    });
    expect(chooseTransfer({ ...auto, setting: 'delta', compress: 'lz4' })).toMatchObject({
      delta: true,
      compress: 'lz4',
      reason: 'delta + lz4 ([sst] transfer = delta)',
    });
  });

  it('auto: deltas only against a datadir of this cluster', () => {
    const same = chooseTransfer({ ...auto, joiner: { uuid: CLUSTER, seqno: 1200n } });
    expect(same.delta).toBe(true);
    expect(same.reason).toContain('the joiner holds a datadir of this cluster (seqno 1200)');
    const other = chooseTransfer({
      ...auto,
      joiner: { uuid: '11111111-2222-3333-4444-555555555555', seqno: 5n },
    });
    expect(other.delta).toBe(false);
    expect(other.reason).toContain("the joiner's datadir is of another cluster");
    expect(chooseTransfer(auto).delta).toBe(false);
  });

  it('auto: measures the link unless compression is settled by [sst] compress or a slow rlimit', () => {
    expect(chooseTransfer(auto)).toMatchObject({ compress: undefined, measureLink: true });
    expect(chooseTransfer({ ...auto, compressOff: true })).toMatchObject({
      compress: undefined,
      measureLink: false,
    });
    expect(chooseTransfer({ ...auto, compress: 'lz4' })).toMatchObject({
      compress: 'lz4',
      measureLink: false,
    });
    expect(chooseTransfer({ ...auto, rateLimit: 10 * MiB })).toMatchObject({
      compress: 'zstd',
      measureLink: false,
    });
    expect(chooseTransfer({ ...auto, rateLimit: 10 * COMPRESS_BELOW })).toMatchObject({ measureLink: true });
  });
});

describe('chooseCompression()', () => {
  const first = { ...chooseTransfer(auto) };
  it('compresses the remaining passes with zstd on a slow link, with lz4 on a fast one', () => {
    const slow = chooseCompression(first, { wireBytes: 96 * MiB, ms: 4000 });
    expect(slow).toMatchObject({ compress: 'zstd', changed: true });
    expect(slow.reason).toMatch(/24\.0 MiB\/s on the wire, below 60\.0 MiB\/s: the link is the bottleneck/);
    const fast = chooseCompression(first, { wireBytes: 96 * MiB, ms: 500 });
    expect(fast).toMatchObject({ compress: 'lz4', changed: true });
    expect(fast.reason).toMatch(/^whole files \+ lz4 for the remaining passes \(auto: .*192\.0 MiB\/s/);
  });

  it('does not judge the link from a sample too small to mean anything: the cheap compression', () => {
    const tiny = chooseCompression(first, { wireBytes: MiB, ms: 5000 });
    expect(tiny).toMatchObject({ compress: 'lz4', changed: true });
    expect(tiny.reason).toContain('too little to judge the link');
  });
});

describe('flags and figures', () => {
  it('builds whole-file, delta and compressed flags', () => {
    expect(transferFlags({ delta: false, compress: undefined })).toEqual(['--whole-file']);
    expect(transferFlags({ delta: true, compress: 'zstd' })).toEqual([
      '--block-size=16384',
      '--compress',
      '--compress-choice=zstd',
      '--compress-level=1',
    ]);
    expect(transferFlags({ delta: true, compress: 'auto' })).toEqual(['--block-size=16384', '--compress']);
  });

  it('defaults to delta only under the _wan script name', () => {
    expect(defaultTransfer('wsrep_sst_rsync_tunnel_wan')).toBe('delta');
    expect(defaultTransfer('wsrep_sst_rsync_tunnel')).toBe('whole');
    expect(defaultTransfer(undefined)).toBe('whole');
  });

  it('says bytes on the wire against bytes of data', () => {
    expect(wireVersusData(1024 * MiB, 52 * MiB)).toBe('1.0 GiB of data, 52.0 MiB on the wire (0.05x)');
  });
});
