/**
 * The donor role (sst-contract.md 2.2, 3.4, 3.5): check the joiner before taking any lock, `flush tables`,
 * send the data set with rsync through the TLS connector, `continue`, send the magic file last, and print
 * `done` only after every connection is closed. This module holds the order of those steps; each step's work
 * lies in its own module: mysqld's credentials (mysqldAuth.ts), the way to the joiner (donorTransport.ts), the
 * copy and the flush (donorCopy.ts, flushWait.ts) and the summary line (donorSummary.ts).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, UsageError } from '../errors.js';
import { logger } from '../log.js';
import type { LivenessLink } from '../tunnel/liveness.js';
import { moduleOf } from './address.js';
import { BINLOG_TAR } from './binlog.js';
import { copyDataSet } from './donorCopy.js';
import { donorSummaryLine } from './donorSummary.js';
import { openDonorTransport } from './donorTransport.js';
import { checkMysqldAuth } from './mysqldAuth.js';
import { magicPass } from './passes.js';
import { parseState, type SstState } from './protocol.js';
import { runPass } from './rsyncPass.js';
import type { RoleContext } from './roleContext.js';

const log = logger('donor');

/** The state to send with `--bypass` (IST): the position mysqld passed. */
export function bypassState(gtid: string | undefined, domainId: number | undefined): SstState {
  const state = gtid === undefined ? undefined : parseState(`${gtid} ${domainId ?? 0}`);
  if (state === undefined)
    throw new UsageError(`Cannot run an IST (--bypass) without a valid --gtid (got "${gtid ?? ''}")`);
  return state;
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
  const { prepared, lifecycle, protocol, signal } = ctx;
  const { args } = prepared;
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

  const transport = await openDonorTransport(ctx, auth, onLink);
  const { link, relay, runnerFor, sessions } = transport;

  let state: SstState;
  const started = Date.now();
  // When mysqld answered `flush tables`: the read-only window runs from here to `continue`.
  let flushedAt: number | undefined;
  // Wall time of each stage, for the summary line.
  let stages: string[] = [];
  // What the summary line says about the transfer mode and the bytes on the wire against the data.
  let dataBytes = 0;
  let transferMode: string | undefined;
  if (args.bypass) {
    state = bypassState(args.gtid, args.gtidDomainId);
    log.info(`IST requested: sending only the position ${args.gtid ?? ''}`);
  } else {
    ({ state, flushedAt, dataBytes, transferMode, stages } = await copyDataSet(ctx, transport));
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
  // Only now, with every connection closed, are all of them counted (donorSummary.ts): the completion marker's
  // few bytes are in it too.
  logger('donor').info(
    donorSummaryLine({
      sessions: sessions(),
      elapsedMs: Date.now() - started,
      verified: prepared.policy.verify,
      transferMode,
      dataBytes,
      stages,
    }),
  );
  protocol.done(state);
}
