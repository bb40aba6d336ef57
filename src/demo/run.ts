/**
 * `sst-tunnel demo`: the main job on a built-in default. It makes a throwaway CA and node certificates with our
 * own `certs`, performs a real encrypted SST on this machine and prints what happened with the figures:
 * between two real MariaDB Galera nodes on loopback when MariaDB and galera-4 are installed, otherwise between
 * two datadirs with the wrapper driven exactly as mysqld drives it. Everything is removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, createNodeCert } from '../certs/index.js';
import { TransferError } from '../errors.js';
import { SCRIPTS, donorCommand, joinerCommand, runStandinPair } from './contractDriver.js';
import { GaleraCluster, mariadbAvailable } from './galera.js';
import { findSummary, lastTransferChoice, renderReport } from './report.js';
import { deferCleanup } from './exitCleanup.js';

/** Options of the demo. */
export interface DemoOptions {
  mode: 'auto' | 'galera' | 'contract';
  sizeMiB: number;
  keep: boolean;
  out: (text: string) => void;
}

/** A demo's outcome before rendering. */
interface Report {
  title: string;
  rows: [string, string][];
}

const NODES = [
  { name: 'node1', address: '127.0.0.10' },
  { name: 'node2', address: '127.0.0.11' },
] as const;

/** Makes the CA and both node certificates; returns the [sst] lines of each node. */
async function makeCertificates(dir: string): Promise<Record<string, Record<string, string>>> {
  await createCa({ dir });
  const sst: Record<string, Record<string, string>> = {};
  for (const node of NODES) {
    const made = await createNodeCert({ dir, name: node.name, ips: [node.address] });
    sst[node.name] = { tca: made.caPath, tcert: made.certPath, tkey: made.keyPath };
  }
  return sst;
}

/** What the donor chose, and why in short: `whole files, by auto (the link read 331.5 MiB/s)`. */
function modeRow(donorLog: string): [string, string][] {
  const seen = lastTransferChoice(donorLog);
  if (seen === undefined) return [];
  const why = seen.auto
    ? `, by auto${seen.link === undefined ? '' : ` (the link read ${seen.link})`}`
    : ', as [sst] transfer says';
  return [['transfer mode', `${seen.mode}${why}`]];
}

/** The report's transfer rows, from the two sides' logs (each read once by the caller). */
function transferRows(joinerLog: string, donorLog: string): [string, string][] {
  const joiner = findSummary(joinerLog, 'joiner');
  const donor = findSummary(donorLog, 'donor');
  const side = donor ?? joiner;
  if (side === undefined) return [['transfer', 'no summary line found in the logs']];
  return [
    [
      'transfer',
      `${side.bytes} in ${side.seconds.toFixed(1)} s (${side.rate}) over ${side.connections} TLS connections`,
    ],
    ...modeRow(donorLog),
    ['TLS', side.tls ?? 'unknown'],
    ...(side.wire === undefined ? [] : [['data and wire', side.wire] as [string, string]]),
    ['joiner verified by the donor', donor?.peer ?? 'unknown'],
    ...(donor?.stages === undefined ? [] : [['donor stages', donor.stages] as [string, string]]),
  ];
}

async function galeraDemo(base: string, opts: DemoOptions): Promise<Report> {
  const pki = join(base, 'pki');
  const sst = await makeCertificates(pki);
  const cluster = await GaleraCluster.create({
    baseDir: base,
    nodes: NODES.map((n) => ({
      ...n,
      sstMethod: 'rsync_tunnel',
      user: 'mysql' as const,
      binlog: true,
      sst: sst[n.name] ?? {},
    })),
    pathPrepend: [SCRIPTS],
  });
  // mariadbd runs as mysql: it must read the 0600 keys `certs` wrote.
  cluster.first.chownForServer([pki, ...readdirSync(pki).map((n) => join(pki, n))]);
  try {
    const [donor, joiner] = cluster.nodes as [GaleraCluster['first'], GaleraCluster['first']];
    opts.out(`Bootstrapping node1 (${NODES[0].address}) and loading ${opts.sizeMiB} MiB of data...\n`);
    await cluster.bootstrap();
    const rows = Math.max(1, Math.floor((opts.sizeMiB * 1024) / 3 / 4));
    await cluster.loadData({ databases: 3, tablesPerDb: 1, rowsPerTable: rows, blobBytes: 4096 });
    opts.out(
      `Starting node2 (${NODES[1].address}) with an empty datadir: it joins by SST through rsync_tunnel...\n`,
    );
    const started = Date.now();
    await cluster.join(joiner, 300_000);
    const joinSeconds = (Date.now() - started) / 1000;
    const [sumDonor, sumJoiner] = [await cluster.checksums(donor), await cluster.checksums(joiner)];
    const equal = JSON.stringify([...sumDonor]) === JSON.stringify([...sumJoiner]);
    if (!equal) throw new TransferError('The demo SST finished but the two nodes hold different data');
    return {
      title: 'sst-tunnel demo: a real encrypted SST between two MariaDB Galera nodes on this machine',
      rows: [
        ['certificates', `CA and node certificates made by sst-tunnel certs in ${pki}`],
        ['donor', `node1 ${NODES[0].address}, ${opts.sizeMiB} MiB in 3 databases, binary log on`],
        ['joiner', `node2 ${NODES[1].address}, Synced ${joinSeconds.toFixed(1)} s after it started`],
        ...transferRows(joiner.errorLog(), donor.errorLog()),
        ['data', `CHECKSUM TABLE equal on both nodes (${sumDonor.size} tables)`],
      ],
    };
  } finally {
    await cluster.stopAll();
  }
}

