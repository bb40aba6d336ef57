/**
 * Preflight shared by both roles: options as mysqld reads them, the typed settings, rsync present, the TLS
 * credentials loaded and checked, the TLS policy. Runs before anything listens or mysqld is told anything,
 * so a broken setup fails in milliseconds with one precise message (design.md "Fail before ready").
 */
import { spawnSync } from 'node:child_process';
import { loadNodeOptions } from '../config/optionFiles.js';
import { settingsFrom, type SstSettings } from '../config/settings.js';
import { detectServerVersion, serverGroups } from './serverVersion.js';
import { credentialChecks } from '../preflight/credentials.js';
import { ConfigError, CredentialError, ExitCode, MissingProgramError } from '../errors.js';
import { logger } from '../log.js';
import { loadCredentials, type Credentials } from '../tls/credentials.js';
import type { TlsPolicy } from '../tls/context.js';
import { tlsPolicy } from '../tls/settingsPolicy.js';
import type { SstArgs } from './args.js';
import { resolveLayout, type DataLayout } from './layout.js';

const log = logger('preflight');

/** Everything a role needs, checked. */
export interface Prepared {
  args: SstArgs;
  settings: SstSettings;
  credentials: Credentials;
  /** The policy both roles start from; the donor adds the expected name. */
  policy: TlsPolicy;
  layout: DataLayout;
  rsyncVersion: string;
  /** The compressions this node's rsync offers (`rsync --version`), for auto and the joiner's module comment. */
  rsyncCompressions?: string[];
  optionFiles: string[];
}

/** What `rsync --version` says: its first line, and the whole text (the compress list). */
export interface RsyncVersion {
  version: string;
  text: string;
}

/** Runs `rsync --version`; MissingProgramError (exit 2) when rsync cannot be run. */
export function rsyncVersion(binary: string): RsyncVersion {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error !== undefined || result.status !== 0) {
    throw new MissingProgramError(
      `Cannot run "${binary}": rsync is required for this SST method (install the rsync package or set [sst] rsync)`,
      { cause: result.error },
    );
  }
  return parseRsyncVersion(result.stdout);
}

/** `rsync --version`'s text as an RsyncVersion. Pure. */
export function parseRsyncVersion(text: string): RsyncVersion {
  return { version: (text.split('\n')[0] ?? '').trim(), text };
}

/** The algorithms `rsync --version` lists under "Compress list:" (rsync >= 3.2); [] when it has no such list. */
export function offeredCompressions(versionText: string): string[] {
  const m = /^Compress list:\s*\n\s*(.+)$/m.exec(versionText);
  return m === null
    ? []
    : (m[1] ?? '')
        .trim()
        .split(/\s+/)
        .filter((name) => name !== 'none');
}

/**
 * A donor whose `[sst] compress` names an algorithm its rsync cannot use fails here, before `flush tables`,
 * rather than in its first data pass. ('auto' works with any rsync: it negotiates, or uses zlib.)
 */
export function checkCompression(compress: string | undefined, rsync: string, found: RsyncVersion): void {
  if (compress === undefined || compress === 'auto') return;
  const offered = offeredCompressions(found.text);
  if (offered.includes(compress)) return;
  const { version } = found;
  throw new ConfigError(
    `Cannot use [sst] compress = "${compress}": ${rsync} (${version}) ${offered.length === 0 ? 'cannot choose a compression (rsync 3.2 or later can); use compress = on' : `offers only ${offered.join(', ')}`}`,
  );
}

/** The TLS policy from the settings, logging what lowers security (on every SST, by design). */
export function policyFrom(settings: SstSettings): TlsPolicy {
  for (const notice of settings.sockopt.notices) log.info(`sockopt: ${notice}`);
  for (const token of settings.sockopt.insecure) {
    log.warn(`sockopt "${token}" lowers the security of this SST: peer certificates are not verified`);
  }
  return tlsPolicy(settings);
}

