import { describe, expect, it } from 'vitest';
import {
  chooseCompression,
  chooseTransfer,
  compressBelow,
  cpuLanes,
  compressionBothHave,
  deltaBelow,
  deltaBlockSize,
  deltaTakes,
  describeChoice,
  mixedBelow,
  mixedRates,
  parseJoinerCompressions,
  probeSizes,
  PROBE_READS,
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
const GiB = 1024 * MiB;
const auto: TransferFacts = {
  setting: 'auto',
  compress: undefined,
  compressOff: false,
  clusterUuid: CLUSTER,
  joiner: undefined,
  cores: 2,
};

describe('grastate and the datadir comment', () => {
  it('reads uuid and seqno from grastate.dat and carries them through the module comment', () => {
    const text = `# GALERA saved state\nversion: 2.1\nuuid:    ${CLUSTER.toUpperCase()}\nseqno:   -1\nsafe_to_bootstrap: 0\n`;
    const state = parseGrastate(text);
    expect(state).toEqual({ uuid: CLUSTER, seqno: -1n });
    expect(parseDatadirComment(datadirComment(state))).toEqual(state);
    const comment = datadirComment(state, ['zstd', 'lz4']);
    expect(comment).toBe(`datadir uuid=${CLUSTER} seqno=-1 compress=zstd,lz4`);
    expect(parseDatadirComment(comment)).toEqual(state);
    expect(parseJoinerCompressions(comment)).toEqual(['zstd', 'lz4']);
    expect(parseJoinerCompressions(datadirComment(undefined, ['zlib']))).toEqual(['zlib']);
    expect(parseJoinerCompressions('datadir')).toBeUndefined();
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
  const FAST = 400 * MiB; // ~3.4 Gbit/s: above compressBelow(2) = 240 MiB/s
  const SLOW = 24 * MiB; // ~200 Mbit/s
  const VERY_SLOW = 8 * MiB; // ~70 Mbit/s
  // A probe that read what a link of `rate` shows a probe (PROBE_READS of its rate during a long copy).
  const probe = (rate: number): { wireBytes: number; ms: number } => ({
    wireBytes: 4 * MiB,
    ms: (4 * MiB * 1000) / (rate * PROBE_READS),
  });
  const ours = { ...auto, joiner: { uuid: CLUSTER, seqno: 1200n }, dataBytes: GiB };
  const both = ['zstd', 'lz4', 'zlibx', 'zlib'];

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

  it('auto: waits for the link probe when the link decides anything', () => {
    expect(chooseTransfer({ ...auto, dataBytes: GiB })).toMatchObject({ measureLink: true, delta: false });
    expect(chooseTransfer(ours)).toMatchObject({ measureLink: true, delta: false });
    expect(chooseTransfer(ours).reason).toContain("the link's speed decides the rest");
    // Compression settled and no datadir of this cluster: nothing left for the link to decide.
    expect(chooseTransfer({ ...auto, dataBytes: GiB, compressOff: true })).toMatchObject({
      measureLink: false,
    });
  });

  it('auto, very slow link: deltas + zstd against a datadir of this cluster, whatever its seqno', () => {
    for (const seqno of [1200n, -1n]) {
      const c = chooseTransfer({ ...ours, joiner: { uuid: CLUSTER, seqno }, link: probe(VERY_SLOW) });
      expect(c).toMatchObject({ delta: true, compress: 'auto', measureLink: false });
      expect(c.reason).toMatch(
        /^delta \+ compression \(auto: the joiner holds a datadir of this cluster \(seqno -?\d+\); the link moved 5\.6 MiB\/s on the probe \(~8\.0 MiB\/s for a long copy\), below the 240\.0 MiB\/s zstd feeds on 2 core\(s\); deltas pay below 14\.0 MiB\/s;/,
      );
    }
    const listed = chooseTransfer({
      ...ours,
      link: probe(VERY_SLOW),
      donorCompressions: both,
      joinerCompressions: both,
    });
    expect(listed).toMatchObject({ delta: true, compress: 'zstd' });
    expect(listed.reason).toContain('zstd pays on a slow link');
  });

  it("auto, slow link (not slow enough for the donor's checksums): whole files + zstd, even to this cluster", () => {
    const c = chooseTransfer({ ...ours, link: probe(SLOW), joinerCompressions: both });
    expect(c).toMatchObject({ delta: false, compress: 'zstd' });
    expect(c.reason).toContain(
      "deltas pay only below 14.0 MiB/s (the donor's checksums cost more than the link saves)",
    );
    expect(deltaBelow(2)).toBe(14 * MiB);
  });

  it('auto, a link one whole-file worker fills, two workers: whole files + zstd beside deltas + zstd', () => {
    const c = chooseTransfer({ ...ours, workers: 2, link: probe(SLOW), joinerCompressions: both });
    expect(c).toMatchObject({ mixed: true, delta: true, compress: 'zstd', measureLink: false });
    // 24 MiB/s of wire is 96 MiB/s of data at 0.25 (below one core's 120 MiB/s of zstd); deltas 64 MiB/s a core.
    expect(c.mixedRates?.whole).toBeCloseTo(96 * MiB, -1);
    expect(c.mixedRates?.delta).toBe(64 * MiB);
    expect(c.reason).toMatch(
      /^whole files \+ zstd beside delta \+ zstd \(auto: .*one worker's whole files fill a link below 30\.0 MiB\/s: 2 more compute deltas beside it;/,
    );
    expect(mixedBelow()).toBe(30 * MiB);
    // 1 Gbit/s: one worker's zstd, not the link, is the bottleneck: whole files + zstd on every worker.
    const gbit = chooseTransfer({ ...ours, workers: 2, link: probe(119 * MiB), joinerCompressions: both });
    expect(gbit).toMatchObject({ delta: false, compress: 'zstd' });
    expect(gbit.mixed).toBeUndefined();
    // One worker, or no datadir of this cluster: nothing to mix.
    expect(chooseTransfer({ ...ours, workers: 1, link: probe(SLOW) }).mixed).toBeUndefined();
    expect(
      chooseTransfer({ ...ours, joiner: undefined, workers: 2, link: probe(SLOW) }).mixed,
    ).toBeUndefined();
    // A very slow link: deltas on every worker (they send the fewest bytes).
    const verySlow = chooseTransfer({ ...ours, workers: 2, link: probe(VERY_SLOW) });
    expect(verySlow).toMatchObject({ delta: true });
    expect(verySlow.mixed).toBeUndefined();
  });

  it('a mixed copy: the whole-file rate is capped by one core of zstd; a delta worker takes only what it finishes in time', () => {
    expect(mixedRates(8 * MiB)).toEqual({ whole: 32 * MiB, delta: 64 * MiB });
    expect(mixedRates(100 * MiB).whole).toBe(120 * MiB);
    const rates = { whole: 96 * MiB, delta: 64 * MiB };
    // 340 MiB by deltas: 5.3 s; the whole-file side's other 790 MiB: 8.2 s. Taken.
    expect(deltaTakes(340 * MiB, 790 * MiB, rates)).toBe(true);
    // The last 300 MiB by deltas (4.7 s) while the whole side has 300 MiB (3.1 s) left: left to the whole side.
    expect(deltaTakes(300 * MiB, 300 * MiB, rates)).toBe(false);
    expect(deltaTakes(10 * MiB, 0, rates)).toBe(false);
    expect(describeChoice({ delta: true, compress: 'zstd', mixed: true })).toBe(
      'whole files + zstd beside delta + zstd',
    );
    expect(describeChoice({ delta: true, compress: undefined, mixed: true })).toBe(
      'whole files beside delta',
    );
  });

  it('auto, slow link, no datadir of this cluster: whole files + zstd', () => {
    const other = { uuid: '11111111-2222-3333-4444-555555555555', seqno: 5n };
    for (const joiner of [undefined, other]) {
      const c = chooseTransfer({ ...ours, joiner, link: probe(SLOW), joinerCompressions: both });
      expect(c).toMatchObject({ delta: false, compress: 'zstd' });
    }
    expect(chooseTransfer({ ...ours, joiner: other, link: probe(SLOW) }).reason).toContain(
      "the joiner's datadir is of another cluster",
    );
  });

  it('auto, fast link: whole files, uncompressed, even against a datadir of this cluster', () => {
    const c = chooseTransfer({ ...ours, link: probe(FAST), joinerCompressions: both });
    expect(c).toMatchObject({ delta: false, compress: undefined });
    expect(c.reason).toContain('deltas pay only below');
    expect(c.reason).toContain('compression would cost more CPU time than the link saves');
  });

  it("auto: reads the probe as the share of a long copy's rate it is (what the wan bench's probes read)", () => {
    const read = (mibs: number): { wireBytes: number; ms: number } => ({ wireBytes: mibs * MiB, ms: 1000 });
    // 1 Gbit/s (119 MiB/s) read as 72-110 MiB/s: zstd pays.
    for (const mibs of [72, 110]) expect(chooseTransfer({ ...auto, link: read(mibs) }).compress).toBe('auto');
    // The unshaped veth read as 233-550 MiB/s: whole files.
    for (const mibs of [233, 550])
      expect(chooseTransfer({ ...auto, link: read(mibs) }).compress).toBeUndefined();
    // 200 Mbit/s (23.8 MiB/s) read as 17 MiB/s, to a joiner of this cluster on 2 cores: ~24 MiB/s for the copy,
    // below the mixed copy's 30 MiB/s and above the 14 MiB/s under which deltas go on every worker.
    const mixed = chooseTransfer({ ...ours, workers: 2, link: read(17) });
    expect(mixed).toMatchObject({ mixed: true });
    expect(mixed.reason).toContain(
      'the link moved 17.0 MiB/s on the probe (~24.3 MiB/s for a long copy), below',
    );
  });

  it('auto: the thresholds scale with the cores', () => {
    expect(compressBelow(2)).toBe(240 * MiB);
    expect(chooseTransfer({ ...ours, link: probe(300 * MiB) }).compress).toBeUndefined();
    expect(chooseTransfer({ ...ours, cores: 4, link: probe(300 * MiB) }).compress).toBe('auto');
    expect(chooseTransfer({ ...ours, link: probe(20 * MiB) }).delta).toBe(false);
    expect(chooseTransfer({ ...ours, cores: 4, link: probe(20 * MiB) }).delta).toBe(true);
  });

  it('auto: the thresholds count only the cores backup-threads connections can use', () => {
    expect(cpuLanes(16, 2)).toBe(2);
    expect(cpuLanes(2, 16)).toBe(2);
    expect(cpuLanes(4, undefined)).toBe(4);
    expect(cpuLanes(0, 0)).toBe(1);
    // A 16-core donor with backup-threads = 2 on a ~1 GiB/s link: two rsyncs feed zstd ~240 MiB/s, so whole files.
    const tenGbe = chooseTransfer({ ...ours, cores: 16, workers: 2, link: probe(1000 * MiB) });
    expect(tenGbe.compress).toBeUndefined();
    expect(tenGbe.reason).toMatch(/at least the 240\.0 MiB\/s zstd feeds on 2 core\(s\)/);
    // The same donor with a connection per core: zstd pays below 1.9 GiB/s.
    expect(chooseTransfer({ ...ours, cores: 16, workers: 16, link: probe(1000 * MiB) }).compress).toBe(
      'auto',
    );
    // Deltas likewise: 20 MiB/s is below deltaBelow(4) (deltas on every worker), not below deltaBelow(2) (two
    // workers: a mixed copy instead).
    const four = chooseTransfer({ ...ours, cores: 4, workers: 4, link: probe(20 * MiB) });
    expect([four.delta, four.mixed]).toEqual([true, undefined]);
    const two = chooseTransfer({ ...ours, cores: 4, workers: 2, link: probe(20 * MiB) });
    expect([two.delta, two.mixed]).toEqual([true, true]);
  });

  it('auto: a slow [sst] rlimit settles it without a probe; a data set too small to probe goes whole', () => {
    expect(chooseTransfer({ ...ours, rateLimit: 10 * MiB })).toMatchObject({
      delta: true,
      measureLink: false,
    });
    expect(chooseTransfer({ ...ours, rateLimit: 40 * MiB })).toMatchObject({
      delta: false,
      compress: 'auto',
      measureLink: false,
    });
    expect(chooseTransfer({ ...ours, rateLimit: 10 * GiB })).toMatchObject({ measureLink: true });
    const small = chooseTransfer({ ...ours, dataBytes: 20 * MiB });
    expect(small).toMatchObject({ delta: false, compress: undefined, measureLink: false });
    expect(small.reason).toContain('too little for the link');
    expect(probeSizes(20 * MiB)).toEqual([]);
    expect(probeSizes(63 * MiB)).toEqual([]);
    expect(probeSizes(100 * MiB)).toEqual([MiB, 8 * MiB]);
    expect(probeSizes(GiB)).toEqual([MiB, 8 * MiB, 64 * MiB]);
  });

  it('auto: [sst] compress overrides the compression, not the deltas', () => {
    expect(chooseTransfer({ ...ours, compress: 'lz4', link: probe(VERY_SLOW) })).toMatchObject({
      delta: true,
      compress: 'lz4',
    });
    const off = chooseTransfer({ ...ours, compressOff: true, link: probe(VERY_SLOW) });
    expect(off).toMatchObject({ delta: true, compress: undefined });
    expect(off.reason).toContain('[sst] compress = off');
  });

  it("auto: falls back, logged, when a side's rsync lacks zstd", () => {
    const c = chooseTransfer({
      ...ours,
      link: probe(VERY_SLOW),
      donorCompressions: both,
      joinerCompressions: ['lz4', 'zlibx', 'zlib'],
    });
    expect(c).toMatchObject({ compress: 'lz4' });
    expect(c.reason).toContain("the joiner's rsync lacks zstd: lz4 instead");
    expect(compressionBothHave('zstd', ['zlib'], ['zstd', 'zlib'])).toEqual({
      compress: 'zlib',
      note: "the donor's rsync lacks zstd: zlib instead",
    });
    expect(compressionBothHave('zstd', both, [])).toMatchObject({ compress: undefined });
    expect(compressionBothHave('zstd', both, undefined)).toMatchObject({ compress: 'auto' });
  });
});

describe('chooseCompression() (an original joiner: the root pass was the sample)', () => {
  const first = { ...chooseTransfer(auto) };
  it('lets rsync negotiate compression on a slow link, none on a fast one', () => {
    const slow = chooseCompression(first, { wireBytes: 96 * MiB, ms: 4000 }, 2);
    expect(slow).toMatchObject({ compress: 'auto', changed: true });
    expect(slow.reason).toMatch(/24\.0 MiB\/s on the wire, below 240\.0 MiB\/s: the link is the bottleneck/);
    const fast = chooseCompression(first, { wireBytes: 960 * MiB, ms: 2000 }, 2);
    expect(fast).toMatchObject({ compress: undefined, changed: false });
  });

  it('does not judge the link from a sample too small to mean anything: the cheap compression', () => {
    const tiny = chooseCompression(first, { wireBytes: MiB, ms: 5000 });
    expect(tiny).toMatchObject({ compress: 'lz4', changed: true });
    expect(tiny.reason).toContain('too little to judge the link');
    // Short, but already past the line: a fast link, whatever the rest of the pass would have shown.
    const lan = chooseCompression(first, { wireBytes: 108 * MiB, ms: 100 }, 2);
    expect(lan).toMatchObject({ compress: undefined, changed: false });
    expect(lan.reason).toMatch(/1\.1 GiB\/s on the wire, at least 240\.0 MiB\/s/);
    // Short and below the line: too short to tell the link from rsync's set-up.
    expect(chooseCompression(first, { wireBytes: 16 * MiB, ms: 150 }, 2)).toMatchObject({ compress: 'lz4' });
  });
});

describe('delta blocks', () => {
  it('uses 1 KiB blocks, larger only when a pass would have more than a million', () => {
    expect(deltaBlockSize(0)).toBe(1024);
    expect(deltaBlockSize(GiB)).toBe(1024);
    expect(deltaBlockSize(GiB + 1)).toBe(2048);
    expect(deltaBlockSize(10 * GiB)).toBe(16 * 1024);
    expect(deltaBlockSize(1024 * GiB)).toBe(128 * 1024);
    expect(deltaBlockSize(GiB, 4096)).toBe(4096);
    expect(transferFlags({ delta: true, compress: undefined }, GiB, 16384)).toEqual(['--block-size=16384']);
  });
});

describe('flags and figures', () => {
  it('builds whole-file, delta and compressed flags', () => {
    expect(transferFlags({ delta: false, compress: undefined })).toEqual(['--whole-file']);
    expect(transferFlags({ delta: true, compress: 'zstd' }, 4 * GiB)).toEqual([
      '--block-size=4096',
      '--compress',
      '--compress-choice=zstd',
      '--compress-level=1',
    ]);
    expect(transferFlags({ delta: true, compress: 'auto' })).toEqual(['--block-size=1024', '--compress']);
  });

  it('defaults to delta only under the _wan script name', () => {
    expect(defaultTransfer('wsrep_sst_rsync_tunnel_wan')).toBe('delta');
    expect(defaultTransfer('wsrep_sst_rsync_tunnel')).toBe('auto');
    expect(defaultTransfer(undefined)).toBe('auto');
  });

  it('says bytes on the wire against bytes of data', () => {
    expect(wireVersusData(1024 * MiB, 52 * MiB)).toBe('1.0 GiB of data, 52.0 MiB on the wire (0.05x)');
  });
});
