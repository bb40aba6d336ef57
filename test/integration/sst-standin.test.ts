/**
 * The wrapper driven exactly as mysqld drives it (sh -c, the contract's argument strings, stdout read line by
 * line, tables_flushed written atomically), with real rsync and real TLS, between two datadirs on loopback.
 */
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  StandinMysqld,
  donorCommand,
  joinerCommand,
  runStandinPair,
  startStandinJoiner,
} from '../helpers/mysqld-standin.js';
import { tempDir } from '../helpers/pki.js';
import {
  NODE_LOCAL,
  TRANSIENT,
  fillDonorDatadir,
  isNodeOwn,
  makeNodes,
  portIsFree,
  processesMentioning,
  treeDigest,
  type TestNode,
} from '../helpers/sst-fixture.js';

const UUID = '6a1c7e2e-9b1f-11ef-8a11-0242ac120002';

let base: ReturnType<typeof tempDir>;
let joiner: TestNode;
let donor: TestNode;

beforeAll(() => {
  base = tempDir('standin');
  const tmp = join(base.path, 'tmp');
  mkdirSync(tmp);
  const made = makeNodes(base.path, [
    { name: 'joiner', address: '127.0.0.41', sst: { tmpdir: tmp } },
    { name: 'donor', address: '127.0.0.42', sst: { tmpdir: tmp } },
  ]);
  [joiner, donor] = made.nodes as [TestNode, TestNode];
  mkdirSync(join(base.path, 'external'));
  fillDonorDatadir(donor.datadir, join(base.path, 'external'));
});

afterAll(() => base.cleanup());

/** Runs a joiner and a donor through the stand-in; returns both results. */
async function runSst(
  opts: {
    joinerExtra?: Partial<Parameters<typeof joinerCommand>[0]>;
    donorExtra?: Partial<Parameters<typeof donorCommand>[0]>;
    flushAnswer?: string;
    donorEnv?: NodeJS.ProcessEnv;
    dialect?: '10.11' | '11.6';
  } = {},
) {
  return runStandinPair({
    joiner: {
      command: joinerCommand({
        address: joiner.address,
        datadir: joiner.datadir,
        defaultsFile: joiner.cnf,
        parent: process.pid,
        binlog: 'mysql-bin',
        ...opts.joinerExtra,
      }),
      options: { datadir: joiner.datadir },
    },
    onJoinerFirstLine: (first) => expect(first).toMatch(/^ready /),
    donor: {
      command: (address) =>
        donorCommand({
          address,
          datadir: donor.datadir,
          defaultsFile: donor.cnf,
          gtid: `${UUID}:42`,
          binlog: 'mysql-bin',
          ...opts.donorExtra,
        }),
      options: {
        datadir: donor.datadir,
        flushAnswer: opts.flushAnswer ?? `${UUID}:42 0`,
        ...(opts.donorEnv && { env: opts.donorEnv }),
      },
      relayDialect: opts.dialect ?? '10.11',
    },
  });
}

function expectClean(): void {
  for (const dir of [joiner.datadir, donor.datadir]) {
    for (const name of TRANSIENT) expect(existsSync(join(dir, name)), `${name} left in ${dir}`).toBe(false);
  }
  expect(readdirSync(join(base.path, 'tmp')), 'private temp dirs left').toEqual([]);
  expect(processesMentioning(base.path), 'processes left').toEqual([]);
}

