// A rolling upgrade in containers: a MariaDB 10.11 cluster (Debian 12's packages) gains an 11.8 node (Debian 13's),
// which joins by an SST of ours from 10.11; then a 10.11 node joins by an SST from the 11.8 node. Both images are
// docker/Dockerfile, on debian:bookworm-slim and debian:trixie-slim (`bash scripts/docker-lab.sh base`).
// 11.8 -> 10.11 is a physical downgrade MariaDB does not support in general (contract-drift.md): it is here because
// during an upgrade any node may donate to any other, and the SST method must carry it either way.
// Skips with one line where no Docker engine answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeDockerEngine } from './engine.js';
import {
  DockerLab,
  IMAGE_BUILD_MS,
  NODE_START_MS,
  checksum,
  clusterSize,
  makeCerts,
  sql,
  status,
  type Node,
} from './lab.js';

const engine = await probeDockerEngine();
if (!engine.ok) console.log(`Skipping the Docker mixed-version tests: ${engine.reason}`);

const MEMBERS = 'node1,node2,node3';

describe.skipIf(!engine.ok)('a mixed MariaDB 10.11 / 11.8 cluster in containers', () => {
  let lab: DockerLab;
  let certDir: string;
  const images = { '10.11': '', '11.8': '' };

  const version = async (node: Node): Promise<string> => sql(node, 'SELECT VERSION()');
  /** The temporary SST accounts an 11.6+ donor makes when wsrep_sst_auth is empty (the image sets a placeholder). */
  const sstAccounts = async (node: Node): Promise<string> =>
    sql(node, "SELECT COUNT(*) FROM mysql.user WHERE user LIKE 'wsrep.sst.%'");

  beforeAll(async () => {
    lab = await DockerLab.open();
    images['10.11'] = await lab.buildImage('10.11');
    images['11.8'] = await lab.buildImage('11.8');
    certDir = makeCerts(lab.certDir('cluster'), 'node1', 'node2', 'node3');
  }, 2 * IMAGE_BUILD_MS);

  afterAll(async () => {
    if (lab !== undefined) await lab.removeAll();
  }, 120_000);

  it(
    'an 11.8 node joins a 10.11 cluster by an SST of ours (10.11 donor, 11.8 joiner)',
    async () => {
      const node1 = await lab.startNode('node1', MEMBERS, {
        image: images['10.11'],
        certDir,
        env: { BOOTSTRAP: '1' },
      });
      expect(await version(node1)).toMatch(/^10\.11\./);
      await sql(
        node1,
        'CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(64), qty INT) ENGINE=InnoDB; ' +
          "INSERT INTO shop.items (name, qty) SELECT CONCAT('item-', seq), seq FROM shop.seq_1_to_20000",
      );

      const node2 = await lab.startNode('node2', MEMBERS, { image: images['11.8'], certDir });
      expect(await version(node2)).toMatch(/^11\.8\./);
      expect(node2.logs()).toMatch(/rsync_tunnel SST started on joiner \(sst-tunnel/);
      expect(node2.logs()).toMatch(/SST joiner finished: /);
      expect(node1.logs()).toMatch(/SST donor finished: .*peer verified by SAN DNS "node2"/);
      await clusterSize(node1, 2);
      expect(await status(node2, 'wsrep_local_state_comment')).toBe('Synced');
      expect(await checksum(node2)).toBe(await checksum(node1));

      // Writes on the 11.8 node replicate to the 10.11 one.
      await sql(
        node2,
        'UPDATE shop.items SET qty = qty * 3 WHERE id % 13 = 0; DELETE FROM shop.items WHERE id % 17 = 0',
      );
      expect(await checksum(node1)).toBe(await checksum(node2));
    },
    3 * NODE_START_MS,
  );

  it(
    'a 10.11 node joins by an SST of ours from the 11.8 node (11.8 donor, 10.11 joiner), with no SST account',
    async () => {
      const node1 = lab.need('node1');
      const node2 = lab.need('node2');
      // Only node2 may donate (no trailing comma): the SST goes 11.8 -> 10.11.
      const node3 = await lab.startNode('node3', MEMBERS, {
        image: images['10.11'],
        certDir,
        args: ['--wsrep-sst-donor=node2'],
      });
      expect(await version(node3)).toMatch(/^10\.11\./);
      expect(node3.logs()).toMatch(/SST joiner finished: /);
      expect(node2.logs()).toMatch(/SST donor finished: .*peer verified by SAN DNS "node3"/);
      expect(node1.logs()).not.toMatch(/peer verified by SAN DNS "node3"/);
      await clusterSize(node1, 3);
      expect(await status(node3, 'wsrep_local_state_comment')).toBe('Synced');
      const expected = await checksum(node1);
      expect(expected).toMatch(/^\d+$/);
      expect(await checksum(node2)).toBe(expected);
      expect(await checksum(node3)).toBe(expected);
      // The image's placeholder wsrep_sst_auth: the 11.8 donor made no temporary superuser, so none came along.
      expect(await sstAccounts(node3)).toBe('0');
      expect(await sstAccounts(node2)).toBe('0');
    },
    3 * NODE_START_MS,
  );
});
