/**
 * What the option files say, checked: where they came from, warnings mysqld would print, settings notices,
 * `[sst] sockopt` tokens (understood, ignored, insecure) and the advertised address. Pure.
 */
import type { SstSettings } from '../../config/settings.js';
import { formatHostPort } from '../../sst/address.js';
import { describeSource, type AdvertisedAddress } from '../advertised.js';
import { fail, ok, warn, type CheckResult } from '../../preflight/result.js';

/** Option files read and what mysqld would have warned about while reading them. */
export function optionFileChecks(files: readonly string[], warnings: readonly string[]): CheckResult[] {
  return [
    files.length === 0
      ? warn(
          'config.files',
          'No option file was read',
          'pass --defaults-file as mysqld is started with, or create /etc/mysql/my.cnf',
        )
      : ok('config.files', `Option files read: ${files.join(', ')}`),
    ...warnings.map((w) => warn('config.warning', w)),
  ];
}

/** Notices from settingsFrom, sockopt tokens, verify=0, and whether tcert is set. */
export function settingsChecks(settings: SstSettings, files: readonly string[]): CheckResult[] {
  const results: CheckResult[] = [];
  if (settings.tcert === undefined) {
    results.push(
      fail(
        'config.tcert',
        `Cannot start an encrypted SST: [sst] tcert is not set in ${files.join(', ') || 'any option file'}`,
        'make a node certificate with "sst-tunnel certs init" and "sst-tunnel certs node", then paste the [sst] lines it prints',
      ),
    );
  }
  const sockoptNotices = new Set(settings.sockopt.notices);
  for (const notice of settings.notices) {
    if (!sockoptNotices.has(notice)) results.push(warn('config.notice', notice));
  }
  if (settings.sockoptRaw !== undefined) {
    const ignored = settings.sockopt.notices.filter((n) => / is ignored/.test(n));
    results.push(
      ignored.length === settings.sockopt.notices.length &&
        ignored.length > 0 &&
        settings.sockopt.insecure.length === 0
        ? warn(
            'config.sockopt',
            `sockopt "${settings.sockoptRaw}": nothing in it is used`,
            'remove the tokens listed below',
          )
        : ok('config.sockopt', `sockopt "${settings.sockoptRaw}" is read with socat's rules`),
    );
    for (const notice of settings.sockopt.notices) {
      results.push(
        warn(
          'config.sockopt',
          notice,
          / is ignored/.test(notice) ? 'remove it from [sst] sockopt' : undefined,
        ),
      );
    }
    if (settings.sockopt.commonname !== undefined) {
      results.push(
        ok(
          'config.sockopt',
          `As donor, this node expects joiners to present "${settings.sockopt.commonname}" (sockopt commonname)`,
        ),
      );
    }
  }
  for (const token of settings.sockopt.insecure) {
    results.push(
      warn(
        'config.verify',
        `sockopt "${token}" turns off peer verification: as joiner this node accepts any donor, as donor any joiner`,
        `remove "${token}" from [sst] sockopt once "sst-tunnel doctor --peer" passes between the nodes`,
      ),
    );
  }
  return results;
}

/** The advertised address, or a failure when mysqld would have nothing to advertise. */
export function advertisedCheck(advertised: AdvertisedAddress | undefined): CheckResult {
  if (advertised === undefined) {
    return fail(
      'address.advertised',
      'Cannot work out the address donors will dial: wsrep_sst_receive_address, wsrep_node_address and bind_address are not set and no interface has a non-loopback address',
      'set wsrep_node_address in [galera] or [mysqld]',
    );
  }
  return ok(
    'address.advertised',
    `Donors will dial ${formatHostPort(advertised.host, advertised.port)} and check the name "${advertised.host}" (${describeSource(advertised)})`,
  );
}