describe('SST through the wrapper, driven like mysqld', () => {
  it('moves a whole datadir byte for byte, prints only protocol lines, and leaves nothing behind', async () => {
    // The joiner has stale state of its own: a dropped database, a file the donor no longer has, old binlogs.
    mkdirSync(join(joiner.datadir, 'olddb'));
    writeFileSync(join(joiner.datadir, 'olddb', 'gone.ibd'), 'stale');
    mkdirSync(join(joiner.datadir, 'mysql'));
    writeFileSync(join(joiner.datadir, 'mysql', 'stale.frm'), 'stale');
    writeFileSync(join(joiner.datadir, 'grastate.dat'), 'joiner grastate\n');
    writeFileSync(join(joiner.datadir, 'mysql-bin.000009'), 'old binlog');
    writeFileSync(join(joiner.datadir, 'mysql-bin.index'), './mysql-bin.000009\n');

    const result = await runSst();
    expect(result.payload).toMatch(/^ssttunnelbind1:[0-9a-f]{32}@127\.0\.0\.41:4444\/rsync_tunnel_sst$/);
    expect(result.joiner.lines).toEqual([`ready ${result.payload}`, `${UUID}:42 0`]);
    expect(result.joiner.exitCode).toBe(0);
    expect(result.donor.lines).toEqual(['flush tables', 'continue', `done ${UUID}:42 0`]);
    expect(result.donor.exitCode).toBe(0);

    const sent = treeDigest(donor.datadir, isNodeOwn);
    const got = treeDigest(joiner.datadir, isNodeOwn);
    // The symlinked database directory arrives as a directory with the linked content.
    expect(sent.get('linkeddb')).toMatch(/^link:/);
    sent.set('linkeddb', 'dir');
    for (const [rel, digest] of treeDigest(join(base.path, 'external', 'linkeddb')))
      sent.set(`linkeddb/${rel}`, digest);
    expect(got).toEqual(sent);
    // Node-local files do not travel; the joiner keeps its own grastate.dat.
    expect(readFileSync(join(joiner.datadir, 'grastate.dat'), 'utf8')).toBe('joiner grastate\n');
    for (const name of NODE_LOCAL.filter((n) => n !== 'grastate.dat'))
      expect(existsSync(join(joiner.datadir, name))).toBe(false);
    // Binlogs: the last one (sst-max-binlogs=1), index rebuilt; the old ones are gone.
    expect(
      readdirSync(joiner.datadir)
        .filter((n) => n.startsWith('mysql-bin.'))
        .sort(),
    ).toEqual(['mysql-bin.000002', 'mysql-bin.index']);
    expect(readFileSync(join(joiner.datadir, 'mysql-bin.index'), 'utf8')).toBe('./mysql-bin.000002\n');
    expect(readFileSync(join(joiner.datadir, 'mysql-bin.000002'))).toEqual(
      readFileSync(join(donor.datadir, 'mysql-bin.000002')),
    );
    // The summary names bytes, TLS and the verified peer.
    expect(result.donor.stderr).toMatch(
      /SST donor finished: .* over \d+ TLS connection\(s\), TLSv1\.3 TLS_AES_128_GCM_SHA256, peer verified by SAN IP "127\.0\.0\.41"/,
    );
    expect(result.joiner.stderr).toMatch(/SST joiner finished: .*TLSv1\.3/);
    // Bound to this SST (10.11's env relay): the donor proved the joiner's token on every connection.
    expect(result.donor.stderr).toContain(
      "The joiner asked for SST binding: every connection proves this SST's token",
    );
    expect(result.joiner.stderr).not.toContain('not bound');
    expect(result.donor.stderr).not.toContain('No relay'); // the relay carried every connection
    expectClean();
    expect(await portIsFree('127.0.0.41', 4444)).toBe(true);
  });

  it("speaks mysqld's progress lines with --progress 1, and nothing else", async () => {
    const result = await runSst({ joinerExtra: { progress: 1 } });
    expect(result.joiner.exitCode).toBe(0);
    const [ready, ...rest] = result.joiner.lines;
    expect(ready).toBe(`ready ${result.payload}`);
    expect(rest.at(-1)).toBe(`${UUID}:42 0`);
    const progress = rest.slice(0, -1);
    expect(progress[0]).toMatch(/^total \d+$/);
    const total = Number(progress[0]?.split(' ')[1]);
    expect(total).toBeGreaterThan(6 << 20);
    for (const line of progress.slice(1)) expect(line).toMatch(/^complete \d+$/);
    expect(result.donor.lines).toEqual(['flush tables', 'continue', `done ${UUID}:42 0`]);
    expectClean();
  });

  it('works without the relay too: one connector process per rsync connection', async () => {
    const result = await runSst({ donorEnv: { SST_TUNNEL_RELAY: 'none' } });
    expect(result.donor.stderr).toContain('No relay');
    expect(result.donor.lines).toEqual(['flush tables', 'continue', `done ${UUID}:42 0`]);
    expect(result.joiner.lines.at(-1)).toBe(`${UUID}:42 0`);
    expect(result.donor.stderr).toMatch(/SST donor finished: .*peer verified by SAN IP "127\.0\.0\.41"/);
    expectClean();
  });

  it('sends only the position on IST (--bypass)', async () => {
    writeFileSync(join(joiner.datadir, 'marker-kept'), 'x');
    const result = await runSst({ donorExtra: { bypass: true, gtid: `${UUID}:77`, domainId: 3 } });
    expect(result.donor.lines).toEqual(['continue', `done ${UUID}:77 3`]);
    expect(result.joiner.lines.at(-1)).toBe(`${UUID}:77 3`);
    expect(result.joiner.exitCode).toBe(0);
    expect(existsSync(join(joiner.datadir, 'marker-kept'))).toBe(true);
    expectClean();
  });

  it('fails the donor with exit 255 when mysqld reports sst_error, and the joiner never reports success', async () => {
    const { joiner: j, payload: readyPayload } = startStandinJoiner(joiner);
    await j.firstLine();
    const payload = readyPayload();
    const d = new StandinMysqld(
      donorCommand({ address: payload, datadir: donor.datadir, defaultsFile: donor.cnf, gtid: `${UUID}:42` }),
      { datadir: donor.datadir, flushAnswer: 'error', relayFrom: { payload } },
    );
    const dr = await d.wait();
    expect(dr.lines).toEqual(['flush tables']);
    expect(dr.exitCode).toBe(255);
    expect(dr.stderr).toContain('mysqld could not flush tables for the SST (sst_error)');
    j.kill('SIGTERM');
    const jr = await j.wait();
    expect(jr.lines).toEqual([`ready ${payload}`]);
    expect(jr.exitCode).toBe(3);
    expectClean();
    expect(existsSync(join(donor.datadir, 'sst_error'))).toBe(true); // mysqld's file: not ours to remove
  });

  it('fails the same way with transfer = auto and copy = single, its link probe under way while mysqld fails the flush', async () => {
    // auto asks mysqld to flush, then probes the link while it flushes: a failed flush must still end the
    // probe's pass, leave no process or private directory behind and exit 255.
    const cnf = join(base.path, 'donor-auto.cnf');
    writeFileSync(
      cnf,
      readFileSync(donor.cnf, 'utf8').replace('[sst]\n', '[sst]\ntransfer=auto\ncopy=single\n'),
    );
    // 128 MiB (sparse): enough data for auto to want a probe (under 64 MiB it sends whole files without one).
    mkdirSync(join(donor.datadir, 'bigdb'), { recursive: true });
    const big = join(donor.datadir, 'bigdb', 'big.ibd');
    writeFileSync(big, '');
    truncateSync(big, 128 * 2 ** 20);
    try {
      const { joiner: j, payload: readyPayload } = startStandinJoiner(joiner);
      await j.firstLine();
      const payload = readyPayload();
      const d = new StandinMysqld(
        donorCommand({ address: payload, datadir: donor.datadir, defaultsFile: cnf, gtid: `${UUID}:42` }),
        { datadir: donor.datadir, flushAnswer: 'error', relayFrom: { payload } },
      );
      const dr = await d.wait();
      expect(dr.lines).toEqual(['flush tables']);
      expect(dr.exitCode, dr.stderr).toBe(255);
      expect(dr.stderr).toContain('mysqld could not flush tables for the SST (sst_error)');
      j.kill('SIGTERM');
      const jr = await j.wait();
      expect(jr.lines).toEqual([`ready ${payload}`]);
      expect(jr.exitCode).toBe(3);
      // The probe did run (it starts right after `flush tables`): its 16 MiB crossed in a connection of its own.
      expect(jr.stderr).toMatch(/Connection from \S+ \(chain verified\) closed: .*, in 1[67]\d{6} B,/);
      expectClean();
    } finally {
      rmSync(join(donor.datadir, 'bigdb'), { recursive: true, force: true });
      rmSync(join(donor.datadir, 'sst_error'), { force: true });
    }
  });
});

