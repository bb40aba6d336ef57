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
 *   never skipped. `--checksum` would also be safe, but reads every unchanged file twice on each side (once for
 *   the file list, once more when it differs): for InnoDB, where nearly every file changes a little, that is
 *   pure cost.
 * - `--inplace` is kept: the joiner rewrites only the blocks that changed, needs no temporary copy of a 10 GiB
 *   tablespace (the disk space it may not have), and InnoDB changes pages where they are, so matching data never
 *   moves backwards (the one case --inplace cannot use). A pass cut short leaves a half-updated file, like a
 *   whole-file pass cut short does: the joiner reports success only when the completion marker arrives, which
 *   the donor sends after every pass succeeded, and the next SST compares every file again (--ignore-times).
 * - `--block-size=16384`: one rsync block per InnoDB page (innodb_page_size's default). rsync's own choice, the
 *   square root of the file size (32 KiB for 1 GiB, up to 128 KiB), would let one changed page re-send up to 8
 *   pages' worth; per block the joiner sends about 20 bytes of checksums, 0.1% of the data.
 *
 * Compression (`[sst] compress`): rsync's own, per connection, on the literal data only (matched blocks are not
 * re-sent, so delta and compression add up). zstd at level 1 by default: see README "Slow links".
 *
 * auto:
 * - delta when the joiner says (its datadir module's comment, joinerModules) it holds a datadir of this
 *   cluster: its grastate.dat uuid is the donor's. Otherwise whole files: a foreign or empty datadir gives no
 *   basis worth reading.
 * - compression, unless `[sst] compress` says otherwise: lz4 or zstd, by how fast the link is. The donor times
 *   its first pass (the datadir root: the redo log, ibdata1, the binlog tarball, sent uncompressed as the probe)
 *   and compresses the passes after it with zstd (level 1) when that pass moved less than COMPRESS_BELOW bytes
 *   per second on the wire, with lz4 otherwise: lz4 compresses at GB/s, so on a fast link it costs less CPU than
 *   the TLS and socket work it saves (InnoDB files hold free space, and text rows compress 3x or more), and it
 *   gives up quickly on incompressible data. Without a usable sample (a root pass too small, or sent as deltas)
 *   lz4 as well; an `[sst] rlimit` below COMPRESS_BELOW means zstd from the start. Both sides' rsync must offer
 *   the algorithm (rsync 3.2 or later, built with lz4 and zstd, as Debian's and RHEL's are).
 */
import type { TransferSetting } from '../config/transferSetting.js';
import { formatBytes } from './roleContext.js';

/** InnoDB's default page size: one rsync block each. */
export const DELTA_BLOCK_SIZE = 16 * 1024;

/**
 * Below this wire rate (about 500 Mbit/s) zstd level 1 compresses faster than the link drains, with one rsync
 * per core: measured in BENCHMARKS.md "Slow links".
 */
export const COMPRESS_BELOW = 60 * 1024 * 1024;

/** The sample a link rate needs before auto trusts it: long and large enough not to be a burst. */
export const MIN_SAMPLE = { bytes: 8 * 1024 * 1024, ms: 200 };

/** What auto compresses with on a slow link (level chosen in compressFlags), and on a fast or unknown one. */
export const AUTO_COMPRESS = 'zstd';
export const AUTO_COMPRESS_FAST = 'lz4';

/** What the joiner says about its datadir (the main module's comment), when it says anything. */
export interface JoinerDatadir {
  uuid: string;
  seqno: bigint;
}

/** A transfer choice: what the passes do, and why. */
export interface TransferChoice {
  delta: boolean;
  /** undefined = no compression; 'auto' = rsync negotiates; else an algorithm. */
  compress: string | undefined;
  /** One line for the log: the mode and the reason. */
  reason: string;
}

/** The mode in a few words: `whole files`, `delta`, `delta + zstd`. */
export function describeChoice(choice: Pick<TransferChoice, 'delta' | 'compress'>): string {
  const base = choice.delta ? 'delta' : 'whole files';
  if (choice.compress === undefined) return base;
  return `${base} + ${choice.compress === 'auto' ? 'compression' : choice.compress}`;
}

/** rsync's flags for a pass of this choice, added to the base flags of passes.ts. */
export function transferFlags(choice: Pick<TransferChoice, 'delta' | 'compress'>): string[] {
  return [
    ...(choice.delta ? [`--block-size=${DELTA_BLOCK_SIZE}`] : ['--whole-file']),
    ...compressFlags(choice.compress),
  ];
}

/**
 * rsync's flags for a compression: `--compress`, and the algorithm unless rsync may negotiate it with the
 * joiner's rsync (zstd, lz4, zlibx, zlib in that order of preference since rsync 3.2). zstd runs at level 1:
 * its default (3) costs about twice the CPU for a few percent fewer bytes (README "Slow links").
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

/** The joiner's datadir facts in its module comment: `datadir uuid=<uuid> seqno=<n>`. */
export function datadirComment(grastate: JoinerDatadir | undefined): string {
  return grastate === undefined ? 'datadir' : `datadir uuid=${grastate.uuid} seqno=${grastate.seqno}`;
}

/** Reads the comment datadirComment wrote (an original joiner's listing has none). */
export function parseDatadirComment(comment: string | undefined): JoinerDatadir | undefined {
  const m = /\buuid=([0-9a-f-]{36})\s+seqno=(-?\d+)\b/i.exec(comment ?? '');
  if (m === null) return undefined;
  return { uuid: (m[1] ?? '').toLowerCase(), seqno: BigInt(m[2] ?? '-1') };
}

/** grastate.dat's uuid and seqno (`uuid:    <uuid>`, `seqno:   <n>`); undefined when absent or all zeros. */
export function parseGrastate(text: string): JoinerDatadir | undefined {
  const uuid = /^uuid:\s*([0-9a-f-]{36})\s*$/im.exec(text)?.[1]?.toLowerCase();
  const seqno = /^seqno:\s*(-?\d+)\s*$/im.exec(text)?.[1];
  if (uuid === undefined || /^[0-]+$/.test(uuid)) return undefined;
  return { uuid, seqno: BigInt(seqno ?? '-1') };
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
}

/** The first choice, before any pass: delta or not, and compression unless auto waits for a link sample. */
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
  if (same) {
    reasons.push(`the joiner holds a datadir of this cluster (seqno ${facts.joiner?.seqno ?? '?'})`);
  } else if (facts.joiner === undefined) {
    reasons.push('the joiner holds no datadir of a cluster it names');
  } else {
    reasons.push(`the joiner's datadir is of another cluster (${facts.joiner.uuid})`);
  }
  let compress = explicitCompress;
  let measureLink = false;
  if (explicitCompress !== undefined) reasons.push('[sst] compress is set');
  else if (facts.compressOff) reasons.push('[sst] compress = off');
  else if (facts.rateLimit !== undefined && facts.rateLimit < COMPRESS_BELOW) {
    compress = AUTO_COMPRESS;
    reasons.push(`[sst] rlimit ${formatBytes(facts.rateLimit)}/s is below ${formatBytes(COMPRESS_BELOW)}/s`);
  } else {
    measureLink = true;
    reasons.push('compression decided from the first pass');
  }
  const choice = { delta: same, compress };
  return { ...choice, measureLink, reason: `${describeChoice(choice)} (auto: ${reasons.join('; ')})` };
}

