/**
 * How the donor's data passes move bytes: whole files, rsync deltas against the joiner's own files, rsync
 * compression, or both; and `auto`, which chooses from what can be known at the time. Pure: facts in, a choice
 * with its one-line reason and rsync's flags out. The donor role gathers the facts and runs the passes; #22's
 * compare-instead-of-send passes reuse `transferFlags`.
 *
 * Delta (`[sst] transfer = delta`, or the method `rsync_tunnel_wan`, named after MariaDB's `rsync_wan`):
 * - no `--whole-file`: rsync's delta algorithm uses the joiner's existing file as the basis. A file the joiner
 *   lacks is sent whole anyway (no basis), so delta costs nothing on an empty joiner but the joiner's reads.
 * - `--ignore-times` is kept (never size+mtime): every file goes through the delta algorithm, and rsync checks
 *   each rebuilt file against the donor's whole-file checksum (and re-sends it on a mismatch). A joiner file that
 *   happens to have the donor's size and mtime but other bytes (a crash mid-write, a restored copy) is therefore
 *   never skipped. Skipping by rsync's quick check would save nothing here anyway: the joiner's mariadbd wrote
 *   its own files after its last SST, so their mtimes never match the donor's. `--checksum` would also be safe,
 *   but reads every unchanged file twice on each side: for InnoDB, where nearly every file changes a little,
 *   that is pure cost.
 * - `--inplace` is kept: the joiner rewrites only the blocks that changed, needs no temporary copy of a 10 GiB
 *   tablespace (the disk space it may not have), and InnoDB changes pages where they are. A pass cut short
 *   leaves a half-updated file, like a whole-file pass cut short does: the joiner reports success only when the
 *   completion marker arrives, which the donor sends after every pass succeeded, and the next SST compares every
 *   file again (--ignore-times).
 * - blocks of 1 KiB (deltaBlockSize), smaller than an InnoDB page: an UPDATE rewrites a page's header, trailer,
 *   directory and the row, not the whole 16 KiB, and a page split moves rows, which rsync's rolling checksum
 *   finds at any offset. Measured on the bench's rows after one row in 20 changed (BENCHMARKS.md, issue #17
 *   second run): literal data 66% of the tables with 16 KiB blocks (one a page), 53% with 4 KiB, 36% with 2 KiB,
 *   27% with 1 KiB, 17% with 512 B; rsync's CPU grew ~20% from 16 KiB to 1 KiB. The joiner sends ~10 bytes of
 *   checksums per block (1% of the data at 1 KiB, the other way on the link) and the donor's rsync holds them
 *   in memory, so a pass with more than DELTA_MAX_BLOCKS blocks' worth of data gets larger blocks.
 *
 * Compression (`[sst] compress`): rsync's own, per connection, on the literal data only (matched blocks are not
 * re-sent, so delta and compression add up: 1 KiB deltas + zstd sent 0.07 of those tables, whole files + zstd
 * 0.18). zstd at level 1: level 3 made 3-5% fewer bytes (on whole tables and on delta literals alike) for 2.2x
 * the CPU (`zstd -b1 -e6` on the bench's rows: 262 MB/s at level 1, 118 at 3), which a 2-core donor does not
 * have at 1 Gbit/s; at 200 Mbit/s the 5% are ~0.2 s of a 10 s SST.
 *
 * auto: one decision before the first data pass, logged in one line with its reason (chooseTransfer).
 * - The link: the donor sends a probe of zeros (linkProbe: 16 MiB, whole and uncompressed, into our joiner's
 *   private progress module) in the same connection as the byte total, and reads the rate live from the relay's
 *   counter over the probe's second half (the socket buffers fill during the first; the set-up is before it). The
 *   link is "slow" below compressBelow(cores): what rsync's zstd (level 1) plus TLS can feed per core of this CPU
 *   times the cores the copy's connections can use (cpuLanes: backup-threads, at most the cores). Measured on
 *   the 2-core bench host (issue #17): zstd beat whole files 2.6x at 1 Gbit/s (125 MB/s) and lost 1.4x on the
 *   unshaped veth (whole files moved ~470 MB/s, zstd ~320 MB/s of data, CPU-bound): the crossover sits near
 *   the zstd data rate, and the threshold at 120 MB/s a core (240 MB/s, ~1.9 Gbit/s here) leaves room for the
 *   probe's error on both sides. lz4 never won a measured link against
 *   zstd (rsync's lz4 works in small blocks: at 1 Gbit/s it took 5.0 s to zstd's 3.9 s), so auto uses it only as
 *   the fallback when a side's rsync lacks zstd.
 * - Deltas when the joiner holds a datadir of this cluster (its grastate.dat uuid, from its module comment):
 *   deltas + zstd cut the bytes on the wire 2x against whole files + zstd even when changes are spread over every
 *   page (0.105 vs 0.21 of the data), but the donor's rsync spends ~15 s of CPU a GiB on rolling checksums. So:
 *   - below deltaBelow(cores) (~120 Mbit/s on 2 cores) the link is the bottleneck even for deltas: deltas on every
 *     worker;
 *   - below mixedBelow() (~250 Mbit/s), with two workers or more, one worker's whole files + zstd fill the link
 *     by themselves: that worker sends whole files (the file classes, then the largest directories) and
 *     backup-threads more compute deltas for the largest directories (or parts) they can finish in time
 *     (mixedPool.ts), so the link and the cores work at once. The whole-file worker is one more than
 *     backup-threads because it mostly waits on the link: at 200 Mbit/s on 2 cores one delta worker beside it
 *     left a third of the CPU idle while the link carried whole files deltas could have replaced;
 *   - faster links: whole files (with zstd when slow), since the checksums would cost more than the link saves.
 *   The joiner's seqno is logged, but not used: how many transactions came after it says little about how many
 *   pages changed (the bench's 12 UPDATEs touched 79% of the pages), and a crashed joiner's seqno is -1 anyway.
 * - Compression: zstd on a slow link, none on a fast one; `[sst] compress` (an algorithm, or off) overrides it.
 *   The algorithm must be in both sides' rsync: our joiner lists its rsync's in its module comment; when a side
 *   lacks zstd auto falls back to lz4, zlibx, zlib in that order (logged); when the joiner does not say (an
 *   original joiner), rsync negotiates (`--compress`).
 * - `[sst] rlimit` below compressBelow: the link is slow without a probe. An original joiner (no progress module
 *   to probe into): the first pass (the datadir root) is the sample, sent whole and uncompressed, and
 *   chooseCompression decides for the passes after it.
 */
