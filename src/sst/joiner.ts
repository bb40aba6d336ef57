/**
 * The joiner role (sst-contract.md 2.1, 3.3, 4.3): listen with TLS on the advertised address, print `ready`,
 * let each authenticated connection run an rsync daemon on its stdio, wait for the magic file the donor sends
 * last, put the binary logs in place, close the listener, and only then print the state line.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, TransferError } from '../errors.js';
import { idleTimeoutFor } from '../config/settings.js';
import { logger } from '../log.js';
import { renderRsyncdConf, type RsyncModule } from '../rsync/conf.js';
import { startListener } from '../tunnel/listener.js';
import { boundReadyPayload, newToken } from '../tunnel/sstBinding.js';
import { DEFAULT_MODULE, hostForUrl } from './address.js';
import { BINLOG_TAR, binlogNames, installBinlogs } from './binlog.js';
import { chooseBindHost } from './bindHost.js';
import { FILE_CLASSES, type DataLayout } from './layout.js';
import { IN_DATADIR, PROGRESS_MODULE_SUFFIX, TOTAL_FILE } from './passes.js';
import { ProgressTicker } from './progress.js';
import { livenessHandler } from './livenessPolicy.js';
import { gateScript, NoSpaceError, parseAnnouncement } from './spaceCheck.js';
import { startSpaceGuard } from './spaceGuard.js';
import { parseState, type SstState } from './protocol.js';
import { waitForConnectionsToClose, waitForMagic, waitForSessionsToEnd, writeFailure } from './waitMagic.js';
import { Wakeup } from './wakeup.js';
import { datadirComment, parseGrastate, wireVersusData, type JoinerDatadir } from './transferMode.js';
import {
  bindingLine,
  formatBytes,
  summaryLine,
  type RoleContext,
  type SessionFigures,
} from './roleContext.js';

const log = logger('joiner');

/** The joiner's marker while a transfer runs (contract 3.1). */
export const SST_IN_PROGRESS = 'sst_in_progress';

/**
 * The rsync modules the joiner serves: the datadir, one per file class (contract 3.3.4), and a private
 * directory where the donor drops its byte total. A class module's comment tells our donor whether that class
 * lives in the datadir (then it rides with the root pass); the original's donor ignores comments and sends
 * the redo log to `-log_dir`, which therefore always exists.
 */
export function joinerModules(
  module: string,
  layout: DataLayout,
  progressDir: string,
  gate?: string,
  grastate?: JoinerDatadir,
  compressions: string[] = [],
): RsyncModule[] {
  // The space gate (spaceCheck.ts) guards every module that receives data, never the progress module.
  const guarded = gate === undefined ? {} : { preXferExec: gate };
  return [
    // The cluster and position of the datadir this joiner holds, and what its rsync can decompress: the donor's
    // `[sst] transfer = auto` sends deltas only against a datadir of its own cluster, and picks a compression
    // both sides' rsync offer (transferMode.ts).
    { name: module, path: layout.datadir, comment: datadirComment(grastate, compressions), ...guarded },
    ...FILE_CLASSES.map((fileClass) => ({
      name: `${module}${fileClass.moduleSuffix}`,
      path: fileClass.dirOf(layout),
      comment: fileClass.dirOf(layout) === layout.datadir ? IN_DATADIR : 'separate',
      ...guarded,
    })),
    { name: `${module}${PROGRESS_MODULE_SUFFIX}`, path: progressDir, comment: 'progress' },
  ];
}

