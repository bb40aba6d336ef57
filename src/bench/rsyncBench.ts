/**
 * Suite 2, rsync through each tunnel with the SST's flags (tunnel-performance.md 5): large files, many small
 * files in one rsync, and 20 directories with two rsyncs at a time (the donor's per-database passes). Everything
 * lives on tmpfs; the destination is wiped before every run. The other tunnels deliver to one long-lived
 * `rsync --daemon`; ours starts `rsync --server --daemon` per connection, as in an SST.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomFillSync } from 'node:crypto';
import { renderRsyncdConf } from '../rsync/conf.js';
import { RELAY_RSYNC_ARGS } from '../sst/rsyncPass.js';
import { cpuSeconds, parseTimeLines, TIME_FORMAT } from './procStat.js';
import { freePort, startProcess, waitPort, type BenchProcess } from './procs.js';
import { baseFlags } from '../sst/passes.js';
import type { RunRecord } from './record.js';
import { startRelay, type Relay, type RelayContext, type RelayId } from './relays.js';

/** The flags the donor uses for a database directory (src/sst/passes.ts), so the benchmark measures the same rsync. */
export const SST_RSYNC_FLAGS = [...baseFlags(true), '--recursive', '--delete'];

/** A dataset: its files, and how many rsyncs run at once over its top-level directories (0 = one rsync for all). */
export interface Dataset {
  id: 'large' | 'small' | 'smallpar';
  label: string;
  dirs: number;
  filesPerDir: number;
  fileBytes: number;
  parallel: number;
}

/** The datasets, full size or `--quick`. */
export function datasets(quick: boolean): Dataset[] {
  const k = quick ? 10 : 1;
  return [
    {
      id: 'large',
      label: `large ${4}×${256 / k} MiB`,
      dirs: 1,
      filesPerDir: 4,
      fileBytes: (256 / k) * 2 ** 20,
      parallel: 0,
    },
    {
      id: 'small',
      label: `small ${20_000 / k}×16 KiB, one rsync`,
      dirs: 1,
      filesPerDir: 20_000 / k,
      fileBytes: 16384,
      parallel: 0,
    },
    {
      id: 'smallpar',
      label: `smallpar 20 dirs×${1000 / k}×16 KiB, -P 2`,
      dirs: 20,
      filesPerDir: 1000 / k,
      fileBytes: 16384,
      parallel: 2,
    },
  ];
}

/** The tunnels compared in this suite. */
export const RSYNC_RELAYS: RelayId[] = ['none', 'ours', 'socat', 'socat-b128k', 'stunnel'];

function writeDataset(root: string, d: Dataset): number {
  const block = randomFillSync(Buffer.alloc(Math.min(d.fileBytes, 2 ** 20)));
  for (let i = 0; i < d.dirs; i++) {
    const dir = join(root, `d${String(i).padStart(2, '0')}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < d.filesPerDir; f++) {
      const path = join(dir, `f${f}`);
      writeFileSync(path, '');
      for (let left = d.fileBytes; left > 0; left -= block.length)
        writeFileSync(path, left >= block.length ? block : block.subarray(0, left), { flag: 'a' });
    }
  }
  return d.dirs * d.filesPerDir * d.fileBytes;
}

/** Runs `jobs` at most `limit` at a time. */
async function pool(jobs: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) await (jobs[next++] as () => Promise<void>)();
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
}

/** Runs the suite. */
export async function runRsyncSuite(
  ctx: RelayContext,
  opts: {
    rounds: number;
    quick: boolean;
    relays?: RelayId[];
    /** Only these datasets (default all). */
    datasets?: Dataset['id'][];
    onRun: (r: RunRecord) => void;
  },
): Promise<RunRecord[]> {
  const { dir, host } = ctx;
  const dest = join(dir, 'rsync-dest');
  mkdirSync(dest, { recursive: true });
  const conf = join(dir, 'rsyncd-bench.conf');
  writeFileSync(
    conf,
    renderRsyncdConf({
      modules: [{ name: 'x', path: dest }],
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      timeoutSeconds: 300,
      logFile: join(dir, 'rsyncd-bench.log'),
    }),
  );
  const daemonPort = await freePort(host);
  const daemon: BenchProcess = startProcess('rsync', [
    '--daemon',
    '--no-detach',
    `--address=${host}`,
    `--port=${daemonPort}`,
    `--config=${conf}`,
  ]);
  await waitPort(host, daemonPort);
  const relays: Relay[] = [];
  const records: RunRecord[] = [];
  const clientTimes = join(dir, 'rsync-client-time.txt');
  try {
    for (const id of opts.relays ?? RSYNC_RELAYS)
      relays.push(await startRelay(id, ctx, { port: daemonPort, program: 'rsync', modules: [`x=${dest}`] }));
    const wanted = (d: Dataset): boolean => opts.datasets === undefined || opts.datasets.includes(d.id);
    const sets = datasets(opts.quick)
      .filter(wanted)
      .map((d) => {
        const root = join(dir, `rsync-src-${d.id}`);
        return { d, root, bytes: writeDataset(root, d) };
      });
    for (let round = 1; round <= opts.rounds; round++) {
      for (const { d, root, bytes } of sets) {
        for (const relay of relays) {
          rmSync(dest, { recursive: true, force: true });
          mkdirSync(dest);
          writeFileSync(clientTimes, '');
          const target = `rsync://${host}:${relay.entry.port}/x/`;
          const sources =
            d.parallel === 0
              ? ['./']
              : Array.from({ length: d.dirs }, (_, i) => `./d${String(i).padStart(2, '0')}`);
          const base = {
            suite: 'rsync' as const,
            dataset: d.id,
            variant: relay.id,
            name: relay.name,
            round,
            bytes,
          };
          const daemon0 = cpuSeconds(daemon.pid, true);
          relay.begin();
          const started = process.hrtime.bigint();
          let failure: string | undefined;
          await pool(
            sources.map((source) => async () => {
              const p = startProcess(
                '/usr/bin/time',
                [
                  ...['-a', '-o', clientTimes, '-f', TIME_FORMAT, 'rsync', ...SST_RSYNC_FLAGS],
                  // Each variant as its SST method runs rsync: ours adds TCP_NODELAY towards its relay.
                  ...(relay.id.startsWith('ours') ? RELAY_RSYNC_ARGS : []),
                  source,
                  target,
                ],
                { cwd: root },
              );
              const code = await p.exited;
              if (code !== 0) failure ??= `rsync exited with ${code}: ${p.stderr().trim().slice(-500)}`;
            }),
            d.parallel === 0 ? 1 : d.parallel,
          );
          const wallS = Number(process.hrtime.bigint() - started) / 1e9;
          const cost = await relay.end();
          const client = parseTimeLines(readFileSync(clientTimes, 'utf8')).reduce(
            (s, l) => s + l.userS + l.sysS,
            0,
          );
          const daemonCpu = relay.id.startsWith('ours')
            ? (cost.joinerChildrenCpuS ?? Number.NaN)
            : cpuSeconds(daemon.pid, true) - daemon0;
          const record: RunRecord =
            failure === undefined
              ? {
                  ...base,
                  wallS,
                  ...(relay.id !== 'none' && { cost }),
                  rsyncCpuS: { client, daemon: daemonCpu },
                }
              : { ...base, wallS: Number.NaN, error: failure };
          records.push(record);
          opts.onRun(record);
        }
      }
    }
  } finally {
    for (const relay of relays) await relay.stop();
    daemon.child.kill('SIGTERM');
  }
  return records;
}
