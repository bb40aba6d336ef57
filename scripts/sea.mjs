#!/usr/bin/env node
// Builds the single executable: dist/sea/sst-tunnel, Node's runtime and sst-tunnel in one file, so a database host
// needs no Node (Node's "single executable application": the program is injected into a copy of the node binary).
//
//   node scripts/sea.mjs                   (npm run sea; esbuild and postject are devDependencies)
//   node scripts/sea.mjs --outdir DIR      (the same files in DIR instead of dist/sea/)
//
// Steps, each with the tool Node documents for it:
// 1. esbuild bundles src/cli.ts into one CommonJS file (Node 20 runs only a CommonJS main in an executable).
//    __SST_TUNNEL_SEA__ is defined true (src/self.ts: the program starts itself again as `<executable> <command>`).
// 2. `node --experimental-sea-config` turns it into a blob, with V8's code cache (start-up: no compile of the
//    bundle on each of the many short starts, such as one connector per rsync connection when the relay is off).
// 3. The blob goes into a copy of this Node binary with postject, at the fuse Node looks for; debug symbols are
//    stripped first (they are most of the binary's size and nothing at run time reads them).
import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HOME = resolve(fileURLToPath(new URL('..', import.meta.url)));
const outdirArg = process.argv.indexOf('--outdir');
if (outdirArg !== -1 && process.argv[outdirArg + 1] === undefined) {
  process.stderr.write('sea: --outdir needs a directory\n');
  process.exit(22);
}
const OUT_DIR = outdirArg === -1 ? join(HOME, 'dist', 'sea') : resolve(process.argv[outdirArg + 1]);
const MAIN = join(OUT_DIR, 'sst-tunnel.cjs');
const BLOB = join(OUT_DIR, 'sst-tunnel.blob');
const BIN = join(OUT_DIR, 'sst-tunnel');
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** NODE_FLAGS of src/self.ts, which scripts/wsrep_sst_rsync_tunnel gives the executable in NODE_OPTIONS. */
const SEA_NODE_FLAGS = ['--max-semi-space-size=1'];

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  process.stderr.write(`sea: Node ${process.versions.node} cannot build a single executable (needs >= 20)\n`);
  process.exit(2);
}
// Only what a build writes is removed (DIR may hold other files).
for (const file of [MAIN, BLOB, BIN, join(OUT_DIR, 'sea-config.json'), join(OUT_DIR, 'packages.json')])
  rmSync(file, { force: true });
mkdirSync(OUT_DIR, { recursive: true });

const bundled = await build({
  metafile: true,
  entryPoints: [join(HOME, 'src', 'cli.ts')],
  outfile: MAIN,
  bundle: true,
  platform: 'node',
  target: `node${major}`,
  format: 'cjs',
  legalComments: 'none',
  logLevel: 'warning',
  define: {
    __SST_TUNNEL_SEA__: 'true',
    // Only dev-tree lookups use import.meta.url (the demo's scripts directory, the bench's dist/cli.js); inside
    // the executable they resolve against the executable's own path, and the SST path does not use them.
    'import.meta.url': '__sstSelfUrl',
  },
  banner: { js: "var __sstSelfUrl = require('node:url').pathToFileURL(process.execPath).href;" },
});

// Which npm packages went into the executable: the Debian package's copyright file names each (scripts/deb.mjs).
const packages = new Set();
for (const input of Object.keys(bundled.metafile.inputs)) {
  const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m) packages.add(m[1]);
}
writeFileSync(join(OUT_DIR, 'packages.json'), `${JSON.stringify([...packages].sort(), null, 2)}\n`);
writeFileSync(
  join(OUT_DIR, 'sea-config.json'),
  `${JSON.stringify({ main: MAIN, output: BLOB, disableExperimentalSEAWarning: true, useCodeCache: true }, null, 2)}\n`,
);
// The code cache is only taken when V8 runs with the flags it was made with: the same flags as the wrapper's
// NODE_OPTIONS (otherwise every start warns "Code cache data rejected" and compiles the bundle after all).
execFileSync(
  process.execPath,
  [...SEA_NODE_FLAGS, '--experimental-sea-config', join(OUT_DIR, 'sea-config.json')],
  {
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
copyFileSync(process.execPath, BIN);
chmodSync(BIN, 0o755);
// strip warns about the many .note sections of Node's binary; its exit code says whether it worked. .comment is
// only the compilers' version strings.
execFileSync('strip', ['--strip-all', '--remove-section=.comment', BIN], { stdio: 'ignore' });
execFileSync(
  process.execPath,
  [
    join(HOME, 'node_modules', 'postject', 'dist', 'cli.js'),
    BIN,
    'NODE_SEA_BLOB',
    BLOB,
    '--sentinel-fuse',
    FUSE,
  ],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
// The executable must run here before anything packages it.
// (--version writes to stderr, as all help output does: stdout belongs to mysqld.)
const ran = spawnSync(BIN, ['--version'], {
  encoding: 'utf8',
  env: { ...process.env, NODE_OPTIONS: SEA_NODE_FLAGS.join(' ') },
  timeout: 30_000,
});
const version = `${ran.stdout}${ran.stderr}`.trim();
if (ran.status !== 0 || !/^\d+\.\d+\.\d+\S*$/.test(version)) {
  process.stderr.write(`sea: ${BIN} --version failed (exit ${ran.status}): ${version}\n`);
  process.exit(1);
}
const mib = (statSync(BIN).size / 2 ** 20).toFixed(1);
process.stderr.write(
  `sea: wrote ${BIN} (${mib} MiB, Node ${process.versions.node}, sst-tunnel ${version})\n`,
);
