/**
 * Rolling upgrades: a node running the original socat-based script must be a peer of a node running ours, in
 * both directions. The original's shapes are rebuilt here from socat and rsync command lines as its script runs
 * them (sst-contract.md 4.3, 4.4): a plaintext socat forwarder on the donor, and on the joiner a socat TLS
 * listener in front of a TCP rsync daemon with the modules `rsync_tunnel_sst` and `rsync_tunnel_sst-log_dir`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StandinMysqld, donorCommand, joinerCommand, startStandinJoiner } from '../helpers/mysqld-standin.js';
import { tempDir } from '../helpers/pki.js';
import {
  NODE_LOCAL,
  fillDonorDatadir,
  makeNodes,
  isListening,
  processesMentioning,
  treeDigest,
  type TestNode,
} from '../helpers/sst-fixture.js';

const UUID = '3f0b5a8e-9c2d-11ef-b864-0242ac120002';
const haveSocat = spawnSync('socat', ['-V']).status === 0;
if (!haveSocat)
  console.log('Skipping the interop tests with the original socat shapes: socat is not installed');

let base: ReturnType<typeof tempDir>;
let ours: TestNode;
let original: TestNode;
let caCert: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  base = tempDir('interop');
  const made = makeNodes(base.path, [
    { name: 'ours', address: '127.0.0.45', sst: { tmpdir: join(base.path, 'tmp') } },
    { name: 'original', address: '127.0.0.46' },
  ]);
  mkdirSync(join(base.path, 'tmp'));
  [ours, original] = made.nodes as [TestNode, TestNode];
  caCert = made.caCert;
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});
afterAll(() => base.cleanup());

function start(cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.setEncoding('utf8');
  let err = '';
  child.stderr?.on('data', (c: string) => (err += c));
  child.on('exit', (code) => {
    if (code !== 0 && code !== null && process.env.SST_TEST_VERBOSE === '1')
      console.error(`${cmd} exited ${code}: ${err}`);
  });
  children.push(child);
  return child;
}

async function waitListening(host: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (isListening(host, port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Nothing listens on ${host}:${port}`);
}

/**
 * The original joiner: a TCP rsync daemon on loopback with the modules `rsync_tunnel_sst` and `-log_dir`, behind
 * a socat OpenSSL listener on 127.0.0.46:4444.
 */
async function startOriginalJoiner(joinerDir: string, daemonPort: number): Promise<void> {
  mkdirSync(joinerDir, { recursive: true });
  const conf = join(base.path, `original-rsyncd-${daemonPort}.conf`);
  writeFileSync(
    conf,
    [
      'use chroot = no',
      'read only = no',
      'timeout = 300',
      'uid = root',
      'gid = root',
      '[rsync_tunnel_sst]',
      `path = ${joinerDir}`,
      '[rsync_tunnel_sst-log_dir]',
      `path = ${joinerDir}`,
      '',
    ].join('\n'),
  );
  start('rsync', [
    '--daemon',
    '--no-detach',
    '--address',
    '127.0.0.1',
    '--port',
    String(daemonPort),
    '--config',
    conf,
  ]);
  start('socat', [
    `OPENSSL-LISTEN:4444,bind=127.0.0.46,reuseaddr,fork,cert=${original.cert.cert},key=${original.cert.key},cafile=${caCert}`,
    `TCP:127.0.0.1:${daemonPort}`,
  ]);
  await waitListening('127.0.0.1', daemonPort);
  await waitListening('127.0.0.46', 4444);
}

