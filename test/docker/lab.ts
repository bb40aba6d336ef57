/**
 * What the testcontainers suites (test/docker/*.test.ts) share: images of docker/Dockerfile built from a context
 * of their own, a labelled user network, Galera nodes started on it, and the polls and queries the tests make.
 * Everything a suite makes carries the label `sst-tunnel.test=<run>`; `removeAll` (and `docker-lab.sh down` after
 * an interrupted run) removes it.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { GenericContainer, StartedTestContainer } from 'testcontainers';
import { requireBuiltCli } from '../helpers/procs.js';

// Ryuk (testcontainers' reaper) is an image on Docker Hub, which a CI machine may not reach: the suites remove what
// they made by their own label instead. The host override spares the alpine helper testcontainers pulls to find
// the host's address from inside a container: these tests reach the nodes by `exec`, never by mapped ports.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost';

export const REPO = resolve(import.meta.dirname, '../..');
export const IMAGE_BUILD_MS = 20 * 60_000;
export const NODE_START_MS = 10 * 60_000;

/** The MariaDB series the images carry, and the Debian base each builds on (`docker-lab.sh base` makes both). */
export const SERIES = {
  '10.11': 'debian:bookworm-slim',
  '11.8': 'debian:trixie-slim',
} as const;
export type Series = keyof typeof SERIES;

/** A started node and everything it has logged (mariadbd and the SST scripts write to stderr). */
export interface Node {
  container: StartedTestContainer;
  logs(): string;
}

