/**
 * The donor's two-phase copy (`[sst] copy = two-phase`, issue #22): phase 1 sends every pass of the plan while
 * the donor is writable, phase 2 (under FLUSH TABLES WITH READ LOCK) re-sends what changeSelect.ts selects. The
 * passes are the same rsync passes through the same connections as a single-phase copy; only the completion
 * marker, sent after phase 2, tells the joiner the SST is over, so an original socat-based joiner takes it too.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logger } from '../log.js';
import {
  alwaysResent,
  CLOCK_STEP_TOLERANCE_MS,
  describeReasons,
  resendSince,
  selectChanged,
  type Reason,
  type Snapshot,
} from './changeSelect.js';
import { ClockWatch, probeFsClock, stampScope } from './copyStamps.js';
import type { Pass } from './passes.js';
import { refreshPasses, type RefreshPass } from './refreshPasses.js';
import { formatBytes } from './roleContext.js';
import { sendDataPasses, type MixedPlan } from './mixedPool.js';
import { runPool, type PassResult } from './rsyncPass.js';

const log = logger('donor');

/** rsync's "partial transfer" and "vanished source files": expected in phase 1, as tables come and go. */
export const PHASE_ONE_TOLERATED: ReadonlySet<number> = new Set([23, 24]);

/**
 * Phase 1's passes skip an operand that is gone (a file of a class, a database dropped after the plan was made:
 * those are also skipped before their pass starts) instead of failing with 23. Phase 2 deletes such a directory
 * on the joiner (the root's deletions). A 23 that still happens (a directory dropped while its pass starts) is
 * tolerated by our joiner because the donor announces the two-phase copy (spaceCheck.ts).
 */
export const PHASE_ONE_FLAGS = ['--ignore-missing-args'] as const;

/** A plan of passes: root first, then classes in order, then directories in parallel (passes.ts). */
export interface Plan {
  root: Pass;
  classes: Pass[];
  dirs: Pass[];
  /** auto's mixed copy: the delta side of the directories (mixedPool.ts); phase 2 sends whole files. */
  mixed?: MixedPlan;
}

/** How the two phases run a pass and count the wire: the donor's own runner, progress and relay. */
export interface CopyRunner {
  run: (pass: Pass, signal: AbortSignal, tolerate?: ReadonlySet<number>) => Promise<PassResult>;
  /** Bytes on the wire so far, all connections. */
  wire: () => number;
  backupThreads: number;
  /** `[sst] split-dirs`: large directories go as parts (splitDirs.ts). */
  splitDirs: boolean;
  /** A private directory for the `--files-from` lists. */
  tmpdir: string;
  signal: AbortSignal;
}

/** What phase 1 leaves for phase 2. */
export interface PhaseOne {
  snapshots: Map<string, Snapshot>;
  /** Scopes whose phase-1 pass could not read everything (rsync 23/24): re-sent whole in phase 2. */
  dirty: Set<string>;
  since: bigint;
  watch: ClockWatch;
  plan: Plan;
  dataBytes: number;
  wireBytes: number;
  ms: number;
}

/**
 * Phase 1: stamps every scope (after T0 and the probe), then runs the plan. `afterRoot` may re-plan the passes
 * after the root pass (auto's link sample). Failures other than PHASE_ONE_TOLERATED end the SST as today.
 */
