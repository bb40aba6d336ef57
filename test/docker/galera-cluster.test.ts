// The docker/ image as a 3-node cluster on a user network: nodes dial each other by hostname and their
// certificates name those hostnames as DNS SANs, so the donor's check of the joiner goes through Docker's DNS.
// The tests run in order on one cluster: it forms and each node is healthy once Synced; the healthcheck follows
// the node's state; a wiped node comes back through an SST of ours with equal data; a node whose certificate comes
// from another CA is kept out; a donor killed mid-SST leaves the joiner failed cleanly and a retry succeeds.
// Skips with one line where no Docker engine answers (`bash scripts/docker-lab.sh up` starts one on Debian).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { GenericContainer, StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli } from '../helpers/procs.js';
import { probeDockerEngine } from './engine.js';

// Ryuk (testcontainers' reaper) is an image on Docker Hub, which a CI machine may not reach: this suite removes
// what it made by its own label instead. The host override spares the alpine helper testcontainers pulls to find
// the host's address from inside a container: these tests reach the nodes by `exec`, never by mapped ports.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost';

const engine = await probeDockerEngine();
if (!engine.ok) console.log(`Skipping the Docker cluster tests: ${engine.reason}`);

const REPO = resolve(import.meta.dirname, '../..');
/** Everything of this run carries this label; afterAll (and `docker-lab.sh down`) removes what has it. */
const RUN = `sst-tunnel-test-${process.pid}-${Date.now()}`;
const LABELS = { 'sst-tunnel.test': RUN };
const MEMBERS = 'node1,node2,node3';
const IMAGE = `sst-tunnel-galera:test-${process.pid}`;
const IMAGE_BUILD_MS = 20 * 60_000;
const NODE_START_MS = 10 * 60_000;
/** node2 donates at this rate: an SST from it lasts seconds, so "mid-SST" is a wide window, not a race. */
const NODE2_RLIMIT = '8M';

