/**
 * rsyncd.conf for the joiner, pure (style.md habit 2). The daemon runs once per TLS connection as
 * `rsync --server --daemon --config=<this>` on the connection's stdio, so nothing here listens (no port, no pid).
 */
import { ConfigError } from '../errors.js';

/** One exported directory. */
export interface RsyncModule {
  name: string;
  path: string;
  comment?: string;
  /** rsyncd.conf(5) `pre-xfer exec`: a command that may refuse a transfer, its stdout shown to the client. */
  preXferExec?: string;
}

/** What the configuration needs: modules, the identity to run as, rsync's own I/O timeout, an optional log file. */
export interface RsyncdConfOptions {
  modules: RsyncModule[];
  uid: number;
  gid: number;
  timeoutSeconds: number;
  logFile?: string;
}

/** rsyncd.conf(5): "The safest way to insert a literal % into a value is to use %%" (values expand %VAR%). */
function value(text: string, what: string): string {
  if (/[\r\n]/.test(text) || text !== text.trim() || text === '') {
    throw new ConfigError(
      `Cannot write rsyncd.conf: ${what} "${text}" is empty, spans lines or has surrounding spaces`,
    );
  }
  return text.replace(/%/g, '%%');
}

function moduleName(name: string): string {
  // rsyncd.conf(5): a module name cannot contain a slash or a closing bracket; whitespace runs are collapsed.
  if (/[/\]\s[]/.test(name) || name === '') {
    throw new ConfigError(
      `Cannot write rsyncd.conf: module name "${name}" must be non-empty without "/", brackets or spaces`,
    );
  }
  return name;
}

/** The configuration text; throws ConfigError for a value rsyncd.conf cannot carry verbatim. */
export function renderRsyncdConf(opts: RsyncdConfOptions): string {
  if (!Number.isInteger(opts.timeoutSeconds) || opts.timeoutSeconds < 0) {
    throw new ConfigError(
      `Cannot write rsyncd.conf: timeout "${opts.timeoutSeconds}" must be a whole number of seconds`,
    );
  }
  const names = new Set<string>();
  const lines = [
    '# Written by sst-tunnel for one SST. rsync runs per TLS connection as `rsync --server --daemon`.',
  ];
  if (opts.uid === 0) {
    // A root daemon without uid/gid switches to nobody and cannot write a root-owned datadir (MDEV-40688).
    lines.push(`uid = ${opts.uid}`, `gid = ${opts.gid}`);
  } else {
    // Unprivileged: any uid/gid line makes rsync call setgroups(), which fails with EPERM; it runs as itself.
    lines.push(`# uid ${opts.uid} / gid ${opts.gid}: not root, rsync runs as the invoking user`);
  }
  lines.push(
    'use chroot = no',
    // With chroot off, rsync would prefix every incoming symlink with /rsyncd-munged/ (rsyncd.conf(5) "munge
    // symlinks"), corrupting the symlinks of a datadir. Note: rsync still drops a leading "/" and leading ".."
    // components of symlinks that point outside the module; only chroot avoids that, and it needs root.
    'munge symlinks = no',
    'read only = no',
    'list = yes',
    // The peer is always a socketpair here: a reverse lookup can only cost time (and a DNS timeout).
    'reverse lookup = no',
    `timeout = ${opts.timeoutSeconds}`,
    'max connections = 0',
    'transfer logging = no',
    // Never syslog: the listener passes `--dparam=log file=...` per connection and copies it into our log.
    `log file = ${opts.logFile === undefined ? '/dev/stderr' : value(opts.logFile, 'log file')}`,
  );
  for (const module of opts.modules) {
    const name = moduleName(module.name);
    if (names.has(name)) throw new ConfigError(`Cannot write rsyncd.conf: module "${name}" is listed twice`);
    names.add(name);
    if (!module.path.startsWith('/')) {
      throw new ConfigError(
        `Cannot write rsyncd.conf: the path "${module.path}" of module "${name}" is not absolute`,
      );
    }
    lines.push('', `[${name}]`, `    path = ${value(module.path, `path of module "${name}"`)}`);
    if (module.comment !== undefined)
      lines.push(`    comment = ${value(module.comment, `comment of module "${name}"`)}`);
    if (module.preXferExec !== undefined)
      lines.push(`    pre-xfer exec = ${value(module.preXferExec, `pre-xfer exec of module "${name}"`)}`);
  }
  return `${lines.join('\n')}\n`;
}
