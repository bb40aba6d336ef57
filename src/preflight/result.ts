/**
 * A check's unit of output: one check, one line. Pure checks return lists of these; the doctor gathers and
 * prints them (src/doctor/run.ts, render.ts), the SST preflight turns a failure into an error
 * (src/sst/prepare.ts). Ids are stable (they are the JSON API); several results may share an id, e.g. one
 * `ca.validity` per certificate of a bundle.
 */

/** ok = nothing to do; warn = works today, worth fixing; fail = an SST would fail or run unverified. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One line of the checklist: what was checked, what was found, and how to fix it when it is not ok. */
export interface CheckResult {
  id: string;
  status: CheckStatus;
  message: string;
  hint?: string;
}

/** A passed check. */
export function ok(id: string, message: string): CheckResult {
  return { id, status: 'ok', message };
}

/** A warning, with a hint when there is something to do. */
export function warn(id: string, message: string, hint?: string): CheckResult {
  return hint === undefined ? { id, status: 'warn', message } : { id, status: 'warn', message, hint };
}

/** A failure, with a hint when there is something to do. */
export function fail(id: string, message: string, hint?: string): CheckResult {
  return hint === undefined ? { id, status: 'fail', message } : { id, status: 'fail', message, hint };
}

/** The worst status of a list: fail > warn > ok (ok for an empty list). */
export function worstStatus(results: readonly CheckResult[]): CheckStatus {
  if (results.some((r) => r.status === 'fail')) return 'fail';
  return results.some((r) => r.status === 'warn') ? 'warn' : 'ok';
}
