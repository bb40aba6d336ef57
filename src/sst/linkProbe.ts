/**
 * auto's link probe (transferMode.ts): before the first data pass the donor sends files of zeros, whole and
 * uncompressed, into our joiner's private progress module (never its datadir), and times them: 1 MiB, then 8 MiB
 * (then 64 MiB when the difference took less than PROBE_MIN_MS). The rate is the difference in bytes over the
 * difference in time: both rsync connections cost the same to set up, ~50-150 ms under load, which a single
 * probe's time could not tell from the link (the first version subtracted the byte-total pass's time and read a
 * 200 Mbit/s link as 12 MiB/s in the bench). A slow link pays ~0.4 s for the probes, a fast one ~0.6 s.
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

/** The sample two probes give: the difference in bytes over the difference in time, at least 1 ms. */
export function probeSample(
  first: { bytes: number; ms: number },
  last: { bytes: number; ms: number },
): LinkSample {
  return { wireBytes: last.bytes - first.bytes, ms: Math.max(1, last.ms - first.ms) };
}

/** Sends the probes in order until the last took PROBE_MIN_MS longer than the first; returns the sample. */
export async function probeLink(
  run: (pass: Pass) => Promise<PassResult>,
  dir: string,
  module: string,
  dataBytes: number,
): Promise<LinkSample> {
  const path = join(dir, PROBE_FILE);
  const timed: { bytes: number; ms: number }[] = [];
  let sample: LinkSample = { wireBytes: 0, ms: 1 };
  try {
    for (const size of probeSizes(dataBytes)) {
      writeFileSync(path, '');
      truncateSync(path, size);
      const result = await run(probePass(dir, module));
      timed.push({ bytes: size, ms: result.durationMs });
      const [first] = timed;
      if (first === undefined || timed.length < 2) continue;
      sample = probeSample(first, { bytes: size, ms: result.durationMs });
      if (sample.ms >= PROBE_MIN_MS) break;
    }
  } finally {
    rmSync(path, { force: true });
  }
  return sample;
}