/** rsync as the original donor runs it, to `rsync://127.0.0.1:<port>/<module>` through its local forwarder. */
function originalRsync(args: string[], cwd: string, del = true): void {
  const flags = [
    '--owner',
    '--group',
    '--perms',
    '--links',
    '--specials',
    '--ignore-times',
    '--inplace',
    ...(del ? ['--delete'] : []),
    '--quiet',
    '--whole-file',
  ];
  const r = spawnSync('rsync', [...flags, ...args], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`rsync ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
}

/**
 * An original joiner's datadir holds the donor's tree: all but node-local files, binlogs (they travel in the
 * tarball), the symlinked database dir and the SST's own files. The original joiner's daemon runs with
 * `use chroot = no` and rsync's default `munge symlinks`, so it rewrites every symlink it receives (ours sets
 * `munge symlinks = no`): a defect of the original, kept here.
 */
function expectOriginalJoinerHas(donorDir: string, joinerDir: string): void {
  const skip = (rel: string): boolean =>
    NODE_LOCAL.includes(rel) ||
    rel.startsWith('mysql-bin') ||
    rel === 'linkeddb' ||
    rel.startsWith('linkeddb/') ||
    rel === 'rsync_tunnel_sst_complete' ||
    rel === 'wsrep_sst_binlog.tar';
  const want = treeDigest(donorDir, skip);
  want.set('db1/link-to-t1', 'link:/rsyncd-munged/t1.ibd');
  expect(treeDigest(joinerDir, skip)).toEqual(want);
}

/**
 * Our donor (under the mysqld stand-in) sending to the original joiner on 127.0.0.46, with `seqno` as the state
 * mysqld answers `flush tables` with; waits for it and checks it spoke the protocol to the end and exited 0.
 */
async function ourDonorToOriginal(
  donorDir: string,
  cnf: string,
  seqno: number,
  extra: Partial<ConstructorParameters<typeof StandinMysqld>[1]> = {},
): Promise<Awaited<ReturnType<StandinMysqld['wait']>>> {
  const donor = new StandinMysqld(
    donorCommand({
      address: '127.0.0.46:4444/rsync_tunnel_sst',
      datadir: donorDir,
      defaultsFile: cnf,
      gtid: `${UUID}:${seqno}`,
      binlog: 'mysql-bin',
    }),
    { datadir: donorDir, flushAnswer: `${UUID}:${seqno} 0`, ...extra },
  );
  const result = await donor.wait();
  expect(result.lines, result.stderr).toEqual(['flush tables', 'continue', `done ${UUID}:${seqno} 0`]);
  expect(result.exitCode).toBe(0);
  return result;
}

describe.skipIf(!haveSocat)('interop with the original socat-based rsync_tunnel', () => {
  it('our joiner is filled by an original donor (socat forwarder + rsync://localhost)', async () => {
    const donorDir = original.datadir;
    fillDonorDatadir(donorDir, join(base.path, 'external1'));
    const { joiner, payload: readyPayload } = startStandinJoiner(ours);
    await joiner.firstLine();
    const payload = readyPayload();
    // Our joiner advertises SST binding; the original donor ignores the auth part (its mysqld strips it).
    expect(payload).toMatch(/^ssttunnelbind1:[0-9a-f]{32}@127\.0\.0\.45:4444\/rsync_tunnel_sst$/);

    // The original donor: socat tcp-listen on loopback, forking an OpenSSL client per rsync connection.
    const fwd = 14445;
    start('socat', [
      `TCP-LISTEN:${fwd},bind=127.0.0.1,reuseaddr,fork`,
      `OPENSSL:127.0.0.45:4444,cert=${original.cert.cert},key=${original.cert.key},cafile=${caCert}`,
    ]);
    await waitListening('127.0.0.1', fwd);
    const url = `rsync://127.0.0.1:${fwd}/rsync_tunnel_sst`;
    // P1: the root, with the original's filter; P2: the redo log to -log_dir; P3: each directory.
    originalRsync(
      [
        '--dirs',
        '--filter=- /lost+found',
        '--filter=+ /wsrep_sst_binlog.tar',
        '--filter=+ /ib_lru_dump',
        '--filter=+ /ibdata*',
        '--filter=+ /*/',
        '--filter=- /*',
        './',
        url,
      ],
      donorDir,
    );
    originalRsync(['ib_logfile0', `${url}-log_dir`], donorDir, false);
    for (const dir of ['mysql', 'db1', 'emptydb', '-dash db'])
      originalRsync(['--recursive', `./${dir}/`, `${url}/./${dir}/`], donorDir);
    writeFileSync(join(donorDir, 'rsync_tunnel_sst_complete'), `${UUID}:9 0\n`);
    const magic = spawnSync(
      'rsync',
      ['--archive', '--quiet', '--checksum', 'rsync_tunnel_sst_complete', url],
      { cwd: donorDir },
    );
    expect(magic.status).toBe(0);

    const result = await joiner.wait();
    expect(result.lines).toEqual([`ready ${payload}`, `${UUID}:9 0`]);
    expect(result.exitCode).toBe(0);
    // Accepted for rolling upgrades, and said once per SST (not once per connection).
    expect(result.stderr.match(/This SST is not bound to its donor/g)).toHaveLength(1);
    expect(result.stderr).toMatch(
      /This SST is not bound to its donor: .*CN=original.*require-donor-binding=1/,
    );
    const want = treeDigest(
      donorDir,
      (rel) =>
        NODE_LOCAL.includes(rel) ||
        rel.startsWith('mysql-bin') ||
        rel.startsWith('undo') ||
        rel.startsWith('aria') ||
        rel === 'linkeddb' ||
        rel === 'rsync_tunnel_sst_complete',
    );
    expect(treeDigest(ours.datadir)).toEqual(want);
    expect(existsSync(join(ours.datadir, 'rsync_tunnel_sst_complete'))).toBe(false);
    expect(processesMentioning(join(base.path, 'tmp'))).toEqual([]);
  });

  it('with [sst] require-donor-binding, our joiner refuses an original donor before rsync runs, naming why', async () => {
    const strictCnf = join(base.path, 'ours-strict.cnf');
    // [sst] is the option file's last group: one more line lands in it.
    writeFileSync(strictCnf, `${readFileSync(ours.cnf, 'utf8')}require-donor-binding=1\n`);
    const datadir = join(base.path, 'strict-joiner');
    mkdirSync(datadir);
    const joiner = new StandinMysqld(
      joinerCommand({ address: ours.address, datadir, defaultsFile: strictCnf, parent: process.pid }),
      { datadir },
    );
    await joiner.firstLine();
    const fwd = 14447;
    start('socat', [
      `TCP-LISTEN:${fwd},bind=127.0.0.1,reuseaddr,fork`,
      `OPENSSL:127.0.0.45:4444,cert=${original.cert.cert},key=${original.cert.key},cafile=${caCert}`,
    ]);
    await waitListening('127.0.0.1', fwd);
    const donorDir = join(base.path, 'strict-donor');
    mkdirSync(join(donorDir, 'db1'), { recursive: true });
    writeFileSync(join(donorDir, 'db1', 't1.ibd'), 'original donor data');
    const r = spawnSync(
      'rsync',
      ['--recursive', '--quiet', '--whole-file', './', `rsync://127.0.0.1:${fwd}/rsync_tunnel_sst`],
      { cwd: donorDir, encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.status).not.toBe(0);
    joiner.kill('SIGTERM');
    const result = await joiner.wait();
    expect(result.stderr).toMatch(
      /Refused connection from [\d.:]+ \(donor [^)]*CN=original\): it sent no binding proof \(an original or older donor\) and \[sst\] require-donor-binding is on/,
    );
    expect(result.stderr).toContain('donor must prove this SST (require-donor-binding)');
    // Nothing of the refused donor's data arrived.
    expect(existsSync(join(datadir, 'db1'))).toBe(false);
    expect(result.lines).toHaveLength(1);
  });

  it('our donor fills an original joiner (socat OpenSSL listener + TCP rsync daemon)', async () => {
    const joinerDir = join(base.path, 'original-joiner');
    await startOriginalJoiner(joinerDir, 14446);

    const donorDir = join(base.path, 'ours-donor');
    mkdirSync(donorDir);
    fillDonorDatadir(donorDir, join(base.path, 'external2'));
    const result = await ourDonorToOriginal(donorDir, ours.cnf, 11, {
      relayFrom: { payload: '127.0.0.46:4444/rsync_tunnel_sst' },
    });
    // No binding asked, none sent: the original joiner's rsync daemon reads the plain rsync stream it expects.
    expect(result.stderr).toContain('The joiner did not ask for SST binding');
    expect(result.stderr).toMatch(/peer verified by SAN IP "127\.0\.0\.46"/);
    // The original joiner prints the magic file's content; the data set is complete in its datadir.
    expect(readFileSync(join(joinerDir, 'rsync_tunnel_sst_complete'), 'utf8')).toBe(`${UUID}:11 0\n`);
    expectOriginalJoinerHas(donorDir, joinerDir);
    // Undo tablespaces and Aria logs, which the original donor never sent, arrive too; and the binlog tarball.
    expect(existsSync(join(joinerDir, 'undo001'))).toBe(true);
    expect(existsSync(join(joinerDir, 'aria_log_control'))).toBe(true);
    expect(existsSync(join(joinerDir, 'wsrep_sst_binlog.tar'))).toBe(true);
  });

  it('our two-phase donor ([sst] copy = two-phase) fills an original joiner while its datadir changes', async () => {
    const joinerDir = join(base.path, 'original-two-phase-joiner');
    await startOriginalJoiner(joinerDir, 14448);
    const donorDir = join(base.path, 'ours-two-phase-donor');
    mkdirSync(donorDir);
    fillDonorDatadir(donorDir, join(base.path, 'external4'));
    const cnf = join(base.path, 'ours-two-phase.cnf');
    writeFileSync(cnf, `${readFileSync(ours.cnf, 'utf8')}\n[sst]\ncopy = two-phase\n`);
    // The donor's last writes before the lock, after its first phase: a page in place, a table dropped, one
    // created, a database created; the original joiner must end with the donor's final tree.
    const beforeLock = (): void => {
      const fd = openSync(join(donorDir, 'db1', 't1.ibd'), 'r+');
      writeSync(fd, randomBytes(16384), 0, 16384, 1 << 20);
      closeSync(fd);
      rmSync(join(donorDir, 'db1', 'table with space.frm'));
      writeFileSync(join(donorDir, 'mysql', 'new.ibd'), randomBytes(4096));
      mkdirSync(join(donorDir, 'newdb'));
      writeFileSync(join(donorDir, 'newdb', 't.ibd'), randomBytes(8192));
    };
    const result = await ourDonorToOriginal(donorDir, cnf, 13, { onFlush: beforeLock });
    expect(result.stderr).toMatch(/Phase 1 done: .* on the wire/);
    expect(result.stderr).toMatch(/Phase 2 \(read-only\): re-sending \d+ entries/);
    // The marker came after phase 2: the original joiner takes the SST as complete only then.
    expect(readFileSync(join(joinerDir, 'rsync_tunnel_sst_complete'), 'utf8')).toBe(`${UUID}:13 0\n`);
    expectOriginalJoinerHas(donorDir, joinerDir);
    expect(existsSync(join(joinerDir, 'db1', 'table with space.frm'))).toBe(false);
  });

  it("our donor in auto mode judges an original joiner's link from the root pass (no probe module there)", async () => {
    const joinerDir = join(base.path, 'original-auto-joiner');
    await startOriginalJoiner(joinerDir, 14449);
    const donorDir = join(base.path, 'ours-auto-donor');
    mkdirSync(donorDir);
    fillDonorDatadir(donorDir, join(base.path, 'external5'));
    // A data set worth judging the link for (64 MiB and more), its bulk in the root pass (the system tablespace).
    writeFileSync(join(donorDir, 'ibdata1'), randomBytes(72 * 1024 * 1024));
    const cnf = join(base.path, 'ours-auto.cnf');
    writeFileSync(cnf, `${readFileSync(ours.cnf, 'utf8')}\n[sst]\ntransfer = auto\ncopy = single\n`);
    const result = await ourDonorToOriginal(donorDir, cnf, 14);
    // First the undecided choice, then the decision from the root pass's own rate: no probe into a module the
    // original joiner does not have.
    expect(result.stderr).toMatch(
      /Transfer: whole files \(auto: the joiner holds no datadir of a cluster it names; the link's speed decides the rest\)/,
    );
    expect(result.stderr).toMatch(
      /Transfer: whole files( \+ compression| \+ lz4)? for the remaining passes \(auto: the first pass moved [\d.]+ [KMG]?i?B\/s on the wire, /,
    );
    expect(result.stderr).not.toContain('Link probe');
    expectOriginalJoinerHas(donorDir, joinerDir);
  });

  it('our donor sending deltas ([sst] transfer = delta) brings an original joiner holding an older copy up to date', async () => {
    const donorDir = join(base.path, 'ours-delta-donor');
    mkdirSync(donorDir);
    fillDonorDatadir(donorDir, join(base.path, 'external3'));
    // The original joiner holds yesterday's copy; since then pages changed in place, a table grew, one went.
    const joinerDir = join(base.path, 'original-delta-joiner');
    // (linkeddb, a symlink to a directory outside the donor's datadir, arrives as a directory.)
    cpSync(donorDir, joinerDir, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (from) => from !== join(donorDir, 'linkeddb'),
    });
    const t1 = join(donorDir, 'db1', 't1.ibd');
    const fd = openSync(t1, 'r+');
    writeSync(fd, randomBytes(16384), 0, 16384, 1 << 20);
    closeSync(fd);
    appendFileSync(join(donorDir, 'ibdata1'), randomBytes(65536));
    rmSync(join(donorDir, 'db1', 'table with space.frm'));
    writeFileSync(join(donorDir, 'mysql', 'new.ibd'), randomBytes(4096));
    await startOriginalJoiner(joinerDir, 14447);
    const cnf = join(base.path, 'ours-delta.cnf');
    writeFileSync(cnf, `${readFileSync(ours.cnf, 'utf8')}\n[sst]\ntransfer = delta\n`);
    const result = await ourDonorToOriginal(donorDir, cnf, 12);
    expect(result.stderr).toContain('Transfer: delta ([sst] transfer = delta)');
    expectOriginalJoinerHas(donorDir, joinerDir);
    // Deltas: far less than the 5.5 MiB of data crossed the tunnel (the changed page, the growth, the new file).
    const moved = /transfer delta: [\d.]+ MiB of data, ([\d.]+) (KiB|MiB) on the wire/.exec(result.stderr);
    expect(moved, result.stderr).not.toBeNull();
    expect(Number(moved?.[1]) * (moved?.[2] === 'MiB' ? 1024 : 1)).toBeLessThan(1024);
  });
});
