/**
 * The doctor's API for the rest of sst-tunnel: the pure certificate checks the SST preflight reuses. Only pure
 * modules are re-exported here, so src/sst may import this without pulling in the doctor's I/O.
 */
export {
  credentialChecks,
  DEFAULT_EXPIRY_WARNING_DAYS,
  type CredentialCheckOptions,
} from './checks/credentials.js';
export { doctorExitCode, worstStatus, type CheckResult, type CheckStatus } from './result.js';
export { renderCheck } from './render.js';
