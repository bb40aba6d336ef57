#!/usr/bin/env node
// Tunnel-only runs of chosen variants (default: sst-tunnel alone), e.g. the 8 GiB RSS check or a profile:
//
//   node scripts/bench-ours.mjs --size 8 [--rounds 1] [--variants ours,socat-b128k] [--cpu-prof DIR]
//
// Uses the built bench modules (npx tsc -p tsconfig.build.json first); prints the same table as `sst-tunnel bench`.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makePki } from '../dist/bench/pki.js';
import { stopAllProcesses } from '../dist/bench/procs.js';
import { renderSummary, summarize } from '../dist/bench/summary.js';
import { runTunnelSuite } from '../dist/bench/tunnelBench.js';

const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : def);
const dir = mkdtempSync('/dev/shm/sst-bench-ours-');
const prof = opt('cpu-prof', undefined);
try {
  const ctx = {
    dir,
    pki: await makePki(join(dir, 'pki')),
    cli: fileURLToPath(new URL('../dist/cli.js', import.meta.url)),
    host: '127.0.0.1',
    ...(prof && { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${prof}`] }),
  };
  const variants = opt('variants', 'ours')
    .split(',')
    .map((v) => {
      const [relay, x] = v.split('-x');
      return { relay, streams: Number(x ?? 1) };
    });
  const records = await runTunnelSuite(ctx, {
    gib: Number(opt('size', 1)),
    rounds: Number(opt('rounds', 1)),
    variants,
    onRun: (r) => console.error(`${r.name}: ${r.wallS.toFixed(2)} s ${r.error ?? ''}`),
  });
  console.log(renderSummary('tunnel', summarize(records)));
} finally {
  await stopAllProcesses();
  rmSync(dir, { recursive: true, force: true });
}
