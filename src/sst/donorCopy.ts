/**
 * The donor's copy of the data set (sst-contract.md 3.4): reach and verify the joiner before mysqld takes its lock,
 * choose the transfer mode, plan the passes, announce the total, then send: with `[sst] copy = single` under the
 * lock (root, InnoDB/Aria, the database directories), with `two-phase` most of it while the donor is writable and
 * only what changed under the lock (twoPhaseCopy.ts). `flush tables` is asked for inside, at the moment the mode
 * needs it. Its own module because this is the one part of the donor whose length is the size of the data set;
 * the role around it (donor.ts) only sets up, hands over the position and says `done`.
 */
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ConfigError, TransferError } from '../errors.js';
import { logger } from '../log.js';
import { moduleOf } from './address.js';
import { BINLOG_TAR, binlogNames, packBinlogs } from './binlog.js';
import { classFiles, databaseDirs, namesIn } from './datadirScan.js';
import type { DonorTransport } from './donorTransport.js';
import { SST_ERROR, TABLES_FLUSHED, waitForFlush } from './flushWait.js';
import { redoLayoutProblem } from './layout.js';
import {
  parseModuleListing,
  describePlan,
  planPasses,
  PROGRESS_MODULE_SUFFIX,
  RSH_HOST,
  TOTAL_FILE,
  totalPass,
  type Pass,
} from './passes.js';
import { ProgressTicker } from './progress.js';
import type { SstState } from './protocol.js';
import { formatBytes, type RoleContext } from './roleContext.js';
import { runPass, type PassRunner } from './rsyncPass.js';
import { announce, renderTotalFile } from './spaceCheck.js';
import { copyWhileWritable, refreshUnderLock, type CopyRunner, type Plan } from './twoPhaseCopy.js';
import {
  chooseCompression,
  chooseTransfer,
  compressBelow,
  cpuLanes,
  describeChoice,
  parseDatadirComment,
  parseJoinerCompressions,
  type TransferChoice,
  type TransferFacts,
} from './transferMode.js';
import {
  describeProbe,
  linkOf,
  probeLink,
  probeTwoSizes,
  slopeSample,
  startReading,
  type ProbeLook,
} from './linkProbe.js';
import { sendDataPasses } from './mixedPool.js';

const log = logger('donor');

/** What the copy leaves for the rest of the role and its summary line. */
export interface CopyOutcome {
  /** mysqld's answer to `flush tables`: the position the joiner gets. */
  state: SstState;
  /** When mysqld answered `flush tables`: the read-only window runs from here to `continue`. */
  flushedAt: number | undefined;
  /** The bytes of the data set sent (both phases of a two-phase copy). */
  dataBytes: number;
  /** The transfer mode as finally used (transferMode.ts). */
  transferMode: string;
  /** Wall time of each stage, for the summary line. */
  stages: string[];
}

/**
 * Starts auto's live link probe ahead of the flush when auto will want one (`first.measureLink`) and our
 * joiner offers its progress module to probe into, through the relay (whose counter the live probe reads).
 * Undefined when not started; a promise of the probe's looks (linkProbe.ts probeLink) otherwise.
 */
export function earlyProbe(
  first: { measureLink: boolean },
  canProbe: boolean,
  relay: { bytes(): number } | undefined,
  probe: (counter: () => number) => Promise<ProbeLook[]>,
): Promise<ProbeLook[]> | undefined {
  if (!first.measureLink || !canProbe || relay === undefined) return undefined;
  const pending = probe(() => relay.bytes());
  // Awaited after the flush; until then a failure must not count as unhandled.
  pending.catch(() => undefined);
  return pending;
}

/** Lists the joiner's rsync modules; also proves TLS and the joiner's identity before anything is locked. */
async function listModules(
  runner: PassRunner,
  cwd: string,
  signal: AbortSignal,
): Promise<Map<string, string>> {
  const pass: Pass = { name: 'module listing', cwd, args: [`${RSH_HOST}::`], first: true, bytes: 0 };
  const result = await runPass(runner, pass, signal);
  return parseModuleListing(result.stdout);
}