/** The uuid and seqno in the datadir's grastate.dat, if it holds a cluster's datadir. */
function readGrastate(datadir: string): JoinerDatadir | undefined {
  try {
    return parseGrastate(readFileSync(join(datadir, 'grastate.dat'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Reads the donor's byte total once it has arrived. */
function readTotal(path: string): number | undefined {
  try {
    const total = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isSafeInteger(total) && total >= 0 ? total : undefined;
  } catch {
    return undefined;
  }
}

/** What the magic file says: the state (first line) and whether this was an IST (`bypass`). */
export function parseMagic(text: string): { state: SstState; bypass: boolean } | undefined {
  const lines = text.split('\n').map((line) => line.trim());
  const state = parseState(lines[0] ?? '');
  if (state === undefined) return undefined;
  return { state, bypass: lines.includes('bypass') };
}

/** Runs the joiner role to the state line. */
export async function runJoiner(ctx: RoleContext): Promise<void> {
  const { prepared, lifecycle, protocol, signal, tmpdir } = ctx;
  const { args, settings, layout } = prepared;
  const module = DEFAULT_MODULE;
  const magicPath = join(args.datadir, `${module}_complete`);
  const tarPath = join(args.datadir, BINLOG_TAR);
  const progressPath = join(args.datadir, SST_IN_PROGRESS);
  for (const stale of [magicPath, tarPath]) rmSync(stale, { force: true });
  for (const dir of new Set([layout.dataHome, layout.logDir, layout.undoDir, layout.ariaDir])) {
    mkdirSync(dir, { recursive: true });
  }
  writeFileSync(progressPath, '');
  lifecycle.onCleanup('joiner files', () => {
    for (const path of [magicPath, tarPath, progressPath]) rmSync(path, { force: true });
  });

  const progressDir = join(tmpdir, 'progress');
  mkdirSync(progressDir, { mode: 0o700 });
  const configPath = join(tmpdir, 'rsyncd.conf');
  const idleSet = settings.idleTimeoutSet;
  const verdictPath = join(tmpdir, 'space-verdict');
  const gatePath = join(tmpdir, 'space-gate.sh');
  writeFileSync(gatePath, gateScript(join(progressDir, TOTAL_FILE), verdictPath), { mode: 0o700 });
  // Whether the donor announced a two-phase copy (its total file comes before any data pass).
  const twoPhaseDonor = (): boolean => {
    try {
      return parseAnnouncement(readFileSync(join(progressDir, TOTAL_FILE), 'utf8'))?.twoPhase === true;
    } catch {
      return false;
    }
  };
  const modules = joinerModules(
    module,
    layout,
    progressDir,
    `/bin/sh ${gatePath}`,
    readGrastate(args.datadir),
    ctx.prepared.rsyncCompressions,
  );
  writeFileSync(
    configPath,
    renderRsyncdConf({
      modules,
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      // rsync's own I/O timeout only when idle-timeout was set: left to its default, the idle timeout follows from
      // the liveness link, known only once the donor connects, and waitForMagic applies it (idleTimeoutFor).
      timeoutSeconds: idleSet ? Math.max(1, Math.ceil((settings.idleTimeoutMs || 300_000) / 1000)) : 0,
    }),
    { mode: 0o600 },
  );

  const { bind, warning } = await chooseBindHost(args.address.host);
  if (warning !== undefined) log.warn(warning);
  // SST binding (sstBinding.ts): a fresh token per SST, so a donor of an earlier attempt cannot write here.
  const binding = { token: newToken(), required: settings.requireDonorBinding };
  let unboundLogged = false;
  const sessions: SessionFigures[] = [];
  // A connection's end wakes the waits below; setImmediate lets the listener drop it from its live count first.
  const wakeup = new Wakeup();
  // Ends the waits early: mysqld's signals (the role's signal), or a daemon that could not write here.
  const failed = new AbortController();
  const onOuterAbort = (): void => failed.abort(signal.reason);
  if (signal.aborted) onOuterAbort();
  else signal.addEventListener('abort', onOuterAbort, { once: true });
  lifecycle.onCleanup('wait-signal', () => signal.removeEventListener('abort', onOuterAbort));
  const space = startSpaceGuard({
    modulePaths: new Map(modules.filter((m) => m.preXferExec !== undefined).map((m) => [m.name, m.path])),
    binlogDir:
      args.binlog === undefined ? undefined : binlogNames(args.datadir, args.binlog, args.binlogIndex).dir,
    verdictPath,
    fail: (error) => {
      if (!failed.signal.aborted) failed.abort(error);
    },
  });
  lifecycle.onCleanup('space', () => space.stop());
  // The donor's liveness link (liveness.ts): up once our donor has connected; until then, and for an original
  // donor, idle-timeout is the bound.
  let linkUp = false;
  const onLiveness = livenessHandler(
    (error) => lifecycle.abort(error),
    1000,
    // The marker is here: whatever happens to the donor now, this SST has all its data.
    () => existsSync(magicPath),
  );
  const listener = await startListener({
    host: bind,
    port: args.address.port,
    credentials: prepared.credentials,
    policy: prepared.policy,
    rsync: { binary: settings.rsync, configPath },
    // Per connection only when set: by default the wait below judges silence, knowing whether the link is up.
    idleTimeoutMs: idleSet ? settings.idleTimeoutMs : 0,
    ...(settings.livenessMs > 0 && {
      liveness: {
        boundMs: settings.livenessMs,
        onEvent: (event) => {
          if (event.kind === 'up' && !linkUp) {
            linkUp = true;
            log.info(
              `Liveness link from the donor is up: a dead link or a frozen donor ends this SST within ${settings.livenessMs / 1000} s ([sst] liveness-timeout)`,
            );
          }
          onLiveness(event);
        },
      },
    }),
    tmpdir,
    workers: settings.joinerWorkers,
    binding,
    onSession: (session) => {
      if (session.binding === 'unbound' && !unboundLogged) {
        unboundLogged = true;
        log.warn(
          `This SST is not bound to its donor: ${session.identity?.subject ?? session.peer} sent no proof of this SST's token (an original or older donor), so a donor of another SST attempt could write here too; set [sst] require-donor-binding=1 once every node runs sst-tunnel`,
        );
      }
      const figures: SessionFigures = { bytesIn: session.bytesIn, bytesOut: session.bytesOut };
      figures.protocol = session.protocol;
      figures.cipher = session.cipher;
      figures.peer = session.peer;
      if (session.match !== undefined) figures.match = session.match;
      if (session.identity !== undefined) figures.subject = session.identity.subject;
      if (session.binding !== undefined) figures.binding = session.binding;
      if (session.error !== undefined) figures.error = session.error;
      sessions.push(figures);
      const failure = writeFailure(session);
      if (failure !== undefined && session.rsyncExit === 23 && twoPhaseDonor()) {
        // A two-phase donor's first phase meets files that change under it; its second phase repairs them, and
        // only the completion marker ends the SST (spaceCheck.ts, Announcement.twoPhase).
        log.info(
          `${failure.message}; the donor copies in two phases and re-sends what its first phase missed`,
        );
      } else if (failure !== undefined && !failed.signal.aborted) failed.abort(failure);
      setImmediate(() => wakeup.wake());
    },
  });
  lifecycle.onCleanup('listener', () => listener.close());
  // Runs before the listener closes (newest first): the donor hears why this side stopped.
  lifecycle.onCleanup('liveness link', () =>
    listener.endLiveness({
      how: 'fail',
      reason: signal.aborted ? describeError(signal.reason) : 'the joiner stopped',
    }),
  );
  const started = Date.now();
  protocol.ready(
    boundReadyPayload(binding.token, `${hostForUrl(args.address.host)}:${listener.address.port}/${module}`),
  );
  const workers = settings.joinerWorkers;
  const how = [
    prepared.policy.verify
      ? 'TLS, client certificate required'
      : 'TLS, no client certificate asked (verify=0)',
    ...(workers > 0 ? [`${workers} worker process${workers === 1 ? '' : 'es'} ([sst] joiner-workers)`] : []),
    binding.required ? 'donor must prove this SST (require-donor-binding)' : 'bound to this SST',
  ];
  log.info(`Listening for the donor on ${hostForUrl(bind)}:${listener.address.port} (${how.join('; ')})`);

  let lastComplete: number | undefined;
  const ticker = new ProgressTicker(
    () => listener.stats().bytesIn,
    (line, sample) => {
      log.info(`Progress: ${line}`);
      // Bytes on the wire include rsync's protocol: never more than the total (mysqld's bar would pass 100%).
      if (args.progress && sample.totalBytes !== undefined) {
        lastComplete = Math.min(sample.doneBytes, sample.totalBytes);
        protocol.complete(lastComplete);
      }
    },
    { intervalMs: settings.progressIntervalMs },
  );
  const totalWatch = setInterval(() => {
    const total = readTotal(join(progressDir, TOTAL_FILE));
    if (total === undefined) return;
    clearInterval(totalWatch);
    space.judge(readFileSync(join(progressDir, TOTAL_FILE), 'utf8'));
    ticker.totalBytes = total;
    log.info(`The donor is sending ${formatBytes(total)}`);
    if (args.progress) protocol.total(total);
  }, 50);
  lifecycle.onCleanup('progress', () => {
    clearInterval(totalWatch);
    ticker.stop();
  });

  const text = await waitForMagic(
    magicPath,
    listener,
    {
      connectTimeoutMs: settings.connectTimeoutMs,
      idleTimeoutMs: settings.idleTimeoutMs,
      idleNow: () => idleTimeoutFor(settings, linkUp),
      pollMs: 200,
    },
    failed.signal,
    wakeup,
  ).catch(async (error: unknown) => {
    // The donor hears the cause at once, before this side's grace below.
    listener.endLiveness({ how: 'fail', reason: describeError(error) });
    if (error === failed.signal.reason && !signal.aborted) {
      // Before this node's sockets close, the donor gets a moment to read rsync's own message and close its side.
      // Out of space: every second counts (the disk is full, or nothing was written), 1 s is enough.
      const grace = failed.signal.reason instanceof NoSpaceError ? 1000 : 3000;
      await waitForConnectionsToClose(listener, grace, signal).catch(() => undefined);
    }
    throw error;
  });
  // The marker is here: the donor need not hear from this side any more.
  listener.endLiveness({ how: 'done' });
  clearInterval(totalWatch);
  ticker.stop();
  space.stop();
  if (!(await waitForSessionsToEnd(listener, 5000, failed.signal, 50, wakeup))) {
    log.warn('A connection was still open 5 s after the completion marker arrived: closing it');
  }
  // Close before the state line: rsync daemons ended, port free, nothing writes into the datadir any more.
  await listener.close();
  const magic = parseMagic(text);
  if (magic === undefined) {
    throw new TransferError(`Cannot parse the state "${text.split('\n')[0] ?? ''}" sent by the donor`, {
      exitCode: 32,
    });
  }
  if (magic.state.seqno < 0n) {
    throw new TransferError(`The donor sent an undefined position (${text.split('\n')[0] ?? ''})`, {
      exitCode: 32,
    });
  }
  if (!magic.bypass && args.binlog !== undefined) {
    await installBinlogs(args.datadir, binlogNames(args.datadir, args.binlog, args.binlogIndex), tarPath);
  }
  const totals = sessions.reduce((sum, s) => sum + s.bytesIn + s.bytesOut, 0);
  // Against the donor's total: deltas and compression show as less on the wire than the data.
  const ofData = ticker.totalBytes === undefined ? '' : `; ${wireVersusData(ticker.totalBytes, totals)}`;
  log.info(`${summaryLine('joiner', sessions, Date.now() - started, prepared.policy.verify)}${ofData}`);
  const bound = bindingLine(sessions);
  if (bound !== undefined) log.info(bound);
  log.debug(`Received ${formatBytes(totals)} in ${sessions.length} connection(s)`);
  // Progress to the end: the last `complete` mysqld sees before the state line is the total (issue 21).
  if (args.progress && ticker.totalBytes !== undefined && lastComplete !== ticker.totalBytes)
    protocol.complete(ticker.totalBytes);
  protocol.state(magic.state);
}
