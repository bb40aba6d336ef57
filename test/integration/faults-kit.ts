/**
 * Shared fixtures of the fault-matrix suites (test/integration/faults-*.test.ts): a joiner/donor pair on its own
 * loopback addresses, the wrapper driven like mysqld (in-process or as a separate stand-in process that can be
 * killed), process-tree and listening-socket inspection from /proc, and the "nothing left behind" check every
 * test ends with. Addresses 127.0.0.50-69 only (others belong to other suites); every test uses its own port.
 */
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import {
  REPO,
  StandinMysqld,
  donorCommand,
  joinerCommand,
  type StandinResult,
} from '../helpers/mysqld-standin.js';
import { childrenOf } from '../../src/bench/treeSampler.js';
import { tempDir } from '../helpers/pki.js';
import {
  TRANSIENT,
  makeNodes,
  portIsFree,
  processesMentioning,
  type TestNode,
} from '../helpers/sst-fixture.js';
import { killAll, start, waitFor, type Proc } from '../helpers/procs.js';
import { cmdlineOf } from '../../src/bench/procStat.js';

export const UUID = '6a1c7e2e-9b1f-11ef-8a11-0242ac120002';

/** A joiner and a donor sharing one CA, each with its own option file, datadir and [sst] tmpdir. */
export interface Pair {
  base: string;
  tmp: string;
  caCert: string;
  joiner: TestNode;
  donor: TestNode;
  cleanup(): void;
}

/** Makes a pair; `sst` options go to both nodes (timeouts are shrunk here, not by sleeping). */
export function makePair(
  prefix: string,
  addresses: { joiner: string; donor: string },
  sst: Record<string, string> = {},
  per: { joiner?: Record<string, string>; donor?: Record<string, string> } = {},
): Pair {
  const dir = tempDir(`faults-${prefix}`);
  const tmp = join(dir.path, 'tmp');
  mkdirSync(tmp);
  const made = makeNodes(dir.path, [
    { name: 'joiner', address: addresses.joiner, sst: { tmpdir: tmp, ...sst, ...per.joiner } },
    { name: 'donor', address: addresses.donor, sst: { tmpdir: tmp, ...sst, ...per.donor } },
  ]);
  const [joiner, donor] = made.nodes as [TestNode, TestNode];
  return { base: dir.path, tmp, caCert: made.caCert, joiner, donor, cleanup: dir.cleanup };
}

