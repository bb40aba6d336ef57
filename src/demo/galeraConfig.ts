/**
 * Option-file rendering for one Galera node on a loopback address (docs/galera-on-one-host.md). Pure: no
 * files, no processes, so every setting can be unit-tested. GaleraNode (galeraNode.ts) writes and runs it.
 */
import { join } from 'node:path';

/** One node of a loopback cluster: where it lives, how it transfers state, which OS user runs it. */
export interface GaleraNodeSpec {
  name: string;
  /** A loopback address of its own, 127.0.0.x: every port is pinned to it. */
  address: string;
  /** The node's own directory: my.cnf, data/, socket, pid file and error log live here. */
  baseDir: string;
  sstMethod: string;
  user: 'root' | 'mysql';
  /** Extra or overriding [mysqld] options; null renders a bare flag. */
  mysqld?: Record<string, string | null>;
  /** The [sst] group, read by the SST script through --defaults-file. */
  sst?: Record<string, string>;
  /** Turns on log_bin (basename mysql-bin, inside the datadir). */
  binlog?: boolean;
  /**
   * A Debian root (scripts/debian-root.sh) whose mariadbd this node runs, e.g. trixie's 11.8 beside the host's
   * 10.11: mariadbd and mariadb-install-db run chrooted there, with /tmp and `rootBinds` at the same paths.
   */
  root?: string;
  /**
   * Directories bound into `root`: a string at the same path, `{ source, target }` at `target`. A target under
   * /tmp (bound into the root too) keeps mount point directories out of the cached root: the checkout bound at
   * `<tmp>/sst-tunnel` lets mariadbd there run its wsrep_sst_rsync_tunnel, dist/ and node_modules.
   */
  rootBinds?: (string | { source: string; target: string })[];
  /**
   * A command mariadbd is started through, which execs it (`ip netns exec <ns>`): the wan bench runs each node
   * in a network namespace of its own. The pid stays mariadbd's.
   */
  launcher?: string[];
}

/** Where a node keeps its files, all derived from its baseDir. */
export interface GaleraNodePaths {
  config: string;
  datadir: string;
  socket: string;
  pidFile: string;
  errorLog: string;
  /**
   * mysqld's own tmpdir. Not the shared /tmp: a mariadbd deletes every `#sql*` file in its tmpdir when it starts,
   * so on one machine a node starting while another node (or mariadb-install-db) holds an on-disk temporary table
   * there takes that table from under it ("Error on delete of '/tmp/#sql-temptable-...MAI'").
   */
  tmpDir: string;
}

/** The Galera provider shipped by Debian's galera-4. */
export const GALERA_PROVIDER = '/usr/lib/galera/libgalera_smm.so';
/** Ports shared by every node: each node binds them on its own address. */
export const PORTS = { mysql: 3306, galera: 4567, ist: 4568, sst: 4444 } as const;

/** The paths of a node's files. */
export function nodePaths(spec: Pick<GaleraNodeSpec, 'baseDir'>): GaleraNodePaths {
  return {
    config: join(spec.baseDir, 'my.cnf'),
    datadir: join(spec.baseDir, 'data'),
    socket: join(spec.baseDir, 'mysqld.sock'),
    pidFile: join(spec.baseDir, 'mysqld.pid'),
    errorLog: join(spec.baseDir, 'error.log'),
    tmpDir: join(spec.baseDir, 'tmp'),
  };
}

