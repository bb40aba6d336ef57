/**
 * The write-load driver (src/bench/writeLoad.ts) against a real mariadbd: its client process, the marker echo that
 * times each statement, a stall under FLUSH TABLES WITH READ LOCK, failed statements counted without ending the
 * load, and stop() ending the client even while a statement is blocked. One Galera node on 127.0.0.165.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { WriteLoad } from '../../src/bench/writeLoad.js';
import { mariadbAvailable, type GaleraNode } from '../../src/demo/galera.js';
import { withCluster } from '../helpers/galera-fixture.js';
import { processesMentioning } from '../helpers/sst-fixture.js';

const available = mariadbAvailable();
if (!available.ok) console.log(`Skipping the write-load tests: ${available.reason}`);

/** Resolves once `load` has finished `n` more statements than it had (polls its live records). */
async function afterStatements(load: WriteLoad, n: number, timeoutMs = 60_000): Promise<void> {
  const target = load.records().length + n;
  const deadline = Date.now() + timeoutMs;
  while (load.records().length < target) {
    if (Date.now() > deadline) throw new Error(`The load did not finish ${n} statements in ${timeoutMs} ms`);
    await sleep(20);
  }
}

const clients = (node: GaleraNode): unknown[] =>
  processesMentioning(node.paths.config).filter((p) => p.cmdline.includes('--unbuffered'));

describe.skipIf(!available.ok)('the write load on a real mariadbd', () => {
  it('times every statement, sees a read lock as a stall, counts failures, and always ends its client', async () => {
    await withCluster(
      [{ name: 'node1', address: '127.0.0.165', sstMethod: 'rsync', user: 'mysql', binlog: true }],
      async (cluster) => {
        const node = cluster.first;
        await cluster.bootstrap();
        const target = { defaultsFile: node.paths.config };

        // Back to back, with a 1.5 s global read lock in the middle.
        const load = new WriteLoad({ target, seedRows: 200 });
        await load.start();
        expect(clients(node)).toHaveLength(1);
        await afterStatements(load, 50);
        const lockedAt = Date.now();
        await node.query('FLUSH TABLES WITH READ LOCK; SELECT SLEEP(1.5); UNLOCK TABLES');
        await afterStatements(load, 50);
        const r = await load.stop();
        expect(clients(node)).toEqual([]);
        expect(r.errors).toBe(0);
        expect(r.statements).toBe(r.records.length);
        expect(r.longestStallMs).toBeGreaterThan(1_000);
        expect(r.longestStallAt).toBeGreaterThanOrEqual(lockedAt - 1_000);
        expect(r.latencies.p50).toBeLessThan(r.longestStallMs / 10);
        // Every statement took effect: seed rows + inserts, and one increment per update.
        const inserts = r.records.filter((x) => x.kind === 'insert').length;
        const updates = r.records.length - inserts;
        expect(await node.query('SELECT COUNT(*), SUM(n) FROM sst_load.hot')).toBe(
          `${200 + inserts}\t${updates}`,
        );

        // Paced: failures (the table gone) are counted, the load goes on, and it resumes once the table is back.
        const paced = new WriteLoad({ target, seedRows: 200, intervalMs: 20 });
        await paced.start();
        await afterStatements(paced, 10);
        await node.query('RENAME TABLE sst_load.hot TO sst_load.hot_away');
        const failing = paced.records().length;
        await sleep(300);
        await node.query('RENAME TABLE sst_load.hot_away TO sst_load.hot');
        await afterStatements(paced, 10);
        const p = await paced.stop();
        expect(p.errors).toBeGreaterThan(0);
        expect(p.firstErrors[0]).toMatch(/^ERROR 1146 .*hot/);
        expect(p.records.slice(-5).every((x) => x.ok)).toBe(true);
        expect(p.records.length).toBeGreaterThan(failing + 10);
        expect(p.clientExit).toBeUndefined();
        expect(clients(node)).toEqual([]);

        // stop() while a statement is blocked: recorded as unfinished, the client ended all the same.
        const blocked = new WriteLoad({ target, seedRows: 200, stopGraceMs: 300 });
        await blocked.start();
        await afterStatements(blocked, 10);
        const lock = node.query('FLUSH TABLES WITH READ LOCK; SELECT SLEEP(3); UNLOCK TABLES');
        await sleep(1_000);
        const b = await blocked.stop();
        await lock;
        expect(b.records.at(-1)).toMatchObject({ ok: false, unfinished: true });
        expect(b.longestStallMs).toBeGreaterThan(500);
        expect(clients(node)).toEqual([]);
      },
    );
  }, 180_000);

  it('fails to start with the client output when the server is not there', async () => {
    const load = new WriteLoad({ target: { socket: '/nonexistent/mysqld.sock', user: 'root' } });
    await expect(load.start()).rejects.toThrow(
      /Cannot set up the write load on \/nonexistent\/mysqld.sock: .*\n.*ERROR 2002/s,
    );
  });
});
