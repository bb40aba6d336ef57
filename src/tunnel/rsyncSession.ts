/**
 * Serving one verified connection on the joiner: its own `rsync --server --daemon` (inetd style) on the TLS
 * socket, the byte pump between them with its idle timeout, rsync's exit deadline once its input has ended, and
 * one log line at the end that says who, how much and how it ended.
 */
import { readFileSync, rmSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { logger } from '../log.js';
import { startChild } from '../rsync/child.js';
import type { verifyPeer } from '../tls/context.js';
import type { SessionInfo } from './listenerTypes.js';
import { loopbackPair } from './loopbackPair.js';
import { pump } from './pump.js';
import type { LiveSession, SessionCounters } from './sessionCounters.js';

const log = logger('listener');

/** rsync's daemon log prefix: `2026/11/22 07:09:27 [9529] `. */
const RSYNC_LOG_PREFIX = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[\d+\] /;

/**
 * Logs the rsync daemon's own log file for one connection. Lines the daemon already wrote to stderr (logged as they
 * came) go to debug: rsync writes its errors to both, and each should be read once.
 */
function forwardRsyncLog(path: string, peer: string, alreadyLogged: ReadonlySet<string>): string[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
    rmSync(path, { force: true });
  } catch {
    return [];
  }
  const lines = text
    .split('\n')
    .map((l) => l.replace(RSYNC_LOG_PREFIX, ''))
    .filter(Boolean);
  for (const line of lines) {
    if (!alreadyLogged.has(line) && /error|fail|refus|denied|unknown module|warning/i.test(line))
      log.warn(`rsync daemon (${peer}): ${line}`);
    else log.debug(`rsync daemon (${peer}): ${line}`);
  }
  return lines;
}

/**
 * rsync's own words for what went wrong: the first `rsync: ...` line (the cause), else the first
 * `rsync error: ... (code N)` summary. The daemon writes its errors to stderr, or only to its log file and the
 * donor when the donor asked for them in the protocol stream (--no-msgs2stderr).
 */
export function rsyncCause(lines: readonly string[]): string | undefined {
  return lines.find((l) => l.startsWith('rsync: ')) ?? lines.find((l) => l.startsWith('rsync error: '));
}

/** What serving a session needs from its TLS service. */
export interface SessionContext {
  rsync: { binary: string; configPath: string };
  idleTimeoutMs: number;
  /** Time between SIGTERM and SIGKILL for rsync; time rsync gets to exit after its input ended. */
  killAfterMs: number;
  /** Whether the peer's chain was verified at all (sockopt verify), for the log line. */
  verify: boolean;
  /** Feed rsync through a pipe rather than a loopback TCP pair (RSYNC_INPUT_ENV). */
  pipeInput: boolean;
  counters: SessionCounters;
}

/** One verified connection: who, what the handshake agreed, and where its rsync daemon logs. */
export interface VerifiedConnection {
  socket: TLSSocket;
  peer: string;
  check: ReturnType<typeof verifyPeer>;
  /** Date.now() when the TCP connection was verified: the session's duration counts from here. */
  started: number;
  logFile: string;
  /** With a binding: what the donor's first bytes showed (sstBinding.ts). */
  binding?: SessionInfo['binding'] | undefined;
}

