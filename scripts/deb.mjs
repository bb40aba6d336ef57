#!/usr/bin/env node
// Builds the Debian package dist/sst-tunnel_<version>_<arch>.deb with dpkg-deb, from the single executable of
// scripts/sea.mjs (npm run deb runs both). No debhelper or packaging service: the tree is laid out here.
//
//   node scripts/deb.mjs [--sea DIR] [--out DIR]     (defaults: dist/sea, dist)
//
// What the package holds (paths per Debian policy: the program with its runtime is private, in /usr/libexec):
//   /usr/libexec/sst-tunnel/sst-tunnel   the single executable (Node inside)
//   /usr/bin/sst-tunnel                   runs it with the Node flags the code cache was built with
//   /usr/bin/wsrep_sst_rsync_tunnel       scripts/wsrep_sst_rsync_tunnel with INSTALLED_BIN= filled in: mysqld
//                                         looks for SST scripts in its own bin directory first (contract 1.1)
//   /usr/share/man/man1/                  sst-tunnel.1 made from the program's --help (scripts/manpage.mjs)
//   /usr/share/doc/sst-tunnel/            copyright (this program, the npm packages bundled in, Node.js),
//                                         LICENSE.nodejs (Node's own, verbatim: it holds many full license
//                                         texts, Apache-2.0 among them, which Debian keeps out of copyright
//                                         files), changelog.Debian.gz, README.md.gz
//   /usr/share/lintian/overrides/         packaging/debian/lintian-overrides (each with its reason)
// and preinst/postrm that divert an existing /usr/bin/wsrep_sst_rsync_tunnel (packaging/debian/).
// The Debian version is the top entry of packaging/debian/changelog; its upstream part must be package.json's.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const HOME = resolve(fileURLToPath(new URL('..', import.meta.url)));
const PKG = join(HOME, 'packaging', 'debian');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : resolve(process.argv[i + 1] ?? '');
};
const SEA = arg('--sea', join(HOME, 'dist', 'sea'));
const OUT = arg('--out', join(HOME, 'dist'));
const NAME = 'sst-tunnel';
const LIB_BIN = `/usr/libexec/${NAME}/${NAME}`;
/** Node.js's own LICENSE, verbatim, next to the copyright file that points at it. */
const NODE_LICENSE = `/usr/share/doc/${NAME}/LICENSE.nodejs`;
/** NODE_FLAGS of src/self.ts; scripts/sea.mjs builds the code cache with the same. */
const NODE_FLAGS = '--max-semi-space-size=1';

function fail(message) {
  process.stderr.write(`deb: ${message}\n`);
  process.exit(1);
}
const run = (file, args, opts = {}) => execFileSync(file, args, { encoding: 'utf8', ...opts });

// --- version, maintainer and date from the changelog's top entry
const changelog = readFileSync(join(PKG, 'changelog'), 'utf8');
const head = /^sst-tunnel \(([^)]+)\) /.exec(changelog);
const trailer = /^ -- (.+ <[^>]+>) {2}(.+)$/m.exec(changelog);
if (!head || !trailer) fail('packaging/debian/changelog has no top entry it can read');
const debVersion = head[1];
const upstream = JSON.parse(readFileSync(join(HOME, 'package.json'), 'utf8')).version;
if (debVersion.replace(/-[^-]+$/, '') !== upstream)
  fail(`the changelog's version ${debVersion} is not package.json's ${upstream} plus a Debian revision`);
const maintainer = trailer[1];
const date = new Date(trailer[2]);
const epoch = String(Math.floor(date.getTime() / 1000));
const arch = run('dpkg', ['--print-architecture']).trim();

const exe = join(SEA, NAME);
if (!existsSync(exe)) fail(`${exe} is missing: run npm run sea first (npm run deb does)`);

