/**
 * The Galera harness itself: renderNodeConfig (pure) and, when MariaDB is installed, a real 2-node cluster on
 * 127.0.0.2/127.0.0.3 (reserved for the e2e suite) joined through MariaDB's own plain `rsync` SST.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  mariadbAvailable,
  renderNodeConfig,
  sstTimingFromLog,
  type GaleraNodeSpec,
} from '../../src/demo/galera.js';
import { withCluster } from '../helpers/galera-fixture.js';

const BASE: GaleraNodeSpec = {
  name: 'node2',
  address: '127.0.0.3',
  baseDir: '/srv/n2',
  sstMethod: 'rsync_tunnel',
  user: 'mysql',
};
const CLUSTER = ['127.0.0.2', '127.0.0.3'];

/** The [mysqld] group as key -> value (null for a bare flag), in file order. */
function mysqldOptions(text: string): Map<string, string | null> {
  const group = text.split('[mysqld]\n')[1]?.split('\n\n')[0] ?? '';
  return new Map(
    group.split('\n').map((line) => {
      const eq = line.indexOf('=');
      return eq < 0 ? [line, null] : [line.slice(0, eq), line.slice(eq + 1)];
    }),
  );
}

describe('renderNodeConfig()', () => {
  it('pins every listener to the node address and keeps all files under baseDir', () => {
    const opts = mysqldOptions(renderNodeConfig(BASE, CLUSTER));
    expect(Object.fromEntries(opts)).toMatchObject({
      user: 'mysql',
      datadir: '/srv/n2/data',
      socket: '/srv/n2/mysqld.sock',
      'pid-file': '/srv/n2/mysqld.pid',
      'log-error': '/srv/n2/error.log',
      // Its own tmpdir: a starting mariadbd deletes the #sql* files of its tmpdir, another node's among them.
      tmpdir: '/srv/n2/tmp',
      'bind-address': '127.0.0.3',
      port: '3306',
      binlog_format: 'ROW',
      wsrep_on: 'ON',
      wsrep_provider: '/usr/lib/galera/libgalera_smm.so',
      wsrep_cluster_address: 'gcomm://127.0.0.2:4567,127.0.0.3:4567',
      wsrep_node_name: 'node2',
      wsrep_node_address: '127.0.0.3',
      wsrep_provider_options:
        '"gmcast.listen_addr=tcp://127.0.0.3:4567;ist.recv_addr=127.0.0.3:4568;gcache.size=64M"',
      wsrep_sst_receive_address: '127.0.0.3:4444',
      wsrep_sst_method: 'rsync_tunnel',
      wsrep_sst_donor: 'node1',
      innodb_buffer_pool_size: '128M',
      innodb_log_file_size: '64M',
    });
    expect(opts.has('skip-name-resolve')).toBe(true);
    expect(opts.has('log_bin')).toBe(false);
  });

  it('gives the client the same socket, and leaves out [sst] when there is none', () => {
    const text = renderNodeConfig(BASE, CLUSTER);
    expect(text).toContain('[client]\nsocket=/srv/n2/mysqld.sock\nuser=root\n');
    expect(text).not.toContain('[sst]');
  });

  it('turns on the binary log with binlog: true', () => {
    const opts = mysqldOptions(renderNodeConfig({ ...BASE, binlog: true }, CLUSTER));
    expect(opts.get('log_bin')).toBe('mysql-bin');
    expect(opts.get('log_slave_updates')).toBe('ON');
  });

  it('replaces a default in place, appends new options, and renders null as a bare flag', () => {
    const spec = {
      ...BASE,
      mysqld: { wsrep_sst_receive_address: '127.0.0.3:5555', wsrep_debug: null, port: '3307' },
    };
    const text = renderNodeConfig(spec, CLUSTER);
    expect(text.match(/^wsrep_sst_receive_address=/gm)).toHaveLength(1);
    expect(text).toContain('wsrep_sst_receive_address=127.0.0.3:5555\n');
    expect(text).toMatch(/^wsrep_debug$/m);
    expect(text).toMatch(/^port=3307$/m);
  });

  it('renders the [sst] group', () => {
    const text = renderNodeConfig({ ...BASE, sst: { tca: '/k/ca.pem', tcert: '/k/n2.pem' } }, CLUSTER);
    expect(text).toContain('[sst]\ntca=/k/ca.pem\ntcert=/k/n2.pem\n');
  });

  it('rejects a non-loopback address, a bad method name and a value that would break the file', () => {
    expect(() => renderNodeConfig({ ...BASE, address: '10.0.0.3' }, CLUSTER)).toThrow(
      'Cannot render node "node2": address "10.0.0.3" is not a 127.x.y.z address',
    );
    expect(() => renderNodeConfig({ ...BASE, sstMethod: 'rsync;rm' }, CLUSTER)).toThrow(
      'Cannot render node "node2": SST method "rsync;rm" has characters mysqld rejects',
    );
    expect(() => renderNodeConfig({ ...BASE, sst: { tca: 'a\nb' } }, CLUSTER)).toThrow(
      'Cannot render option "tca": value "a\nb" contains a newline or "#"',
    );
  });
});

describe('mariadbAvailable()', () => {
  it('names the first missing piece', () => {
    expect(mariadbAvailable({ path: '/nonexistent' })).toEqual({
      ok: false,
      reason: '"mariadbd" is not installed (apt-get install mariadb-server mariadb-client)',
    });
    expect(
      mariadbAvailable({ path: '/usr/sbin:/usr/bin', provider: '/nonexistent/libgalera_smm.so', uid: 0 })
        .reason,
    ).toBe('the Galera library "/nonexistent/libgalera_smm.so" is missing (apt-get install galera-4)');
  });
});

