// The docker/ image as a 3-node cluster on a user network: nodes dial each other by hostname and their
// certificates name those hostnames as DNS SANs, so the donor's check of the joiner goes through Docker's DNS.
// The tests run in order on one cluster: it forms and each node is healthy once Synced; the healthcheck follows
// the node's state; a wiped node comes back through an SST of ours with equal data; a node whose certificate comes
// from another CA is kept out; a donor killed mid-SST leaves the joiner failed cleanly and a retry succeeds.
// Skips with one line where no Docker engine answers (`bash scripts/docker-lab.sh up` starts one on Debian).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeDockerEngine } from './engine.js';
import {
  DockerLab,
  IMAGE_BUILD_MS,
  NODE_START_MS,
  checksum,
  clusterSize,
  eventually,
  makeCerts,
  sleep,
  sql,
  status,
  type Node,
  type NodeOptions,
} from './lab.js';

const engine = await probeDockerEngine();
if (!engine.ok) console.log(`Skipping the Docker cluster tests: ${engine.reason}`);

const MEMBERS = 'node1,node2,node3';
/**
 * node2 donates at this rate, whole files: an SST from it lasts seconds, so "mid-SST" is a wide window, not a race
 * (auto, the default, would compress below a slow rlimit and send the test's rows in a second).
 */
const NODE2_SST = { SST_RLIMIT: '8M', SST_TRANSFER: 'whole' };

