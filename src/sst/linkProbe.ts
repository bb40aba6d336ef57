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
import { PROBE_MIN_MS, PROBE_SHARE, probeSizes, type LinkSample } from './transferMode.js';

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

/** The pass that sends the probe file: whole, uncompressed, to the progress module (with `also` first). */
export function probePass(dir: string, module: string, also: string[] = []): Pass {
  return {
    name: also.length > 0 ? 'byte total and link probe' : 'link probe',
    cwd: dir,
    args: [
      '--quiet',
      '--whole-file',
      ...also.map(local),
      local(PROBE_FILE),
      `${RSH_HOST}::${module}${PROGRESS_MODULE_SUFFIX}/`,
    ],
    first: false,
    bytes: 0,
  };
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
function writeProbe(dir: string, size: number): string {
  const path = join(dir, PROBE_FILE);
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
  const t0 = performance.now();
  const b0 = counter();
  const readings: CounterReading[] = [];
  const read = (): void => {
    readings.push({ ms: performance.now() - t0, bytes: counter() - b0 });
  };
  const timer = setInterval(read, PROBE_POLL_MS);
  try {
    await run(probePass(dir, module, also));
  } finally {
    clearInterval(timer);
    rmSync(path, { force: true });
  }
  read();
  return slopeSample(readings, size / 2);
}

/**
 * The probe's line in the donor's log: what it sent, what it read, and where it ran, e.g. `Link probe: 16.0 MiB
 * of zeros, read 104.6 MiB/s over its second half, while mysqld flushed its tables (the copy waited 0.05 s for
 * it)`. `waitedMs`: how long the copy could have been sending but waited for the probe instead.
 */
export function describeProbe(
  probeBytes: number,
  sample: LinkSample | undefined,
  where: string,
  waitedMs?: number,
): string {
  const reading =
    sample === undefined
      ? 'no reading (the counter never passed half the probe)'
      : `read ${formatBytes((sample.wireBytes * 1000) / Math.max(1, sample.ms))}/s over its second half`;
  const waited = waitedMs === undefined ? '' : ` (the copy waited ${(waitedMs / 1000).toFixed(2)} s for it)`;
  return `Link probe: ${formatBytes(probeBytes)} of zeros, ${reading}, ${where}${waited}`;
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