/** Writes a small datadir: database directories, InnoDB and Aria files, a binary log. */
function fillDatadir(datadir: string, sizeMiB: number): void {
  const file = (path: string, bytes: number | string): void => {
    mkdirSync(join(datadir, path, '..'), { recursive: true });
    writeFileSync(join(datadir, path), typeof bytes === 'string' ? bytes : randomBytes(bytes));
  };
  const per = Math.max(1, Math.floor((sizeMiB << 20) / 12));
  for (let db = 1; db <= 3; db++) for (let t = 1; t <= 4; t++) file(`sst_db${db}/t${t}.ibd`, per);
  file('mysql/db.opt', 'default-character-set=utf8mb4\n');
  file('ibdata1', 1 << 20);
  file('ib_logfile0', 1 << 20);
  file('undo001', 64 << 10);
  file('aria_log_control', 52);
  file('aria_log.00000001', 8192);
  file('mysql-bin.000001', 4096);
  file('mysql-bin.index', './mysql-bin.000001\n');
}

async function contractDemo(base: string, opts: DemoOptions, reason: string): Promise<Report> {
  const sst = await makeCertificates(join(base, 'pki'));
  const dirs = NODES.map((n) => {
    const datadir = join(base, n.name, 'data');
    mkdirSync(datadir, { recursive: true });
    const cnf = join(base, n.name, 'my.cnf');
    const lines = Object.entries(sst[n.name] ?? {}).map(([k, v]) => `${k}=${v}`);
    writeFileSync(cnf, `[sst]\n${lines.join('\n')}\n`);
    return { ...n, datadir, cnf };
  });
  const [donor, joiner] = dirs as [(typeof dirs)[0], (typeof dirs)[0]];
  fillDatadir(donor.datadir, opts.sizeMiB);
  opts.out(
    `MariaDB is not available (${reason}): driving the wrapper exactly as mysqld would, between two datadirs.\n`,
  );
  const state = '6a1c7e2e-9b1f-11ef-8a11-0242ac120002:1 0';
  const { joiner: jr, donor: dr } = await runStandinPair({
    joiner: {
      command: joinerCommand({
        address: joiner.address,
        datadir: joiner.datadir,
        defaultsFile: joiner.cnf,
        parent: process.pid,
        binlog: 'mysql-bin',
      }),
      options: { datadir: joiner.datadir },
    },
    donor: {
      command: (address) =>
        donorCommand({
          address,
          datadir: donor.datadir,
          defaultsFile: donor.cnf,
          gtid: '6a1c7e2e-9b1f-11ef-8a11-0242ac120002:1',
          binlog: 'mysql-bin',
        }),
      options: { datadir: donor.datadir, flushAnswer: state },
    },
  });
  if (jr.exitCode !== 0 || dr.exitCode !== 0 || jr.lines.at(-1) !== state) {
    throw new TransferError(
      `The demo SST failed (joiner exit ${jr.exitCode}, donor exit ${dr.exitCode}):\n${dr.stderr}\n${jr.stderr}`,
    );
  }
  return {
    title: 'sst-tunnel demo: an encrypted SST between two datadirs, driven through the mysqld contract',
    rows: [
      ['certificates', `CA and node certificates made by sst-tunnel certs`],
      ['joiner said to mysqld', jr.lines.join(' | ')],
      ['donor said to mysqld', dr.lines.join(' | ')],
      ...transferRows(jr.stderr, dr.stderr),
    ],
  };
}

/** Runs the demo; returns the report (also printed through `out`). */
export async function runDemo(opts: DemoOptions): Promise<string> {
  const base = mkdtempSync(join(tmpdir(), 'sst-tunnel-demo-'));
  chmodSync(base, 0o755);
  // Interrupted: the nodes are killed first (their own exit cleanups are newer), then the directory goes.
  const cleanup = deferCleanup(() => opts.keep || rmSync(base, { recursive: true, force: true }));
  try {
    const available = mariadbAvailable();
    const useGalera = opts.mode === 'galera' || (opts.mode === 'auto' && available.ok);
    if (opts.mode === 'galera' && !available.ok) {
      throw new TransferError(
        `Cannot run the Galera demo: ${available.reason ?? 'MariaDB is not available'}`,
        { exitCode: 2 },
      );
    }
    const report = useGalera
      ? await galeraDemo(base, opts)
      : await contractDemo(base, opts, available.reason ?? 'not requested');
    report.rows.push(['cleanup', opts.keep ? `kept in ${base}` : 'nodes stopped, temporary files removed']);
    const text = renderReport(report.title, report.rows);
    opts.out(text);
    return text;
  } finally {
    cleanup();
  }
}
