/** The doctor's exit code from its checklist (src/preflight/result.ts holds the checks' common shape). */
import { worstStatus, type CheckResult } from '../preflight/result.js';

/**
 * The doctor's exit code, Nagios-style so monitoring can alert on it: 0 all ok, 1 warnings only (e.g. a
 * certificate expiring within the warning window), 2 at least one failure.
 */
export function doctorExitCode(results: readonly CheckResult[]): 0 | 1 | 2 {
  const worst = worstStatus(results);
  return worst === 'fail' ? 2 : worst === 'warn' ? 1 : 0;
}
