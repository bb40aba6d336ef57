/**
 * Process control for one real mariadbd + Galera node: init its datadir, start it in its own process group,
 * wait for Synced, query it through its socket, and stop it (and any SST script it left behind) for sure.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { SstTunnelError } from '../errors.js';
import { SCRIPTS } from './contractDriver.js';
import { reapGroup, trackGroup } from './processGroup.js';
import { nodePaths, renderNodeConfig, type GaleraNodePaths, type GaleraNodeSpec } from './galeraConfig.js';

/** A harness step failed: mariadbd would not start, sync, answer or stop. */
export class GaleraHarnessError extends SstTunnelError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: 'GALERA_HARNESS', exitCode: 1, cause: options.cause });
  }
}

/** Timeouts of a node, all overridable so tests can shrink them. */
export interface GaleraNodeTimeouts {
  /** How long SIGTERM may take before SIGKILL (a clean InnoDB shutdown is well under a second here). */
  stopMs: number;
  /** One client call (a status poll, a query). Loading data uses `query(sql, { timeoutMs })`. */
  queryMs: number;
  /** Interval between Synced polls. */
  pollMs: number;
}

const DEFAULT_TIMEOUTS: GaleraNodeTimeouts = { stopMs: 30_000, queryMs: 30_000, pollMs: 250 };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** uid/gid of the OS user mariadbd runs as (in `root`'s /etc/passwd: 100 in trixie, 102 here); undefined for root. */
function ownerOf(user: 'root' | 'mysql', root = ''): { uid: number; gid: number } | undefined {
  if (user === 'root') return undefined;
  const line = readFileSync(`${root}/etc/passwd`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined)
    throw new GaleraHarnessError(`Cannot find OS user "${user}" in /etc/passwd`);
  return { uid: Number(uid), gid: Number(gid) };
}

/** Runs a program (argv, no shell) and resolves with stdout; the error carries stderr. */
function run(file: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else
        reject(
          new GaleraHarnessError(
            `Command "${file} ${args.join(' ')}" failed: ${stderr.trim() || error.message}`,
            { cause: error },
          ),
        );
    });
  });
}

/** One node of a loopback Galera cluster. */
export class GaleraNode {
  readonly spec: GaleraNodeSpec;
  readonly paths: GaleraNodePaths;
  private readonly env: NodeJS.ProcessEnv;
  private readonly timeouts: GaleraNodeTimeouts;
  private child: ChildProcess | undefined;
  /** The process group of the last start: it outlives mariadbd when mariadbd aborts during an SST. */
  private pgid: number | undefined;
  private exited: Promise<void> = Promise.resolve();

  /** Writes the node directory, empty datadir and my.cnf; `pathPrepend` is where mysqld finds wsrep_sst_<method>. */
  constructor(
    spec: GaleraNodeSpec,
    cluster: string[],
    opts: {
      pathPrepend?: string[];
      env?: Record<string, string>;
      timeouts?: Partial<GaleraNodeTimeouts>;
    } = {},
  ) {
    this.spec = spec;
    this.paths = nodePaths(spec);
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    // pathPrepend first: mysqld looks wsrep_sst_<method> up on this PATH (after its own bin dir, /usr/bin).
    // /usr/sbin last: mariadbd lives there and a non-login PATH may lack it.
    const path = [...(opts.pathPrepend ?? []), process.env.PATH ?? '/usr/bin:/bin', '/usr/sbin'].join(':');
    this.env = { ...process.env, ...opts.env, PATH: path };
    this.prepare(renderNodeConfig(spec, cluster));
  }

  /** The node's name. */
  get name(): string {
    return this.spec.name;
  }

  // The base dir, an empty datadir and the error log exist before anything runs, owned by the server's user:
  // mariadbd opens its log after dropping privileges, and the SST's rsync daemon writes the datadir as it.
  private prepare(config: string): void {
    mkdirSync(this.paths.datadir, { recursive: true });
    mkdirSync(this.paths.tmpDir, { recursive: true });
    writeFileSync(this.paths.config, config, { mode: 0o644 });
    closeSync(openSync(this.paths.errorLog, 'a', 0o644));
    this.chownForServer();
  }

  /** Gives the node's files (and any extra paths, such as key files it must read) to the server's OS user. */
  chownForServer(extra: string[] = []): void {
    const owner = ownerOf(this.spec.user, this.spec.root);
    if (owner === undefined) return;
    for (const path of [
      this.spec.baseDir,
      this.paths.datadir,
      this.paths.tmpDir,
      this.paths.config,
      this.paths.errorLog,
      ...extra,
    ]) {
      chownSync(path, owner.uid, owner.gid);
    }
  }

  /** Empties the datadir of a stopped node, so its next start requests a full SST (benchmarks repeat joins). */
  resetDatadir(): void {
    if (this.child !== undefined)
      throw new GaleraHarnessError(`Cannot reset the datadir of node "${this.name}": it is running`);
    rmSync(this.paths.datadir, { recursive: true, force: true });
    mkdirSync(this.paths.datadir);
    this.chownForServer();
  }