import type { TransferSetting } from '../config/transferSetting.js';
import { formatBytes } from './roleContext.js';

/** The smallest delta block: see the header (1 KiB found 2.5x less literal data than one block a page). */
export const DELTA_BLOCK_MIN = 1024;
/** rsync's largest block (MAX_BLOCK_SIZE). */
export const DELTA_BLOCK_MAX = 128 * 1024;
/** Blocks per pass before they grow: ~1M checksums, ~40 MiB in the donor's rsync and ~10 MiB on the wire. */
export const DELTA_MAX_BLOCKS = 2 ** 20;

/**
 * The delta block size for a pass of `bytes`: `min` (1 KiB, or `[sst] delta-block`), doubled until the pass has
 * at most DELTA_MAX_BLOCKS.
 */
export function deltaBlockSize(bytes: number, min = DELTA_BLOCK_MIN): number {
  let size = min;
  while (size < DELTA_BLOCK_MAX && bytes / size > DELTA_MAX_BLOCKS) size *= 2;
  return size;
}

/**
 * What rsync's zstd (level 1) plus TLS feeds per core, in bytes of data per second: the bench host's ~320 MB/s
 * on 2 cores (issue #17, unshaped veth), with a margin for the probe's error (see the header).
 */
export const ZSTD_RATE_PER_CORE = 120 * 1024 * 1024;