export async function copyWhileWritable(
  plan: Plan,
  datadir: string,
  runner: CopyRunner,
  afterRoot?: () => Plan | undefined,
): Promise<PhaseOne> {
  const watch = new ClockWatch();
  const since = resendSince(watch.startedWallMs, probeFsClock(datadir));
  const wire0 = runner.wire();
  const snapshots = new Map<string, Snapshot>();
  for (const pass of [plan.root, ...plan.classes, ...plan.dirs])
    if (pass.scope !== undefined) snapshots.set(pass.scope.key, stampScope(pass.scope));
  const dirty = new Set<string>();
  const run = async (pass: Pass, signal: AbortSignal): Promise<void> => {
    // A database dropped since the plan: rsync would fail with 23 (it changes into `dir/` before it looks).
    if (pass.scope?.kind === 'tree' && !existsSync(pass.scope.dir)) return;
    const result = await runner.run(
      { ...pass, args: [...PHASE_ONE_FLAGS, ...pass.args] },
      signal,
      PHASE_ONE_TOLERATED,
    );
    if (result.exitCode !== 0 && pass.scope !== undefined) {
      dirty.add(pass.scope.key);
      log.info(
        `Phase 1: pass "${pass.name}" could not send every file (rsync exit ${result.exitCode}: files changed or ` +
          'vanished while the donor stays writable); phase 2 re-sends all of it',
      );
    }
  };
  try {
    await run(plan.root, runner.signal);
    const next = afterRoot?.();
    const current = next ?? plan;
    // Stamps of the passes a re-plan changed are the same scopes (keys): S0 stays valid.
    // Parts of a directory share its scope: stamped above as one, refreshed in phase 2 as one.
    await sendDataPasses(current, runner, runner.signal, run);
    const dataBytes = [current.root, ...current.classes, ...current.dirs].reduce((s, p) => s + p.bytes, 0);
    return {
      snapshots,
      dirty,
      since,
      watch,
      plan: current,
      dataBytes,
      wireBytes: runner.wire() - wire0,
      ms: Date.now() - watch.startedWallMs,
    };
  } catch (error) {
    watch.stop();
    throw error;
  }
}

/** What phase 2 did, for the log. */
export interface PhaseTwo {
  dataBytes: number;
  files: number;
  wireBytes: number;
  passes: number;
  reasons: Partial<Record<Reason, number>>;
  everything: boolean;
}

/** Phase 2, under the lock: `plan` is re-made from the data set now (new databases, the binlog tarball). */
export async function refreshUnderLock(plan: Plan, one: PhaseOne, runner: CopyRunner): Promise<PhaseTwo> {
  const drift = one.watch.drift();
  one.watch.stop();
  const everything = drift > CLOCK_STEP_TOLERANCE_MS;
  if (everything)
    log.warn(
      `The wall clock stepped by ${(drift / 1000).toFixed(1)} s during phase 1: file times cannot tell what ` +
        'changed, phase 2 re-sends everything',
    );
  const wire0 = runner.wire();
  const reasons: Partial<Record<Reason, number>> = {};
  let dataBytes = 0;
  let files = 0;
  let count = 0;
  // The root's deletions must spare the directories the directory passes deliver (refreshPasses.ts).
  const databases = plan.dirs.flatMap((p) =>
    p.scope === undefined ? [] : [p.scope.key.slice('dir:'.length)],
  );
  const refresh = (pass: Pass): RefreshPass[] => {
    if (pass.scope === undefined) return [];
    const key = pass.scope.key;
    const selection = selectChanged(one.snapshots.get(key), stampScope(pass.scope), {
      since: one.since,
      everything: everything || one.dirty.has(key),
      always: alwaysResent,
    });
    for (const [reason, n] of Object.entries(selection.reasons) as [Reason, number][])
      reasons[reason] = (reasons[reason] ?? 0) + n;
    const passes = refreshPasses(pass, selection, join(runner.tmpdir, `refresh-${count++}.list`), databases);
    for (const p of passes) {
      dataBytes += p.bytes;
      files += p.files ?? 0;
    }
    return passes;
  };
  const groups = {
    root: refresh(plan.root),
    classes: plan.classes.flatMap(refresh),
    dirs: plan.dirs.map(refresh).filter((g) => g.length > 0),
  };
  const passes = groups.root.length + groups.classes.length + groups.dirs.reduce((s, g) => s + g.length, 0);
  log.info(
    `Phase 2 (read-only): re-sending ${files} entries, ${formatBytes(dataBytes)} (${describeReasons(reasons)}) ` +
      `in ${passes} passes`,
  );
  const run = async (pass: RefreshPass, signal: AbortSignal): Promise<void> => {
    if (pass.list !== undefined) writeFileSync(pass.list.path, pass.list.text, { mode: 0o600 });
    await runner.run(pass, signal);
  };
  for (const pass of [...groups.root, ...groups.classes]) await run(pass, runner.signal);
  // A directory's sending before its deletions (refreshPasses.ts); directories in parallel.
  await runPool(groups.dirs, runner.backupThreads, runner.signal, async (group, signal) => {
    for (const pass of group) await run(pass, signal);
  });
  return { dataBytes, files, wireBytes: runner.wire() - wire0, passes, reasons, everything };
}
