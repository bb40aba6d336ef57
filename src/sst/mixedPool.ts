/**
 * The data passes of a plan, run: the file classes one after another, then the database directories in parallel
 * (backup-threads at once); or, for auto's mixed copy (transferMode.ts mixedBelow), split between one worker
 * sending whole files and backup-threads more workers sending deltas (the whole-file worker mostly waits on the link).
 *
 * Why mixed: on a link one worker's whole files + zstd already fill, more whole-file workers only queue behind it
 * while their cores idle; deltas need those cores (rolling checksums) and hardly any link. So the whole-file
 * worker sends the file classes (a redo log rewritten from end to end gains nothing from deltas), then the
 * largest directories left; each delta worker takes the largest directory it would finish by deltas no later
 * than the whole-file worker finishes everything else (deltaTakes), so the copy never waits at its end on a slow
 * delta. The rates start from the probed link (transferMode.ts mixedRates) and become each side's measured rate
 * once it has worked a second: real tables compress better or worse than the plan assumes. Both sides' passes are
 * the same scopes with other flags: phase 2 of a two-phase copy and the joiner see no difference.
 */
import { logger } from '../log.js';
import type { Pass } from './passes.js';
import { runPool, runWorkers, type WorkerScope } from './rsyncPass.js';
import { splitPlan } from './splitDirs.js';
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
  clock: () => number = () => performance.now(),
): Promise<MixedSplit | undefined> {
  const mixed = plan.mixed;
  if (mixed === undefined || mixed.deltaWorkers < 1) {
    for (const pass of plan.classes) await run(pass, parent);
    await runPool(plan.dirs, backupThreads, parent, run);
    return undefined;
  }
  const units = plan.dirs
    .map((whole, i) => ({ whole, delta: mixed.deltaDirs[i] ?? whole, bytes: whole.bytes, taken: false }))
    .sort((a, b) => b.bytes - a.bytes);
  const split: MixedSplit = { whole: [], delta: [] };
  // Each side's data rate: the planning rate until the side has worked a second, then what it really moved.
  const done = { whole: { bytes: 0, ms: 0 }, delta: { bytes: 0, ms: 0 } };
  const rates = (): MixedRates => ({
    whole: done.whole.ms >= 1000 ? (done.whole.bytes * 1000) / done.whole.ms : mixed.rates.whole,
    delta: done.delta.ms >= 1000 ? (done.delta.bytes * 1000) / done.delta.ms : mixed.rates.delta,
  });
  // What the whole-file side still has to send: the classes not started, the untaken units, and what is left of
  // the pass it is sending now (at its rate).
  let classesQueued = plan.classes.reduce((sum, pass) => sum + pass.bytes, 0);
  let current: { bytes: number; at: number } | undefined;
  const wholeLeft = (now: number): number => {
    const sending = current === undefined ? 0 : current.bytes - ((now - current.at) * rates().whole) / 1000;
    return classesQueued + Math.max(0, sending) + units.reduce((sum, u) => sum + (u.taken ? 0 : u.bytes), 0);
  };
  const timed = async (side: 'whole' | 'delta', pass: Pass, scope: WorkerScope): Promise<void> => {
    const at = clock();
    if (side === 'whole') current = { bytes: pass.bytes, at };
    await scope.attempt((signal) => run(pass, signal));
    if (side === 'whole') current = undefined;
    done[side].bytes += pass.bytes;
    done[side].ms += clock() - at;
  };
  await runWorkers(parent, 1 + mixed.deltaWorkers, async (scope, index) => {
    if (index === 0) {
      for (const pass of plan.classes) {
        if (scope.failed()) return;
        classesQueued -= pass.bytes;
        await timed('whole', pass, scope);
      }
      for (const unit of units) {
        if (scope.failed()) return;
        if (unit.taken) continue;
        unit.taken = true;
        split.whole.push(unit.whole.name);
        await timed('whole', unit.whole, scope);
      }
      return;
    }
    while (!scope.failed()) {
      // The largest unit this worker finishes by deltas no later than the whole-file side finishes the rest.
      const left = wholeLeft(clock());
      const unit = units.find((u) => !u.taken && deltaTakes(u.bytes, left - u.bytes, rates()));
      if (unit === undefined) return;
      unit.taken = true;
      split.delta.push(unit.delta.name);
      await timed('delta', unit.delta, scope);
    }
  });
  return split;
}

/**
 * The data passes as the donor sends them, in either copy: large directories in parts (splitDirs.ts; `splitDirs`
 * false = one pass a directory), each split logged, then runDataPasses, and how a mixed copy shared the work.
 */
export async function sendDataPasses(
  plan: DataPasses,
  opts: { backupThreads: number; splitDirs: boolean },
  parent: AbortSignal,
  run: (pass: Pass, signal: AbortSignal) => Promise<unknown>,
): Promise<void> {
  const parts = splitPlan(plan, opts.splitDirs ? opts.backupThreads : 1);
  if (parts.line !== undefined) log.info(parts.line);
  const split = await runDataPasses(parts.plan, opts.backupThreads, parent, run);
  if (split !== undefined) logSplit(split);
}

/** One line on how a mixed copy split the directories. */
function logSplit(split: MixedSplit): void {
  const list = (names: string[]): string => (names.length === 0 ? 'none' : names.join(', '));
  log.info(`Mixed copy: whole files for ${list(split.whole)}; deltas for ${list(split.delta)}`);
}