/**
 * The cores compression and deltas can use: each rsync connection compresses (or checksums) on one core, and
 * backup-threads connections run at once. A donor of 16 cores with backup-threads = 2 feeds zstd ~240 MiB/s,
 * not ~1.9 GiB/s: counting its cores would call a 10 GbE link slow and compress at a fraction of its rate.
 */
export function cpuLanes(cores: number, workers: number | undefined): number {
  return Math.max(1, Math.min(cores, workers ?? cores));
}

/** Below this wire rate auto calls the link slow: compression and deltas pay. `cores`: cpuLanes. */
export function compressBelow(cores: number): number {
  return ZSTD_RATE_PER_CORE * Math.max(1, cores);
}

/**
 * What rsync's delta algorithm (1 KiB blocks) plus zstd lets the link carry per donor core before the donor's
 * CPU, not the link, is the bottleneck, bytes/s of wire. Measured on the 2-core bench host (issue #17, second
 * run): deltas + zstd sent 0.105 of the data but the donor spent ~15 s of CPU a GiB on rsync's rolling
 * checksums (~70 MB/s of data a core, shared with the joiner), so they beat whole files + zstd (0.21 of the
 * data, link-bound) only where link / 0.21 < ~70 MB/s x the donor's share of the cores: ~7 MiB/s of wire a
 * core, ~120 Mbit/s on 2 cores. At 200 Mbit/s on that host deltas + zstd took 19.3 s, whole files + zstd 12.2 s.
 */
export const DELTA_RATE_PER_CORE = 7 * 1024 * 1024;

/** Below this wire rate deltas (with compression) pay against a datadir of this cluster. */
export function deltaBelow(cores: number): number {
  return DELTA_RATE_PER_CORE * Math.max(1, cores);
}

/**
 * What the donor's rsync turns into deltas per core, bytes of data per second (1 KiB blocks, changes spread over
 * every page): the bench host's donor spent 11-15 s of CPU a GiB on them (issue #17), ~70 MB/s; a little less,
 * so a delta worker does not take a directory it would finish after the whole-file side.
 */
export const DELTA_DATA_RATE_PER_CORE = 64 * 1024 * 1024;

/**
 * What whole files + zstd put on the wire per byte of data, for planning only: 0.21 on the bench's rows of text
 * and numbers (issue #17); a little more, as real tables hold less text.
 */
export const ZSTD_WIRE_SHARE = 0.25;

/**
 * Below this wire rate one worker sending whole files + zstd fills the link (its zstd feeds ZSTD_RATE_PER_CORE of
 * data, ZSTD_WIRE_SHARE of it on the wire): the other workers' cores would only queue behind it, so auto has
 * them compute deltas instead (mixed). ~30 MiB/s, ~250 Mbit/s: at 200 Mbit/s a mixed copy, at 1 Gbit/s whole
 * files + zstd on every worker (one worker's zstd, not the link, would be the bottleneck there).
 */
export function mixedBelow(): number {
  return ZSTD_RATE_PER_CORE * ZSTD_WIRE_SHARE;
}

/** The data rates a mixed copy plans with, bytes/s: its whole-file worker's and each delta worker's. */
export interface MixedRates {
  whole: number;
  delta: number;
}

/** The planning rates of a mixed copy on a link of `rate` bytes/s of wire. */
export function mixedRates(rate: number): MixedRates {
  return {
    whole: Math.min(rate / ZSTD_WIRE_SHARE, ZSTD_RATE_PER_CORE),
    delta: DELTA_DATA_RATE_PER_CORE,
  };
}

/**
 * Whether a free delta worker takes a unit of `unitBytes` (pure): only when it would finish it by deltas no later
 * than the whole-file worker would finish the `restBytes` still queued for it without that unit. Otherwise the
 * unit stays for the whole-file side, and the copy does not wait on a slow delta at its end.
 */
export function deltaTakes(unitBytes: number, restBytes: number, rates: MixedRates): boolean {
  return unitBytes / rates.delta <= restBytes / rates.whole;
}

