/**
 * The donor role (sst-contract.md 2.2, 3.4, 3.5): check the joiner before taking any lock, `flush tables`,
 * send the data set with rsync through the TLS connector, `continue`, send the magic file last, and print
 * `done` only after every connection is closed.
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  describeError,
  DonorFlushError,
  MysqldAuthError,
  SstTimeoutError,
  TransferError,
  UsageError,
} from '../errors.js';
import { idleTimeoutFor } from '../config/settings.js';
import { logger } from '../log.js';
import { connectorRsh } from '../tunnel/connectorRsh.js';
import { prepareConnectorTls } from '../tunnel/connector.js';
import type { LivenessLink } from '../tunnel/liveness.js';
import { openDonorLiveness } from '../tunnel/livenessConnect.js';
import { livenessHandler } from './livenessPolicy.js';
import { relayWanted, startDonorRelay } from '../tunnel/relay.js';
import { donorToken } from '../tunnel/sstBinding.js';
import { moduleOf } from './address.js';
import { BINLOG_TAR, binlogNames, packBinlogs } from './binlog.js';
import { classFiles, databaseDirs, namesIn } from './datadirScan.js';
import { redoLayoutProblem } from './layout.js';
import {
  magicPass,
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
import { copyWhileWritable, refreshUnderLock, type CopyRunner, type Plan } from './twoPhaseCopy.js';
import { MysqldAuthParseError, userCreationFailed, type MysqldAuth } from './mysqldAuth.js';
import { parseState, type SstState } from './protocol.js';
import { runPass, runPool, type PassRunner } from './rsyncPass.js';
import { announce, renderTotalFile } from './spaceCheck.js';
import { wakeOnEntries, Wakeup } from './wakeup.js';
import {
  chooseCompression,
  chooseTransfer,
  describeChoice,
  parseDatadirComment,
  parseJoinerCompressions,
  wireVersusData,
  type TransferChoice,
  type TransferFacts,
} from './transferMode.js';
import { probeLink } from './linkProbe.js';
import {
  formatBytes,
  readReports,
  summaryLine,
  type RoleContext,
  type SessionFigures,
} from './roleContext.js';

const log = logger('donor');

/** The names mysqld uses to answer `flush tables` (contract 2.2.2, 2.2.3). */
export const TABLES_FLUSHED = 'tables_flushed';
export const SST_ERROR = 'sst_error';

/**
 * Waits for mysqld's answer to `flush tables`: the state it wrote, or `sst_error` (exit 255); after `timeoutMs`
 * ([sst] flush-timeout) an SstTimeoutError (exit 110): a mysqld that gave up without answering (11.6+ SST-user
 * failure, a lost stdout) must not keep the script, its lock and its children for ever.
 */
export async function waitForFlush(
  datadir: string,
  signal: AbortSignal,
  timeoutMs: number,
  pollMs = 200,
): Promise<SstState> {
  const wakeup = new Wakeup();
  // mysqld's answer wakes the poll at once (it lies on the SST's critical path); the poll stays the fallback.
  const unwatch = wakeOnEntries(datadir, [TABLES_FLUSHED, SST_ERROR], wakeup);
  const expired = new AbortController();
  const timer = setTimeout(() => expired.abort(), timeoutMs);
  try {
    return await pollFlush(datadir, AbortSignal.any([signal, expired.signal]), pollMs, wakeup);
  } catch (error) {
    if (expired.signal.aborted && !signal.aborted) {
      throw new SstTimeoutError(
        `mysqld did not answer "flush tables" within ${Math.round(timeoutMs / 1000)} s ([sst] flush-timeout): ` +
          'either FLUSH TABLES WITH READ LOCK waited on long statements (raise flush-timeout), or mysqld gave up ' +
          'on this SST (see its error log)',
      );
    }
    throw error;
  } finally {
    clearTimeout(timer);
    unwatch();
  }
}

/**
 * Fails the donor before anything is locked or sent when mysqld's credentials say it gave up: an 11.6+ mysqld
 * whose temporary SST user could not be created closes our stdin with no `sst_user=` line and never reads our
 * stdout, so `flush tables` would go unanswered (contract-drift.md, MDEV-31809).
 */