describe('preflight: a broken setup fails before anything is printed to mysqld', () => {
  async function runJoinerOnly(
    command: string,
  ): Promise<{ lines: string[]; exitCode: number | null; stderr: string }> {
    const j = new StandinMysqld(command, { datadir: joiner.datadir });
    return j.wait(30_000);
  }

  it('refuses to advertise a name its own certificate does not cover (exit 22)', async () => {
    const r = await runJoinerOnly(
      joinerCommand({
        address: '127.0.0.44',
        datadir: joiner.datadir,
        defaultsFile: joiner.cnf,
        parent: process.pid,
      }),
    );
    expect(r.lines).toEqual([]);
    expect(r.exitCode).toBe(22);
    expect(r.stderr).toContain('127.0.0.44');
    expect(await portIsFree('127.0.0.44', 4444)).toBe(true);
  });

  it('refuses to run without tcert: never plaintext (exit 2)', async () => {
    const cnf = join(base.path, 'no-tcert.cnf');
    writeFileSync(cnf, `[sst]\ntca=${joiner.cert.cert}\n`);
    const r = await runJoinerOnly(
      joinerCommand({
        address: joiner.address,
        datadir: joiner.datadir,
        defaultsFile: cnf,
        parent: process.pid,
      }),
    );
    expect(r.lines).toEqual([]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`Cannot start an encrypted SST: [sst] tcert is not set in ${cnf}`);
  });

  it('refuses an unknown role with exit 22, naming it', async () => {
    const r = await runJoinerOnly(
      `wsrep_sst_rsync_tunnel --role 'observer' --address '127.0.0.41' --datadir '${joiner.datadir}/'`,
    );
    expect(r.lines).toEqual([]);
    expect(r.exitCode).toBe(22);
    expect(r.stderr).toContain('Cannot run an SST with --role "observer": expected "joiner" or "donor"');
  });

  it('keeps the last log line of a failing exit on stderr, and stdout empty', async () => {
    const r = await runJoinerOnly(`wsrep_sst_rsync_tunnel --role 'joiner' --address '127.0.0.41'`);
    expect(r.lines).toEqual([]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      /^WSREP_SST: \[ERROR\] The '--datadir' parameter must be passed \(\d{8} [\d:.]+\)$/,
    );
  });
});