/**
 * The probes auto sends without the relay (linkProbe.ts probeTwoSizes; with it, one live probe): PROBE_SIZES[0] first, then each larger one until the difference between
 * it and the first took at least PROBE_MIN_MS. The rate is the difference in bytes over the difference in time,
 * which cancels what both connections cost to set up (rsync's start, TLS, the daemon's greeting: ~50-150 ms under
 * load, as long as a 4 MiB probe takes at 200 Mbit/s). Only probes of at most 1/PROBE_SHARE of the data set are
 * sent (the probe must cost less than a wrong choice could), and at least two are needed.
 */
export const PROBE_SIZES = [1024 * 1024, 8 * 1024 * 1024, 64 * 1024 * 1024];
export const PROBE_MIN_MS = 100;
export const PROBE_SHARE = 8;

/**
 * What share of a link's rate during a long copy a probe reads: a probe of a few MiB sees TCP's first fraction of
 * a second (slow start, the first losses at a queue), not the steady rate. On the wan bench the live probe read
 * 200 Mbit/s (23.8 MiB/s) as 17-22 MiB/s and 1 Gbit/s (119 MiB/s) as 72-110; auto divides the reading by this
 * before comparing it with its lines (so 1 Gbit/s counts as 103-157 MiB/s, the unshaped veth's 233-550 as
 * 333-786, all on their side of the 240 MiB/s zstd line on 2 cores).
 */
export const PROBE_READS = 0.7;

/** The probes worth sending for a data set of `dataBytes`; none for one too small to need two. */
export function probeSizes(dataBytes: number): number[] {
  const sizes = PROBE_SIZES.filter((size) => size * PROBE_SHARE <= dataBytes);
  return sizes.length >= 2 ? sizes : [];
}

/** The sample a link rate needs before auto trusts it (the root-pass fallback): long and large enough. */
export const MIN_SAMPLE = { bytes: 8 * 1024 * 1024, ms: 200 };

/** What auto compresses with, and the fallbacks in order when a side's rsync lacks it. */
export const AUTO_COMPRESS = 'zstd';
export const AUTO_COMPRESS_FAST = 'lz4';
export const COMPRESS_PREFERENCE = ['zstd', 'lz4', 'zlibx', 'zlib'];

/** What the joiner says about its datadir (the main module's comment), when it says anything. */
export interface JoinerDatadir {
  uuid: string;
  seqno: bigint;
}

/** A transfer choice: what the passes do, and why. */
export interface TransferChoice {
  /** Deltas (with `mixed`: on the delta workers only). */
  delta: boolean;
  /**
   * auto on a link one whole-file worker can fill: one worker sends whole files (compressed) while the others
   * send deltas, each database directory going to whichever side finishes sooner (mixedPool.ts).
   */
  mixed?: boolean;
  /** A mixed copy's planning rates (mixedRates). */
  mixedRates?: MixedRates;
  /** undefined = no compression; 'auto' = rsync negotiates; else an algorithm. */
  compress: string | undefined;
  /** One line for the log: the mode and the reason. */
  reason: string;
}

/** The mode in a few words: `whole files`, `delta`, `delta + zstd`. */
export function describeChoice(choice: Pick<TransferChoice, 'delta' | 'compress' | 'mixed'>): string {
  const plus = (base: string): string =>
    choice.compress === undefined
      ? base
      : `${base} + ${choice.compress === 'auto' ? 'compression' : choice.compress}`;
  if (choice.mixed === true) return `${plus('whole files')} beside ${plus('delta')}`;
  return plus(choice.delta ? 'delta' : 'whole files');
}

/** rsync's flags for a pass of this choice moving `bytes` of data, added to the base flags of passes.ts. */
export function transferFlags(
  choice: Pick<TransferChoice, 'delta' | 'compress'>,
  bytes = 0,
  blockMin = DELTA_BLOCK_MIN,
): string[] {
  return [
    ...(choice.delta ? [`--block-size=${deltaBlockSize(bytes, blockMin)}`] : ['--whole-file']),
    ...compressFlags(choice.compress),
  ];
}

