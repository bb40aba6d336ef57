/**
 * auto's link probe (transferMode.ts): before the first data pass the donor sends a file of zeros, whole and
 * uncompressed, into our joiner's private progress module (never its datadir), and times it. The time is taken
 * net of the connection set-up (rsync's start, TLS, the daemon's greeting), which the byte-total pass just before
 * measured: a 4 MiB probe takes 0.17 s at 200 Mbit/s but 10 ms on a fast veth, where set-up dominates. When the
 * first probe is too quick to judge, a 64 MiB one follows (0.5 s at 1 Gbit/s): a slow link pays ~0.2 s for the
 * probe, a fast one ~0.5 s, against the seconds a wrong choice costs (BENCHMARKS.md, issue #17).
 *
 * Zeros: nothing compresses them on the way (no --compress here, TLS does not compress), and a sparse file costs
 * the donor no disk.
 */
import { rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { local, PROGRESS_MODULE_SUFFIX, RSH_HOST, type Pass } from './passes.js';
import type { PassResult } from './rsyncPass.js';
import { PROBE_MIN_MS, probeSizes, type LinkSample } from './transferMode.js';

/** The probe file's name in the donor's tmpdir and the joiner's progress directory. */
export const PROBE_FILE = 'sst_link_probe';

/** The pass that sends the probe file: whole, uncompressed, to the progress module. */
export function probePass(dir: string, module: string): Pass {
  return {
    name: 'link probe',
    cwd: dir,
    args: ['--quiet', '--whole-file', local(PROBE_FILE), `${RSH_HOST}::${module}${PROGRESS_MODULE_SUFFIX}/`],
    first: false,
    bytes: 0,
  };
}

/** The sample a probe gives: its bytes over its time net of the set-up, at least 1 ms. */
export function probeSample(bytes: number, ms: number, setupMs: number): LinkSample {
  return { wireBytes: bytes, ms: Math.max(1, ms - setupMs) };
}

/** Sends the probes in order until one took PROBE_MIN_MS net; returns the last sample. */
export async function probeLink(
  run: (pass: Pass) => Promise<PassResult>,
  dir: string,
  module: string,
  setupMs: number,
  dataBytes: number,
): Promise<LinkSample> {
  const path = join(dir, PROBE_FILE);
  let sample: LinkSample = { wireBytes: 0, ms: 1 };
  try {
    for (const size of probeSizes(dataBytes)) {
      writeFileSync(path, '');
      truncateSync(path, size);
      const result = await run(probePass(dir, module));
      sample = probeSample(size, result.durationMs, setupMs);
      if (sample.ms >= PROBE_MIN_MS) break;
    }
  } finally {
    rmSync(path, { force: true });
  }
  return sample;
}