/** A link sample: bytes on the wire over a pass, and what that pass was. */
export interface LinkSample {
  wireBytes: number;
  ms: number;
}

/** auto's second step: compress the remaining passes if the sampled link is slower than compression. */
export function chooseCompression(
  first: TransferChoice,
  sample: LinkSample,
): TransferChoice & { changed: boolean } {
  const rate = sample.ms > 0 ? (sample.wireBytes * 1000) / sample.ms : 0;
  if (sample.wireBytes < MIN_SAMPLE.bytes || sample.ms < MIN_SAMPLE.ms) {
    const choice = { delta: first.delta, compress: AUTO_COMPRESS_FAST };
    const reason = `${describeChoice(choice)} for the remaining passes (auto: the first pass moved only ${formatBytes(sample.wireBytes)} on the wire, too little to judge the link: the cheap compression)`;
    return { ...choice, reason, changed: true };
  }
  const slow = rate < COMPRESS_BELOW;
  const choice = { delta: first.delta, compress: slow ? AUTO_COMPRESS : AUTO_COMPRESS_FAST };
  const verdict = slow
    ? `below ${formatBytes(COMPRESS_BELOW)}/s: the link is the bottleneck, the stronger compression pays`
    : `at least ${formatBytes(COMPRESS_BELOW)}/s: only the cheap compression pays`;
  return {
    ...choice,
    changed: true,
    reason: `${describeChoice(choice)} for the remaining passes (auto: the first pass moved ${formatBytes(rate)}/s on the wire, ${verdict})`,
  };
}

/** `1.0 GiB of data, 52.0 MiB on the wire (0.05x)`: what the summary line and progress add. */
export function wireVersusData(dataBytes: number, wireBytes: number): string {
  const ratio = dataBytes > 0 ? `${(wireBytes / dataBytes).toFixed(2)}x` : 'n/a';
  return `${formatBytes(dataBytes)} of data, ${formatBytes(wireBytes)} on the wire (${ratio})`;
}
