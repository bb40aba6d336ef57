/**
 * SST binding (issue #18), driven like mysqld with real rsync and TLS: a donor of an earlier SST attempt, with
 * valid credentials, is refused on every connection while the right donor's SST goes on; the token travels both
 * ways mysqld relays it (10.11's environment, 11.6+'s stdin pipe); and it never shows in argv, logs or files
 * others can read.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StandinMysqld, donorCommand, joinerCommand, splitReadyPayload } from '../helpers/mysqld-standin.js';
import { tempDir } from '../helpers/pki.js';
import { makeNodes, processesMentioning, treeDigest, type TestNode } from '../helpers/sst-fixture.js';
import { randomBytes } from 'node:crypto';

const UUID = '7b2d8f3a-9c2d-11ef-b864-0242ac120002';
const NODE_LOCAL = new Set(['grastate.dat', 'wsrep_sst.pid', 'sst_in_progress']);

let base: ReturnType<typeof tempDir>;
let joiner: TestNode;
let donor: TestNode;
let staleDir: string;

beforeAll(() => {
  base = tempDir('binding');
  const tmp = join(base.path, 'tmp');
  mkdirSync(tmp);
  const made = makeNodes(base.path, [
    // Two worker processes: the token reaches them over IPC and each one checks its connections.
    { name: 'joiner', address: '127.0.0.51', sst: { tmpdir: tmp, 'joiner-workers': '2' } },
    // Slow enough that a second donor can be started in the middle of the SST.
    { name: 'donor', address: '127.0.0.52', sst: { tmpdir: tmp, rlimit: '3M' } },
  ]);
  [joiner, donor] = made.nodes as [TestNode, TestNode];
  for (let i = 0; i < 4; i++) {
    mkdirSync(join(donor.datadir, `db${i}`), { recursive: true });
    writeFileSync(join(donor.datadir, `db${i}`, 't.ibd'), randomBytes(2 << 20));
  }
  writeFileSync(join(donor.datadir, 'ibdata1'), randomBytes(1 << 20));
  // The stale donor's data set: nothing of it may ever land in the joiner's datadir.
  staleDir = join(base.path, 'stale', 'data');
  mkdirSync(join(staleDir, 'stale_db'), { recursive: true });
  writeFileSync(join(staleDir, 'stale_db', 'evil.ibd'), 'stale attempt data');
  writeFileSync(join(staleDir, 'ibdata1'), 'stale ibdata1');
});

afterAll(() => base.cleanup());

function startJoiner(): StandinMysqld {
  return new StandinMysqld(
    joinerCommand({
      address: joiner.address,
      datadir: joiner.datadir,
      defaultsFile: joiner.cnf,
      parent: process.pid,
    }),
    { datadir: joiner.datadir },
  );
}

function startDonor(
  datadir: string,
  payload: string,
  dialect: '10.11' | '11.6',
  env: NodeJS.ProcessEnv = {},
): StandinMysqld {
  return new StandinMysqld(
    donorCommand({ address: payload, datadir, defaultsFile: donor.cnf, gtid: `${UUID}:42` }),
    { datadir, flushAnswer: `${UUID}:42 0`, relayFrom: { payload, dialect }, env },
  );
}

async function readyPayload(j: StandinMysqld): Promise<string> {
  const first = await j.firstLine();
  expect(first, j.stderr).toMatch(/^ready ssttunnelbind1:[0-9a-f]{32}@/);
  return (first ?? '').slice('ready '.length);
}

const skip = (rel: string): boolean => NODE_LOCAL.has(rel);

/** Every trace of `token` a process of this machine, or a file others can read, would show. */
let privateHolders = 0;
function tokenTraces(token: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes(token)) found.push(`cmdline of ${entry}`);
      // Allowed: the connectors' environment (/proc/<pid>/environ is readable by their user alone).
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(token)) privateHolders++;
    } catch {
      // exited meanwhile
    }
  }
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      try {
        const st = statSync(path);
        if (st.isDirectory()) walk(path);
        else if (st.isFile() && (st.mode & 0o004) !== 0 && readFileSync(path, 'latin1').includes(token))
          found.push(`world-readable ${path}`);
      } catch {
        // removed meanwhile
      }
    }
  };
  walk(base.path);
  return found;
}