// --- the tree
const stage = mkdtempSync(join(tmpdir(), 'sst-tunnel-deb-'));
const root = join(stage, 'root');
const put = (path, content, mode = 0o644) => {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  chmodSync(file, mode);
};
const gz = (text) => gzipSync(text, { level: 9 }); // gzip -9n: node's gzip writes no name and no time
try {
  mkdirSync(dirname(join(root, LIB_BIN)), { recursive: true });
  copyFileSync(exe, join(root, LIB_BIN));
  chmodSync(join(root, LIB_BIN), 0o755);
  put(
    `usr/bin/${NAME}`,
    `#!/bin/sh
# sst-tunnel: runs the program (${LIB_BIN}, Node.js inside) with the Node flags its code cache was built with.
NODE_OPTIONS="${NODE_FLAGS}\${NODE_OPTIONS:+ $NODE_OPTIONS}" exec ${LIB_BIN} "$@"
`,
    0o755,
  );
  const shim = readFileSync(join(HOME, 'scripts', 'wsrep_sst_rsync_tunnel'), 'utf8');
  if (!/^INSTALLED_BIN=$/m.test(shim))
    fail('scripts/wsrep_sst_rsync_tunnel has no empty INSTALLED_BIN= line');
  put('usr/bin/wsrep_sst_rsync_tunnel', shim.replace(/^INSTALLED_BIN=$/m, `INSTALLED_BIN=${LIB_BIN}`), 0o755);

  const man = join(stage, `${NAME}.1`);
  run(
    process.execPath,
    [
      join(HOME, 'scripts', 'manpage.mjs'),
      '--out',
      man,
      '--date',
      date.toISOString().slice(0, 10),
      '--',
      exe,
    ],
    { env: { ...process.env, NODE_OPTIONS: NODE_FLAGS }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  put(`usr/share/man/man1/${NAME}.1.gz`, gz(readFileSync(man)));
  put('usr/share/man/man1/wsrep_sst_rsync_tunnel.1.gz', gz(`.so man1/${NAME}.1\n`));

  const doc = `usr/share/doc/${NAME}`;
  put(`${doc}/changelog.Debian.gz`, gz(changelog));
  put(`${doc}/README.md.gz`, gz(readFileSync(join(HOME, 'README.md'))));
  put(`${doc}/copyright`, copyright());
  put(NODE_LICENSE.slice(1), readFileSync(nodeLicensePath(), 'utf8').replace(/\r\n/g, '\n'));
  put(`usr/share/lintian/overrides/${NAME}`, readFileSync(join(PKG, 'lintian-overrides')));

  // --- DEBIAN/
  const installedKiB = run('du', ['-sk', '--apparent-size', join(root, 'usr')]).split('\t')[0];
  const control = readFileSync(join(PKG, 'control.in'), 'utf8')
    .replace('@VERSION@', debVersion)
    .replace('@ARCH@', arch)
    .replace('@MAINTAINER@', maintainer)
    .replace('@INSTALLED_SIZE@', installedKiB)
    .replace('@SHLIBS@', shlibs(join(root, LIB_BIN)));
  put('DEBIAN/control', control);
  for (const script of ['preinst', 'postrm']) put(`DEBIAN/${script}`, readFileSync(join(PKG, script)), 0o755);
  const files = walk(join(root, 'usr'));
  put(
    'DEBIAN/md5sums',
    files
      .map((f) => `${createHash('md5').update(readFileSync(f)).digest('hex')}  ${relative(root, f)}\n`)
      .join(''),
  );

  mkdirSync(OUT, { recursive: true });
  const deb = join(OUT, `${NAME}_${debVersion}_${arch}.deb`);
  // SOURCE_DATE_EPOCH: dpkg-deb clamps member times to it, so the same input makes the same package.
  run('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', root, deb], {
    env: { ...process.env, SOURCE_DATE_EPOCH: epoch },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const mib = (statSync(deb).size / 2 ** 20).toFixed(1);
  process.stderr.write(`deb: wrote ${deb} (${mib} MiB; installed ${(installedKiB / 1024).toFixed(1)} MiB)\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

function nodeLicensePath() {
  const found = [
    join(dirname(process.execPath), '..', 'share', 'doc', 'nodejs', 'LICENSE'),
    '/usr/share/doc/nodejs/LICENSE',
  ].find((p) => existsSync(p));
  if (found === undefined)
    fail("cannot find Node.js's LICENSE (share/doc/nodejs/LICENSE) to ship with the runtime");
  return found;
}

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

/** The shared-library dependencies of the executable, as dpkg-shlibdeps computes them (it wants a debian/ dir). */
function shlibs(binary) {
  const work = mkdtempSync(join(tmpdir(), 'sst-tunnel-shlibs-'));
  try {
    mkdirSync(join(work, 'debian'));
    writeFileSync(
      join(work, 'debian', 'control'),
      `Source: ${NAME}\n\nPackage: ${NAME}\nArchitecture: any\n`,
    );
    // Its warnings (the binary is not in an installed package's directory; libdl is linked but unused) are about
    // Node's build, not ours: stderr is shown only when it fails.
    const r = spawnSync('dpkg-shlibdeps', ['-O', binary], { cwd: work, encoding: 'utf8' });
    if (r.status !== 0) fail(`dpkg-shlibdeps failed: ${r.stderr}`);
    const out = r.stdout;
    const m = /^shlibs:Depends=(.+)$/m.exec(out);
    if (!m) fail(`dpkg-shlibdeps printed no shlibs:Depends for ${binary}`);
    return m[1];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** debian/copyright (DEP-5): this program, each npm package esbuild put into the executable, and Node.js. */
function copyright() {
  const indent = (text) =>
    text
      .replace(/\r/g, '')
      .replace(/\s+$/, '')
      .split('\n')
      .map((l) => (l.trim() === '' ? ' .' : ` ${l}`))
      .join('\n');
  const SHORT = { MIT: 'Expat', 'Apache-2.0': 'Apache-2.0', 'BSD-3-Clause': 'BSD-3-clause', '0BSD': '0BSD' };
  const texts = new Map();
  const stanzas = [];
  const packages = JSON.parse(readFileSync(join(SEA, 'packages.json'), 'utf8'));
  for (const name of packages) {
    const dir = join(HOME, 'node_modules', name);
    const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const license = SHORT[meta.license];
    if (license === undefined)
      fail(`npm package ${name} has license "${meta.license}", which copyright() does not know`);
    const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
    const text = file === undefined ? '' : readFileSync(join(dir, file), 'utf8');
    const holders = text.split('\n').filter((l) => /^\s*copyright\s+(\(c\)|©|\d)/i.test(l));
    const author = typeof meta.author === 'string' ? meta.author : meta.author?.name;
    const notice =
      holders.length > 0 ? holders.map((l) => l.trim().replace(/^copyright\s*/i, '')) : [author ?? name];
    if (license !== 'Apache-2.0' && !texts.has(license) && text !== '') texts.set(license, text);
    stanzas.push(
      `Files: node_modules/${name}/*\nCopyright: ${notice.join('\n ')}\nLicense: ${license}\nComment: npm package ${name} ${meta.version}, bundled into ${LIB_BIN}`,
    );
  }
  const licenses = [
    `License: Expat\n${indent(texts.get('Expat') ?? EXPAT)}`,
    'License: Apache-2.0\n On Debian systems, the complete text of the Apache License 2.0 can be found\n in /usr/share/common-licenses/Apache-2.0.',
    ...['BSD-3-clause', '0BSD']
      .filter((l) => texts.has(l))
      .map((l) => `License: ${l}\n${indent(texts.get(l))}`),
    `License: Node.js\n Node.js is licensed under the Expat license; the libraries it bundles each under their own\n terms. Node.js's LICENSE file, which gives all of them in full, is installed verbatim as\n ${NODE_LICENSE}.`,
  ];
  return `${[
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: sst-tunnel',
    `Files: *\nCopyright: 2026 sst-tunnel contributors\nLicense: Expat`,
    ...stanzas,
    `Files: node/*\nCopyright: Node.js contributors, Joyent, Inc. and other Node contributors\nLicense: Node.js\nComment: the Node.js ${process.versions.node} runtime in ${LIB_BIN}; its LICENSE below covers the\n libraries Node.js bundles (V8, OpenSSL, libuv, ICU, zlib, ...), each with its own terms.`,
    ...licenses,
  ].join('\n\n')}\n`;
}

const EXPAT = `Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the
Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE
WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`;
