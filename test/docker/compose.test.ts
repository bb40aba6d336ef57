// docker/compose.yaml run the way README.md ("Containers") runs it: `up -d --build` (certs, then node1 bootstraps,
// node2 and node3 join once the node before is healthy), all three healthy = Synced, node3 wiped (`rm -sf`, its
// volume removed) and brought back by `up -d node3` through an SST of ours, then `down -v` leaving nothing behind.
// The Compose is $SST_TUNNEL_COMPOSE (what `bash scripts/docker-lab.sh compose` prints; .ci/run sets it), else
// `docker compose` (v2), else `docker-compose` (v1 1.29 on Debian 12): the file is the same for both.
// Skips with one line where no Docker engine answers, or where there is no Compose and SST_TUNNEL_COMPOSE is unset.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeDockerEngine } from './engine.js';
import { NODE_START_MS, REPO, eventually } from './lab.js';

const execFileAsync = promisify(execFile);

/** The Compose command: SST_TUNNEL_COMPOSE as given, else the first of `docker compose` and `docker-compose` that runs. */
function findCompose(): string[] | undefined {
  const given = process.env.SST_TUNNEL_COMPOSE?.trim();
  if (given) return given.split(/\s+/);
  for (const command of [['docker', 'compose'], ['docker-compose']]) {
    const [file = '', ...args] = command;
    const result = spawnSync(file, [...args, 'version'], { encoding: 'utf8', timeout: 30_000 });
    if (result.status === 0) return command;
  }
  return undefined;
}

const engine = await probeDockerEngine();
const compose = engine.ok ? findCompose() : undefined;
if (!engine.ok) console.log(`Skipping the Compose test: ${engine.reason}`);
else if (compose === undefined) {
  console.log(
    'Skipping the Compose test: neither `docker compose` nor docker-compose runs (see scripts/docker-lab.sh compose)',
  );
}

// docker-lab.sh down removes what an interrupted run left of projects named sst-tunnel-test-*.
const PROJECT = `sst-tunnel-test-${process.pid}`;
const IMAGE = `sst-tunnel-galera:test-compose-${process.pid}`;
/** Terminal escape sequences (ESC [ ... letter). */
const ESCAPES = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g');

describe.skipIf(compose === undefined)(`docker/compose.yaml with ${compose?.join(' ')}`, () => {
  const [file = '', ...pre] = compose ?? [];
  const env = { ...process.env, SST_TUNNEL_IMAGE: IMAGE };
  let started = false;

  /** Runs the Compose with this project and file; its stdout. */
  async function dc(args: string[], timeout = NODE_START_MS): Promise<string> {
    try {
      const { stdout } = await execFileAsync(
        file,
        [...pre, '-p', PROJECT, '-f', 'docker/compose.yaml', ...args],
        {
          cwd: REPO,
          env,
          timeout,
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      return stdout;
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`${compose?.join(' ')} ${args.join(' ')} failed: ${e.stderr || e.message}`);
    }
  }

  async function docker(...args: string[]): Promise<string> {
    const { stdout } = await execFileAsync('docker', args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout.trim();
  }

  const sql = async (service: string, query: string): Promise<string> =>
    (await dc(['exec', '-T', service, 'mariadb', '-N', '-B', '-e', query], 60_000)).trim();

  const health = async (service: string): Promise<string> => {
    const id = (await dc(['ps', '-q', service], 60_000)).trim();
    return id === '' ? 'absent' : docker('inspect', '-f', '{{.State.Health.Status}}', id);
  };

  const checksum = async (service: string): Promise<string> =>
    (await sql(service, 'CHECKSUM TABLE shop.items EXTENDED')).split('\t')[1] ?? '';

  /** What is left of the project: containers, volumes, networks. */
  async function leftovers(): Promise<string> {
    const filter = `label=com.docker.compose.project=${PROJECT}`;
    return [
      await docker('ps', '-aq', '--filter', filter),
      await docker('volume', 'ls', '-q', '--filter', filter),
      await docker('network', 'ls', '-q', '--filter', filter),
    ]
      .join(' ')
      .trim();
  }

  beforeAll(() => {
    if (!existsSync(join(REPO, 'dist/docker/node'))) {
      throw new Error(
        'dist/docker/node is missing: run `bash scripts/docker-lab.sh node` (Node for the image)',
      );
    }
    // The README's `npm run bundle`: dist/bundle is what the image runs.
    const bundle = spawnSync(process.execPath, [join(REPO, 'scripts/bundle.mjs')], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (bundle.status !== 0) throw new Error(`bundle failed: ${bundle.stderr}`);
  });

  afterAll(async () => {
    if (started) await dc(['down', '-v'], 180_000).catch(() => undefined);
    // noprune: the untagged layers stay as the build cache for the next build.
    await docker('rmi', '--no-prune', IMAGE).catch(() => undefined);
  }, 240_000);

  it(
    'up: certs, then three nodes, each healthy once Synced; a wiped node3 rejoins by an SST of ours; down -v',
    async () => {
      started = true;
      await dc(['up', '-d', '--build']);
      // `up -d` returns once node3 has started (node2 was healthy); node3 turns healthy when Synced.
      await eventually('node3 healthy', async () => (await health('node3')) === 'healthy', NODE_START_MS);
      for (const service of ['node1', 'node2', 'node3']) expect(await health(service)).toBe('healthy');
      expect(await sql('node1', "SHOW STATUS LIKE 'wsrep_cluster_size'")).toBe('wsrep_cluster_size\t3');
      await sql(
        'node1',
        'CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(64), qty INT) ENGINE=InnoDB; ' +
          "INSERT INTO shop.items (name, qty) SELECT CONCAT('item-', seq), seq FROM shop.seq_1_to_5000",
      );

      // README: "Watch an SST".
      await dc(['rm', '-sf', 'node3']);
      await docker('volume', 'rm', `${PROJECT}_node3-data`);
      await sql('node1', 'UPDATE shop.items SET qty = qty * 2 WHERE id % 7 = 0');
      await dc(['up', '-d', 'node3']);
      await eventually(
        'node3 healthy again',
        async () => (await health('node3')) === 'healthy',
        NODE_START_MS,
      );
      // v2 starts each line with an erase-line escape even without a terminal: the escapes go.
      const logs = (await dc(['logs', '--no-color', 'node1', 'node2', 'node3'], 60_000)).replace(ESCAPES, '');
      expect(logs).toMatch(/^node3\S*\s*\|.*rsync_tunnel SST started on joiner \(sst-tunnel/m);
      expect(logs).toMatch(/^node3\S*\s*\|.*SST joiner finished: /m);
      expect(logs).toMatch(/^node[12]\S*\s*\|.*SST donor finished: .*peer verified by SAN DNS "node3"/m);
      const expected = await checksum('node1');
      expect(expected).toMatch(/^\d+$/);
      expect(await checksum('node3')).toBe(expected);

      await dc(['down', '-v'], 180_000);
      started = false;
      expect(await leftovers()).toBe('');
    },
    4 * NODE_START_MS,
  );
});
