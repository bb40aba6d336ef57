/**
 * The donor's wait for mysqld's answer to `flush tables` (sst-contract.md 2.2.2, 2.2.3, 3.4.2, 6.10): the state it
 * wrote to `tables_flushed`, or `sst_error`. Its own module because it is the one step of the donor that waits on
 * mysqld, with its own bound ([sst] flush-timeout) and its own wake-up on the answer's file.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DonorFlushError, SstTimeoutError } from '../errors.js';
import { parseState, type SstState } from './protocol.js';
import { wakeOnEntries, Wakeup } from './wakeup.js';

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