/**
 * rsync's flags for a compression: `--compress`, and the algorithm unless rsync may negotiate it with the
 * joiner's rsync (zstd, lz4, zlibx, zlib in that order of preference since rsync 3.2). zstd runs at level 1:
 * its default (3) costs about twice the CPU for 3-5% fewer bytes (see the header).
 */
export function compressFlags(compress: string | undefined): string[] {
  if (compress === undefined) return [];
  if (compress === 'auto') return ['--compress'];
  return [
    '--compress',
    `--compress-choice=${compress}`,
    ...(compress === 'zstd' ? ['--compress-level=1'] : []),
  ];
}

/**
 * The joiner's module comment: `datadir uuid=<uuid> seqno=<n> compress=zstd,lz4,...` (the cluster and position
 * of the datadir it holds, and the compressions its rsync offers; each part only when known).
 */
export function datadirComment(grastate: JoinerDatadir | undefined, compressions: string[] = []): string {
  return [
    'datadir',
    ...(grastate === undefined ? [] : [`uuid=${grastate.uuid} seqno=${grastate.seqno}`]),
    ...(compressions.length === 0 ? [] : [`compress=${compressions.join(',')}`]),
  ].join(' ');
}

/** Reads the datadir part of the comment datadirComment wrote (an original joiner's listing has none). */
export function parseDatadirComment(comment: string | undefined): JoinerDatadir | undefined {
  const m = /\buuid=([0-9a-f-]{36})\s+seqno=(-?\d+)\b/i.exec(comment ?? '');
  if (m === null) return undefined;
  return { uuid: (m[1] ?? '').toLowerCase(), seqno: BigInt(m[2] ?? '-1') };
}

/** The compressions the joiner's rsync offers, from its comment; undefined when it does not say. */
export function parseJoinerCompressions(comment: string | undefined): string[] | undefined {
  const m = /\bcompress=([a-z0-9,]+)/i.exec(comment ?? '');
  return m === null ? undefined : (m[1] ?? '').split(',').filter((name) => name !== '');
}

/** grastate.dat's uuid and seqno (`uuid:    <uuid>`, `seqno:   <n>`); undefined when absent or all zeros. */
export function parseGrastate(text: string): JoinerDatadir | undefined {
  const uuid = /^uuid:\s*([0-9a-f-]{36})\s*$/im.exec(text)?.[1]?.toLowerCase();
  const seqno = /^seqno:\s*(-?\d+)\s*$/im.exec(text)?.[1];
  if (uuid === undefined || /^[0-]+$/.test(uuid)) return undefined;
  return { uuid, seqno: BigInt(seqno ?? '-1') };
}

/** A link sample: bytes on the wire over some time (for the probe: net of the connection's set-up). */
export interface LinkSample {
  wireBytes: number;
  ms: number;
}

/** What the donor knows when it chooses. */
export interface TransferFacts {
  setting: TransferSetting;
  /** `[sst] compress` as settings.ts has it: undefined = not set or off. */
  compress: string | undefined;
  /** `[sst] compress = off` given explicitly: auto never compresses then. */
  compressOff: boolean;
  /** The cluster the donor's state belongs to (tables_flushed). */
  clusterUuid: string;
  /** What the joiner said about its datadir, if anything. */
  joiner: JoinerDatadir | undefined;
  /** `[sst] rlimit`, bytes per second. */
  rateLimit?: number;
  /** The donor's cores (os.availableParallelism()): what compression can do here. */
  cores: number;
  /** backup-threads: the passes that may run at once (a mixed copy needs two). */
  workers?: number;
  /** The compressions the donor's rsync offers (`rsync --version`); undefined = not known. */
  donorCompressions?: string[];
  /** The compressions the joiner's rsync offers (its module comment); undefined = it did not say. */
  joinerCompressions?: string[];
  /** The link probe's result, once taken. */
  link?: LinkSample;
  /** The bytes of data to send: a data set too small to probe for goes whole, uncompressed. */
  dataBytes?: number;
}

