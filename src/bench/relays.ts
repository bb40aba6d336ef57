/**
 * The tunnels under test, each set up once and reused for every round (long-lived, as in an SST): ours
 * (`sst-tunnel relay` as the donor runs it, `sst-tunnel listen` spawning the joiner program per connection),
 * socat in the original wsrep_sst_rsync_tunnel shape (default buffer and -b 131072), stunnel, a plain TCP relay
 * (socat without TLS) and no relay at all. Each reports the CPU seconds and peak RSS of its tunnel processes per
 * run from /proc/<pid>/stat (forked socat workers are counted through cutime once reaped).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RSYNC_INPUT_ENV } from '../tunnel/listenerTypes.js';
import { NODE_FLAGS } from '../self.js';
import { CONNECTOR_SPEC_ENV, type ConnectorSpec } from '../tunnel/connectorRsh.js';
import type { BenchPki } from './pki.js';
import { childCpuSeconds, childPids, cmdlineOf, cpuSeconds, peakRss, resetPeakRss } from './procStat.js';
import { freePort, sleep, startProcess, stopProcess, waitFor, waitPort, type BenchProcess } from './procs.js';

/** The tunnel variants, by stable id (used in JSON and on the command line). */
export const RELAY_IDS = [
  'none',
  'plain',
  'ours',
  'ours-w2',
  'ours-pipe',
  'socat',
  'socat-b128k',
  'stunnel',
] as const;
export type RelayId = (typeof RELAY_IDS)[number];

/** Display names of the variants. */
export const RELAY_NAMES: Record<RelayId, string> = {
  none: 'no tunnel',
  plain: 'plain TCP relay (socat -b 131072, no TLS)',
  ours: 'sst-tunnel',
  'ours-w2': 'sst-tunnel, 2 joiner workers',
  'ours-pipe': "sst-tunnel, rsync's input a pipe",
  socat: 'socat default (original)',
  'socat-b128k': 'socat -b 131072',
  stunnel: 'stunnel',
};

/** Where the joiner side delivers: a TCP port (sink or rsync daemon), or for ours the program the listener spawns. */
export interface RelayTarget {
  port: number;
  /** Run by our listener per connection in place of rsync (`--rsync`). */
  program: string;
  /** rsync modules for our listener (`name=path`). */
  modules: string[];
}

/** How a client enters the tunnel: a TCP port on the bench host (ours: the donor relay's). */
export interface RelayEntry {
  kind: 'tcp';
  port: number;
}

/** What one run cost the tunnel processes. */
export interface RelayCost {
  donorCpuS: number;
  joinerCpuS: number;
  /** Peak RSS in bytes; NaN where it cannot be seen (socat's forked workers). */
  donorRssBytes: number;
  joinerRssBytes: number;
  /** CPU of what the joiner side ran per connection (our listener's reaped children), when known. */
  joinerChildrenCpuS?: number;
}

/** A running tunnel. */
export interface Relay {
  id: RelayId;
  name: string;
  entry: RelayEntry;
  /** Marks the start of a run (CPU baselines, peak RSS reset). */
  begin(): void;
  /** The cost since begin(); waits briefly so forked workers are reaped. */
  end(): Promise<RelayCost>;
  /** Pids of the long-lived tunnel processes (for profilers). */
  pids(): { donor?: number; joiner?: number };
  stop(): Promise<void>;
}

/** What every setup needs. */
export interface RelayContext {
  dir: string;
  pki: BenchPki;
  cli: string;
  host: string;
  /** Extra Node flags for our processes (e.g. --cpu-prof). */
  nodeFlags?: string[];
}