/**
 * The doctor's certificate checks, before anything listens or mysqld is asked to lock: a failure ends the SST
 * with the doctor's message (exit 22); a warning (expiry within 30 days, ...) is logged on every SST. The
 * joiner also checks that its certificate covers the name donors will verify, unless this node's sockopt turns
 * verification off (then nothing here can be enforced and failures are only warnings).
 */
export function applyCredentialChecks(credentials: Credentials, args: SstArgs, settings: SstSettings): void {
  const verify = settings.sockopt.verify ?? true;
  const advertised = args.role === 'joiner' ? (settings.sockopt.commonname ?? args.address.host) : undefined;
  const results = credentialChecks(credentials, {
    strictIdentity: settings.strictIdentity,
    ...(advertised !== undefined && { advertisedHost: advertised }),
  });
  for (const result of results) {
    const text = result.hint === undefined ? result.message : `${result.message} (${result.hint})`;
    if (result.status === 'fail' && verify) throw new CredentialError(text);
    if (result.status !== 'ok') log.warn(text);
  }
}

/** Runs the preflight for `args`; every failure is a typed error with the contract's exit code. */
export function prepare(args: SstArgs, env: NodeJS.ProcessEnv = process.env): Prepared {
  const sources = {
    ...(args.defaultsFile !== undefined && { defaultsFile: args.defaultsFile }),
    ...(args.defaultsExtraFile !== undefined && { defaultsExtraFile: args.defaultsExtraFile }),
    ...(args.defaultsGroupSuffix !== undefined && { defaultsGroupSuffix: args.defaultsGroupSuffix }),
  };
  // The groups the running server reads (11.8 reads [mariadb-11.8], [mariadb-11] ...; 10.11 does not).
  const server = detectServerVersion(args.parent);
  log.debug(
    `Reading the option groups of MariaDB ${server.major}.${server.minor} (version from ${server.from})`,
  );
  const options = loadNodeOptions({ ...sources, serverGroups: serverGroups(server) });
  for (const warning of options.warnings) log.warn(warning);
  const settings = settingsFrom(options.sst, options.mysqld, env);
  for (const notice of settings.notices) log.info(notice);
  const rsync = rsyncVersion(settings.rsync);
  if (args.role === 'donor') checkCompression(settings.compress, settings.rsync, rsync);
  if (settings.tcert === undefined) {
    // Fail closed: this method is encrypted or it does not run (design.md).
    throw new ConfigError(
      `Cannot start an encrypted SST: [sst] tcert is not set in ${options.files.join(', ') || 'any option file'}`,
      { exitCode: ExitCode.ENOENT },
    );
  }
  const credentials = loadCredentials({
    tcert: settings.tcert,
    ...(settings.tkey !== undefined && { tkey: settings.tkey }),
    // socat's capath= is a CA directory, which tca also accepts.
    ...((settings.tca ?? settings.sockopt.capath) !== undefined && {
      tca: settings.tca ?? settings.sockopt.capath,
    }),
  });
  applyCredentialChecks(credentials, args, settings);
  const layout = resolveLayout(args.datadir, {
    args,
    env,
    options: {
      ...(settings.innodbDataHomeDir !== undefined && { innodbDataHomeDir: settings.innodbDataHomeDir }),
      ...(settings.innodbLogGroupHomeDir !== undefined && {
        innodbLogGroupHomeDir: settings.innodbLogGroupHomeDir,
      }),
      ...(settings.innodbUndoDirectory !== undefined && {
        innodbUndoDirectory: settings.innodbUndoDirectory,
      }),
      ...(settings.ariaLogDirPath !== undefined && { ariaLogDirPath: settings.ariaLogDirPath }),
    },
  });
  return {
    args,
    settings,
    credentials,
    policy: policyFrom(settings),
    layout,
    rsyncVersion: rsync.version,
    rsyncCompressions: offeredCompressions(rsync.text),
    optionFiles: options.files,
  };
}