  /** Creates the system tables in the (empty) datadir with mariadb-install-db; only the bootstrap node needs it. */
  async init(): Promise<void> {
    const args = [`--defaults-file=${this.paths.config}`, `--user=${this.spec.user}`, '--skip-test-db'];
    // A debootstrap root has no /etc/hosts: the script's resolveip check cannot find even localhost there. The
    // node resolves no names anyway (skip-name-resolve in its my.cnf).
    if (this.spec.root !== undefined) args.push('--force');
    await run(...this.inRoot('mariadb-install-db', args), 120_000);
  }

  /** `file args` as run for this node: as they are, or chrooted into its Debian root (private mounts). */
  private inRoot(file: string, args: string[]): [string, string[]] {
    if (this.spec.root === undefined) return [file, args];
    const binds = (this.spec.rootBinds ?? []).flatMap((b) =>
      typeof b === 'string' ? ['--bind', b] : ['--bind-at', b.source, b.target],
    );
    // debian-root.sh `run` execs through unshare and chroot: the pid spawned is mariadbd's own.
    return ['bash', [join(SCRIPTS, 'debian-root.sh'), 'run', this.spec.root, ...binds, '--', file, ...args]];
  }

  /**
   * Spawns mariadbd detached in its own process group (so stop() can reap SST scripts too), output to the error
   * log. `args` are extra options for this start only (e.g. --skip-grant-tables), after the node's own.
   */
  async start(opts: { bootstrap?: boolean; args?: string[] } = {}): Promise<void> {
    if (this.child !== undefined)
      throw new GaleraHarnessError(`Cannot start node "${this.name}": it is running`);
    // --defaults-file must come first; --user is explicit because mariadbd refuses to run as root otherwise.
    const args = [`--defaults-file=${this.paths.config}`, `--user=${this.spec.user}`];
    if (opts.bootstrap === true) args.push('--wsrep-new-cluster');
    args.push(...(opts.args ?? []));
    const fd = openSync(this.paths.errorLog, 'a');
    let child: ChildProcess;
    try {
      const [file, argv] = this.inRoot('mariadbd', args);
      // launcher (`ip netns exec <ns>`): the wan bench runs each node in a network namespace of its own.
      const [command, ...prefix] = [...(this.spec.launcher ?? []), file];
      child = spawn(command as string, [...prefix, ...argv], {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: this.env,
        cwd: this.spec.baseDir,
      });
    } finally {
      closeSync(fd); // the child holds its own copy
    }
    // Wait for 'spawn' or 'error' first: after an 'error' (ENOENT) no 'exit' ever comes (execa exit-async.js).
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) =>
        reject(new GaleraHarnessError(`Cannot start mariadbd for node "${this.name}"`, { cause: error })),
      );
    });
    const pid = child.pid as number;
    this.child = child;
    this.pgid = pid;
    trackGroup(pid);
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    child.unref();
  }

  /** The pid of the running mariadbd, if any. */
  pid(): number | undefined {
    return this.child?.pid;
  }

  /** The whole error log (mariadbd's own lines and everything SST scripts wrote to stderr). */
  errorLog(): string {
    return existsSync(this.paths.errorLog) ? readFileSync(this.paths.errorLog, 'utf8') : '';
  }

  /** The last lines of the error log, for failure messages. */
  errorLogTail(lines = 30): string {
    return this.errorLog().trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** Runs SQL through the node's socket as root and returns the raw tab-separated output, without a final newline. */
  async query(sql: string, opts: { timeoutMs?: number } = {}): Promise<string> {
    const args = [`--defaults-file=${this.paths.config}`, '-N', '-B', '-e', sql];
    const out = await run('mariadb', args, opts.timeoutMs ?? this.timeouts.queryMs);
    return out.replace(/\n$/, '');
  }

  /** Polls wsrep_local_state_comment until Synced; fails at once, with the error log tail, if mariadbd exits. */
  async waitSynced(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (this.child === undefined) {
        throw new GaleraHarnessError(
          `Node "${this.name}" exited before reaching Synced; error log tail:\n${this.errorLogTail()}`,
        );
      }
      try {
        const row = await this.query("SHOW STATUS LIKE 'wsrep_local_state_comment'", { timeoutMs: 5_000 });
        last = row.split('\t')[1] ?? row;
        if (last === 'Synced') return;
      } catch {
        // The socket does not exist until the SST is over and the engines are up: keep polling.
      }
      await sleep(this.timeouts.pollMs);
    }
    throw new GaleraHarnessError(
      `Node "${this.name}" did not reach Synced within ${timeoutMs} ms (state "${last}"); error log tail:\n${this.errorLogTail()}`,
    );
  }

  /** SIGTERM, SIGKILL after the stop deadline, then SIGKILL to whatever is left in its process group. Idempotent. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child !== undefined) {
      child.kill('SIGTERM');
      const timedOut = await Promise.race([
        this.exited.then(() => false),
        sleep(this.timeouts.stopMs).then(() => true),
      ]);
      if (timedOut) {
        child.kill('SIGKILL');
        await this.exited;
      }
    }
    // SST scripts and their rsync daemons share mariadbd's group (sst-contract.md 1.1.3) and outlive it when it
    // aborts on a failed SST (seen: the joiner script and `rsync --daemon` still running), so reap the group
    // even when mariadbd is already gone.
    if (this.pgid !== undefined) await reapGroup(this.pgid);
    this.pgid = undefined;
    this.child = undefined;
  }
}
