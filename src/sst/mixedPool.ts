/**
 * The data passes of a plan, run: the file classes one after another, then the database directories in parallel
 * (backup-threads at once); or, for auto's mixed copy (transferMode.ts mixedBelow), split between one worker
 * sending whole files and backup-threads - 1 workers sending deltas.
 *
 * Why mixed: on a link one worker's whole files + zstd already fill, more whole-file workers only queue behind it
 * while their cores idle; deltas need those cores (rolling checksums) and hardly any link. So the whole-file
 * worker sends the file classes (a redo log rewritten from end to end gains nothing from deltas), then the
 * largest directories first; each delta worker takes the smallest directory left, but only when deltaTakes says
 * it finishes it no later than the whole-file worker would finish everything else (its planning rates come from
 * the probed link), so the copy never waits at its end on a slow delta. Both sides' passes are the same scopes
 * with other flags: phase 2 of a two-phase copy and the joiner see no difference.
 */
import { logger } from '../log.js';
import type { Pass } from './passes.js';
import { runPool, runWorkers } from './rsyncPass.js';
import { deltaTakes, type MixedRates } from './transferMode.js';

/** A mixed copy's second half of the plan: the delta passes of the same directories, in the same order. */
export interface MixedPlan {
  deltaDirs: Pass[];
  rates: MixedRates;
  deltaWorkers: number;
}

/** The passes runDataPasses needs: classes and directories, and the delta side when mixed. */
export interface DataPasses {
  classes: Pass[];
  dirs: Pass[];
  mixed?: MixedPlan;
}

const log = logger('donor');

/** Which side sent each directory of a mixed copy, for the log. */
export interface MixedSplit {
  whole: string[];
  delta: string[];
}

/**
 * Runs the classes and the directories of `plan` with `run`; returns how a mixed copy split the directories
 * (undefined when not mixed).
 */
export async function runDataPasses(
  plan: DataPasses,
  backupThreads: number,
  parent: AbortSignal,
  run: (pass: Pass, signal: AbortSignal) => Promise<unknown>,
): Promise<MixedSplit | undefined> {
  const mixed = plan.mixed;
  if (mixed === undefined || mixed.deltaWorkers < 1) {
    for (const pass of plan.classes) await run(pass, parent);
    await runPool(plan.dirs, backupThreads, parent, run);
    return undefined;
  }
  const units = plan.dirs
    .map((whole, i) => ({ whole, delta: mixed.deltaDirs[i] ?? whole, bytes: whole.bytes }))
    .sort((a, b) => b.bytes - a.bytes);
  const split: MixedSplit = { whole: [], delta: [] };
  // Units lo..hi are still queued: the whole-file worker takes from the front (largest), delta workers from the
  // back (smallest).
  let lo = 0;
  let hi = units.length - 1;
  let classesLeft = plan.classes.reduce((sum, pass) => sum + pass.bytes, 0);
  const queuedBetween = (from: number, to: number): number =>
    units.slice(from, to + 1).reduce((sum, unit) => sum + unit.bytes, 0);
  await runWorkers(parent, 1 + mixed.deltaWorkers, async (scope, index) => {
    if (index === 0) {
      for (const pass of plan.classes) {
        if (scope.failed()) return;
        await scope.attempt((signal) => run(pass, signal));
        classesLeft -= pass.bytes;
      }
      while (!scope.failed() && lo <= hi) {
        const unit = units[lo++];
        if (unit === undefined) break;
        split.whole.push(unit.whole.name);
        await scope.attempt((signal) => run(unit.whole, signal));
      }
      return;
    }
    while (!scope.failed() && lo <= hi) {
      const unit = units[hi];
      if (unit === undefined) break;
      if (!deltaTakes(unit.bytes, classesLeft + queuedBetween(lo, hi - 1), mixed.rates)) return;
      hi--;
      split.delta.push(unit.delta.name);
      await scope.attempt((signal) => run(unit.delta, signal));
    }
  });
  return split;
}

/** One line on how a mixed copy split the directories. */
export function logSplit(split: MixedSplit): void {
  const list = (names: string[]): string => (names.length === 0 ? 'none' : names.join(', '));
  log.info(`Mixed copy: whole files for ${list(split.whole)}; deltas for ${list(split.delta)}`);
}
