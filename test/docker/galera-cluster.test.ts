// The docker/ image as a 3-node cluster on a user network: nodes dial each other by hostname and their
// certificates name those hostnames as DNS SANs, so the donor's check of the joiner goes through Docker's DNS.
// One node is replaced by an empty one and must come back through an SST of ours with the same data; a node whose
// certificate comes from another CA must not get in. Skips with one line where no Docker engine answers.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { StartedNetwork, StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli } from '../helpers/procs.js';
import { probeDockerEngine } from './engine.js';

const engine = await probeDockerEngine();
if (!engine.ok) console.log(`Skipping the Docker cluster tests: ${engine.reason}`);

const REPO = resolve(import.meta.dirname, '../..');
/** What docker/Dockerfile copies from the repository: the build context, without node_modules or dist. */
const CONTEXT_PATHS = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'src',
  'scripts',
  'docker',
];
const MEMBERS = 'node1,node2,node3';
const IMAGE = 'sst-tunnel-galera:test';
const IMAGE_BUILD_MS = 20 * 60_000;
const NODE_START_MS = 10 * 60_000;

/** A started node and everything it has logged (mariadbd and the SST scripts write to stderr). */
interface Node {
  container: StartedTestContainer;
  logs(): string;
}

describe.skipIf(!engine.ok)('the sst-tunnel Galera image on a Docker network', () => {
  let tc: typeof import('testcontainers');
  let network: StartedNetwork;
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
    env: Record<string, string> = {},
    wait = true,
  ): Promise<Node> {
    let text = '';
    // A new GenericContainer each time: its with* methods change the object they are called on.
    let container = new tc.GenericContainer(IMAGE)
      .withName(`sst-tunnel-test-${name}-${Date.now()}`)
      .withNetwork(network)
      .withNetworkAliases(name)
      .withHostname(name)
      .withEnvironment({ NODE_NAME: name, CLUSTER_MEMBERS: MEMBERS, ...env })
      .withCopyDirectoriesToContainer([{ source: certDir, target: '/certs' }])
      .withLogConsumer((stream: Readable) =>
        stream.on('data', (chunk: Buffer | string) => (text += chunk.toString())),
      )
      .withStartupTimeout(NODE_START_MS);
    container = wait
      ? container.withWaitStrategy(tc.Wait.forHealthCheck())
      : container.withWaitStrategy(tc.Wait.forLogMessage(/sst-node: starting/));
    const node = { container: await container.start(), logs: () => text };
    nodes.set(name, node);
    return node;
  }

  async function sql(node: Node, query: string): Promise<string> {
    const result = await node.container.exec(['mariadb', '-N', '-B', '-e', query]);
    if (result.exitCode !== 0) throw new Error(`"${query}" failed: ${result.stderr || result.output}`);
    return result.stdout.trim();
  }

  const digest = (node: Node): Promise<string> =>
    sql(node, "SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', id, name, qty))) FROM shop.items");

  beforeAll(async () => {
    tc = await import('testcontainers');
    work = mkdtempSync(join(tmpdir(), 'sst-docker-'));
    const context = join(work, 'context');
    for (const path of CONTEXT_PATHS) cpSync(join(REPO, path), join(context, path), { recursive: true });
    await tc.GenericContainer.fromDockerfile(context, 'docker/Dockerfile').build(IMAGE, {
      deleteOnExit: false,
    });
    network = await new tc.Network().start();
    mkdirSync(join(work, 'certs'));
    certs(join(work, 'certs', 'cluster'), 'node1', 'node2', 'node3');
    certs(join(work, 'certs', 'other'), 'node4');
  }, IMAGE_BUILD_MS);

  afterAll(async () => {
    for (const node of nodes.values()) await node.container.stop({ timeout: 10_000 }).catch(() => undefined);
    await network?.stop().catch(() => undefined);
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it(
    'replaces a wiped node through an SST of ours with the same data',
    async () => {
      const cluster = join(work, 'certs', 'cluster');
      const node1 = await startNode('node1', cluster, { BOOTSTRAP: '1' });
      await sql(
        node1,
        'CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(64), qty INT) ENGINE=InnoDB; ' +
          "INSERT INTO shop.items (name, qty) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 5000) SELECT CONCAT('item-', n), n FROM s",
      );
      const node2 = await startNode('node2', cluster);
      let node3 = await startNode('node3', cluster);
      expect(await sql(node1, "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'")).toBe('wsrep_cluster_size\t3');

      // Wipe node3: its container and its datadir (an anonymous volume) go; rows change while it is away.
      await node3.container.stop({ remove: true, removeVolumes: true });
      await sql(
        node1,
        'UPDATE shop.items SET qty = qty * 2 WHERE id % 7 = 0; DELETE FROM shop.items WHERE id % 11 = 0',
      );
      node3 = await startNode('node3', cluster);

      expect(node3.logs()).toMatch(/rsync_tunnel SST started on joiner \(sst-tunnel/);
      expect(node3.logs()).toMatch(/SST joiner finished: /);
      const donorLogs = node1.logs() + node2.logs();
      expect(donorLogs).toMatch(/SST donor finished: .*peer verified by SAN DNS "node3"/);
      const expected = await digest(node1);
      expect(await digest(node2)).toBe(expected);
      expect(await digest(node3)).toBe(expected);
      expect(await sql(node3, "SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'")).toBe(
        'wsrep_local_state_comment\tSynced',
      );
    },
    3 * NODE_START_MS,
  );

  it(
    'keeps out a node whose certificate comes from another CA',
    async () => {
      const node4 = await startNode('node4', join(work, 'certs', 'other'), {}, false);
      // mariadbd aborts after the failed SST and the container exits.
      const client = await tc.getContainerRuntimeClient();
      const handle = client.container.getById(node4.container.getId());
      const deadline = Date.now() + NODE_START_MS;
      let state = await client.container.inspect(handle);
      while (state.State.Running && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 2000));
        state = await client.container.inspect(handle);
      }
      expect(state.State.Running).toBe(false);
      expect(state.State.ExitCode).not.toBe(0);
      const all = [...nodes.values()].map((node) => node.logs()).join('');
      expect(all).toMatch(
        /Cannot verify the certificate of the (joiner|donor): it was not issued by a CA in tca/,
      );
      const node1 = nodes.get('node1');
      if (node1 === undefined) throw new Error('node1 is not running: the first test failed');
      expect(await sql(node1, "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'")).toBe('wsrep_cluster_size\t3');
    },
    NODE_START_MS + 60_000,
  );
});
