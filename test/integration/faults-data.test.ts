/**
 * Fault matrix, data that breaks naive tools: IPv6 end to end (joiner on [::1], certificate with IP SAN ::1), a
 * file larger than 4 GiB (sparse on the donor, compared byte for byte on the joiner), 100 000 files, names with
 * spaces, unicode and leading dashes, symlinks. Every listening socket of ours is sampled during each transfer
 * and must be the TLS port: nothing of ours ever listens in plaintext.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  fillDonorDatadir,
  isNodeOwn,
  processesMentioning,
  readyLineFor,
  treeDigest,
} from '../helpers/sst-fixture.js';
import {
  UUID,
  exceptLoopbackHelpers,
  expectNothingLeft,
  makePair,
  sampleListeners,
  show,
  signalAll,
  startDonor,
  startJoiner,
  type Pair,
} from './faults-kit.js';

const pairs: Pair[] = [];
// The big pair leaves ~200 000 files and a 4 GiB file behind. Removing them synchronously blocked the event loop
// past the 120 s hook timeout on a loaded machine (load ~15): remove them asynchronously, under a bound of our own.
afterAll(async () => {
  for (const pair of pairs) {
    signalAll(
      processesMentioning(pair.base).map((p) => p.pid),
      'SIGKILL',
    );
    await rm(pair.base, { recursive: true, force: true, maxRetries: 3 });
  }
}, 600_000);

/** `host:port` with IPv6 in the compact form the kit's /proc decoder does not produce: normalise both. */
function norm(hostPort: string): string {
  const i = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, i).replace(/^\[|\]$/g, '');
  const port = hostPort.slice(i + 1);
  if (!host.includes(':')) return `${host}:${port}`;
  const [head = '', tail = ''] = host.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = host.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups.map((g) => Number.parseInt(g, 16)).join(':')}:${port}`;
}

/** Runs a full SST on `pair` while sampling listeners; returns both results and the sampled listeners. */
async function sstWithSampling(pair: Pair, port: number, address: string) {
  const { joiner, payload } = await startJoiner(pair, port, { address });
  const sampler = sampleListeners(pair.base, () => [joiner.pid as number], 150);
  const donor = startDonor(pair, payload);
  const [jr, dr] = await Promise.all([joiner.wait(240_000), donor.wait(240_000)]);
  return { jr, dr, payload, ...sampler.stop() };
}

function expectSameTree(pair: Pair, external?: string): void {
  const sent = treeDigest(pair.donor.datadir, isNodeOwn);
  if (external !== undefined && sent.get('linkeddb')?.startsWith('link:') === true) {
    // A symlinked database directory arrives as a directory with the linked content (as `find -L` sends it).
    sent.set('linkeddb', 'dir');
    for (const [rel, digest] of treeDigest(join(external, 'linkeddb'))) sent.set(`linkeddb/${rel}`, digest);
  }
  expect(treeDigest(pair.joiner.datadir, isNodeOwn)).toEqual(sent);
}

describe('IPv6 end to end', () => {
  it('joiner on [::1] with an IP SAN ::1 certificate: identical tree, odd names and symlinks included', async (ctx) => {
    const hasV6 = Object.values(networkInterfaces()).some((list) =>
      (list ?? []).some((a) => a.address === '::1'),
    );
    if (!hasV6) {
      console.log('SKIP IPv6 case: this machine has no ::1 (IPv6 disabled)');
      ctx.skip();
      return;
    }
    const pair = makePair('ipv6', { joiner: '::1', donor: '127.0.0.63' }, { 'backup-threads': '2' });
    pairs.push(pair);
    const external = join(pair.base, 'external');
    mkdirSync(external);
    fillDonorDatadir(pair.donor.datadir, external);
    const port = 14611;
    const r = await sstWithSampling(pair, port, `[::1]:${port}`);
    expect(`ready ${r.payload}`).toMatch(readyLineFor(`[::1]:${port}/rsync_tunnel_sst`));
    expect(r.dr.exitCode, show(r.dr)).toBe(0);
    expect(r.jr.exitCode, show(r.jr)).toBe(0);
    expect(r.jr.lines).toEqual([`ready ${r.payload}`, `${UUID}:42 0`]);
    expect(r.dr.stderr).toMatch(/peer verified by SAN IP "::1"/);
    expectSameTree(pair, external);
    expect(r.samples).toBeGreaterThan(3);
    expect(exceptLoopbackHelpers(r.seen).map((l) => norm(`${l.host}:${l.port}`))).toEqual([
      norm(`[::1]:${port}`),
    ]);
    await expectNothingLeft(pair, [{ host: '::1', port }]);
  });
});

describe('big and many', () => {
  it('a sparse file over 4 GiB and 100 000 files arrive byte for byte', async () => {
    const pair = makePair(
      'bigmany',
      { joiner: '127.0.0.61', donor: '127.0.0.62' },
      { 'backup-threads': '2', 'idle-timeout': '60' },
    );
    pairs.push(pair);
    const dd = pair.donor.datadir;
    // 4 GiB + 1 MiB, sparse, with distinct bytes at the start, across the 4 GiB boundary and at the end.
    mkdirSync(join(dd, 'bigdb'));
    const big = join(dd, 'bigdb', 'huge table.ibd');
    const size = 4 * 1024 ** 3 + (1 << 20);
    const fd = openSync(big, 'w');
    for (const [at, text] of [
      [0, 'start'],
      [4 * 1024 ** 3 - 3, 'across-4GiB'],
      [size - 3, 'end'],
    ] as const) {
      writeSync(fd, Buffer.from(text), 0, text.length, at);
    }
    closeSync(fd);
    expect(statSync(big).size).toBe(size);
    // 100 000 small files over 4 database directories, with awkward names among them.
    for (let d = 0; d < 4; d++) {
      const dir = join(dd, d === 0 ? '-dash db' : d === 1 ? 'ünïcødé db' : `many${d}`);
      mkdirSync(dir);
      for (let f = 0; f < 25_000; f++) {
        const name = f % 1000 === 0 ? `-f ${f} ünï.ibd` : `t${f}.frm`;
        const h = openSync(join(dir, name), 'w');
        writeSync(h, `${d}/${f}\n`);
        closeSync(h);
      }
    }
    const port = 14612;
    const started = Date.now();
    const r = await sstWithSampling(pair, port, `127.0.0.61:${port}`);
    const took = Date.now() - started;
    expect(r.dr.exitCode, show(r.dr)).toBe(0);
    expect(r.jr.exitCode, show(r.jr)).toBe(0);
    expect(r.jr.lines.at(-1)).toBe(`${UUID}:42 0`);
    console.log(
      `4 GiB sparse file + 100 000 files: SST in ${(took / 1000).toFixed(1)} s, ${r.samples} listener samples`,
    );
    const got = join(pair.joiner.datadir, 'bigdb', 'huge table.ibd');
    expect(statSync(got).size).toBe(size);
    const cmp = spawnSync('cmp', [big, got]);
    expect(cmp.status, cmp.stdout.toString() + cmp.stderr.toString()).toBe(0);
    const skip = (rel: string): boolean => isNodeOwn(rel) || rel === join('bigdb', 'huge table.ibd');
    expect(treeDigest(pair.joiner.datadir, skip)).toEqual(treeDigest(dd, skip));
    expect(readdirSync(join(pair.joiner.datadir, '-dash db')).length).toBe(25_000);
    expect(r.samples).toBeGreaterThan(10);
    expect(exceptLoopbackHelpers(r.seen).map((l) => `${l.host}:${l.port}`)).toEqual([`127.0.0.61:${port}`]);
    await expectNothingLeft(pair, [{ host: '127.0.0.61', port }]);
  }, 300_000);
});
