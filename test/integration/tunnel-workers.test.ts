/**
 * The joiner listener with worker processes (`listen --workers 2`, `[sst] joiner-workers`): the listener process
 * only accepts and hands sockets over; workers do TLS, the peer check and rsync. Real rsync through the donor
 * relay, real TLS. Checks byte-for-byte copies with parallel connections spread over both workers, refusals
 * made and counted by a worker, a worker killed mid-transfer (that transfer fails, the next one works), and that
 * closing the listener leaves no worker and no rsync behind.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DonorRelay } from '../../src/tunnel/relay.js';
import { startRelayPair } from '../helpers/relay.js';
import { createCa, issueCert, tempDir, type CaFiles, type CertFiles } from '../helpers/pki.js';
import { killAll, run, runningCount, treeHash } from '../helpers/procs.js';
import { treeDigest } from '../helpers/sst-fixture.js';
import {
  UUID,
  cmdlineOf,
  expectNothingLeft,
  fillSmallDatadir,
  makePair,
  processTree,
  show,
  startDonor,
  startJoiner,
} from './faults-kit.js';

const dir = tempDir('tunnel workers');
let ca: CaFiles;
let other: CaFiles;
let joiner: CertFiles;
let donor: CertFiles;
let stranger: CertFiles;
const src = join(dir.path, 'src');
let relays: DonorRelay[] = [];

beforeAll(() => {
  ca = createCa(dir.path, 'ca');
  other = createCa(dir.path, 'other');
  joiner = issueCert(ca, 'joiner', { cn: 'joiner.test', ips: ['127.0.0.1'] });
  donor = issueCert(ca, 'donor', { cn: 'donor.test' });
  stranger = issueCert(other, 'stranger', { cn: 'donor.test' });
  for (const d of ['a', 'b', 'c']) {
    mkdirSync(join(src, d), { recursive: true });
    writeFileSync(join(src, d, 'big.ibd'), randomBytes(24 << 20));
    for (let i = 0; i < 100; i++) writeFileSync(join(src, d, `t${i}.frm`), randomBytes(i * 97));
  }
});
afterEach(async () => {
  await Promise.all(relays.map((r) => r.close()));
  relays = [];
  await killAll();
  expect(runningCount()).toBe(0);
});
afterAll(() => dir.cleanup());

const ppidOf = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] ?? '?';
  } catch {
    return 'gone';
  }
};

// Direct children only: a worker's own child shows the worker's command line between fork and exec.
const workersOf = (pid: number): number[] =>
  processTree(pid).filter((p) => / listener-worker$/.test(cmdlineOf(p)) && ppidOf(p) === String(pid));

async function setup(dst: string, cert: CertFiles = donor, listenEnv?: NodeJS.ProcessEnv) {
  const listen = await startRelayPair({
    ca,
    joiner,
    donor: cert,
    dst,
    listenArgs: ['--workers', '2'],
    ...(listenEnv !== undefined && { listenEnv }),
  });
  const { relay } = listen;
  relays.push(relay);
  const push = (from: string, extra: string[] = []): ReturnType<typeof run> =>
    run('rsync', [
      `--port=${relay.port}`,
      '--recursive',
      '--whole-file',
      '--inplace',
      ...extra,
      from,
      `${relay.host}::datadir/`,
    ]);
  return { ...listen, relay, push };
}

describe('listener with worker processes', () => {
  it('spreads parallel connections over both workers, copies byte for byte, and closes without leftovers', async () => {
    const dst = join(dir.path, 'dst');
    mkdirSync(dst);
    const { proc, relay, push } = await setup(dst);
    const workers = workersOf(proc.child.pid as number);
    expect(workers).toHaveLength(2);
    // Which workers run an rsync daemon while the three transfers are under way.
    const busy = new Set<number>();
    const sampler = setInterval(() => {
      for (const w of workers)
        if (processTree(w).some((c) => /^rsync --server --daemon/.test(cmdlineOf(c)))) busy.add(w);
    }, 10);
    const results = await Promise.all(['a', 'b', 'c'].map((d) => push(join(src, d))));
    clearInterval(sampler);
    expect([...busy].sort()).toEqual([...workers].sort());
    expect(results.map((r) => r.stderr)).toEqual(['', '', '']);
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(treeHash(dst)).toBe(treeHash(src));
    await relay.close();
    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
    const log = proc.stderr();
    expect(
      log.match(/Connection from 127\.0\.0\.1:\d+ \(chain verified\) closed: .* rsync exit 0/g),
    ).toHaveLength(3);
    expect(log).toMatch(/Listener closed: 3 connection\(s\), 0 refused, in \d{8,} B/);
    for (const pid of [...workers, ...processTree(proc.child.pid as number)])
      expect(cmdlineOf(pid), `pid ${pid} survived`).toBe('');
  });

  it('a worker refuses a donor from another CA, and the listener counts it', async () => {
    const dst = join(dir.path, 'dst-refused');
    mkdirSync(dst);
    const { proc, relay, push } = await setup(dst, stranger);
    const r = await push(join(src, 'a'));
    expect(r.code).not.toBe(0);
    // rsync can exit a moment before the relay has recorded why its connection ended.
    for (let i = 0; i < 100 && relay.failures() === 0; i++) await new Promise((res) => setTimeout(res, 20));
    expect(relay.failures()).toBe(1);
    proc.child.kill('SIGTERM');
    await proc.exited;
    expect(proc.stderr()).toMatch(
      /Refused connection from 127\.0\.0\.1:\d+: Cannot verify the certificate of the donor/,
    );
    expect(proc.stderr()).toMatch(/Listener closed: 0 connection\(s\), 1 refused/);
  });

  it('a worker killed mid-transfer fails its transfer, is logged, and the other worker keeps serving', async () => {
    const dst = join(dir.path, 'dst-killed');
    mkdirSync(dst);
    const { proc, push } = await setup(dst);
    const big = join(dir.path, 'huge');
    writeFileSync(big, randomBytes(64 << 20));
    // --bwlimit keeps the transfer going long enough to kill its worker in the middle.
    const slow = push(big, ['--bwlimit=8M']);
    let victim: number | undefined;
    for (let i = 0; i < 100 && victim === undefined; i++) {
      await new Promise((r) => setTimeout(r, 50));
      victim = workersOf(proc.child.pid as number).find((w) =>
        processTree(w).some((c) => /^rsync --server --daemon/.test(cmdlineOf(c))),
      );
    }
    expect(victim).toBeDefined();
    process.kill(victim as number, 'SIGKILL');
    const failed = await slow;
    expect(failed.code).not.toBe(0);
    const ok = await push(join(src, 'b'));
    expect(ok.code).toBe(0);
    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
    expect(proc.stderr()).toMatch(
      /Listener worker \d+ exited \(SIGKILL\): the connections it served are lost/,
    );
    expect(workersOf(proc.child.pid as number)).toEqual([]);
  });
});

describe('listener process killed', () => {
  it('its workers notice the parent is gone and exit', async () => {
    const dst = join(dir.path, 'dst-orphan');
    mkdirSync(dst);
    // SIGKILL leaves the listener no chance to remove its temp files: keep them in the test's directory.
    const tmp = join(dir.path, 'tmp-orphan');
    mkdirSync(tmp);
    const { proc } = await setup(dst, donor, { TMPDIR: tmp });
    const workers = workersOf(proc.child.pid as number);
    expect(workers).toHaveLength(2);
    proc.child.kill('SIGKILL');
    await proc.exited;
    const until = Date.now() + 5000;
    while (workers.some((w) => cmdlineOf(w) !== '') && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    expect(workers.map(cmdlineOf)).toEqual(['', '']);
  });
});

describe('an SST with [sst] joiner-workers = 2', () => {
  it('moves the datadir through the workers, reports success, and leaves nothing behind', async () => {
    const pair = makePair(
      'workers',
      { joiner: '127.0.0.47', donor: '127.0.0.48' },
      { 'backup-threads': '2' },
      { joiner: { 'joiner-workers': '2' } },
    );
    try {
      fillSmallDatadir(pair.donor.datadir, 4, 2 << 20);
      const port = 14470;
      const { joiner, payload } = await startJoiner(pair, port);
      const workers = new Map<number, string>();
      const sampler = setInterval(() => {
        for (const pid of processTree(joiner.pid as number)) {
          const cmd = cmdlineOf(pid);
          const parent = Number(ppidOf(pid));
          if (/ listener-worker$/.test(cmd) && !/ listener-worker$/.test(cmdlineOf(parent)))
            workers.set(pid, `${cmd} (ppid ${parent})`);
        }
      }, 20);
      const donor = startDonor(pair, payload);
      const [jr, dr] = await Promise.all([joiner.wait(60_000), donor.wait(60_000)]);
      clearInterval(sampler);
      expect(jr.exitCode, show(jr)).toBe(0);
      expect(dr.exitCode, show(dr)).toBe(0);
      expect(jr.lines).toEqual([`ready ${payload}`, `${UUID}:42 0`]);
      expect(workers.size, JSON.stringify([...workers])).toBe(2);
      expect(jr.stderr).toMatch(/SST joiner finished: .* over \d+ TLS connection/);
      const skip = (rel: string): boolean => rel === 'grastate.dat' || rel.startsWith('mysql-bin.');
      expect(treeDigest(pair.joiner.datadir, skip)).toEqual(treeDigest(pair.donor.datadir, skip));
      await expectNothingLeft(pair, [{ host: '127.0.0.47', port }]);
      for (const pid of workers.keys()) expect(cmdlineOf(pid)).toBe('');
    } finally {
      pair.cleanup();
    }
  });
});
