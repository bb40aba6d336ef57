/**
 * Reads a node the way an SST would (I/O at the edge): option files, settings, advertised address, the user
 * mysqld runs as, file facts and TLS material, each step turned into check results by the pure checks.
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { loadNodeOptions, type OptionSet } from '../config/optionFiles.js';
import { settingsFrom, type SstSettings } from '../config/settings.js';
import { detectServerVersion, serverGroups, type ServerVersion } from '../sst/serverVersion.js';
import { describeError } from '../errors.js';
import type { Credentials } from '../tls/credentials.js';
import { advertisedAddress, type AdvertisedAddress } from './advertised.js';
import { credentialChecks, DEFAULT_EXPIRY_WARNING_DAYS } from '../preflight/credentials.js';
import { fileChecks, type FileFacts } from './checks/files.js';
import { sstAuthCheck } from './checks/serverAuth.js';
import { advertisedCheck, optionFileChecks, settingsChecks } from './checks/settings.js';
import { fileFacts, nameTables, type NameTables } from './fileFacts.js';
import { loadMaterial } from './material.js';
import { fail, warn, type CheckResult } from '../preflight/result.js';
import { userIdentity, type UserIdentity } from './userDb.js';

/** What the doctor reads; the last group of fields is for tests. */
export interface NodeSources {
  defaultsFile?: string;
  defaultsExtraFile?: string;
  defaultsGroupSuffix?: string;
  /** The user mysqld runs as; default the `user` option of the server groups, else "mysql". */
  user?: string;
  expiryWarningDays?: number;
  env?: NodeJS.ProcessEnv;
  now?: Date;
  passwdFile?: string;
  groupFile?: string;
  interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** The server's version; default the installed mariadbd's (detectServerVersion()). */
  serverVersion?: ServerVersion;
}

/** Everything read, plus the checks so far. Later steps run only on what could be read. */
export interface NodeState {
  checks: CheckResult[];
  mysqld?: OptionSet;
  settings?: SstSettings;
  advertised?: AdvertisedAddress;
  user?: UserIdentity;
  userName: string;
  names: NameTables;
  creds?: Credentials;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function filesOf(settings: SstSettings, names: NameTables): FileFacts[] {
  const files: FileFacts[] = [];
  if (settings.tcert !== undefined)
    files.push(fileFacts('tcert', settings.tcert, settings.tkey === undefined, names));
  if (settings.tkey !== undefined) files.push(fileFacts('tkey', settings.tkey, true, names));
  if (settings.tca !== undefined) files.push(fileFacts('tca', settings.tca, false, names));
  return files;
}

/** Reads the node's configuration and material; never throws for a problem of the node, it reports it. */
export function readNode(src: NodeSources): NodeState {
  const passwd = readText(src.passwdFile ?? '/etc/passwd');
  const group = readText(src.groupFile ?? '/etc/group');
  const names = nameTables(passwd, group);
  const state: NodeState = { checks: [], userName: src.user ?? 'mysql', names };
  let options: ReturnType<typeof loadNodeOptions>;
  const server = src.serverVersion ?? detectServerVersion();
  try {
    options = loadNodeOptions({
      serverGroups: serverGroups(server),
      ...(src.defaultsFile !== undefined && { defaultsFile: src.defaultsFile }),
      ...(src.defaultsExtraFile !== undefined && { defaultsExtraFile: src.defaultsExtraFile }),
      ...(src.defaultsGroupSuffix !== undefined && { defaultsGroupSuffix: src.defaultsGroupSuffix }),
      ...(src.env !== undefined && { env: src.env }),
    });
  } catch (error) {
    state.checks.push(fail('config.files', describeError(error)));
    return state;
  }
  state.checks.push(...optionFileChecks(options.files, options.warnings));
  state.mysqld = options.mysqld;
  state.checks.push(sstAuthCheck(server, options.mysqld));
  let settings: SstSettings;
  try {
    settings = settingsFrom(options.sst, options.mysqld, src.env ?? process.env);
  } catch (error) {
    state.checks.push(fail('config.settings', describeError(error)));
    return state;
  }
  state.settings = settings;
  state.checks.push(...settingsChecks(settings, options.files));
  const advertised = advertisedAddress(options.mysqld, src.interfaces ?? networkInterfaces());
  if (advertised !== undefined) state.advertised = advertised;
  state.checks.push(advertisedCheck(advertised));

  state.userName = src.user ?? options.mysqld.get('user') ?? 'mysql';
  const user = userIdentity(state.userName, passwd, group);
  if (user === undefined) {
    state.checks.push(
      warn(
        'file.user',
        `Cannot check file access: user "${state.userName}" is not in /etc/passwd`,
        'pass --user with the user mysqld runs as',
      ),
    );
  } else {
    state.user = user;
  }
  const files = filesOf(settings, names);
  state.checks.push(...fileChecks(files, user));
  if (settings.tcert === undefined) return state;
  const material = loadMaterial({
    tcert: settings.tcert,
    ...(settings.tkey !== undefined && { tkey: settings.tkey }),
    ...(settings.tca !== undefined && { tca: settings.tca }),
  });
  // A missing file is already reported by file.exists; its "file not found" parse line would repeat it.
  const missing = new Set(files.filter((f) => f.error === 'ENOENT').map((f) => f.path));
  state.checks.push(
    ...material.results.filter(
      (r) => r.status !== 'fail' || ![...missing].some((p) => r.message.includes(`"${p}"`)),
    ),
  );
  if (material.creds !== undefined) {
    state.creds = material.creds;
    state.checks.push(
      ...credentialChecks(material.creds, {
        ...(advertised !== undefined && { advertisedHost: advertised.host }),
        ...(src.now !== undefined && { now: src.now }),
        expiryWarningDays: src.expiryWarningDays ?? DEFAULT_EXPIRY_WARNING_DAYS,
        strictIdentity: settings.strictIdentity,
      }),
    );
  }
  return state;
}