const available = mariadbAvailable();
if (!available.ok) console.log(`Skipping the real Galera cluster tests: ${available.reason}`);

/** Local addresses of TCP listeners on a port, from `ss` (iproute2). */
function listeners(port: number): string[] {
  const out = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split(/\s+/)[3] ?? '');
}

describe.skipIf(!available.ok)('a real 2-node cluster (mariadbd as mysql, rsync SST)', () => {
  it('joins an empty node by SST, with equal checksums and replication both ways', async () => {
    const nodes = [
      { name: 'node1', address: '127.0.0.2', sstMethod: 'rsync', user: 'mysql' as const, binlog: true },
      { name: 'node2', address: '127.0.0.3', sstMethod: 'rsync', user: 'mysql' as const },
    ];
    let pids: number[] = [];
    await withCluster(nodes, async (cluster) => {
      const [node1, node2] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
      await cluster.bootstrap();
      await cluster.loadData({ databases: 3, tablesPerDb: 2, rowsPerTable: 2000, blobBytes: 2048 });
      expect(await node1.query('SELECT @@log_bin, @@wsrep_sst_method')).toBe('1\trsync');
      // Its own tmpdir, not the shared /tmp (a starting mariadbd deletes the #sql* files it finds there).
      expect(await node1.query('SELECT @@tmpdir')).toBe(node1.paths.tmpDir);

      await cluster.join(node2, 120_000);
      pids = [node1.pid(), node2.pid()].filter((p): p is number => p !== undefined);

      const [sum1, sum2] = [await cluster.checksums(node1), await cluster.checksums(node2)];
      expect([...sum1.keys()].filter((t) => t.startsWith('sst_db'))).toHaveLength(6);
      expect(new Set([...sum1.keys()].map((t) => t.split('.')[0]))).toEqual(
        new Set(['sst_db1', 'sst_db2', 'sst_db3']),
      );
      expect(sum2).toEqual(sum1);

      await node2.query(
        'CREATE TABLE sst_db1.w (id INT PRIMARY KEY, v CHAR(8)); INSERT INTO sst_db1.w VALUES (1, "from2")',
      );
      expect(await node1.query('SET SESSION wsrep_sync_wait = 1; SELECT v FROM sst_db1.w WHERE id = 1')).toBe(
        'from2',
      );

      // The SST wrote the joiner's datadir as mysql, and no listener escaped its own loopback address.
      expect(statSync(node2.paths.datadir + '/sst_db1').uid).toBe(statSync(node1.paths.datadir).uid);
      expect(listeners(4567).sort()).toEqual(expect.arrayContaining(['127.0.0.2:4567', '127.0.0.3:4567']));
      expect(listeners(4567).filter((a) => !a.startsWith('127.0.0.'))).toEqual([]);
      expect(listeners(3306).filter((a) => a === '127.0.0.2:3306' || a === '127.0.0.3:3306')).toHaveLength(2);

      const timing = sstTimingFromLog(node2.errorLog());
      expect(timing?.precision).toBe('ms');
      expect(timing?.startLine).toContain('rsync SST started on joiner');
      expect(timing?.durationMs).toBeGreaterThan(0);
      console.log(`rsync SST of the harness test: ${timing?.durationMs} ms`);
    });
    // stopAll left nothing behind: no process, no listener on the e2e addresses.
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    for (const port of [3306, 4567, 4568, 4444]) {
      expect(listeners(port).filter((a) => a.startsWith('127.0.0.2:') || a.startsWith('127.0.0.3:'))).toEqual(
        [],
      );
    }
  }, 240_000);

  it("runs wsrep_sst_<method> from pathPrepend with mysqld's command line, as mysql", async () => {
    // A stand-in SST script that records how it was run, then fails: the joiner must abort and be reaped.
    const bin = mkdtempSync(join(tmpdir(), 'sst-e2e-bin-'));
    chmodSync(bin, 0o755);
    const script = join(bin, 'wsrep_sst_harness_probe');
    writeFileSync(
      script,
      '#!/bin/sh\n{ id -un; pwd; echo "$PATH"; echo "$@"; } > harness_probe.out\nexit 2\n',
      {
        mode: 0o755,
      },
    );
    const nodes = [
      { name: 'node1', address: '127.0.0.2', sstMethod: 'rsync', user: 'mysql' as const },
      { name: 'node2', address: '127.0.0.3', sstMethod: 'harness_probe', user: 'mysql' as const },
    ];
    try {
      await withCluster(
        nodes,
        async (cluster) => {
          const node2 = cluster.nodes[1]!;
          await cluster.bootstrap();
          await expect(cluster.join(node2, 60_000)).rejects.toThrow('exited before reaching Synced');
          const [user, cwd, path, argv] = readFileSync(
            join(node2.paths.datadir, 'harness_probe.out'),
            'utf8',
          ).split('\n');
          expect(user).toBe('mysql');
          expect(cwd).toBe(node2.paths.datadir);
          expect(path?.split(':')).toContain(bin);
          expect(argv).toContain(`--role joiner --address 127.0.0.3:4444 --datadir ${node2.paths.datadir}/`);
          expect(argv).toContain(`--defaults-file ${node2.paths.config}`);
          console.log(`PATH seen by the SST script: ${path}`);
        },
        { pathPrepend: [bin] },
      );
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  }, 120_000);
});