function longLived(
  id: RelayId,
  entry: RelayEntry,
  donor: BenchProcess | undefined,
  joiner: BenchProcess,
  cleanup: () => void = () => undefined,
): Relay {
  let base = { donor: 0, joiner: 0 };
  const cpu = (p: BenchProcess | undefined): number => (p === undefined ? 0 : cpuSeconds(p.pid, true));
  return {
    id,
    name: RELAY_NAMES[id],
    entry,
    begin() {
      base = { donor: cpu(donor), joiner: cpu(joiner) };
      if (donor !== undefined) resetPeakRss(donor.pid);
      resetPeakRss(joiner.pid);
    },
    async end() {
      await sleep(150); // socat reaps its forked worker on SIGCHLD: let it, so cutime holds the worker's CPU
      return {
        donorCpuS: cpu(donor) - base.donor,
        joinerCpuS: cpu(joiner) - base.joiner,
        donorRssBytes: donor === undefined || id.startsWith('socat') ? Number.NaN : peakRss(donor.pid),
        joinerRssBytes: id.startsWith('socat') ? Number.NaN : peakRss(joiner.pid),
      };
    },
    pids: () => ({ ...(donor !== undefined && { donor: donor.pid }), joiner: joiner.pid }),
    async stop() {
      await Promise.all([donor, joiner].map((p) => (p === undefined ? undefined : stopProcess(p))));
      cleanup();
    },
  };
}

async function startSocat(
  ctx: RelayContext,
  target: RelayTarget,
  id: 'socat' | 'socat-b128k' | 'plain',
): Promise<Relay> {
  const { host, pki } = ctx;
  const [entry, middle] = [await freePort(host), await freePort(host)];
  const buffer = id === 'socat' ? [] : ['-b', '131072'];
  const tls = id !== 'plain';
  // The original's shape: donor TCP-LISTEN,fork -> OPENSSL; joiner OPENSSL-LISTEN,fork -> TCP (rsync daemon).
  const joiner = startProcess('socat', [
    ...buffer,
    tls
      ? `OPENSSL-LISTEN:${middle},bind=${host},reuseaddr,fork,cert=${pki.joiner.cert},key=${pki.joiner.key},cafile=${pki.ca}`
      : `TCP-LISTEN:${middle},bind=${host},reuseaddr,fork`,
    `TCP:${host}:${target.port}`,
  ]);
  const donor = startProcess('socat', [
    ...buffer,
    `TCP-LISTEN:${entry},bind=${host},reuseaddr,fork`,
    tls
      ? `OPENSSL:${host}:${middle},cert=${pki.donor.cert},key=${pki.donor.key},cafile=${pki.ca}`
      : `TCP:${host}:${middle}`,
  ]);
  await waitPort(host, middle);
  await waitPort(host, entry);
  await sleep(100); // the probe connections above fork workers; let them finish before the first baseline
  return longLived(id, { kind: 'tcp', port: entry }, donor, joiner);
}

async function startStunnel(ctx: RelayContext, target: RelayTarget): Promise<Relay> {
  const { host, pki, dir } = ctx;
  const [entry, middle] = [await freePort(host), await freePort(host)];
  const conf = (name: string, lines: string[]): string => {
    const path = join(dir, `stunnel-${name}.conf`);
    writeFileSync(path, `foreground = yes\npid =\ndebug = warning\n[sst]\n${lines.join('\n')}\n`);
    return path;
  };
  // MariaDB's wsrep_sst_rsync writes the same kind of file (client = yes on the donor, verifyChain for VERIFY_CA).
  const joiner = startProcess('stunnel', [
    conf('joiner', [
      `accept = ${host}:${middle}`,
      `connect = ${host}:${target.port}`,
      `cert = ${pki.joiner.cert}`,
      `key = ${pki.joiner.key}`,
      `CAfile = ${pki.ca}`,
      'verifyChain = yes',
    ]),
  ]);
  const donor = startProcess('stunnel', [
    conf('donor', [
      'client = yes',
      `accept = ${host}:${entry}`,
      `connect = ${host}:${middle}`,
      `cert = ${pki.donor.cert}`,
      `key = ${pki.donor.key}`,
      `CAfile = ${pki.ca}`,
      'verifyChain = yes',
    ]),
  ]);
  await waitPort(host, middle);
  await waitPort(host, entry);
  return longLived('stunnel', { kind: 'tcp', port: entry }, donor, joiner);
}

/** The port one of our processes says it listens on (`pattern` captures it), or why it did not start. */
async function loggedPort(proc: BenchProcess, pattern: RegExp, name: string): Promise<number> {
  await waitFor(
    () => pattern.test(proc.stderr()) || proc.child.exitCode !== null,
    15_000,
    `${name} did not start`,
  );
  const port = Number(pattern.exec(proc.stderr())?.[1]);
  if (!Number.isInteger(port)) throw new Error(`${name} failed: ${proc.stderr().trim()}`);
  return port;
}