/** A copy of `role`'s option file, `<name>.cnf` in the pair's directory, with `[sst]` overrides (later values win). */
export function cnfWithSst(
  pair: Pair,
  role: 'joiner' | 'donor',
  name: string,
  sst: Record<string, string>,
): string {
  const cnf = join(pair.base, `${name}.cnf`);
  copyFileSync(pair[role].cnf, cnf);
  appendFileSync(
    cnf,
    `[sst]\n${Object.entries(sst)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
  return cnf;
}

/** A small donor datadir: `dirs` database directories of a few files, InnoDB system files, one binlog. */
export function fillSmallDatadir(datadir: string, dirs = 4, bytesPerFile = 64 * 1024): void {
  const put = (rel: string, size: number): void => {
    mkdirSync(join(datadir, rel, '..'), { recursive: true });
    writeFileSync(join(datadir, rel), Buffer.alloc(size, rel));
  };
  for (let d = 0; d < dirs; d++) for (let f = 0; f < 3; f++) put(`db${d}/t${f}.ibd`, bytesPerFile);
  put('ibdata1', 256 * 1024);
  put('ib_logfile0', 128 * 1024);
  put('mysql-bin.000001', 4096);
  writeFileSync(join(datadir, 'mysql-bin.index'), './mysql-bin.000001\n');
  writeFileSync(join(datadir, 'grastate.dat'), 'donor grastate\n');
}

/**
 * Adds database `big` (one 192 MiB table) to a donor datadir: a pass big enough to be still running when a test
 * acts on it, and the one holdPassMidTransfer holds by default.
 */
export function addBigDatabase(datadir: string): void {
  mkdirSync(join(datadir, 'big'));
  writeFileSync(join(datadir, 'big', 'big.ibd'), Buffer.alloc(192 << 20, 7));
}

/** The joiner command of `pair` on `port`, parent = this test process unless given. */
export function joinerCmd(
  pair: Pair,
  port: number,
  extra: Partial<Parameters<typeof joinerCommand>[0]> = {},
): string {
  return joinerCommand({
    address: `${pair.joiner.address}:${port}`,
    datadir: pair.joiner.datadir,
    defaultsFile: pair.joiner.cnf,
    parent: process.pid,
    ...extra,
  });
}

/** The donor command of `pair` for the joiner's ready payload. */
export function donorCmd(
  pair: Pair,
  payload: string,
  extra: Partial<Parameters<typeof donorCommand>[0]> = {},
): string {
  return donorCommand({
    address: payload,
    datadir: pair.donor.datadir,
    defaultsFile: pair.donor.cnf,
    gtid: `${UUID}:42`,
    ...extra,
  });
}

/** Starts a joiner and waits for its `ready` line; returns the stand-in and the payload. */
export async function startJoiner(
  pair: Pair,
  port: number,
  extra: Partial<Parameters<typeof joinerCommand>[0]> = {},
): Promise<{ joiner: StandinMysqld; payload: string }> {
  const joiner = new StandinMysqld(joinerCmd(pair, port, extra), { datadir: pair.joiner.datadir });
  const first = await joiner.firstLine();
  expect(first, `joiner stderr:\n${joiner.stderr}`).toMatch(/^ready /);
  return { joiner, payload: (first ?? '').slice('ready '.length) };
}

/** Starts a donor answering `flush tables` with the test state. */
export function startDonor(
  pair: Pair,
  payload: string,
  extra: Partial<Parameters<typeof donorCommand>[0]> = {},
  flushAnswer = `${UUID}:42 0`,
): StandinMysqld {
  return new StandinMysqld(donorCmd(pair, payload, extra), {
    datadir: pair.donor.datadir,
    flushAnswer,
    relayFrom: { payload },
  });
}

/** Polls `predicate` until it holds; throws naming `what` after `timeoutMs`. */
export async function waitUntil(
  predicate: () => boolean,
  what: string,
  timeoutMs = 20_000,
  stepMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** `pid` and all its descendants, parents first. */
export function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...childrenOf(all[i] as number));
  return all;
}

export { cmdlineOf };

/** Sends `signal` to every pid, ignoring the ones already gone. */
export function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
}

/**
 * After a test: ends the processes it started through the helpers, then SIGKILLs anything still mentioning one of
 * the pairs' directories (an SST script, its rsyncs), so a failed assertion leaves nothing for the next test.
 */
export async function killLeftovers(...pairs: Pair[]): Promise<void> {
  await killAll();
  signalAll(
    pairs.flatMap((pair) => processesMentioning(pair.base)).map((p) => p.pid),
    'SIGKILL',
  );
}

/** rsync processes of a donor (its data passes, not the connectors they spawned). */
export function donorRsyncs(scriptPid: number): number[] {
  return processTree(scriptPid).filter(
    (pid) => /^rsync /.test(cmdlineOf(pid)) && /--rsh=|--port=/.test(cmdlineOf(pid)),
  );
}

/** True when `pid` holds an established TCP socket (state 01 in /proc/<pid>/net/tcp, matched by inode). */
function hasEstablishedTcp(pid: number): boolean {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'utf8' }));
      if (m) inodes.add(m[1] as string);
    }
  } catch {
    return false; // gone, or an fd closed while we read
  }
  if (inodes.size === 0) return false;
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '01' && inodes.has(f[9] ?? '')) return true;
    }
  }
  return false;
}

/** True when `pid` holds a regular file open whose path contains `fragment` (a directory, like "/big/"). */
function hasOpenFileUnder(pid: number, fragment: string): boolean {
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'utf8' });
      if (target.startsWith('/') && target.includes(fragment)) return true;
    }
  } catch {
    return false; // gone, or an fd closed while we read
  }
  return false;
}

/** A donor pass frozen mid-transfer (SIGSTOP); `release` lets it run again (SIGCONT). */
export interface HeldPass {
  pids: number[];
  release(): void;
}

/**
 * Waits until a donor rsync pass whose command line names `marker` (by default the pass of database "big") is
 * sending file data, that is holds open a regular file under that directory, and stops it with SIGSTOP in the same
 * instant. A test that acts now acts mid-transfer for certain: on a loaded machine a 192 MiB pass can be over
 * before a timer-based "wait a moment" fires, and the joiner then finishes the SST before the fault is injected.
 * An established connection alone is not enough: it exists before the joiner's rsync daemon has greeted through
 * the tunnel, and a joiner killed in that instant looks to the donor like one that refused its certificate.
 */
export async function holdPassMidTransfer(roots: () => number[], marker = './big/'): Promise<HeldPass> {
  let held: number[] = [];
  await waitUntil(
    () => {
      for (const root of roots()) {
        for (const rsync of donorRsyncs(root)) {
          if (!cmdlineOf(rsync).includes(marker)) continue;
          const tree = processTree(rsync);
          const dir = marker.replace(/^\.\//, '/');
          if (!tree.some(hasEstablishedTcp) || !tree.some((pid) => hasOpenFileUnder(pid, dir))) continue;
          signalAll(tree, 'SIGSTOP');
          held = tree;
          return true;
        }
      }
      return false;
    },
    `the donor pass naming ${marker} to be sending file data`,
    30_000,
    5,
  );
  return { pids: held, release: () => signalAll(held, 'SIGCONT') };
}

/**
 * The listeners other than the SST's own loopback helpers, which are allowed: the donor's relay (inside the donor
 * script, gated to the SST's own user: test/integration/tunnel-relay.test.ts proves the gate) and the joiner's
 * one-accept listener that makes the loopback pair for an rsync daemon's input (it takes only its own client:
 * test/unit/tunnel/loopbackPair.test.ts). Both on 127.0.0.1 only, and only in those processes.
 */
export function exceptLoopbackHelpers(seen: Listening[]): Listening[] {
  return seen.filter(
    (l) =>
      !(
        l.host === '127.0.0.1' &&
        l.commands.length > 0 &&
        (l.commands.every((c) => /--role donor/.test(c)) ||
          l.commands.every((c) => /--role joiner|listener-worker/.test(c)))
      ),
  );
}

/** A TCP socket in LISTEN state, with the pids holding it. */
export interface Listening {
  host: string;
  port: number;
  pids: number[];
  /** The command lines of those pids when they were seen. */
  commands: string[];
}

function decode(hex: string): string {
  const bytes = (word: string): number[] =>
    (word.match(/../g) ?? []).map((b) => Number.parseInt(b, 16)).reverse();
  if (hex.length === 8) return bytes(hex).join('.');
  const all = (hex.match(/.{8}/g) ?? []).flatMap(bytes);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((all[i] ?? 0) << 8) | (all[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}

/** Every listening TCP socket held by one of `pids`, from /proc/net/tcp{,6} and /proc/<pid>/fd. */
export function listenersOf(pids: number[]): Listening[] {
  const byInode = new Map<string, { host: string; port: number }>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== '0A' || f[1] === undefined) continue;
      const [addr = '', port = '0'] = f[1].split(':');
      byInode.set(`socket:[${f[9] ?? ''}]`, { host: decode(addr), port: Number.parseInt(port, 16) });
    }
  }
  const found = new Map<string, Listening>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target = '';
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const sock = byInode.get(target);
      if (sock === undefined) continue;
      const key = `${sock.host}:${sock.port}`;
      const entry = found.get(key) ?? { ...sock, pids: [], commands: [] };
      if (!entry.pids.includes(pid)) {
        entry.pids.push(pid);
        entry.commands.push(cmdlineOf(pid));
      }
      found.set(key, entry);
    }
  }
  return [...found.values()];
}

/**
 * Samples, every `everyMs` until stopped, the listening sockets of every process of the test (found by its base
 * directory in argv or environment, plus the trees of the given script pids). Returns what was seen.
 */
export function sampleListeners(
  base: string,
  roots: () => number[],
  everyMs = 150,
): { stop(): { samples: number; seen: Listening[] } } {
  let samples = 0;
  const seen = new Map<string, Listening>();
  const take = (): void => {
    const pids = new Set(processesMentioning(base).map((p) => p.pid));
    for (const root of roots()) for (const pid of processTree(root)) pids.add(pid);
    if (pids.size === 0) return;
    samples++;
    for (const l of listenersOf([...pids])) seen.set(`${l.host}:${l.port}`, l);
  };
  const timer = setInterval(take, everyMs);
  take();
  return {
    stop() {
      clearInterval(timer);
      take();
      return { samples, seen: [...seen.values()] };
    },
  };
}

/**
 * The end of every test: no process of the test left (after a short grace for exits already under way), no
 * listener on the given ports, no transient file in either datadir, no private temp dir left.
 */
export async function expectNothingLeft(pair: Pair, ports: { host: string; port: number }[]): Promise<void> {
  await waitUntil(() => processesMentioning(pair.base).length === 0, 'the test processes to end', 3000).catch(
    () => undefined,
  );
  expect(processesMentioning(pair.base), 'processes left').toEqual([]);
  for (const { host, port } of ports)
    expect(await portIsFree(host, port), `${host}:${port} still bound`).toBe(true);
  for (const dir of [pair.joiner.datadir, pair.donor.datadir]) {
    for (const name of TRANSIENT) expect(existsSync(join(dir, name)), `${name} left in ${dir}`).toBe(false);
    const temp = readdirSync(dir).filter((n) => n.startsWith('.rsync_tunnel_sst_complete.'));
    expect(temp, `rsync temporary files left in ${dir}`).toEqual([]);
  }
  expect(readdirSync(pair.tmp), 'private temp dirs left').toEqual([]);
}

/** The stand-in mysqld as its own process, so a test can kill "mysqld" (contract 6.5). */
export interface ExternalStandin {
  proc: Proc;
  /** The pid of the stand-in process ("mysqld"). */
  pid: number;
  /** Protocol lines the script printed so far. */
  lines(): string[];
  /** The script's stderr so far (a file, as mysqld's error log is). */
  stderr(): string;
  /** The SST script's pid (the child of `sh -c`), once reported. */
  scriptPid(): Promise<number>;
}

/**
 * Runs a stand-in mysqld in a separate Node process. `__PARENT__` in the command becomes that process's pid (the
 * joiner's --parent). It relays protocol lines as `line <text>` and the script pid as `script <pid>` on its
 * stdout and answers `flush tables`. The script's stdout is a pipe owned by the stand-in, so killing it closes
 * the script's stdout as mysqld's death would; stderr goes to a file, like mysqld's error log.
 */
export function externalStandin(
  base: string,
  name: string,
  command: string,
  datadir: string,
  flushAnswer?: string,
): ExternalStandin {
  const driver = join(base, 'standin.mjs');
  const log = join(base, `${name}.stderr.log`);
  if (!existsSync(driver)) {
    writeFileSync(
      driver,
      `import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SCRIPTS, writeAtomically } from ${JSON.stringify(join(REPO, 'dist/demo/contractDriver.js'))};
const [command, datadir, flushAnswer, log] = JSON.parse(process.argv[2]);
const child = spawn('sh', ['-c', command.replaceAll('__PARENT__', String(process.pid))], {
  cwd: datadir, env: { ...process.env, PATH: SCRIPTS + ':' + process.env.PATH }, stdio: ['pipe', 'pipe', openSync(log, 'a')],
});
child.stdin.end();
const announce = setInterval(() => {
  try {
    const kids = readFileSync('/proc/' + child.pid + '/task/' + child.pid + '/children', 'utf8').trim();
    if (kids !== '') { process.stdout.write('script ' + kids.split(/\\s+/)[0] + '\\n'); clearInterval(announce); }
  } catch { clearInterval(announce); }
}, 10);
createInterface({ input: child.stdout }).on('line', (line) => {
  process.stdout.write('line ' + line + '\\n');
  if (line === 'flush tables' && flushAnswer) writeAtomically(join(datadir, 'tables_flushed'), flushAnswer + '\\n');
});
child.on('close', (code) => { process.stdout.write('exit ' + code + '\\n'); process.exit(0); });
`,
    );
  }
  const proc = start(process.execPath, [driver, JSON.stringify([command, datadir, flushAnswer ?? '', log])], {
    env: { ...process.env },
  });
  return {
    proc,
    pid: proc.child.pid ?? -1,
    lines: () =>
      proc
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('line '))
        .map((l) => l.slice(5)),
    stderr: () => (existsSync(log) ? readFileSync(log, 'utf8') : ''),
    scriptPid: async () => Number((await waitFor(proc, /^script (\d+)$/m, 15_000, 'stdout'))[1]),
  };
}

/**
 * A joiner under an external stand-in mysqld whose pid is its --parent (so killing "mysqld" is seen, contract
 * 6.5), started and waited for up to its `ready` line. `wrap` adjusts the command (e.g. into a network namespace).
 */
export async function startExternalJoiner(
  pair: Pair,
  name: string,
  port: number,
  wrap: (command: string) => string = (command) => command,
): Promise<{ mysqld: ExternalStandin; payload: string }> {
  const command = wrap(joinerCmd(pair, port).replace(`--parent ${process.pid}`, '--parent __PARENT__'));
  const mysqld = externalStandin(pair.base, name, command, pair.joiner.datadir);
  await waitUntil(() => mysqld.lines().length > 0, 'the joiner ready line', 20_000);
  const payload = (mysqld.lines()[0] ?? '').replace(/^ready /, '');
  return { mysqld, payload };
}

/**
 * Kills the stand-in mysqld (SIGKILL) while a donor pass below `hold` is frozen mid-transfer, then waits until the
 * SST script `script` and every process below it at the kill are gone. `release` says when the frozen pass may run
 * again: 'at-kill' (the dying role's own pass: its end must not wait on it) or 'after-end' (the other role's
 * pass, so that role cannot finish the SST before the dying one is gone). Returns when the kill was sent and when
 * the script's tree was seen gone.
 */
export async function killMysqldMidTransfer(
  mysqld: ExternalStandin,
  script: number,
  hold: () => number[],
  release: 'at-kill' | 'after-end',
  what: string,
): Promise<{ killedAt: number; endedAt: number }> {
  const held = await holdPassMidTransfer(hold);
  const tree = processTree(script);
  process.kill(mysqld.pid, 'SIGKILL');
  const killedAt = Date.now();
  if (release === 'at-kill') held.release();
  try {
    await waitUntil(() => tree.every((pid) => cmdlineOf(pid) === ''), what, 10_000);
    return { killedAt, endedAt: Date.now() };
  } finally {
    if (release === 'after-end') held.release();
  }
}

/** Result lines of the stand-in, for messages. */
export function show(r: StandinResult): string {
  return `exit ${r.exitCode}, lines ${JSON.stringify(r.lines)}\nstderr:\n${r.stderr}`;
}

/** Runs a command as root-only helper (mount); returns false with the reason when it cannot. */
export function tryRun(file: string, args: string[]): { ok: boolean; reason?: string } {
  try {
    execFileSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    return { ok: true };
  } catch (error) {
    const e = error as { stderr?: Buffer; message: string };
    return { ok: false, reason: (e.stderr?.toString() || e.message).trim() };
  }
}