// Option values end up unquoted in an option file: a newline would start a new option, a '#' a comment.
function checkValue(key: string, value: string): void {
  if (/[\n\r#]/.test(value))
    throw new Error(`Cannot render option "${key}": value "${value}" contains a newline or "#"`);
}

function renderGroup(name: string, options: Map<string, string | null>): string {
  const lines = [`[${name}]`];
  for (const [key, value] of options) {
    if (value === null) lines.push(key);
    else {
      checkValue(key, value);
      lines.push(`${key}=${value}`);
    }
  }
  return lines.join('\n');
}

/**
 * The my.cnf text of one node. `clusterAddresses` are the loopback addresses of every node (itself included);
 * the first node's name is not known here, so the donor comes from `mysqld.wsrep_sst_donor` or defaults to
 * "node1". Keys in `spec.mysqld` replace the defaults in place, so an override never yields two conflicting lines.
 */
export function renderNodeConfig(spec: GaleraNodeSpec, clusterAddresses: string[]): string {
  // Loopback only, unless the node runs in a namespace of the bench's own making (launcher).
  const ipv4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(spec.address);
  if (!(ipv4 && (spec.address.startsWith('127.') || spec.launcher !== undefined))) {
    throw new Error(
      `Cannot render node "${spec.name}": address "${spec.address}" is not a 127.x.y.z address`,
    );
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(spec.sstMethod)) {
    throw new Error(
      `Cannot render node "${spec.name}": SST method "${spec.sstMethod}" has characters mysqld rejects`,
    );
  }
  const paths = nodePaths(spec);
  const a = spec.address;
  const gcomm = clusterAddresses.map((addr) => `${addr}:${PORTS.galera}`).join(',');
  const mysqld = new Map<string, string | null>([
    ['user', spec.user],
    ['datadir', paths.datadir],
    ['socket', paths.socket],
    ['pid-file', paths.pidFile],
    ['log-error', paths.errorLog],
    ['tmpdir', paths.tmpDir],
    ['bind-address', a],
    ['port', String(PORTS.mysql)],
    ['skip-name-resolve', null],
    // Less memory and a faster start; nothing in the harness reads performance_schema.
    ['performance_schema', 'OFF'],
    ['binlog_format', 'ROW'],
    ['default_storage_engine', 'InnoDB'],
    ['innodb_autoinc_lock_mode', '2'],
    // Small on purpose: every rsync SST copies the whole redo log, and tests start many servers.
    ['innodb_buffer_pool_size', '128M'],
    ['innodb_log_file_size', '64M'],
    // Durability is not under test; this keeps loading a few hundred MiB fast.
    ['innodb_flush_log_at_trx_commit', '2'],
    ['wsrep_on', 'ON'],
    ['wsrep_provider', GALERA_PROVIDER],
    ['wsrep_cluster_name', 'sst-tunnel'],
    ['wsrep_cluster_address', `gcomm://${gcomm}`],
    ['wsrep_node_name', spec.name],
    ['wsrep_node_address', a],
    // Galera listens on 0.0.0.0 unless pinned; a smaller gcache ring buffer is created faster at start.
    [
      'wsrep_provider_options',
      `"gmcast.listen_addr=tcp://${a}:${PORTS.galera};ist.recv_addr=${a}:${PORTS.ist};gcache.size=64M"`,
    ],
    ['wsrep_sst_receive_address', `${a}:${PORTS.sst}`],
    ['wsrep_sst_method', spec.sstMethod],
    ['wsrep_sst_donor', 'node1'],
  ]);
  if (spec.binlog === true) {
    mysqld.set('log_bin', 'mysql-bin');
    mysqld.set('log_slave_updates', 'ON');
  }
  for (const [key, value] of Object.entries(spec.mysqld ?? {})) mysqld.set(key, value);
  const groups = [renderGroup('mysqld', mysqld)];
  if (spec.sst !== undefined && Object.keys(spec.sst).length > 0) {
    groups.push(renderGroup('sst', new Map(Object.entries(spec.sst))));
  }
  // The client reads the same file (--defaults-file), so it finds the socket without any global config.
  groups.push(
    renderGroup(
      'client',
      new Map([
        ['socket', paths.socket],
        ['user', 'root'],
      ]),
    ),
  );
  return `# Written by sst-tunnel's Galera harness for node "${spec.name}"\n${groups.join('\n\n')}\n`;
}
