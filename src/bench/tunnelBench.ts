/**
 * Suite 1, tunnel only: N GiB of zeros from a source through each tunnel into a sink, every variant once per
 * round (interleaved), plus two parallel streams through ours and socat -b 131072 to see whether one joiner
 * process keeps up with several connections.
 */
import type { RunRecord } from './record.js';
import { startRelay, type Relay, type RelayContext, type RelayId } from './relays.js';
import { freePort, waitFor, type BenchProcess } from './procs.js';
import { startSink, tcpSource, type Sink } from './streamEnds.js';

/** A tunnel-only variant: a tunnel and how many parallel streams share the bytes. */
export interface StreamVariant {
  relay: RelayId;
  streams: number;
}

/** The default set: plain first (source and sink capacity), then every tunnel, then the parallel pair. */
export const STREAM_VARIANTS: StreamVariant[] = [
  { relay: 'none', streams: 1 },
  { relay: 'plain', streams: 1 },
  { relay: 'ours', streams: 1 },
  { relay: 'socat', streams: 1 },
  { relay: 'socat-b128k', streams: 1 },
  { relay: 'stunnel', streams: 1 },
  { relay: 'ours', streams: 2 },
  { relay: 'ours-w2', streams: 2 },
  { relay: 'socat-b128k', streams: 2 },
];

/** Variant id in the results: the relay, with "-x<n>" for parallel streams. */
export function streamVariantId(v: StreamVariant): string {
  return v.streams === 1 ? v.relay : `${v.relay}-x${v.streams}`;
}

async function runOnce(relay: Relay, sink: Sink, mib: number, streams: number, host: string) {
  const per = Math.floor(mib / streams);
  sink.reset();
  relay.begin();
  const started = Date.now();
  const sources: BenchProcess[] = [];
  for (let i = 0; i < streams; i++) {
    sources.push(tcpSource(sink, per, host, relay.entry.port));
  }
  const codes = await Promise.all(sources.map((s) => s.exited));
  const bad = codes.findIndex((c) => c !== 0);
  if (bad >= 0) throw new Error(`source exited with ${codes[bad]}: ${sources[bad]?.stderr().trim()}`);
  await waitFor(() => sink.finished().length >= streams, 120_000, 'the sink did not see every stream end');
  const ends = sink.finished();
  const bytes = ends.reduce((sum, e) => sum + e.bytes, 0);
  if (bytes !== per * streams * 2 ** 20)
    throw new Error(`the sink received ${bytes} B, expected ${per * streams * 2 ** 20}`);
  const wallS = (Math.max(...ends.map((e) => e.endMs)) - started) / 1000;
  return { bytes, wallS, cost: await relay.end() };
}

/** Runs the suite; `onRun` sees each record as it is made (progress on stderr). */
export async function runTunnelSuite(
  ctx: RelayContext,
  opts: { gib: number; rounds: number; variants?: StreamVariant[]; onRun: (r: RunRecord) => void },
): Promise<RunRecord[]> {
  const variants = opts.variants ?? STREAM_VARIANTS;
  const sink = await startSink(ctx.dir, ctx.host, await freePort(ctx.host));
  const target = { port: sink.port, program: sink.program, modules: [`x=${ctx.dir}`] };
  const relays = new Map<RelayId, Relay>();
  const records: RunRecord[] = [];
  try {
    for (const v of variants)
      if (!relays.has(v.relay)) relays.set(v.relay, await startRelay(v.relay, ctx, target));
    const mib = Math.round(opts.gib * 1024);
    for (let round = 1; round <= opts.rounds; round++) {
      for (const v of variants) {
        const relay = relays.get(v.relay) as Relay;
        const name = v.streams === 1 ? relay.name : `${relay.name} ×${v.streams} streams`;
        const base = {
          suite: 'tunnel' as const,
          dataset: 'stream',
          variant: streamVariantId(v),
          name,
          round,
        };
        let record: RunRecord;
        try {
          record = { ...base, ...(await runOnce(relay, sink, mib, v.streams, ctx.host)) };
        } catch (error) {
          record = { ...base, bytes: 0, wallS: Number.NaN, error: (error as Error).message };
        }
        records.push(record);
        opts.onRun(record);
      }
    }
  } finally {
    for (const relay of relays.values()) await relay.stop();
    sink.server.child.kill('SIGTERM');
  }
  return records;
}