/** Serves `conn` until it ends; resolves (never rejects) with what is logged and reported for it. */
export async function serveSession(
  conn: VerifiedConnection,
  ctx: SessionContext,
  session: LiveSession,
): Promise<SessionInfo> {
  const { socket, peer, check, started, logFile } = conn;
  const info: SessionInfo = {
    peer,
    protocol: check.protocol,
    cipher: check.cipher,
    bytesIn: 0,
    bytesOut: 0,
    durationMs: 0,
    rsyncExit: null,
  };
  if (check.identity !== undefined) info.identity = check.identity;
  if (check.match !== undefined) info.match = check.match;
  if (conn.binding !== undefined) info.binding = conn.binding;
  const stderrLines: string[] = [];
  let logLines: string[] = [];
  // rsync's stdin: one end of a loopback TCP pair (deep kernel buffers, loopbackPair.ts), else a pipe.
  const pair = !ctx.pipeInput
    ? await loopbackPair().catch((error: unknown) => {
        log.debug(`No loopback pair for rsync's input (${(error as Error).message}): using a pipe`);
        return undefined;
      })
    : undefined;
  try {
    const child = await startChild(
      ctx.rsync.binary,
      ['--server', '--daemon', `--config=${ctx.rsync.configPath}`, `--dparam=log file=${logFile}`, '.'],
      {
        stdio: [pair?.theirs ?? 'pipe', 'pipe', 'pipe'],
        killAfterMs: ctx.killAfterMs,
        onStderrLine: (line) => {
          log.warn(`rsync (${peer}): ${line}`);
          stderrLines.push(line);
        },
      },
    );
    // rsync holds its own copy of that end now.
    pair?.theirs.destroy();
    const stdout = child.process.stdout;
    const stdin = pair?.ours ?? child.process.stdin;
    if (stdout === null || stdin === null) throw new Error('rsync was started without pipes');
    // Nothing comes back on rsync's stdin but its end: read it, so that the end (or a reset) is seen.
    if (pair !== undefined) pair.ours.resume();
    const p = pump(
      { readable: socket, writable: socket },
      { readable: stdout, writable: stdin },
      // aToB is the donor's payload (TLS → rsync): only it proves the transfer is alive. Node hands decrypted
      // data over one 16 KiB TLS record at a time: coalesced, rsync gets them in fewer, larger writes.
      {
        idleTimeoutMs: ctx.idleTimeoutMs,
        idleOn: 'aToB',
        coalesce: 'aToB',
        drainAfterEpipe: 'aToB',
      },
    );
    session.pump = p;
    session.end = () => {
      p.abort();
      void child.terminate();
    };
    const moved = await p.done;
    // rsync's input has ended: it exits on its own; the deadline covers one that does not.
    const timer = setTimeout(() => void child.terminate(), ctx.killAfterMs);
    const exit = await child.result;
    clearTimeout(timer);
    Object.assign(info, { bytesIn: moved.aToB, bytesOut: moved.bToA, rsyncExit: exit.exitCode });
    ctx.counters.settle(session, moved);
    // rsync's own exit code is logged, not judged: the daemon exits 255 after a plain module listing, and a
    // failed transfer is reported (and mapped to an exit code) by the donor's rsync.
    if (moved.error !== undefined) info.error = moved.error.message;
  } catch (error) {
    info.error = (error as Error).message;
    socket.destroy();
    pair?.ours.destroy();
    pair?.theirs.destroy();
  } finally {
    logLines = forwardRsyncLog(logFile, peer, new Set(stderrLines));
  }
  const rsyncMessage = rsyncCause([...stderrLines, ...logLines]);
  if (rsyncMessage !== undefined) info.rsyncMessage = rsyncMessage;
  info.durationMs = Date.now() - started;
  const verified =
    info.match !== undefined
      ? `verified by ${info.match.field} "${info.match.value}"`
      : ctx.verify
        ? 'chain verified'
        : 'NOT verified';
  // rsync's daemon exits 255 after serving a module listing (the donor's first connection of every SST): said
  // as what it is, so that a routine listing does not read like a failure in the joiner's log.
  const listing = info.rsyncExit === 255 && logLines.some((l) => l.startsWith('module-list request'));
  const rsyncEnd = listing ? 'module listing' : `rsync exit ${info.rsyncExit ?? 'none'}`;
  const line = `Connection from ${peer} (${verified}) closed: ${info.protocol} ${info.cipher}, in ${info.bytesIn} B, out ${info.bytesOut} B, ${(info.durationMs / 1000).toFixed(2)} s, ${rsyncEnd}`;
  if (info.error === undefined) log.info(line);
  else log.warn(`${line}: ${info.error}`);
  return info;
}