/** Sends the data set and has mysqld flush its tables; returns before `continue`. */
export async function copyDataSet(ctx: RoleContext, transport: DonorTransport): Promise<CopyOutcome> {
  const { prepared, lifecycle, protocol, signal, tmpdir } = ctx;
  const { args, settings, layout } = prepared;
  const { relay, runnerFor, sessions } = transport;
  const module = moduleOf(args.address);
  const tarPath = join(args.datadir, BINLOG_TAR);
  // When mysqld answered `flush tables`: the read-only window runs from here to `continue`.
  let flushedAt: number | undefined;
  // Wall time of each stage, for the summary line.
  const stages: string[] = [];
  // What the summary line says about the transfer mode and the bytes on the wire against the data.
  let dataBytes = 0;
  let state: SstState;
  // A redo log this method cannot copy fails the SST before the joiner is touched or mysqld takes its lock.
  const redo = redoLayoutProblem(layout.logDir, namesIn(layout.logDir));
  if (redo !== undefined) throw new ConfigError(redo);
  // Reach the joiner and verify it before mysqld takes the global read lock.
  const offered = await listModules(runnerFor(), args.datadir, signal);
  if (!offered.has(module)) {
    throw new TransferError(
      `The joiner does not offer rsync module "${module}" (it lists: ${[...offered.keys()].join(', ')})`,
    );
  }
  const twoPhase = settings.copy === 'two-phase';
  const flush = async (): Promise<SstState> => {
    // A previous SST's answer must not be taken for this one's (contract 3.4.2).
    for (const stale of [TABLES_FLUSHED, SST_ERROR]) rmSync(join(args.datadir, stale), { force: true });
    protocol.flushTables();
    const flushed = await waitForFlush(args.datadir, signal, settings.flushTimeoutMs);
    flushedAt = Date.now();
    log.info(`Tables flushed at position ${flushed.uuid}:${flushed.seqno}`);
    if (args.binlog !== undefined) {
      await packBinlogs(
        args.datadir,
        binlogNames(args.datadir, args.binlog, args.binlogIndex),
        settings.sstMaxBinlogs,
        tarPath,
      );
    }
    return flushed;
  };
  // Two-phase: the copy starts before the lock, so the cluster is the one mysqld named in --gtid. Single: the
  // one flush() answers, set below.
  const gtidUuid = (args.gtid ?? '').split(':')[0] ?? '';
  const tarBytes = (): number => (existsSync(tarPath) ? statSync(tarPath).size : 0);
  // Single copy: the data set is sized under the lock, after the flush; while mysqld flushes only for auto's
  // early probe.
  const earlyProbeWanted = !twoPhase && settings.transfer === 'auto';
  let dirs = twoPhase ? databaseDirs(args.datadir) : [];
  let binlogTarBytes = 0;
  const facts: TransferFacts = {
    setting: settings.transfer,
    compress: settings.compress,
    compressOff: settings.compressOff === true,
    clusterUuid: gtidUuid,
    joiner: parseDatadirComment(offered.get(module)),
    cores: availableParallelism(),
    workers: settings.backupThreads,
    ...(prepared.rsyncCompressions !== undefined && { donorCompressions: prepared.rsyncCompressions }),
    ...(settings.rateLimit !== undefined && { rateLimit: settings.rateLimit }),
  };
  // The cores the copy's connections can use: where auto's compression line lies (transferMode.ts cpuLanes).
  const lanes = cpuLanes(facts.cores, facts.workers);
  const joinerCompressions = parseJoinerCompressions(offered.get(module));
  if (joinerCompressions !== undefined) facts.joinerCompressions = joinerCompressions;
  const planFor = (transfer: TransferChoice, now = { dirs, binlogTarBytes }): Plan => {
    const inputs = {
      layout,
      module,
      offered,
      classFiles: classFiles(layout),
      dirs: now.dirs,
      binlogTarBytes: now.binlogTarBytes,
      ...(settings.deltaBlock !== undefined && { deltaBlock: settings.deltaBlock }),
    };
    if (transfer.mixed !== true || transfer.mixedRates === undefined)
      return planPasses({ ...inputs, transfer });
    // A mixed copy: whole files for the root, the classes and the whole-file side; the delta side's passes of
    // the same directories (mixedPool.ts).
    const plan = planPasses({ ...inputs, transfer: { ...transfer, delta: false } });
    const deltas = planPasses({ ...inputs, transfer: { ...transfer, delta: true } });
    return {
      ...plan,
      // The whole-file worker waits on the link: backup-threads workers compute deltas beside it.
      mixed: { deltaDirs: deltas.dirs, rates: transfer.mixedRates, deltaWorkers: settings.backupThreads },
    };
  };
  // The sizes do not depend on the mode; auto needs the total (a small data set is not worth a probe).
  const sizeOfData = (): number => {
    const sized = planFor({ delta: false, compress: undefined, reason: '' });
    return [sized.root, ...sized.classes, ...sized.dirs].reduce((sum, pass) => sum + pass.bytes, 0);
  };
  const canProbe = offered.has(`${module}${PROGRESS_MODULE_SUFFIX}`);
  const run = (pass: Pass): ReturnType<typeof runPass> => runPass(runnerFor(), pass, signal);
  // Single copy: mysqld is asked to flush first, then auto sizes the data set and starts its link probe while
  // mysqld flushes, when the link is idle anyway: neither delays the request, and the probe adds nothing to the
  // SST's time unless the flush answers first (earlyProbe). Two-phase starts sending at once: its probe rides
  // the byte total's pass below.
  const flushing = twoPhase ? undefined : flush();
  // Awaited below; this only keeps a failure during the synchronous work in between from going unhandled.
  flushing?.catch(() => undefined);
  if (earlyProbeWanted) dirs = databaseDirs(args.datadir);
  const beforeFlush = earlyProbeWanted ? sizeOfData() : 0;
  const probeInputs = {
    run,
    dir: tmpdir,
    module,
    workers: settings.backupThreads,
    compressLine: compressBelow(lanes),
  };
  // When the early probe ended: the copy waited for it only if that was after the flush's answer.
  let probeEnd = 0;
  const early = !earlyProbeWanted
    ? undefined
    : earlyProbe(chooseTransfer({ ...facts, dataBytes: beforeFlush }), canProbe, relay, async (counter) => {
        const looks = await probeLink({
          ...probeInputs,
          counter,
          also: [],
          dataBytes: beforeFlush,
          // A second look only while mysqld still flushes: after that the copy would wait for it.
          mayWiden: () => flushedAt === undefined,
        });
        probeEnd = Date.now();
        return looks;
      });
  let flushedFirst: SstState | undefined;
  if (flushing !== undefined) {
    try {
      flushedFirst = await flushing;
    } finally {
      // A failed flush fails the SST: the probe's pass is short and ends by itself; no rejection is left loose.
      if (flushedFirst === undefined) await early?.catch(() => undefined);
    }
    facts.clusterUuid = flushedFirst.uuid;
    dirs = databaseDirs(args.datadir);
  }
  binlogTarBytes = tarBytes();
  const total = sizeOfData();
  dataBytes = total;
  facts.dataBytes = total;
  let choice = chooseTransfer(facts);
  // auto with a probe ahead logs once, after it; otherwise now.
  if (!(choice.measureLink && canProbe)) log.info(`Transfer: ${choice.reason}`);
  let plan = planFor(choice);
  log.info(`Sending ${formatBytes(total)}: ${describePlan(plan)}`);
  if (canProbe) {
    // Our joiner takes the total into a private directory, for mysqld's `total` line; nothing lands in its
    // datadir. Sent before the first data pass: the joiner checks each file system's share against its free
    // space and refuses through its modules' gate before a data byte is written (spaceCheck.ts).
    const announcement = announce(plan, binlogTarBytes);
    writeFileSync(
      join(tmpdir, TOTAL_FILE),
      renderTotalFile(total, twoPhase ? { ...announcement, twoPhase: true } : announcement),
    );
    // The early probe's looks, if it ran (and whether or not auto still wants them now).
    const earlyLooks = await early;
    if (earlyLooks !== undefined) {
      const waited = Math.max(0, probeEnd - (flushedAt ?? probeEnd));
      log.info(describeProbe(earlyLooks, 'while mysqld flushed its tables', waited));
    }
    if (choice.measureLink) {
      // auto: the link's speed (linkProbe.ts): live on the relay's counter, taken during the flush or riding
      // the total's pass; without the relay, from probes of two sizes after it.
      let looks = earlyLooks;
      if (looks === undefined && relay !== undefined) {
        looks = await probeLink({
          ...probeInputs,
          counter: () => relay.bytes(),
          also: [TOTAL_FILE],
          dataBytes: total,
          mayWiden: () => true,
        });
        log.info(describeProbe(looks, "riding the byte total's pass"));
      }
      const live = looks === undefined ? undefined : linkOf(looks);
      if (relay === undefined || early !== undefined) await run(totalPass(tmpdir, module));
      const link = live ?? (await probeTwoSizes(run, tmpdir, module, total));
      choice = chooseTransfer({ ...facts, link });
      log.info(`Transfer: ${choice.reason}`);
      plan = planFor(choice);
    } else await run(totalPass(tmpdir, module));
  }
  let done = 0;
  // Whole files: the wire is the measure of progress. Deltas or compression: the data of finished passes is,
  // and the line says what crossed the wire for it.
  const wire = (): number => relay?.bytes() ?? done;
  const ticker = new ProgressTicker(
    () => (choice.delta || choice.compress !== undefined ? done : wire()),
    (line) =>
      log.info(
        `Progress: ${line}${choice.delta || choice.compress !== undefined ? `; ${describeChoice(choice)}, ${formatBytes(wire())} on the wire` : ''}`,
      ),
    {
      intervalMs: settings.progressIntervalMs,
      totalBytes: total,
    },
  );
  lifecycle.onCleanup('progress', () => ticker.stop());
  const counted = async (pass: Pass, passSignal: AbortSignal): Promise<void> => {
    const result = await runPass(runnerFor(), pass, passSignal);
    done += pass.bytes;
    log.debug(`Pass "${pass.name}" done in ${(result.durationMs / 1000).toFixed(1)} s`);
  };
  const timed = async (stage: string, work: () => Promise<unknown>): Promise<void> => {
    const t0 = Date.now();
    await work();
    stages.push(`${stage} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  };
  const rootStart = { at: Date.now(), wire: wire() };
  // auto without a probe (an original joiner has no progress module to probe into): the root pass, whole and
  // uncompressed, is the link's sample; the passes after it compress if the link is slow. Read on the relay's
  // counter it is a slope over the pass's second half, as the probe's is: end to end, rsync's set-up and the
  // socket buffers made a 72 MiB root pass on loopback read 211 MiB/s, below the zstd line, where whole files win.
  const rootReading =
    choice.measureLink && relay !== undefined ? startReading(() => relay.bytes()) : undefined;
  if (rootReading !== undefined) lifecycle.onCleanup('root pass reading', () => void rootReading());
  const afterRoot = (): Plan | undefined => {
    if (!choice.measureLink) return undefined;
    const readings = rootReading?.();
    const sample = (readings === undefined ? undefined : slopeSample(readings, plan.root.bytes / 2)) ?? {
      wireBytes: wire() - rootStart.wire,
      ms: Date.now() - rootStart.at,
    };
    const next = chooseCompression(choice, sample, lanes);
    log.info(`Transfer: ${next.reason}`);
    choice = { ...next, measureLink: false };
    if (next.changed) plan = planFor(next);
    return plan;
  };
  const onWire = (): number => sessions().reduce((sum, x) => sum + x.bytesIn + x.bytesOut, 0);
  if (flushedFirst !== undefined) {
    state = flushedFirst;
    await timed('root', () => counted(plan.root, signal));
    afterRoot();
    const stage = `${plan.classes.length > 0 ? 'InnoDB/Aria and ' : ''}${plan.dirs.length} directories`;
    await timed(stage, async () => {
      await sendDataPasses(plan, settings, signal, counted);
    });
  } else {
    const copyRunner: CopyRunner = {
      run: async (pass, passSignal, tolerate) => {
        const result = await runPass(runnerFor(), pass, passSignal, tolerate);
        done += pass.bytes;
        return result;
      },
      // The relay counts live; connectors report when their connection ends.
      wire: () => relay?.bytes() ?? onWire(),
      backupThreads: settings.backupThreads,
      splitDirs: settings.splitDirs,
      tmpdir,
      signal,
    };
    log.info('Phase 1 (donor writable): sending the data set before "flush tables"');
    const one = await copyWhileWritable(plan, args.datadir, copyRunner, afterRoot);
    stages.push(`phase 1 ${(one.ms / 1000).toFixed(1)} s`);
    log.info(
      `Phase 1 done: ${formatBytes(one.dataBytes)} of data, ${formatBytes(one.wireBytes)} on the wire in ` +
        `${(one.ms / 1000).toFixed(1)} s`,
    );
    ticker.stop();
    state = await flush();
    const t2 = Date.now();
    const now = { dirs: databaseDirs(args.datadir), binlogTarBytes: tarBytes() };
    const two = await refreshUnderLock(planFor(choice, now), one, copyRunner);
    stages.push(`phase 2 ${((Date.now() - t2) / 1000).toFixed(1)} s`);
    log.info(
      `Phase 2 done: ${formatBytes(two.dataBytes)} of data (${two.files} entries), ` +
        `${formatBytes(two.wireBytes)} on the wire in ${((Date.now() - t2) / 1000).toFixed(1)} s`,
    );
    dataBytes = one.dataBytes + two.dataBytes;
  }
  const transferMode = describeChoice(choice);
  ticker.stop();
  rmSync(tarPath, { force: true });
  return { state, flushedAt, dataBytes, transferMode, stages };
}