describe.skipIf(!engine.ok)('the sst-tunnel Galera image on a Docker network', () => {
  let lab: DockerLab;
  let image: string;
  let work: string;

  const startNode = async (
    name: string,
    certDir: string,
    opts: Omit<NodeOptions, 'image' | 'certDir'> = {},
  ): Promise<Node> => lab.startNode(name, MEMBERS, { image, certDir, ...opts });
  const need = (name: string): Node => lab.need(name);
  const inspect = (node: Node) => lab.inspect(node);
  const exited = (node: Node) => lab.exited(node);

  beforeAll(async () => {
    lab = await DockerLab.open();
    work = lab.work;
    image = await lab.buildImage('10.11');
    makeCerts(lab.certDir('cluster'), 'node1', 'node2', 'node3');
    makeCerts(lab.certDir('other'), 'node4');
  }, IMAGE_BUILD_MS);

  afterAll(async () => {
    if (lab !== undefined) await lab.removeAll();
  }, 120_000);

  it(
    'forms a 3-node cluster on a user network; each node is healthy once Synced',
    async () => {
      const cluster = join(work, 'certs', 'cluster');
      // node1 weighs 3 of the cluster's 5: when node2 (a donor) is killed and node3 (its joiner) aborts in the
      // last test, node1 alone keeps quorum, as an operator's arbitrator would.
      const node1 = await startNode('node1', cluster, {
        env: { BOOTSTRAP: '1' },
        args: ['--wsrep-provider-options=pc.weight=3'],
      });
      // 20000 rows from the sequence engine (a recursive CTE stops at max_recursive_iterations = 1000).
      await sql(
        node1,
        'CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(64), qty INT) ENGINE=InnoDB; ' +
          "INSERT INTO shop.items (name, qty) SELECT CONCAT('item-', seq), seq FROM shop.seq_1_to_20000",
      );
      await startNode('node2', cluster, { env: NODE2_SST });
      await startNode('node3', cluster);
      for (const name of ['node1', 'node2', 'node3']) {
        const node = need(name);
        await clusterSize(node, 3);
        expect(await status(node, 'wsrep_local_state_comment')).toBe('Synced');
        expect((await inspect(node)).State.Health?.Status).toBe('healthy');
      }
      // Each node has one network, the test's, and its hostname resolves to its address there.
      const info = await inspect(node1);
      expect(Object.keys(info.NetworkSettings.Networks)).toEqual([lab.networkName]);
      const address = info.NetworkSettings.Networks[lab.networkName]?.IPAddress ?? 'none';
      const hosts = await node1.container.exec(['getent', 'hosts', 'node1']);
      expect(hosts.stdout).toContain(address);
    },
    4 * NODE_START_MS,
  );

  it(
    'the healthcheck follows the node: unhealthy while not Synced, healthy again once Synced',
    async () => {
      const node2 = need('node2');
      await sql(node2, 'SET GLOBAL wsrep_desync = ON');
      expect(await status(node2, 'wsrep_local_state_comment')).not.toBe('Synced');
      expect((await node2.container.exec(['sst-node', 'health'])).exitCode).not.toBe(0);
      await eventually(
        'node2 unhealthy',
        async () => (await inspect(node2)).State.Health?.Status === 'unhealthy',
      );
      await sql(node2, 'SET GLOBAL wsrep_desync = OFF');
      await eventually(
        'node2 healthy',
        async () => (await inspect(node2)).State.Health?.Status === 'healthy',
      );
      expect(await status(node2, 'wsrep_local_state_comment')).toBe('Synced');
    },
    3 * 60_000,
  );

  it(
    'replaces a wiped node through an SST of ours with the same data',
    async () => {
      const node1 = need('node1');
      // Wipe node3: its container and its datadir (an anonymous volume) go; rows change while it is away.
      await need('node3').container.stop({ remove: true, removeVolumes: true });
      await clusterSize(node1, 2);
      await sql(
        node1,
        'UPDATE shop.items SET qty = qty * 2 WHERE id % 7 = 0; DELETE FROM shop.items WHERE id % 11 = 0',
      );
      const node3 = await startNode('node3', join(work, 'certs', 'cluster'));

      expect(node3.logs()).toMatch(/rsync_tunnel SST started on joiner \(sst-tunnel/);
      expect(node3.logs()).toMatch(/SST joiner finished: /);
      const donorLogs = node1.logs() + need('node2').logs();
      expect(donorLogs).toMatch(/SST donor finished: .*peer verified by SAN DNS "node3"/);
      await clusterSize(node1, 3);
      const expected = await checksum(node1);
      expect(expected).toMatch(/^\d+$/);
      expect(await checksum(need('node2'))).toBe(expected);
      expect(await checksum(node3)).toBe(expected);
      expect(await status(node3, 'wsrep_local_state_comment')).toBe('Synced');
    },
    3 * NODE_START_MS,
  );

  it(
    'keeps out a node whose certificate comes from another CA, and names it in the logs',
    async () => {
      const node4 = await startNode('node4', join(work, 'certs', 'other'), { wait: false });
      // mariadbd aborts after the failed SST and the container exits.
      expect((await exited(node4)).code).not.toBe(0);
      const all = [...lab.nodes.values()].map((node) => node.logs()).join('');
      // The refusal says why and whom: node4's subject and the CA that issued it (mysqld's log escapes quotes).
      expect(all).toMatch(
        /Cannot verify the certificate of the joiner: .*not in tca .*it presented subject \\?"CN=node4\\?".*issuer \\?"CN=docker test CA [^"\\]*other/,
      );
      expect(node4.logs()).not.toMatch(/SST joiner finished/);
      await clusterSize(need('node1'), 3);
    },
    NODE_START_MS + 2 * 60_000,
  );

  it(
    'a donor killed mid-SST: the joiner fails cleanly and a retry succeeds',
    async () => {
      const node1 = need('node1');
      const node2 = need('node2');
      await need('node3').container.stop({ remove: true, removeVolumes: true });
      await clusterSize(node1, 2);
      await sql(node1, 'UPDATE shop.items SET qty = qty + 1 WHERE id % 5 = 0');
      // node2 first (it sends at NODE2_SST's rlimit), any other donor when node2 is gone (the trailing comma).
      const before = node2.logs().length;
      const node3 = await startNode('node3', join(work, 'certs', 'cluster'), {
        args: ['--wsrep-sst-donor=node2,'],
        wait: false,
      });
      await eventually(
        'node2 starts donating',
        async () => /rsync_tunnel SST started on donor/.test(node2.logs().slice(before)),
        NODE_START_MS,
      );
      await sleep(2000);
      await lab.client.container.dockerode.getContainer(node2.container.getId()).kill({ signal: 'SIGKILL' });
      lab.nodes.delete('node2');

      // The joiner fails: its SST script exits non-zero, mariadbd aborts and the container stops.
      expect((await exited(node3)).code).not.toBe(0);
      expect(node3.logs()).toMatch(/rsync_tunnel SST started on joiner/);
      expect(node2.logs().slice(before)).not.toMatch(/SST donor finished/);
      expect(node3.logs()).not.toMatch(/SST joiner finished/);
      expect(node3.logs()).toMatch(/WSREP_SST: \[ERROR\]/);
      expect(await status(node1, 'wsrep_cluster_status')).toBe('Primary');

      // The retry: the same container and its half-filled datadir, now from node1.
      const id = node3.container.getId();
      await lab.client.container.dockerode.getContainer(id).start();
      await eventually(
        'node3 healthy after the retry',
        async () => (await inspect(node3)).State.Health?.Status === 'healthy',
        NODE_START_MS,
      );
      await clusterSize(node1, 2);
      expect(await checksum(node3)).toBe(await checksum(node1));
    },
    3 * NODE_START_MS,
  );
});
