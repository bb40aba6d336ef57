/**
 * wsrep_sst_auth on MariaDB 11.6 and later (MDEV-31809, contract-drift.md). With it empty, the donor's mysqld
 * creates a temporary `'wsrep.sst.<time>_<node>'@localhost` superuser for every SST by any method but `rsync`;
 * the physical copy carries it to the joiner (10.11 joiners keep it), and when mysqld cannot create it the SST
 * fails. rsync_tunnel needs no database account, so any placeholder avoids all of it. Pure.
 */
import type { OptionSet } from '../../config/optionSet.js';
import { ok, warn, type CheckResult } from '../../preflight/result.js';

/** The first release whose donors pass credentials on stdin and create a temporary SST user. */
export const AUTO_SST_USER_SINCE = { major: 11, minor: 6 };

/** The value the README and the messages suggest. */
export const SST_AUTH_PLACEHOLDER = 'rsync_tunnel:none';

function atLeast(v: { major: number; minor: number }, min: { major: number; minor: number }): boolean {
  return v.major > min.major || (v.major === min.major && v.minor >= min.minor);
}

export function sstAuthCheck(
  version: { major: number; minor: number; from: string },
  mysqld: OptionSet,
): CheckResult {
  const name = `MariaDB ${version.major}.${version.minor}`;
  if (!atLeast(version, AUTO_SST_USER_SINCE))
    return ok('server.sst-auth', `${name} (${version.from}) creates no temporary SST user`);
  const value = mysqld.get('wsrep-sst-auth');
  if (value !== undefined && value !== '')
    return ok('server.sst-auth', `${name}: wsrep_sst_auth is set, so no temporary SST user is created`);
  return warn(
    'server.sst-auth',
    `${name} with an empty wsrep_sst_auth creates a temporary superuser 'wsrep.sst.%'@localhost for every SST ` +
      'this node donates: the copy carries it to the joiner (10.11 joiners keep it), and the SST fails when it ' +
      'cannot be created',
    `set wsrep_sst_auth = ${SST_AUTH_PLACEHOLDER} in [mysqld] (any placeholder: rsync_tunnel uses no database account)`,
  );
}
