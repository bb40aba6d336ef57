/**
 * Two nodes' worth of SST fixtures for integration tests: a throwaway CA, node certificates, an option file per
 * node, a donor datadir with every kind of file a MariaDB 10.11 datadir holds, and tree comparison.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { procNetAddress } from '../../src/tunnel/loopbackOwner.js';
import { BINDING_TAG } from '../../src/tunnel/sstBinding.js';
import { join, relative } from 'node:path';
import { createCa, issueCert, type CertFiles } from './pki.js';

/** A node of a test: its datadir, option file and certificate. */
export interface TestNode {
  name: string;
  address: string;
  datadir: string;
  cnf: string;
  cert: CertFiles;
}

/** Makes a CA and one node (cert with the address as IP SAN, options file with [sst]). */
export function makeNodes(
  base: string,
  specs: { name: string; address: string; sst?: Record<string, string>; mysqld?: Record<string, string> }[],
): { caCert: string; nodes: TestNode[] } {
  const ca = createCa(join(base, 'pki'), 'ca');
  const nodes = specs.map((spec) => {
    const cert = issueCert(ca, spec.name, { cn: spec.name, ips: [spec.address] });
    const datadir = join(base, spec.name, 'data');
    mkdirSync(datadir, { recursive: true });
    const cnf = join(base, spec.name, 'my.cnf');
    const sst = { tca: ca.cert, tcert: cert.cert, tkey: cert.key, 'progress-interval': '1', ...spec.sst };
    const lines = [
      '[mysqld]',
      `datadir=${datadir}`,
      ...Object.entries(spec.mysqld ?? {}).map(([k, v]) => `${k}=${v}`),
      '[sst]',
      ...Object.entries(sst).map(([k, v]) => `${k}=${v}`),
    ];
    writeFileSync(cnf, `${lines.join('\n')}\n`);
    return { name: spec.name, address: spec.address, datadir, cnf, cert };
  });
  return { caCert: ca.cert, nodes };
}

/**
 * The node-local files fillDonorDatadir writes (and a Galera node keeps): each node keeps its own and an SST never
 * sends them, so every comparison of a donor's tree with a joiner's leaves them out.
 */
export const NODE_LOCAL = [
  'grastate.dat',
  'galera.cache',
  'gvwstate.dat',
  'ib_buffer_pool',
  'mysqld.pid',
  'node.err',
];

/**
 * A datadir entry of the node's own rather than the data set: a node-local file, or a binlog (binlogs travel in
 * the tarball, never as files).
 */
export function isNodeOwn(rel: string): boolean {
  return NODE_LOCAL.includes(rel) || rel.startsWith('mysql-bin.');
}

/** Files our SST creates in a datadir and must remove on every exit path. */
export const TRANSIENT = [
  'wsrep_sst.pid',
  'sst_in_progress',
  'rsync_tunnel_sst_complete',
  'wsrep_sst_binlog.tar',
  'tables_flushed',
  'tables_flushed.tmp',
];

/** Fills a donor datadir with the files of a 10.11 datadir, odd names included. Returns the external dir. */
export function fillDonorDatadir(datadir: string, external: string): void {
  const file = (path: string, content: Buffer | string): void => {
    mkdirSync(join(datadir, path, '..'), { recursive: true });
    writeFileSync(join(datadir, path), content);
  };
  file('mysql/db.opt', 'default-character-set=utf8mb4\n');
  file('mysql/user.MAI', randomBytes(300_000));
  file('db1/t1.ibd', randomBytes(3 << 20));
  file('db1/table with space.frm', randomBytes(2000));
  file('db1/ünïcødé.ibd', randomBytes(5000));
  file('-dash db/x.ibd', randomBytes(1000));
  file('db1/nested/deeper/file', 'nested');
  mkdirSync(join(datadir, 'emptydb'));
  symlinkSync('t1.ibd', join(datadir, 'db1', 'link-to-t1'));
  mkdirSync(join(external, 'linkeddb'), { recursive: true });
  writeFileSync(join(external, 'linkeddb', 't.ibd'), randomBytes(7000));
  symlinkSync(join(external, 'linkeddb'), join(datadir, 'linkeddb'));
  file('ibdata1', randomBytes(2 << 20));
  file('ib_logfile0', randomBytes(1 << 20));
  file('undo001', randomBytes(100_000));
  file('undo002', randomBytes(100_000));
  file('aria_log_control', randomBytes(52));
  file('aria_log.00000001', randomBytes(40_000));
  file('mysql-bin.000001', randomBytes(10_000));
  file('mysql-bin.000002', randomBytes(20_000));
  file('mysql-bin.index', './mysql-bin.000001\n./mysql-bin.000002\n');
  // Node-local files that must never travel.
  file('grastate.dat', 'donor grastate\n');
  file('galera.cache', randomBytes(10_000));
  file('gvwstate.dat', 'donor view\n');
  file('ib_buffer_pool', 'donor pool\n');
  file('mysqld.pid', '1\n');
  file('node.err', 'donor log\n');
}

/** An InnoDB page. */
export const PAGE = 16 * 1024;

/** Rewrites one page of `path` in place and puts its mtime back: size and mtime tell nothing. */
export function rewritePage(path: string, page: number): void {
  const before = statSync(path);
  const fd = openSync(path, 'r+');
  writeSync(fd, randomBytes(PAGE), 0, PAGE, page * PAGE);
  closeSync(fd);
  utimesSync(path, before.atime, before.mtime);
}

/** path → sha256 (files), `link:<target>` (symlinks), `dir` (directories), below `root`. */
export function treeDigest(root: string, skip: (rel: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const rel = relative(root, path);
      if (skip(rel)) continue;
      const st = lstatSync(path);
      if (st.isSymbolicLink()) out.set(rel, `link:${readlinkSync(path)}`);
      else if (st.isDirectory()) {
        out.set(rel, 'dir');
        walk(path);
      } else out.set(rel, createHash('sha256').update(readFileSync(path)).digest('hex'));
    }
  };
  walk(root);
  return out;
}

/** Resolves when host:port can be bound (nothing of ours left listening). */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/**
 * True when a TCP socket listens on `host:port` (IPv4, or the wildcard address), read from /proc/net/tcp. Unlike
 * portIsFree this never binds the port itself, so polling it while a program starts cannot take the port from
 * under that program (a bind probe made socat's listener fail with EADDRINUSE now and then).
 */
export function isListening(host: string, port: number): boolean {
  const wanted = [procNetAddress(host, port), procNetAddress('0.0.0.0', port)];
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .some((line) => {
      const cols = line.trim().split(/\s+/);
      return cols[3] === '0A' && wanted.includes(cols[1]);
    });
}

/**
 * Live processes whose command line or environment mentions `needle`: a test's own base directory identifies
 * its SST programs (datadir in argv), rsync daemons (config under [sst] tmpdir) and connectors (spec in env).
 */
export function processesMentioning(needle: string): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0];
      if ((cmdline.includes(needle) || environ.includes(needle)) && state !== 'Z')
        found.push({ pid: Number(entry), cmdline });
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** The ready line our joiner prints for `address`: with its per-SST binding token (sstBinding.ts), never a fixed one. */
export function readyLineFor(address: string): RegExp {
  const escaped = address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^ready ${BINDING_TAG}:[0-9a-f]{32}@${escaped}$`);
}
