#!/usr/bin/env node
// Bundles the CLI into dist/bundle/: the entry sst-tunnel.mjs plus chunk-*.mjs files for the parts each command
// imports lazily. A database host then needs only Node and that directory (no node_modules), and
// `sst-tunnel connect`, which rsync starts once per connection on the donor, opens ~10 files instead of ~80:
// measured 214 -> 178 ms CPU per start (Node 20, `connect --help`). One single file does not help (219 ms): it
// makes every start parse all of @peculiar/x509, pino and commander, which the split keeps lazy.
// scripts/wsrep_sst_rsync_tunnel prefers the bundle when it is present.
//
//   node scripts/bundle.mjs                (npm run bundle; esbuild is a devDependency; src/ is read directly, no tsc)
//   node scripts/bundle.mjs --outdir DIR   (the same files written to DIR, e.g. <home>/dist/bundle of a test home;
//                                           paths inside stay those of <home>/dist/bundle, so DIR must be one too)
//
// Two things differ from the unbundled tree and are fixed up here, at build time, not in src/:
// - ESM output has no `require`, but CommonJS dependencies (commander, pino) call it for Node built-ins: the banner
//   defines one with createRequire.
// - Code that finds files next to itself with `new URL(rel, import.meta.url)` would now resolve from dist/bundle/,
//   not from dist/<area>/. Each such URL is rewritten to point at the same file from the bundle's directory (every
//   chunk sits there too), and a reference to dist/cli.js (the donor spawning `sst-tunnel connect` as rsync's
//   remote shell) becomes the bundle's entry. The build fails if a file has an import.meta.url use this cannot rewrite.
import { build } from 'esbuild';
import { readFile, readdir, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const HOME = resolve(fileURLToPath(new URL('..', import.meta.url)));
const SRC = join(HOME, 'src');
const DIST = join(HOME, 'dist');
/** Where the bundle lives in an installation; relative URLs are rewritten for this place. */
const OUT_DIR = join(DIST, 'bundle');
const ENTRY = 'sst-tunnel';
const OUT = join(OUT_DIR, `${ENTRY}.mjs`);
const outdirArg = process.argv.indexOf('--outdir');
/** Where this run writes: the installation's place unless --outdir names another. */
const WRITE_DIR = outdirArg === -1 ? OUT_DIR : resolve(process.argv[outdirArg + 1] ?? '');
if (outdirArg !== -1 && process.argv[outdirArg + 1] === undefined) {
  process.stderr.write('bundle: --outdir needs a directory\n');
  process.exit(22);
}
const URL_CALL = /new URL\(\s*(['"])([^'"]+)\1\s*,\s*import\.meta\.url\s*\)/g;

/** The path a module-relative URL in src/<file>.ts points at from the bundle, as a URL relative to the bundle. */
function rebase(srcFile, rel) {
  const distFile = join(DIST, relative(SRC, srcFile)).replace(/\.ts$/, '.js');
  let target = resolve(dirname(distFile), rel);
  if (target === join(DIST, 'cli.js')) target = OUT;
  const fromBundle = relative(OUT_DIR, target).split(sep).join('/') || '.';
  const keepSlash = rel.endsWith('/') && !fromBundle.endsWith('/') ? '/' : '';
  return (fromBundle.startsWith('.') ? fromBundle : `./${fromBundle}`) + keepSlash;
}

const rebaseUrls = {
  name: 'rebase-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /[/\\]src[/\\].*\.ts$/ }, async ({ path }) => {
      const text = await readFile(path, 'utf8');
      if (!text.includes('import.meta')) return undefined;
      const rewritten = text.replace(
        URL_CALL,
        (_m, q, rel) => `new URL(${q}${rebase(path, rel)}${q}, import.meta.url)`,
      );
      const left = rewritten.replace(URL_CALL, '');
      if (/import\.meta\.(url|dirname|filename|resolve)/.test(left.replace(/\/\/.*$/gm, ''))) {
        throw new Error(
          `Cannot bundle "${relative(HOME, path)}": an import.meta use that is not new URL('<literal>', import.meta.url)`,
        );
      }
      return { contents: rewritten, loader: 'ts' };
    });
  },
};

// No stale chunks from an earlier build; only files a bundle writes are removed (DIR may be an operator's).
for (const name of await readdir(WRITE_DIR).catch(() => []))
  if (name === `${ENTRY}.mjs` || /^chunk-[A-Z0-9]+\.mjs$/.test(name)) await rm(join(WRITE_DIR, name));
await build({
  entryPoints: { [ENTRY]: join(SRC, 'cli.ts') },
  outdir: WRITE_DIR,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  legalComments: 'none',
  logLevel: 'warning',
  banner: {
    js: "import { createRequire as __sstCreateRequire } from 'node:module';\nconst require = __sstCreateRequire(import.meta.url);",
  },
  plugins: [rebaseUrls],
});
process.stderr.write(`bundle: wrote ${join(WRITE_DIR, `${ENTRY}.mjs`)} and its chunks\n`);