/** A started node and everything it has logged (mariadbd and the SST scripts write to stderr). */
interface Node {
  container: StartedTestContainer;
  logs(): string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!engine.ok)('the sst-tunnel Galera image on a Docker network', () => {
  let tc: typeof import('testcontainers');
  let client: Awaited<ReturnType<typeof import('testcontainers').getContainerRuntimeClient>>;
  let NodeContainer: new (image: string) => GenericContainer;
  let networkName: string;
  let work: string;
  const nodes = new Map<string, Node>();

  function certs(dir: string, ...names: string[]): string {
    const cli = requireBuiltCli();
    const run = (...args: string[]): void => {
      const result = spawnSync(process.execPath, [cli, 'certs', ...args], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      if (result.status !== 0) throw new Error(`sst-tunnel certs ${args.join(' ')} failed: ${result.stderr}`);
    };
    run('init', '--dir', dir, '--cn', `docker test CA ${dir}`);
    for (const name of names) run('node', '--dir', dir, '--name', name);
    return dir;
  }

  async function startNode(
    name: string,
    certDir: string,
    opts: { env?: Record<string, string>; args?: string[]; wait?: boolean } = {},
  ): Promise<Node> {
    let text = '';
    const container = new NodeContainer(IMAGE)
      .withName(`${RUN}-${name}-${Date.now()}`)
      .withLabels(LABELS)
      .withNetworkMode(networkName)
      .withNetworkAliases(name)
      .withHostname(name)
      .withEnvironment({ NODE_NAME: name, CLUSTER_MEMBERS: MEMBERS, ...opts.env })
      .withCommand(['mariadbd', ...(opts.args ?? [])])
      .withCopyDirectoriesToContainer([{ source: certDir, target: '/certs' }])
      .withLogConsumer((stream: Readable) =>
        stream.on('data', (chunk: Buffer | string) => (text += chunk.toString())),
      )
      .withStartupTimeout(NODE_START_MS)
      .withWaitStrategy(
        opts.wait === false ? tc.Wait.forLogMessage(/sst-node: starting/) : tc.Wait.forHealthCheck(),
      );
    const node = { container: await container.start(), logs: () => text };
    nodes.set(name, node);
    return node;
  }

  function need(name: string): Node {
    const node = nodes.get(name);
    if (node === undefined) throw new Error(`${name} is not running: an earlier test failed`);
    return node;
  }

  async function sql(node: Node, query: string): Promise<string> {
    const result = await node.container.exec(['mariadb', '-N', '-B', '-e', query]);
    if (result.exitCode !== 0) throw new Error(`"${query}" failed: ${result.stderr || result.output}`);
    return result.stdout.trim();
  }

  const status = async (node: Node, name: string): Promise<string> =>
    (await sql(node, `SHOW GLOBAL STATUS LIKE '${name}'`)).split('\t')[1] ?? '';

  /** Polls until `check` holds (a cluster's view changes some seconds after a node comes or goes). */
  async function eventually(what: string, check: () => Promise<boolean>, ms = 90_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`not within ${ms / 1000} s: ${what}`);
      await sleep(1000);
    }
  }

  const clusterSize = (node: Node, size: number): Promise<void> =>
    eventually(
      `wsrep_cluster_size ${size}`,
      async () => (await status(node, 'wsrep_cluster_size')) === `${size}`,
    );

  /** CHECKSUM TABLE's value (the same rows in the same table give the same number on every node). */
  const checksum = async (node: Node): Promise<string> =>
    (await sql(node, 'CHECKSUM TABLE shop.items EXTENDED')).split('\t')[1] ?? '';

  const inspect = (node: Node) => client.container.inspect(client.container.getById(node.container.getId()));

  async function exited(node: Node): Promise<{ code: number }> {
    let state = (await inspect(node)).State;
    const deadline = Date.now() + NODE_START_MS;
    while (state.Running && Date.now() < deadline) {
      await sleep(1000);
      state = (await inspect(node)).State;
    }
    if (state.Running) throw new Error(`${node.container.getName()} still runs`);
    return { code: state.ExitCode };
  }

  async function removeLabelled(): Promise<void> {
    const docker = client.container.dockerode;
    const filters = JSON.stringify({ label: [`sst-tunnel.test=${RUN}`] });
    for (const info of await docker.listContainers({ all: true, filters })) {
      await docker
        .getContainer(info.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined);
    }
    for (const info of await docker.listNetworks({ filters })) {
      await docker
        .getNetwork(info.Id)
        .remove()
        .catch(() => undefined);
    }
    await docker
      .getImage(IMAGE)
      .remove({ force: true })
      .catch(() => undefined);
  }

  beforeAll(async () => {
    tc = await import('testcontainers');
    client = await tc.getContainerRuntimeClient();
    // testcontainers 11 creates a container with network aliases on the default bridge and connects the named
    // network second: /etc/hosts then maps the hostname to the bridge address, where a Galera joiner listens and
    // no peer dials. Leaving the bridge before the container starts leaves one network and one address.
    NodeContainer = class extends tc.GenericContainer {
      protected override async containerCreated(containerId: string): Promise<void> {
        await client.container.dockerode.getNetwork('bridge').disconnect({ Container: containerId });
      }
    };

    // The build context: what docker/Dockerfile copies, with a fresh bundle; never node_modules.
    const node = join(REPO, 'dist/docker/node');
    if (!existsSync(node)) {
      throw new Error(
        'dist/docker/node is missing: run `bash scripts/docker-lab.sh node` (Node for the image)',
      );
    }
    work = mkdtempSync(join(tmpdir(), 'sst-docker-'));
    const context = join(work, 'context');
    const bundle = spawnSync(
      process.execPath,
      [join(REPO, 'scripts/bundle.mjs'), '--outdir', join(context, 'dist/bundle')],
      {
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    if (bundle.status !== 0) throw new Error(`bundle failed: ${bundle.stderr}`);
    cpSync(node, join(context, 'dist/docker/node'));
    for (const path of ['scripts/wsrep_sst_rsync_tunnel', 'scripts/install.sh', 'docker']) {
      cpSync(join(REPO, path), join(context, path), { recursive: true });
    }
    await tc.GenericContainer.fromDockerfile(context, 'docker/Dockerfile').build(IMAGE, {
      deleteOnExit: false,
    });

    networkName = RUN;
    await client.network.create({ Name: networkName, Driver: 'bridge', Labels: LABELS });
    mkdirSync(join(work, 'certs'));
    certs(join(work, 'certs', 'cluster'), 'node1', 'node2', 'node3');
    certs(join(work, 'certs', 'other'), 'node4');
  }, IMAGE_BUILD_MS);

  afterAll(async () => {
    if (client !== undefined) await removeLabelled();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
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
      await startNode('node2', cluster, { env: { SST_RLIMIT: NODE2_RLIMIT } });
      await startNode('node3', cluster);
      for (const name of ['node1', 'node2', 'node3']) {
        const node = need(name);
        await clusterSize(node, 3);
        expect(await status(node, 'wsrep_local_state_comment')).toBe('Synced');
        expect((await inspect(node)).State.Health?.Status).toBe('healthy');
      }
      // Each node has one network, the test's, and its hostname resolves to its address there.
      const info = await inspect(node1);
      expect(Object.keys(info.NetworkSettings.Networks)).toEqual([networkName]);
      const address = info.NetworkSettings.Networks[networkName]?.IPAddress ?? 'none';
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
      const all = [...nodes.values()].map((node) => node.logs()).join('');
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
      // node2 first (it sends at NODE2_RLIMIT), any other donor when node2 is gone (the trailing comma).
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
      await client.container.dockerode.getContainer(node2.container.getId()).kill({ signal: 'SIGKILL' });
      nodes.delete('node2');

      // The joiner fails: its SST script exits non-zero, mariadbd aborts and the container stops.
      expect((await exited(node3)).code).not.toBe(0);
      expect(node3.logs()).toMatch(/rsync_tunnel SST started on joiner/);
      expect(node2.logs().slice(before)).not.toMatch(/SST donor finished/);
      expect(node3.logs()).not.toMatch(/SST joiner finished/);
      expect(node3.logs()).toMatch(/WSREP_SST: \[ERROR\]/);
      expect(await status(node1, 'wsrep_cluster_status')).toBe('Primary');

      // The retry: the same container and its half-filled datadir, now from node1.
      const id = node3.container.getId();
      await client.container.dockerode.getContainer(id).start();
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
