/**
 * auto's link probe (transferMode.ts): the donor sends a file of zeros, whole and uncompressed, into our joiner's
 * private progress module (never its datadir), and rates the link from it.
 *
 * With the relay (the default: every connection goes through one counter), the probe rides the byte-total pass
 * (the total file and the probe in one rsync connection, so the probe costs no connection set-up of its own) and
 * the rate is read live, as a slope: the relay's byte counter is polled while the pass runs, and the rate is the
 * bytes over the time from the moment the counter passed half the probe to its last rise. The first half is left
 * out because the kernel's socket buffers (up to tcp_wmem's 4 MiB, and the tbf queue of a shaped link) take the
 * first megabytes at memory speed; once they are full the counter rises exactly as fast as the link drains them.
 * The set-up (rsync's start, TLS, the daemon's greeting: ~50-150 ms under load) falls before the window. Cost:
 * PROBE_BYTES uncompressed, ~0.14 s at 1 Gbit/s, ~0.7 s at 200 Mbit/s, nothing more.
 *
 * Without the relay (one connector per connection, whose figures arrive only when it ends), the old way: probes
 * of two sizes in their own passes, timed end to end; their difference cancels the set-up (probeTwoSizes).
 *
 * Zeros: nothing compresses them on the way (no --compress here, TLS does not compress), and a sparse file costs
 * the donor no disk.
 */
import { rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { local, PROGRESS_MODULE_SUFFIX, RSH_HOST, type Pass } from './passes.js';
import { formatBytes } from './roleContext.js';
import type { PassResult } from './rsyncPass.js';
import { PROBE_MIN_MS, PROBE_READS, PROBE_SHARE, probeSizes, type LinkSample } from './transferMode.js';

/** The probe file's name in the donor's tmpdir and the joiner's progress directory. */
export const PROBE_FILE = 'sst_link_probe';

/** The live probe's size: its second half must outlast the socket buffers (see the header). */
export const PROBE_BYTES = 16 * 1024 * 1024;

/**
 * The live probe for a data set of `dataBytes`: PROBE_BYTES, but at most 1/PROBE_SHARE of the data (never below
 * 8 MiB: auto probes only data sets of 64 MiB and more, transferMode.ts probeSizes), in whole MiB.
 */
export function liveProbeBytes(dataBytes: number): number {
  const MiB = 1024 * 1024;
  return Math.max(8 * MiB, Math.min(PROBE_BYTES, Math.floor(dataBytes / PROBE_SHARE / MiB) * MiB));
}

/** How often the live probe reads the relay's counter. */
export const PROBE_POLL_MS = 2;

/**
 * The pass that sends the probe file: whole, uncompressed, to the progress module (with `also` first). `--sparse`:
 * the zeros still cross the link, but the joiner seeks over them instead of writing them (a wide probe sends up to
 * 128 MiB into the joiner's tmpdir, which may be a small tmpfs).
 */
export function probePass(dir: string, module: string, also: string[] = [], file = PROBE_FILE): Pass {
  return {
    name: also.length > 0 ? 'byte total and link probe' : 'link probe',
    cwd: dir,
    args: [
      '--quiet',
      '--whole-file',
      '--sparse',
      ...also.map(local),
      local(file),
      `${RSH_HOST}::${module}${PROGRESS_MODULE_SUFFIX}/`,
    ],
    first: false,
    bytes: 0,
  };
}

/**
 * One connection's reading at or past this may not be the link's: on a fast link one rsync connection is
 * CPU-bound (rsync, TLS and the joiner's writes on one core each: ~300 MiB/s on the bench host, much less under
 * load), while the copy runs backup-threads connections at once. From here the probe looks again, wide
 * (probeWide). On the bench host 1 Gbit/s read 45-110 MiB/s and the unshaped veth 103-550 (119 single readings,
 * issue #17): the two overlap under load, so the line sits where a 1 Gbit/s link rarely reaches and a loaded
 * fast one often falls. At 150 (before), readings of 103 and 148 MiB/s on the unshaped veth sent zstd onto a link
 * where it took 1.7x as long as whole files; a 1 Gbit/s reading past 100 costs only the wide look, which then
 * reads the link (~115 MiB/s) and keeps zstd.
 */
export const WIDEN_FROM = 100 * 1024 * 1024;

/** The wide probe: at most this many bytes on each connection, and at most this many connections. */
export const WIDE_PROBE_BYTES = 32 * 1024 * 1024;
export const WIDE_MAX_CONNECTIONS = 4;

/** The wide probe's bytes a connection for `dataBytes` of data: at most 1/PROBE_SHARE of it in all, 8-32 MiB. */
export function wideProbeBytes(dataBytes: number, connections: number): number {
  const MiB = 1024 * 1024;
  const share = Math.floor(dataBytes / PROBE_SHARE / Math.max(1, connections) / MiB) * MiB;
  return Math.max(8 * MiB, Math.min(WIDE_PROBE_BYTES, share));
}

/**
 * Whether one connection's reading calls for the wide look: fast enough to be one CPU-bound connection, workers
 * to fill, and still below `compressLine` (transferMode.ts compressBelow, against the reading as a long copy
 * would see it): a reading already past the line decides for whole files, and a wide look would only cost both
 * cores for a moment while mysqld flushes.
 */
export function shouldWiden(sample: LinkSample | undefined, workers: number, compressLine: number): boolean {
  if (sample === undefined || workers < 2) return false;
  const read = readRate(sample);
  return read >= WIDEN_FROM && read / PROBE_READS < compressLine;
}

/** What a probe read, bytes a second (its window is at least 1 ms: slopeSample, probeSample). */
function readRate(sample: LinkSample): number {
  return (sample.wireBytes * 1000) / Math.max(1, sample.ms);
}

/**
 * The wide probe: `connections` probe passes at once (WIDE_PROBE_BYTES each, as the copy's workers run), the
 * relay's counter read every PROBE_POLL_MS; the slope of all of them together over the second half. What the link
 * carries when backup-threads connections share it, the figure whole files will see.
 */
export async function probeWide(
  run: (pass: Pass) => Promise<PassResult>,
  counter: () => number,
  dir: string,
  module: string,
  connections: number,
  bytesEach: number,
): Promise<LinkSample | undefined> {
  const files = Array.from({ length: connections }, (_, i) => `${PROBE_FILE}.${i + 1}`);
  const paths = files.map((file) => writeProbe(dir, bytesEach, file));
  const readings = await readWhile(counter, async () => {
    // Every pass ends before the files go, a failed one's error after the others finished.
    const results = await Promise.allSettled(files.map((file) => run(probePass(dir, module, [], file))));
    for (const path of paths) rmSync(path, { force: true });
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  });
  return slopeSample(readings, (connections * bytesEach) / 2);
}

/**
 * Starts reading `counter` every PROBE_POLL_MS; the call it returns stops, reads once more and gives the
 * readings: bytes since the start, by time.
 */
export function startReading(counter: () => number): () => CounterReading[] {
  const t0 = performance.now();
  const b0 = counter();
  const readings: CounterReading[] = [];
  const read = (): void => {
    readings.push({ ms: performance.now() - t0, bytes: counter() - b0 });
  };
  const timer = setInterval(read, PROBE_POLL_MS);
  // Never what keeps the process alive (a pass that failed before the caller stopped it).
  timer.unref();
  return () => {
    clearInterval(timer);
    read();
    return readings;
  };
}

/** Reads `counter` every PROBE_POLL_MS while `work` runs, and once more after (startReading). */
async function readWhile(counter: () => number, work: () => Promise<unknown>): Promise<CounterReading[]> {
  const stop = startReading(counter);
  let readings: CounterReading[] = [];
  try {
    await work();
  } finally {
    // Stopped on a failure too: no timer is left behind.
    readings = stop();
  }
  return readings;
}

/** What probeLink needs: how to run a pass, the relay's counter, where the probe goes, and what it may do. */
export interface LinkProbeInputs {
  run: (pass: Pass) => Promise<PassResult>;
  counter: () => number;
  dir: string;
  module: string;
  /** Files sent first in the probe's connection (the byte total, in a two-phase copy). */
  also: string[];
  dataBytes: number;
  /** backup-threads: the connections the copy will run. */
  workers: number;
  /** Whether a second, wide look may still be taken (false once the copy could start: the flush answered). */
  mayWiden: () => boolean;
  /** Where auto's compression line lies (compressBelow(cores)): only a reading below it may need the wide look. */
  compressLine: number;
}

/**
 * auto's probe, live on the relay's counter: one connection (probeLive); when it read a link at least
 * WIDEN_FROM fast and time allows, a second look with the copy's connections at once (probeWide). The looks, for
 * the log; the last one that read anything is the link (linkOf).
 */
export async function probeLink(inputs: LinkProbeInputs): Promise<ProbeLook[]> {
  const { run, counter, dir, module, dataBytes, workers } = inputs;
  const first: ProbeLook = {
    bytes: liveProbeBytes(dataBytes),
    connections: 1,
    sample: await probeLive(run, counter, dir, module, inputs.also, dataBytes),
  };
  if (!shouldWiden(first.sample, workers, inputs.compressLine) || !inputs.mayWiden()) return [first];
  const connections = Math.min(workers, WIDE_MAX_CONNECTIONS);
  const bytes = wideProbeBytes(dataBytes, connections);
  const sample = await probeWide(run, counter, dir, module, connections, bytes);
  return [first, { bytes, connections, sample }];
}

/**
 * The link the looks measured: the fastest reading. A moment of CPU load on either side (the donor is serving
 * its clients) only ever lowers a reading, and none can pass the link's rate (the socket buffers fill during the
 * half before each reading), so the fastest is the one least disturbed: usually the wide look, whose connections
 * together move what one CPU-bound connection cannot.
 */
export function linkOf(looks: readonly ProbeLook[]): LinkSample | undefined {
  let best: LinkSample | undefined;
  for (const { sample } of looks)
    if (sample !== undefined && (best === undefined || readRate(sample) > readRate(best))) best = sample;
  return best;
}

/** The sample two probes give: the difference in bytes over the difference in time, at least 1 ms. */
export function probeSample(
  first: { bytes: number; ms: number },
  last: { bytes: number; ms: number },
): LinkSample {
  return { wireBytes: last.bytes - first.bytes, ms: Math.max(1, last.ms - first.ms) };
}

/** One reading of the relay's counter: bytes since the pass started, at `ms` since it started. */
export interface CounterReading {
  ms: number;
  bytes: number;
}

/**
 * The link's rate from the counter's readings during the probe's pass (pure): from the first reading at or past
 * `from` bytes to the last reading at which the counter rose. Readings after the last rise (rsync's goodbye, the
 * process exit) and before `from` (set-up, the socket buffers filling) do not count. When the probe went by
 * between two readings (a link faster than the poll can see), the window is one poll wide: a floor on the rate.
 * Undefined when the counter never reached `from`.
 */
export function slopeSample(readings: readonly CounterReading[], from: number): LinkSample | undefined {
  const start = readings.findIndex((r) => r.bytes >= from);
  if (start < 0) return undefined;
  let end = start;
  for (let i = start + 1; i < readings.length; i++) {
    const reading = readings[i] as CounterReading;
    if (reading.bytes > (readings[end] as CounterReading).bytes) end = i;
  }
  const a = readings[start] as CounterReading;
  const b = readings[end] as CounterReading;
  if (end === start) {
    // Everything past `from` arrived within one poll: count the bytes since the reading before.
    const before = readings[start - 1] ?? { ms: a.ms - PROBE_POLL_MS, bytes: 0 };
    return { wireBytes: a.bytes - before.bytes, ms: Math.max(1, a.ms - before.ms) };
  }
  return { wireBytes: b.bytes - a.bytes, ms: Math.max(1, b.ms - a.ms) };
}

/** Writes a sparse probe file of `size` bytes into `dir`. */
function writeProbe(dir: string, size: number, name = PROBE_FILE): string {
  const path = join(dir, name);
  writeFileSync(path, '');
  truncateSync(path, size);
  return path;
}

/**
 * The live probe: runs `pass` (the byte total with the probe file, probePass) while reading `counter` every
 * PROBE_POLL_MS; returns the slope over the probe's second half. Undefined when the counter never got there
 * (then the caller has no sample, and sends the first pass whole as the sample instead).
 */
export async function probeLive(
  run: (pass: Pass) => Promise<PassResult>,
  counter: () => number,
  dir: string,
  module: string,
  also: string[],
  dataBytes: number,
): Promise<LinkSample | undefined> {
  const size = liveProbeBytes(dataBytes);
  const path = writeProbe(dir, size);
  const readings = await readWhile(counter, () =>
    run(probePass(dir, module, also)).finally(() => rmSync(path, { force: true })),
  );
  return slopeSample(readings, size / 2);
}

/** One look of the probe, for its log line: `connections` passes of `bytes` each at once. */
export interface ProbeLook {
  bytes: number;
  connections: number;
  sample: LinkSample | undefined;
}

/**
 * The probe's line in the donor's log: what it sent, what it read, and where it ran, e.g. `Link probe: 16.0 MiB
 * of zeros, read 290.1 MiB/s over its second half; then 2 x 32.0 MiB at once, read 455.0 MiB/s, while mysqld
 * flushed its tables (the copy waited 0.00 s for it)`. `waitedMs`: how long the copy could have been sending but
 * waited for the probe instead.
 */
export function describeProbe(looks: readonly ProbeLook[], where: string, waitedMs?: number): string {
  const reading = (sample: LinkSample | undefined, half: string): string =>
    sample === undefined
      ? 'no reading (the counter never passed half the probe)'
      : `read ${formatBytes(readRate(sample))}/s${half}`;
  const parts = looks.map((look, i) =>
    i === 0
      ? `${formatBytes(look.bytes)} of zeros, ${reading(look.sample, ' over its second half')}`
      : `then ${look.connections} x ${formatBytes(look.bytes)} at once, ${reading(look.sample, '')}`,
  );
  const waited = waitedMs === undefined ? '' : ` (the copy waited ${(waitedMs / 1000).toFixed(2)} s for it)`;
  return `Link probe: ${parts.join('; ')}, ${where}${waited}`;
}

/** Sends probes of two sizes in passes of their own until the difference took PROBE_MIN_MS; the sample. */
export async function probeTwoSizes(
  run: (pass: Pass) => Promise<PassResult>,
  dir: string,
  module: string,
  dataBytes: number,
): Promise<LinkSample> {
  const timed: { bytes: number; ms: number }[] = [];
  let sample: LinkSample = { wireBytes: 0, ms: 1 };
  try {
    for (const size of probeSizes(dataBytes)) {
      writeProbe(dir, size);
      const result = await run(probePass(dir, module));
      timed.push({ bytes: size, ms: result.durationMs });
      const [first] = timed;
      if (first === undefined || timed.length < 2) continue;
      sample = probeSample(first, { bytes: size, ms: result.durationMs });
      if (sample.ms >= PROBE_MIN_MS) break;
    }
  } finally {
    rmSync(join(dir, PROBE_FILE), { force: true });
  }
  return sample;
}