describe('SST binding: only the donor of this SST attempt writes into the joiner', () => {
  it("refuses a donor holding an earlier attempt's token, mid-SST, and the SST completes identical", async () => {
    // Attempt 1: mysqld restarts the join; its token is what a stale donor still holds.
    const first = startJoiner();
    const stalePayload = await readyPayload(first);
    first.kill('SIGTERM');
    await first.wait();
    // Attempt 2, on the same port.
    const j = startJoiner();
    const payload = await readyPayload(j);
    expect(payload).not.toBe(stalePayload);
    expect(splitReadyPayload(payload).address).toBe(splitReadyPayload(stalePayload).address);
    const token = (splitReadyPayload(payload).auth ?? '').split(':')[1] ?? '';
    expect(token).toMatch(/^[0-9a-f]{32}$/);

    // One connector process per connection: the token must travel to them without argv.
    const right = startDonor(donor.datadir, payload, '10.11', { SST_TUNNEL_RELAY: 'none' });
    // Mid-SST: the right donor is sending.
    const deadline = Date.now() + 60_000;
    while (!right.lines.includes('flush tables')) {
      if (Date.now() > deadline) throw new Error(`donor never flushed:\n${right.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const traces: string[] = [];
    const sampler = setInterval(() => traces.push(...tokenTraces(token)), 150);
    const stale = startDonor(staleDir, stalePayload, '10.11');
    const staleResult = await stale.wait(60_000);
    const [jr, dr] = await Promise.all([j.wait(120_000), right.wait(120_000)]);
    clearInterval(sampler);
    traces.push(...tokenTraces(token));

    // The stale donor: refused before it could even list the modules, so before any lock or data.
    expect(staleResult.exitCode).not.toBe(0);
    expect(staleResult.lines).toEqual([]);
    expect(jr.stderr).toMatch(
      /Refused connection from 127\.0\.0\.\d+:\d+ \(donor O=sst-tunnel tests, CN=donor\): its proof does not match this SST's token/,
    );
    // The right one: done, and the joiner's datadir is exactly its data set.
    expect(dr.lines).toEqual(['flush tables', 'continue', `done ${UUID}:42 0`]);
    expect(dr.exitCode, dr.stderr).toBe(0);
    expect(jr.lines).toEqual([`ready ${payload}`, `${UUID}:42 0`]);
    expect(jr.exitCode, jr.stderr).toBe(0);
    expect(treeDigest(joiner.datadir, skip)).toEqual(treeDigest(donor.datadir, skip));
    expect(existsSync(join(joiner.datadir, 'stale_db'))).toBe(false);
    expect(jr.stderr).not.toContain('not bound');

    // Never in argv, a log line or a file others can read (the connectors had it in their environment only).
    expect(traces).toEqual([]);
    // The sampler did look while the token was live (in the connectors' environment, where it may be).
    expect(privateHolders).toBeGreaterThan(0);
    for (const log of [jr.stderr, dr.stderr, staleResult.stderr]) {
      expect(log).not.toContain(token);
      expect(log).not.toContain((splitReadyPayload(stalePayload).auth ?? '').split(':')[1] ?? 'none');
    }
    expect(processesMentioning(base.path)).toEqual([]);
  });

  it.each(['10.11', '11.6'] as const)(
    "carries the token through %s's relay (environment or stdin pipe), with the relay",
    async (dialect) => {
      const j = startJoiner();
      const payload = await readyPayload(j);
      const d = startDonor(donor.datadir, payload, dialect, { SST_TUNNEL_RELAY: '' });
      const [jr, dr] = await Promise.all([j.wait(120_000), d.wait(120_000)]);
      expect(dr.exitCode, dr.stderr).toBe(0);
      expect(jr.exitCode, jr.stderr).toBe(0);
      expect(dr.stderr).toContain(
        "The joiner asked for SST binding: every connection proves this SST's token",
      );
      expect(jr.stderr).not.toContain('not bound');
      expect(jr.stderr).not.toContain('Refused');
      expect(treeDigest(joiner.datadir, skip)).toEqual(treeDigest(donor.datadir, skip));
    },
  );
});