export async function checkMysqldAuth(pending: Promise<MysqldAuth> | undefined): Promise<MysqldAuth> {
  if (pending === undefined) return { source: 'none' };
  let auth: MysqldAuth;
  try {
    auth = await pending;
  } catch (error) {
    if (error instanceof MysqldAuthParseError)
      throw new MysqldAuthError(`Cannot use the credentials mysqld passed: ${error.message}`);
    throw error;
  }
  log.debug(
    `mysqld credentials: ${auth.source}${auth.remoteUser !== undefined ? " (with the joiner's)" : ''}`,
  );
  if (userCreationFailed(auth)) {
    throw new MysqldAuthError(
      'mysqld closed the SST credentials pipe without an sst_user line: it could not create its temporary SST ' +
        'user (MariaDB 11.6+ with an empty wsrep_sst_auth; see its error log) and has abandoned this SST. ' +
        'rsync_tunnel needs no database account: set wsrep_sst_auth to any placeholder, e.g. ' +
        'wsrep_sst_auth = rsync_tunnel:none, on this donor',
    );
  }
  return auth;
}

async function pollFlush(
  datadir: string,
  signal: AbortSignal,
  pollMs: number,
  wakeup: Wakeup,
): Promise<SstState> {
  const flushed = join(datadir, TABLES_FLUSHED);
  const error = join(datadir, SST_ERROR);
  for (;;) {
    if (existsSync(error)) throw new DonorFlushError('mysqld could not flush tables for the SST (sst_error)');
    let text: string | undefined;
    try {
      text = readFileSync(flushed, 'utf8');
    } catch {
      text = undefined;
    }
    // "readable and contains ':'" (contract 6.10): never act on a partly written file.
    if (text !== undefined && text.includes(':')) {
      const state = parseState(text.split('\n')[0] ?? '');
      if (state === undefined)
        throw new DonorFlushError(`Cannot parse "${text.trim()}" in ${TABLES_FLUSHED}`);
      rmSync(flushed, { force: true });
      return state;
    }
    await wakeup.sleep(pollMs, signal);
  }
}