/**
 * The algorithm to use for `wanted` given what each side's rsync offers: `wanted` when both have it, else the
 * first of COMPRESS_PREFERENCE both have (with a note), else none; 'auto' (rsync negotiates) when the joiner
 * did not say what it has.
 */
export function compressionBothHave(
  wanted: string,
  donor: string[] | undefined,
  joiner: string[] | undefined,
): { compress: string | undefined; note?: string } {
  if (joiner === undefined)
    return donor === undefined || donor.includes(wanted)
      ? { compress: 'auto', note: "the joiner does not list its rsync's compressions: rsync negotiates" }
      : { compress: 'auto', note: `the donor's rsync lacks ${wanted}: rsync negotiates` };
  const both = (name: string): boolean =>
    joiner.includes(name) && (donor === undefined || donor.includes(name));
  if (both(wanted)) return { compress: wanted };
  const lacking = joiner.includes(wanted) ? "the donor's rsync" : "the joiner's rsync";
  const next = COMPRESS_PREFERENCE.find(both);
  return next === undefined
    ? { compress: undefined, note: `${lacking} lacks ${wanted} and the two share no compression: none` }
    : { compress: next, note: `${lacking} lacks ${wanted}: ${next} instead` };
}

/**
 * The choice: a fixed `[sst] transfer` as it says; auto by the rules in the header. `measureLink` = auto
 * cannot choose yet (no link sample, no rlimit, and compression or deltas depend on it): the caller probes
 * the link and asks again with `link` set, or (no probe possible) sends the first pass whole and lets
 * chooseCompression decide the rest.
 */
export function chooseTransfer(facts: TransferFacts): TransferChoice & { measureLink: boolean } {
  const explicitCompress = facts.compress;
  if (facts.setting !== 'auto') {
    const choice = { delta: facts.setting === 'delta', compress: explicitCompress };
    return {
      ...choice,
      reason: `${describeChoice(choice)} ([sst] transfer = ${facts.setting})`,
      measureLink: false,
    };
  }
  const reasons: string[] = [];
  const same = facts.joiner !== undefined && facts.joiner.uuid === facts.clusterUuid.toLowerCase();
  if (same) reasons.push(`the joiner holds a datadir of this cluster (seqno ${facts.joiner?.seqno ?? '?'})`);
  else if (facts.joiner === undefined) reasons.push('the joiner holds no datadir of a cluster it names');
  else reasons.push(`the joiner's datadir is of another cluster (${facts.joiner.uuid})`);
  const compressSettled = explicitCompress !== undefined || facts.compressOff;
  const lanes = cpuLanes(facts.cores, facts.workers);
  const below = compressBelow(lanes);
  // The link's rate (bytes/s), when known: a slow [sst] rlimit caps it, or the probe measured it.
  let rate: number | undefined;
  let small = false;
  if (facts.rateLimit !== undefined && facts.rateLimit < below) {
    rate = facts.rateLimit;
    reasons.push(`[sst] rlimit ${formatBytes(facts.rateLimit)}/s is below ${formatBytes(below)}/s`);
  } else if (facts.dataBytes !== undefined && probeSizes(facts.dataBytes).length === 0) {
    small = true;
    reasons.push(
      `${formatBytes(facts.dataBytes)} of data is too little for the link's speed to matter (probing it would cost more)`,
    );
  } else if (facts.link !== undefined) {
    const read = facts.link.ms > 0 ? (facts.link.wireBytes * 1000) / facts.link.ms : Number.POSITIVE_INFINITY;
    rate = read / PROBE_READS;
    reasons.push(
      `the link moved ${formatBytes(read)}/s on the probe (~${formatBytes(rate)}/s for a long copy), ${rate < below ? 'below' : 'at least'} the ${formatBytes(below)}/s zstd feeds on ${lanes} core(s)`,
    );
  }
  if (rate === undefined && !small && (same || !compressSettled)) {
    const choice = { delta: false, compress: explicitCompress };
    return {
      ...choice,
      measureLink: true,
      reason: `${describeChoice(choice)} (auto: ${reasons.join('; ')}; the link's speed decides the rest)`,
    };
  }
  const slow = rate !== undefined && rate < below;
  const deltaLimit = deltaBelow(lanes);
  const delta = same && rate !== undefined && rate < deltaLimit;
  const mixLimit = mixedBelow();
  const mixed = !delta && same && rate !== undefined && rate < mixLimit && (facts.workers ?? 1) >= 2;
  if (same)
    reasons.push(
      delta
        ? `deltas pay below ${formatBytes(deltaLimit)}/s`
        : mixed
          ? `one worker's whole files fill a link below ${formatBytes(mixLimit)}/s: ${facts.workers ?? 2} more compute deltas beside it`
          : `deltas pay only below ${formatBytes(deltaLimit)}/s (the donor's checksums cost more than the link saves)`,
    );
  let compress = explicitCompress;
  if (explicitCompress !== undefined) reasons.push('[sst] compress is set');
  else if (facts.compressOff) reasons.push('[sst] compress = off');
  else if (slow) {
    const both = compressionBothHave(AUTO_COMPRESS, facts.donorCompressions, facts.joinerCompressions);
    compress = both.compress;
    reasons.push(both.note ?? 'zstd pays on a slow link');
  } else reasons.push('compression would cost more CPU time than the link saves');
  const choice: TransferChoice = {
    delta: delta || mixed,
    compress,
    reason: '',
    ...(mixed && rate !== undefined && { mixed: true, mixedRates: mixedRates(rate) }),
  };
  return { ...choice, measureLink: false, reason: `${describeChoice(choice)} (auto: ${reasons.join('; ')})` };
}

