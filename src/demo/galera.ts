/**
 * A real MariaDB Galera cluster on loopback addresses (docs/galera-on-one-host.md), for end-to-end tests, the
 * demo and the benchmarks. Rendering lives in galeraConfig.ts, process control in galeraNode.ts, SQL in
 * galeraData.ts; this module ties them into a cluster and checks that MariaDB is installed.
 */
import { accessSync, chmodSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import {
  checksumSql,
  LIST_TABLES_SQL,
  loadStatements,
  parseChecksums,
  type DataShape,
} from './galeraData.js';
import { GALERA_PROVIDER, type GaleraNodeSpec } from './galeraConfig.js';
import { GaleraHarnessError, GaleraNode, type GaleraNodeTimeouts } from './galeraNode.js';
import { renderSstSides } from './sstOutput.js';

export {
  renderNodeConfig,
  nodePaths,
  PORTS,
  type GaleraNodeSpec,
  type GaleraNodePaths,
} from './galeraConfig.js';
export { GaleraNode, GaleraHarnessError, type GaleraNodeTimeouts } from './galeraNode.js';
export { type DataShape, databaseName } from './galeraData.js';
export { sstDurationFromLog, sstTimingFromLog, type SstTiming } from './sstDuration.js';
export { renderSstSides, sstScriptOutput, type SstScriptOutput, type SstSide } from './sstOutput.js';

/** Options of GaleraCluster.create. */
export interface GaleraClusterOptions {
  /** An existing directory; each node gets `<baseDir>/<name>`. */
  baseDir: string;
  nodes: Omit<GaleraNodeSpec, 'baseDir'>[];
  /** Directories put first on mariadbd's PATH, where it looks for wsrep_sst_<method>. */
  pathPrepend?: string[];
  env?: Record<string, string>;
  timeouts?: Partial<GaleraNodeTimeouts>;
}

/** A set of GaleraNodes that know each other's addresses; node 0 is the bootstrap node and the SST donor. */
export class GaleraCluster {
  readonly nodes: GaleraNode[];

  private constructor(nodes: GaleraNode[]) {
    this.nodes = nodes;
  }

  /** Writes every node's directory and my.cnf; starts nothing. */
  static async create(opts: GaleraClusterOptions): Promise<GaleraCluster> {
    const first = opts.nodes[0];
    if (first === undefined) throw new Error('Cannot create a cluster: "nodes" is empty');
    // mkdtemp makes 0700 directories: the mysql user must be able to walk down to its own node directory.
    chmodSync(opts.baseDir, 0o755);
    const addresses = opts.nodes.map((n) => n.address);
    const nodes = opts.nodes.map((n) => {
      const baseDir = join(opts.baseDir, n.name);
      mkdirSync(baseDir, { recursive: true, mode: 0o755 });
      // Deterministic donor: the first node, unless the spec names another.
      const mysqld = { wsrep_sst_donor: first.name, ...n.mysqld };
      const nodeOpts = {
        ...(opts.pathPrepend === undefined ? {} : { pathPrepend: opts.pathPrepend }),
        ...(opts.env === undefined ? {} : { env: opts.env }),
        ...(opts.timeouts === undefined ? {} : { timeouts: opts.timeouts }),
      };
      return new GaleraNode({ ...n, baseDir, mysqld }, addresses, nodeOpts);
    });
    return new GaleraCluster(nodes);
  }

  /** The bootstrap node (node 0). */
  get first(): GaleraNode {
    return this.nodes[0] as GaleraNode;
  }

  /** Initialises node 0's datadir, starts it with --wsrep-new-cluster and waits until it is Synced. */
  async bootstrap(timeoutMs = 60_000): Promise<void> {
    await this.first.init();
    await this.first.start({ bootstrap: true });
    await this.first.waitSynced(timeoutMs);
  }

  /**
   * Starts a node with an empty datadir and waits until its SST is over and it is Synced. A failed SST aborts
   * the joiner, whose log tail is mostly mariadbd's abort (rsync's own errors land in the donor's log), so the
   * message also carries both sides' SST lines and where each error log lies (sstReport).
   */
  async join(node: GaleraNode, timeoutMs = 300_000): Promise<void> {
    await node.start();
    try {
      await node.waitSynced(timeoutMs);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new GaleraHarnessError(`${message}\n${this.sstReport()}`, { cause: error });
    }
  }

  /**
   * What the SST scripts of every node said: the donor's (node 0) and each joiner's WSREP_SST lines, any other
   * output of theirs (a crash trace, a shim error, rsync's lines), and the path of each error log.
   */
  sstReport(): string {
    return renderSstSides(
      this.nodes.map((node, i) => ({
        label: `${i === 0 ? 'donor' : 'joiner'} "${node.name}"`,
        where: node.paths.errorLog,
        text: node.errorLog(),
      })),
    );
  }

  /** Loads incompressible data into several databases on node 0 (see galeraData.ts loadStatements). */
  async loadData(shape: DataShape): Promise<void> {
    for (const batch of loadStatements(shape)) await this.first.query(batch, { timeoutMs: 600_000 });
  }

  /** `db.table` -> `<CHECKSUM TABLE>/<COUNT(*)>` for every user table of a node. */
  async checksums(node: GaleraNode): Promise<Map<string, string>> {
    const listing = await node.query(LIST_TABLES_SQL);
    const tables = listing === '' ? [] : listing.split('\n');
    if (tables.length === 0) return new Map();
    return parseChecksums(tables, await node.query(checksumSql(tables), { timeoutMs: 600_000 }));
  }

  /** Stops every node, joiners first so the donor is not left waiting on them; never throws for one failure. */
  async stopAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const node of [...this.nodes].reverse()) {
      try {
        await node.stop();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'Cannot stop every Galera node');
  }
}

/** What mariadbAvailable looks at; each defaults to this machine (injectable so the skip path can be tested). */
export interface MariadbProbe {
  /** A PATH-style list of directories searched for the programs. */
  path?: string;
  provider?: string;
  uid?: number;
}

/** Whether this machine can run a real cluster: mariadbd, the Galera library, the client, mariadb-install-db, root. */
export function mariadbAvailable(probe: MariadbProbe = {}): { ok: boolean; reason?: string } {
  // mariadbd lives in /usr/sbin, which a non-login PATH may lack; spawn() then finds it through GaleraNode's PATH.
  const dirs = (probe.path ?? `${process.env.PATH ?? ''}${delimiter}/usr/sbin${delimiter}/usr/bin`).split(
    delimiter,
  );
  const onPath = (program: string): boolean =>
    dirs.some((dir) => {
      try {
        accessSync(join(dir, program), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  for (const program of ['mariadbd', 'mariadb', 'mariadb-install-db']) {
    if (!onPath(program)) {
      return {
        ok: false,
        reason: `"${program}" is not installed (apt-get install mariadb-server mariadb-client)`,
      };
    }
  }
  const provider = probe.provider ?? GALERA_PROVIDER;
  try {
    accessSync(provider, constants.R_OK);
  } catch {
    return { ok: false, reason: `the Galera library "${provider}" is missing (apt-get install galera-4)` };
  }
  // Both modes need root: mariadbd --user=root, or chown to mysql; and the client logs in through unix_socket as root.
  if ((probe.uid ?? process.getuid?.()) !== 0) {
    return { ok: false, reason: 'a real Galera cluster needs root (mariadbd --user, chown to mysql)' };
  }
  return { ok: true };
}