/** The state to send with `--bypass` (IST): the position mysqld passed. */
export function bypassState(gtid: string | undefined, domainId: number | undefined): SstState {
  const state = gtid === undefined ? undefined : parseState(`${gtid} ${domainId ?? 0}`);
  if (state === undefined)
    throw new UsageError(`Cannot run an IST (--bypass) without a valid --gtid (got "${gtid ?? ''}")`);
  return state;
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

/** Runs the donor role to `done`. */
export async function runDonor(ctx: RoleContext): Promise<void> {
  let link: LivenessLink | undefined;
  try {
    await donate(ctx, (opened) => (link = opened));
  } catch (error) {
    // The joiner hears why at once, rather than from a closed link (or not at all, from an unbound joiner).
    link?.fail(describeError(error));
    throw error;
  }
}

async function donate(ctx: RoleContext, onLink: (link: LivenessLink) => void): Promise<void> {
  const { prepared, lifecycle, protocol, signal, tmpdir } = ctx;
  const { args, settings, layout } = prepared;
  const module = moduleOf(args.address);
  // Read once, at start (run.ts): stdin is 11.6+'s credentials pipe, and it also relays the binding token.
  const auth = await checkMysqldAuth(ctx.mysqldAuth);
  const magicName = `${module}_complete`;
  const magicPath = join(args.datadir, magicName);
  const tarPath = join(args.datadir, BINLOG_TAR);
  for (const stale of [magicPath, tarPath]) rmSync(stale, { force: true });
  lifecycle.onCleanup('donor files', () => {
    for (const path of [magicPath, tarPath]) rmSync(path, { force: true });
  });

  // The joiner's binding token (sstBinding.ts), relayed by mysqld: env on 10.x, stdin on 11.6+.
  // Our children (rsync, connectors) need not inherit mysqld's copy; connectors get the token in their spec.
  delete process.env.WSREP_SST_OPT_REMOTE_AUTH;
  const binding = donorToken(auth);
  log.info(
    binding !== undefined
      ? "The joiner asked for SST binding: every connection proves this SST's token"
      : 'The joiner did not ask for SST binding (an original or older joiner): connections carry plain rsync',
  );
  const expectedName = settings.sockopt.commonname ?? args.address.host;
  const reportDir = join(tmpdir, 'reports');
  const base = {
    host: args.address.host,
    port: args.address.port,
    paths: ctx.prepared.credentials.paths,
    policy: { ...prepared.policy, expectedName },
    idleTimeoutMs: settings.idleTimeoutMs,
    ...(settings.rateLimit !== undefined && { rateLimit: settings.rateLimit }),
  };
  // The liveness link (liveness.ts), only towards a joiner that asked for binding: an sst-tunnel joiner. Opened
  // before anything is locked, and held through the completion marker.
  let link: LivenessLink | undefined;
  // Made once for the link and the relay: one read of the key material, one verify=0 warning.
  let tls: ReturnType<typeof prepareConnectorTls> | undefined;
  if (binding !== undefined && settings.livenessMs > 0) {
    tls = prepareConnectorTls(base);
    const opened = await openDonorLiveness(
      { ...base, binding },
      tls,
      settings.livenessMs,
      livenessHandler((error) => lifecycle.abort(error)),
    );
    if (opened.link !== undefined) {
      link = opened.link;
      onLink(link);
      const live = link;
      lifecycle.onCleanup('liveness link', () =>
        live.fail(signal.aborted ? describeError(signal.reason) : 'the donor stopped'),
      );
    }
    log.info(
      opened.link !== undefined
        ? `Liveness link to the joiner is up: a dead link or a frozen joiner ends this SST within ${settings.livenessMs / 1000} s ([sst] liveness-timeout)`
        : `No liveness link: ${opened.why}; a silent joiner is judged by [sst] idle-timeout`,
    );
  }
  const idleMs = idleTimeoutFor(settings, link !== undefined);
  if (idleMs === 0 && settings.idleTimeoutMs > 0)
    log.debug('No idle timeout on the data connections: the liveness link judges the joiner');
  const spec = { ...base, idleTimeoutMs: idleMs, ...(binding !== undefined && { binding }) };
  if (settings.rateLimit !== undefined)
    log.info(`Sending at most ${formatBytes(settings.rateLimit)}/s, all connections together ([sst] rlimit)`);
  // One long-lived relay carries every connection; without it each rsync starts its own connector.
  if (!relayWanted())
    log.info('No relay (SST_TUNNEL_RELAY=none): each rsync connection starts its own connector');
  const relay = relayWanted() ? await startDonorRelay(spec, tls === undefined ? {} : { tls }) : undefined;
  // Aborted (a signal, mysqld gone, the liveness link lost): no grace, the joiner will not wind them down.
  if (relay !== undefined) lifecycle.onCleanup('relay', () => relay.close(signal.aborted ? 0 : undefined));
  let counter = 0;
  const runnerFor = (): PassRunner => {
    if (relay !== undefined) {
      return {
        rsync: settings.rsync,
        transport: { relay: { host: relay.host, port: relay.port } },
        env: {},
        explain: relay.lastError,
        failures: relay.failures,
        closed: relay.closed,
      };
    }
    const reportFile = join(reportDir, `${String(counter++).padStart(4, '0')}.json`);
    // Each connector limits only itself: its share of the rate, with backup-threads passes at once at most.
    const share =
      spec.rateLimit === undefined
        ? {}
        : { rateLimit: Math.max(1, Math.floor(spec.rateLimit / settings.backupThreads)) };
    const { rsh: command, env } = connectorRsh({ ...spec, ...share, reportFile }, ctx.cli);
    return { rsync: settings.rsync, transport: { rsh: command }, env, reportFile };
  };
  const sessions = (): SessionFigures[] => (relay !== undefined ? relay.sessions() : readReports(reportDir));

  let state: SstState;
  const started = Date.now();
  // When mysqld answered `flush tables`: the read-only window runs from here to `continue`.
  let flushedAt: number | undefined;
  // Wall time of each stage, for the summary line.
  const stages: string[] = [];
  // What the summary line says about the transfer mode and the bytes on the wire against the data.
  let dataBytes = 0;
  let transferMode: string | undefined;
  if (args.bypass) {
    state = bypassState(args.gtid, args.gtidDomainId);
    log.info(`IST requested: sending only the position ${args.gtid ?? ''}`);
  } else {
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
    // Two-phase: the copy starts before the lock, so the cluster is the one mysqld named in --gtid.
    const flushedFirst = twoPhase ? undefined : await flush();
    const clusterUuid = flushedFirst?.uuid ?? (args.gtid ?? '').split(':')[0] ?? '';
    const tarBytes = (): number => (existsSync(tarPath) ? statSync(tarPath).size : 0);
    const dirs = databaseDirs(args.datadir);
    const binlogTarBytes = tarBytes();
    const facts: TransferFacts = {
      setting: settings.transfer,
      compress: settings.compress,
      compressOff: settings.compressOff === true,
      clusterUuid,
      joiner: parseDatadirComment(offered.get(module)),
      cores: availableParallelism(),
      ...(prepared.rsyncCompressions !== undefined && { donorCompressions: prepared.rsyncCompressions }),
      ...(settings.rateLimit !== undefined && { rateLimit: settings.rateLimit }),
    };
    const joinerCompressions = parseJoinerCompressions(offered.get(module));
    if (joinerCompressions !== undefined) facts.joinerCompressions = joinerCompressions;
    const planFor = (transfer: TransferChoice, now = { dirs, binlogTarBytes }): Plan =>
      planPasses({
        layout,
        module,
        offered,
        classFiles: classFiles(layout),
        dirs: now.dirs,
        binlogTarBytes: now.binlogTarBytes,
        transfer,
        ...(settings.deltaBlock !== undefined && { deltaBlock: settings.deltaBlock }),
      });
    // The sizes do not depend on the mode; auto needs the total (a small data set is not worth a probe).
    const sized = planFor({ delta: false, compress: undefined, reason: '' });
    const total = [sized.root, ...sized.classes, ...sized.dirs].reduce((sum, pass) => sum + pass.bytes, 0);
    dataBytes = total;
    facts.dataBytes = total;
    let choice = chooseTransfer(facts);
    const canProbe = offered.has(`${module}${PROGRESS_MODULE_SUFFIX}`);
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
      await runPass(runnerFor(), totalPass(tmpdir, module), signal);
      if (choice.measureLink) {
        // auto: the link's speed, from probes of two sizes (linkProbe.ts).
        const link = await probeLink((pass) => runPass(runnerFor(), pass, signal), tmpdir, module, total);
        choice = chooseTransfer({ ...facts, link });
        log.info(`Transfer: ${choice.reason}`);
        plan = planFor(choice);
      }
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
    // uncompressed, was the link's sample; the passes after it compress if the link is slow.
    const afterRoot = (): Plan | undefined => {
      if (!choice.measureLink) return undefined;
      const next = chooseCompression(
        choice,
        { wireBytes: wire() - rootStart.wire, ms: Date.now() - rootStart.at },
        facts.cores,
      );
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
      if (plan.classes.length > 0)
        await timed('InnoDB/Aria', async () => {
          for (const pass of plan.classes) await counted(pass, signal);
        });
      await timed(`${plan.dirs.length} directories`, () =>
        runPool(plan.dirs, settings.backupThreads, signal, counted),
      );
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
    transferMode = describeChoice(choice);
    ticker.stop();
    rmSync(tarPath, { force: true });
  }
  if (flushedAt !== undefined) {
    const window = ((Date.now() - flushedAt) / 1000).toFixed(1);
    log.info(`Read-only window (tables_flushed to continue): ${window} s`);
    stages.push(`read-only ${window} s`);
  }
  protocol.continue();

  writeFileSync(
    magicPath,
    `${state.uuid}:${state.seqno} ${state.domainId ?? 0}\n${args.bypass ? 'bypass\n' : ''}`,
    {
      mode: 0o640,
    },
  );
  await runPass(runnerFor(), magicPass(args.datadir, module, magicName), signal);
  rmSync(magicPath, { force: true });
  // The marker is across: the joiner no longer needs to hear from us.
  link?.finish();
  // Every connection is closed here (each rsync waited for its connector): only now may mysqld hear `done`.
  await relay?.close();
  const summaryStages = stages.length > 0 ? `; stages: ${stages.join(', ')}` : '';
  // Only now, with every connection closed, are all of them counted (counted right after the data passes, the
  // wire once showed 7.4 MiB for 10.1 MiB of whole files): the completion marker's few bytes are in it too.
  const final = sessions();
  const wire = final.reduce((sum, x) => sum + x.bytesIn + x.bytesOut, 0);
  const transferNote =
    transferMode === undefined ? '' : `; transfer ${transferMode}: ${wireVersusData(dataBytes, wire)}`;
  logger('donor').info(
    `${summaryLine('donor', final, Date.now() - started, prepared.policy.verify)}${transferNote}${summaryStages}`,
  );
  protocol.done(state);
}