/**
 * auto without a probe (an original joiner): the first pass, whole and uncompressed, was the sample; compress
 * the remaining passes if the link is slower than compression. lz4 when the sample is too small to judge, unless
 * it already moved enough at a rate past the line.
 */
export function chooseCompression(
  first: TransferChoice,
  sample: LinkSample,
  cores = 1,
): TransferChoice & { changed: boolean } {
  const rate = sample.ms > 0 ? (sample.wireBytes * 1000) / sample.ms : 0;
  const below = compressBelow(cores);
  // A short sample that already moved MIN_SAMPLE.bytes at the line's rate or faster is a fast link (rsync's
  // set-up inside it only makes the reading lower): a 10 GbE LAN sends a 100 MiB root pass in 0.1 s.
  const fastAnyway = sample.wireBytes >= MIN_SAMPLE.bytes && rate >= below;
  if (!fastAnyway && (sample.wireBytes < MIN_SAMPLE.bytes || sample.ms < MIN_SAMPLE.ms)) {
    const choice = { delta: first.delta, compress: AUTO_COMPRESS_FAST };
    const reason = `${describeChoice(choice)} for the remaining passes (auto: the first pass moved only ${formatBytes(sample.wireBytes)} on the wire, too little to judge the link: the cheap compression)`;
    return { ...choice, reason, changed: true };
  }
  const slow = rate < below;
  // An original joiner does not list its rsync's compressions: rsync negotiates (zstd first when both have it).
  const choice = { delta: first.delta, compress: slow ? 'auto' : undefined };
  const verdict = slow
    ? `below ${formatBytes(below)}/s: the link is the bottleneck, compression pays`
    : `at least ${formatBytes(below)}/s: compression would cost more than it saves`;
  return {
    ...choice,
    changed: slow,
    reason: `${describeChoice(choice)} for the remaining passes (auto: the first pass moved ${formatBytes(rate)}/s on the wire, ${verdict})`,
  };
}

/** `1.0 GiB of data, 52.0 MiB on the wire (0.05x)`: what the summary line and progress add. */
export function wireVersusData(dataBytes: number, wireBytes: number): string {
  const ratio = dataBytes > 0 ? `${(wireBytes / dataBytes).toFixed(2)}x` : 'n/a';
  return `${formatBytes(dataBytes)} of data, ${formatBytes(wireBytes)} on the wire (${ratio})`;
}