export interface NodeOptions {
  /** The image to run (a tag `buildImage` returned). */
  image: string;
  /** Host directory with ca.pem and <name>-cert.pem / <name>-key.pem, copied to /certs. */
  certDir: string;
  env?: Record<string, string>;
  /** Arguments after `mariadbd`. */
  args?: string[];
  /** false: return once the entrypoint has started mariadbd, not when the node is healthy (Synced). */
  wait?: boolean;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds (a cluster's view changes some seconds after a node comes or goes). */
export async function eventually(what: string, check: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms / 1000} s: ${what}`);
    await sleep(1000);
  }
}

/** A CA in `dir` and a certificate per name (CN and DNS SAN = the name), made by our own `sst-tunnel certs`. */
export function makeCerts(dir: string, ...names: string[]): string {
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

/** One suite's lab: its label, its network, its images and its nodes. */
export class DockerLab {
  readonly run = `sst-tunnel-test-${process.pid}-${Date.now()}`;
  readonly labels = { 'sst-tunnel.test': this.run };
  readonly nodes = new Map<string, Node>();
  readonly networkName = this.run;
  /** A scratch directory of this run (build context, certificates), removed by `removeAll`. */
  readonly work = mkdtempSync(join(tmpdir(), 'sst-docker-'));
  private readonly images: string[] = [];

  private constructor(
    readonly tc: typeof import('testcontainers'),
    readonly client: Awaited<ReturnType<typeof import('testcontainers').getContainerRuntimeClient>>,
    private readonly NodeContainer: new (image: string) => GenericContainer,
  ) {}

  /** testcontainers' client and this lab's network. */
  static async open(): Promise<DockerLab> {
    const tc = await import('testcontainers');
    const client = await tc.getContainerRuntimeClient();
    // testcontainers 11 creates a container with network aliases on the default bridge and connects the named
    // network second: /etc/hosts then maps the hostname to the bridge address, where a Galera joiner listens and
    // no peer dials. Leaving the bridge before the container starts leaves one network and one address.
    const NodeContainer = class extends tc.GenericContainer {
      protected override async containerCreated(containerId: string): Promise<void> {
        await client.container.dockerode.getNetwork('bridge').disconnect({ Container: containerId });
      }
    };
    const lab = new DockerLab(tc, client, NodeContainer);
    await client.network.create({ Name: lab.networkName, Driver: 'bridge', Labels: lab.labels });
    return lab;
  }

  /**
   * Builds docker/Dockerfile for a MariaDB series from a context of its own (a fresh bundle, dist/docker/node and
   * the files the Dockerfile copies; never node_modules) and returns the image's tag.
   */
  async buildImage(series: Series): Promise<string> {
    const base = SERIES[series];
    const node = join(REPO, 'dist/docker/node');
    if (!existsSync(node)) {
      throw new Error(
        'dist/docker/node is missing: run `bash scripts/docker-lab.sh node` (Node for the image)',
      );
    }
    const present = await this.client.container.dockerode
      .getImage(base)
      .inspect()
      .then(() => true)
      .catch(() => false);
    if (!present) {
      throw new Error(`the base image ${base} is missing: run \`bash scripts/docker-lab.sh base\``);
    }
    const context = join(this.work, `context-${series}`);
    const bundle = spawnSync(
      process.execPath,
      [join(REPO, 'scripts/bundle.mjs'), '--outdir', join(context, 'dist/bundle')],
      { encoding: 'utf8', timeout: 120_000 },
    );
    if (bundle.status !== 0) throw new Error(`bundle failed: ${bundle.stderr}`);
    cpSync(node, join(context, 'dist/docker/node'));
    for (const path of ['scripts/wsrep_sst_rsync_tunnel', 'scripts/install.sh', 'docker']) {
      cpSync(join(REPO, path), join(context, path), { recursive: true });
    }
    const tag = `sst-tunnel-galera:test-${series}-${process.pid}`;
    await this.tc.GenericContainer.fromDockerfile(context, 'docker/Dockerfile')
      .withBuildArgs({ BASE_IMAGE: base })
      .build(tag, { deleteOnExit: false });
    this.images.push(tag);
    return tag;
  }

  /** A directory for certificates under this run's scratch directory. */
  certDir(name: string): string {
    const dir = join(this.work, 'certs', name);
    mkdirSync(join(this.work, 'certs'), { recursive: true });
    return dir;
  }

  async startNode(name: string, members: string, opts: NodeOptions): Promise<Node> {
    let text = '';
    const container = new this.NodeContainer(opts.image)
      .withName(`${this.run}-${name}-${Date.now()}`)
      .withLabels(this.labels)
      .withNetworkMode(this.networkName)
      .withNetworkAliases(name)
      .withHostname(name)
      .withEnvironment({ NODE_NAME: name, CLUSTER_MEMBERS: members, ...opts.env })
      .withCommand(['mariadbd', ...(opts.args ?? [])])
      .withCopyDirectoriesToContainer([{ source: opts.certDir, target: '/certs' }])
      .withLogConsumer((stream: Readable) =>
        stream.on('data', (chunk: Buffer | string) => (text += chunk.toString())),
      )
      .withStartupTimeout(NODE_START_MS)
      .withWaitStrategy(
        opts.wait === false
          ? this.tc.Wait.forLogMessage(/sst-node: starting/)
          : this.tc.Wait.forHealthCheck(),
      );
    const node = { container: await container.start(), logs: () => text };
    this.nodes.set(name, node);
    return node;
  }

  need(name: string): Node {
    const node = this.nodes.get(name);
    if (node === undefined) throw new Error(`${name} is not running: an earlier test failed`);
    return node;
  }

  inspect(node: Node) {
    return this.client.container.inspect(this.client.container.getById(node.container.getId()));
  }

  /** Waits until the node's container has stopped; its exit code. */
  async exited(node: Node): Promise<{ code: number }> {
    let state = (await this.inspect(node)).State;
    const deadline = Date.now() + NODE_START_MS;
    while (state.Running && Date.now() < deadline) {
      await sleep(1000);
      state = (await this.inspect(node)).State;
    }
    if (state.Running) throw new Error(`${node.container.getName()} still runs`);
    return { code: state.ExitCode };
  }

  /** Removes the containers, the network and the images of this run, and its scratch directory. */
  async removeAll(): Promise<void> {
    const docker = this.client.container.dockerode;
    const filters = JSON.stringify({ label: [`sst-tunnel.test=${this.run}`] });
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
    // noprune: the untagged layers stay as the build cache, so the next build (another suite, the next run) skips
    // the apt-get layer.
    for (const tag of this.images) {
      await docker
        .getImage(tag)
        .remove({ force: true, noprune: true })
        .catch(() => undefined);
    }
    rmSync(this.work, { recursive: true, force: true });
  }
}

/** `mariadb -e` in a node; its output without the trailing newline. */
export async function sql(node: Node, query: string): Promise<string> {
  const result = await node.container.exec(['mariadb', '-N', '-B', '-e', query]);
  if (result.exitCode !== 0) throw new Error(`"${query}" failed: ${result.stderr || result.output}`);
  return result.stdout.trim();
}

export const status = async (node: Node, name: string): Promise<string> =>
  (await sql(node, `SHOW GLOBAL STATUS LIKE '${name}'`)).split('\t')[1] ?? '';

export const clusterSize = (node: Node, size: number): Promise<void> =>
  eventually(
    `wsrep_cluster_size ${size}`,
    async () => (await status(node, 'wsrep_cluster_size')) === `${size}`,
  );

/** CHECKSUM TABLE's value (the same rows in the same table give the same number on every node). */
export const checksum = async (node: Node, table = 'shop.items'): Promise<string> =>
  (await sql(node, `CHECKSUM TABLE ${table} EXTENDED`)).split('\t')[1] ?? '';