async function startOurs(ctx: RelayContext, target: RelayTarget, workers = 0, pipe = false): Promise<Relay> {
  const { host, pki, cli } = ctx;
  // The flags the SST runs with (scripts/wsrep_sst_rsync_tunnel), then the bench's own (profilers).
  const flags = [...NODE_FLAGS, ...(ctx.nodeFlags ?? [])];
  const env = { ...process.env, ...(pipe && { [RSYNC_INPUT_ENV]: 'pipe' }) };
  const listener = startProcess(
    process.execPath,
    [
      ...flags,
      cli,
      'listen',
      '--bind',
      host,
      '--port',
      '0',
      '--ca',
      pki.ca,
      '--cert',
      pki.joiner.cert,
      '--key',
      pki.joiner.key,
      '--rsync',
      target.program,
      '--idle-timeout',
      '600000',
      '--workers',
      String(workers),
      ...target.modules.flatMap((m) => ['--module', m]),
    ],
    { env },
  );
  const port = await loggedPort(listener, /Listening on [^\s]+:(\d+)/, 'sst-tunnel listen');
  const spec: ConnectorSpec = {
    host,
    port,
    paths: { tca: pki.ca, tcert: pki.donor.cert, tkey: pki.donor.key },
    policy: {
      verify: true,
      allowedPeers: [],
      strictIdentity: false,
      minVersion: 'TLSv1.2',
      handshakeTimeoutMs: 10_000,
    },
    idleTimeoutMs: 600_000,
  };
  // The donor side as the SST runs it: one long-lived relay that rsync (or the source) reaches on 127.0.0.1.
  const relay = startProcess(process.execPath, [...flags, cli, 'relay', '--port', '0'], {
    env: {
      ...process.env,
      [CONNECTOR_SPEC_ENV]: JSON.stringify(spec),
    },
  });
  const entry = await loggedPort(relay, /Relay listening on [^\s]+:(\d+)/, 'sst-tunnel relay');
  const id: RelayId = workers > 0 ? 'ours-w2' : pipe ? 'ours-pipe' : 'ours';
  const inner = longLived(id, { kind: 'tcp', port: entry }, relay, listener);
  // With workers the joiner side is the listener plus its workers, each counted without its own children (the
  // rsync daemons or sinks, which are the work, not the tunnel).
  const workerPids = (): number[] =>
    childPids(listener.pid).filter((p) => cmdlineOf(p).endsWith(' listener-worker'));
  const self = (pid: number): number => cpuSeconds(pid, false);
  let base = { children: 0, workers: new Map<number, number>() };
  return {
    ...inner,
    begin() {
      inner.begin();
      base = {
        children: childCpuSeconds(listener.pid),
        workers: new Map(workerPids().map((p) => [p, self(p)])),
      };
      for (const p of base.workers.keys()) resetPeakRss(p);
    },
    async end() {
      const cost = await inner.end();
      const joinerChildrenCpuS = childCpuSeconds(listener.pid) - base.children;
      let workersCpu = 0;
      let rss = cost.joinerRssBytes;
      for (const [p, start] of base.workers) {
        workersCpu += self(p) - start;
        rss = Math.max(rss, peakRss(p));
      }
      return {
        ...cost,
        joinerCpuS: cost.joinerCpuS - joinerChildrenCpuS + workersCpu,
        joinerRssBytes: rss,
        joinerChildrenCpuS,
      };
    },
  };
}

/** Starts one tunnel variant in front of `target`. */
export async function startRelay(id: RelayId, ctx: RelayContext, target: RelayTarget): Promise<Relay> {
  switch (id) {
    case 'none':
      return {
        id,
        name: RELAY_NAMES.none,
        entry: { kind: 'tcp', port: target.port },
        begin: () => undefined,
        end: async () => ({
          donorCpuS: 0,
          joinerCpuS: 0,
          donorRssBytes: Number.NaN,
          joinerRssBytes: Number.NaN,
        }),
        pids: () => ({}),
        stop: async () => undefined,
      };
    case 'ours':
      return startOurs(ctx, target);
    case 'ours-w2':
      return startOurs(ctx, target, 2);
    case 'ours-pipe':
      return startOurs(ctx, target, 0, true);
    case 'stunnel':
      return startStunnel(ctx, target);
    default:
      return startSocat(ctx, target, id);
  }
}
