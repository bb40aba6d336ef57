/**
 * Our option-file reader against the real `my_print_defaults` (MariaDB 10.11): for each tricky tree, both must
 * yield the same `--name=value` list in the same order, or both must fail. The rules in src/config/optionParse.ts
 * and optionFiles.ts were found with these cases; a MariaDB upgrade that changes one shows up here first.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadNodeOptions,
  defaultOptionFiles,
  readOptions,
  SERVER_GROUPS,
  type OptionSources,
} from '../../src/config/optionFiles.js';
import { nodeOptionFs } from '../../src/config/optionFs.js';
import { settingsFrom } from '../../src/config/settings.js';
import { serverGroups } from '../../src/sst/serverVersion.js';
import { inRoot, trixieRoot } from '../helpers/debian-root.js';

const probe = spawnSync('my_print_defaults', ['--version'], { encoding: 'utf8' });
const available = probe.status === 0;
if (!available) console.log('Skipping the option-file oracle tests: my_print_defaults is not installed');

const FIXTURES = join(import.meta.dirname, '../fixtures/option-files');

interface Case {
  /** Files to create, relative to the case directory (a Buffer for exact bytes). */
  files?: Record<string, string | Buffer>;
  /** Copy a fixture tree from test/fixtures/option-files/<name>. */
  fixture?: string;
  /** Groups; `--mysqld` means SERVER_GROUPS (or serverGroups(version) with `version`). */
  groups: string[];
  /** Run 11.8's my_print_defaults from the trixie root (the case dir is under /tmp, bound there) against ours. */
  root?: string;
  version?: { major: number; minor: number };
  /** --defaults-file / --defaults-extra-file / --defaults-group-suffix, relative to the case directory. */
  defaultsFile?: string;
  defaultsExtraFile?: string;
  suffix?: string;
  env?: Record<string, string>;
  setup?: (dir: string) => void;
}

let root = '';
let counter = 0;

function run(c: Case): {
  oracle: { ok: boolean; out: string; err: string };
  ours: { ok: boolean; out: string; err: string };
} {
  const dir = join(root, `case-${++counter}`);
  mkdirSync(dir, { recursive: true });
  if (c.fixture !== undefined) cpSync(join(FIXTURES, c.fixture), dir, { recursive: true });
  for (const [name, content] of Object.entries(c.files ?? {})) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content, { mode: 0o644 });
  }
  c.setup?.(dir);
  // HOME and MARIADB_HOME point into the case, so only the machine's /etc files are shared (and read by both).
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(dir, 'home'), ...c.env };
  const args = [
    ...(c.defaultsFile !== undefined ? [`--defaults-file=${c.defaultsFile}`] : []),
    ...(c.defaultsExtraFile !== undefined ? [`--defaults-extra-file=${c.defaultsExtraFile}`] : []),
    ...(c.suffix !== undefined ? [`--defaults-group-suffix=${c.suffix}`] : []),
    ...c.groups,
  ];
  const result =
    c.root === undefined
      ? spawnSync('my_print_defaults', args, { cwd: dir, env })
      : spawnSync(
          'bash',
          inRoot(c.root, ['sh', '-c', 'cd "$0" && exec my_print_defaults "$@"', dir, ...args], {
            env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
          }),
          { env },
        );
  const oracle = {
    ok: result.status === 0,
    out: result.stdout.toString('utf8'),
    err: result.stderr.toString('utf8'),
  };
  const sources: OptionSources = {
    env,
    fs: { ...nodeOptionFs, cwd: () => dir },
    ...(c.defaultsFile !== undefined && { defaultsFile: c.defaultsFile }),
    ...(c.defaultsExtraFile !== undefined && { defaultsExtraFile: c.defaultsExtraFile }),
    ...(c.suffix !== undefined && { defaultsGroupSuffix: c.suffix }),
  };
  const server = c.version === undefined ? SERVER_GROUPS : serverGroups(c.version);
  const groups = c.groups.flatMap((group) => (group === '--mysqld' ? [...server] : [group]));
  try {
    const entries = readOptions(groups, sources);
    const out = entries.map((e) => `--${e.rawName}${e.value === undefined ? '' : `=${e.value}`}\n`).join('');
    return { oracle, ours: { ok: true, out, err: '' } };
  } catch (error) {
    return { oracle, ours: { ok: false, out: '', err: (error as Error).message } };
  }
}

/** Asserts both agree; returns our output for extra checks. */
function agree(c: Case): string {
  const { oracle, ours } = run(c);
  expect({ ok: ours.ok, out: ours.out }, `oracle stderr: ${oracle.err}\nours: ${ours.err}`).toEqual({
    ok: oracle.ok,
    out: oracle.ok ? oracle.out : '',
  });
  return ours.out;
}

const VALUES = [
  '[a]',
  'plain=value',
  'sp1 = value with spaces   ',
  'tab\t=\ttabbed\t',
  'empty=',
  'empty2 =   ',
  'bare',
  'bare2   # comment',
  ' indented = yes',
  'dq="double quoted"',
  "sq='single quoted'",
  'dqin="has # hash"',
  "sqin='has ; semi'",
  'hash1=abc # comment',
  'hash2=abc#nospace',
  'semi1=abc ; not a comment',
  'q1="unterminated # not a comment',
  "q2='",
  'q3=""',
  'q4="a"b"',
  'q5="a" # c',
  'q6=x"y#z"w#k',
  'q7="abc\'',
  "q8='a\\'#b'",
  'q9="a\\"#b"',
  'esc=a\\nb\\tc\\\\d\\se\\qf\\"g\\\'h\\ri\\bj\\0k',
  'esc2=trail\\',
  'esc3=x\\# y',
  'esc4=\\s lead',
  'esc5=trail\\s',
  'eq=a=b=c',
  'name with space=1',
  '-dash=4',
  '=novalue',
  'password=secret',
  '# full comment',
  '; semi comment',
  '  # indented comment',
  'x=last',
  'x=last2',
].join('\n');

describe.skipIf(!available)('option files: our reader agrees with my_print_defaults', () => {
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'sst-tunnel-oracle-'));
  });
  afterAll(() => {
    if (root !== '') rmSync(root, { recursive: true, force: true });
  });

  it('reads a Debian-style tree with relative !includedir, for --mysqld and sst', () => {
    const out = agree({ fixture: 'debian', defaultsFile: 'my.cnf', groups: ['--mysqld', 'sst'] });
    expect(out).toContain('--tcert=/etc/mysql/certs/node1.pem\n');
    expect(out).not.toContain('/ignored/');
  });

  it('parses values: spaces, quotes, inline comments, escapes, odd names, duplicates', () => {
    agree({ files: { 'v.cnf': `${VALUES}\n` }, defaultsFile: 'v.cnf', groups: ['a'] });
  });

  it('handles bytes: CRLF, \\v \\f, latin1 no-break space (cuts UTF-8 "à"), NUL', () => {
    const bytes = Buffer.concat([
      Buffer.from('[a]\r\nx=voil'),
      Buffer.from([0xc3, 0xa0]),
      Buffer.from('\r\nz='),
      Buffer.from([0xa0]),
      Buffer.from('abc'),
      Buffer.from([0xa0]),
      Buffer.from('\nv=\x0bvt\x0c\nk\0junk=1\nafter=1'),
    ]);
    agree({ files: { 'b.cnf': bytes }, defaultsFile: 'b.cnf', groups: ['a'] });
  });

  it('splits lines longer than 4094 bytes like fgets does', () => {
    const text = `[a]\nx=${'A'.repeat(4100)}y=tail\nz=${'B'.repeat(4093)}\nw=${'C'.repeat(4094)}\nu=${'D'.repeat(4092)}#c\n`;
    agree({ files: { 'l.cnf': text }, defaultsFile: 'l.cnf', groups: ['a'] });
  });

  it('matches group names case-insensitively, ignores trailing blanks and text after "]"', () => {
    const text = '[A]\na=1\n[a ]\nb=2\n[ a]\nc=3\n[a] d=4\ne=5\n[]\nf=6\n[a]]\ng=7\n[[a]\nh=8\n[a.s]\ni=9\n';
    agree({ files: { 'g.cnf': text }, defaultsFile: 'g.cnf', groups: ['a'] });
  });

  it('uses the indented empty name quirk: the rest of the line becomes the name', () => {
    agree({ files: { 'e.cnf': '[a]\n  =x\n\t= y\n=z\n' }, defaultsFile: 'e.cnf', groups: ['a'] });
  });

  it('reads every server group and no other for --mysqld', () => {
    const groups = [
      ...SERVER_GROUPS,
      'embedded',
      'client',
      'mysqld-10.11.19',
      'mysqld-10',
      'mariadb-server',
      'galera-4',
      'sst',
      'MYSQLD',
      'Galera',
    ];
    const text = groups.map((g, i) => `[${g}]\nopt${i}=${g}\n`).join('');
    agree({ files: { 'g.cnf': text }, defaultsFile: 'g.cnf', groups: ['--mysqld'] });
  });

  it('reads suffix groups in file order, not above the plain group', () => {
    const text =
      '[mysqld.node1]\na=suffix-first\n[mysqld]\na=plain\nb=plain\n[galera.node1]\nb=suffix-last\n[sst]\nc=1\n[sst.node1]\nc=2\n[sst.other]\nc=3\n';
    agree({ files: { 's.cnf': text }, defaultsFile: 's.cnf', suffix: '.node1', groups: ['--mysqld', 'sst'] });
    agree({
      files: { 's.cnf': text },
      defaultsFile: 's.cnf',
      env: { MARIADB_GROUP_SUFFIX: '.node1' },
      groups: ['sst'],
    });
    agree({
      files: { 's.cnf': text },
      defaultsFile: 's.cnf',
      env: { MYSQL_GROUP_SUFFIX: '.other' },
      groups: ['sst'],
    });
    agree({
      files: { 's.cnf': text },
      defaultsFile: 's.cnf',
      suffix: '.node1',
      env: { MARIADB_GROUP_SUFFIX: '.other' },
      groups: ['sst'],
    });
  });

  it('keeps loose-, dashes, underscores and case as written (normalizing is our job, not its)', () => {
    const text =
      '[sst]\nloose-tcert=1\nloose_tcert=2\nLOOSE-TCert=3\nt_cert=4\nidle_timeout=5\nIdle-Timeout=6\n';
    agree({ files: { 'n.cnf': text }, defaultsFile: 'n.cnf', groups: ['sst'] });
  });

  it('follows !include: relative to the cwd, path taken raw, nested groups, depth limit, errors inside', () => {
    const files: Record<string, string> = {
      'main.cnf': [
        '!include top.cnf',
        '[a]',
        'before=1',
        '!include inc/rel.cnf',
        '!include hash.cnf # c',
        '!include   spaced.cnf   ',
        '! include bang.cnf',
        '!INCLUDE upper.cnf',
        '!includex x.cnf',
        '!include"quoted.cnf"',
        '!include "quoted.cnf"',
        '!include missing.cnf',
        '!include subdir',
        '!include nogroup.cnf',
        '!include chain/0.cnf',
        'after=1',
        '!include eof.cnf',
      ].join('\n'),
      'top.cnf': '[a]\ntop=1\n',
      'inc/rel.cnf': '[a]\nrel=1\n',
      'hash.cnf # c': '[a]\nhash=1\n',
      'hash.cnf': '[a]\nhash=wrong\n',
      'spaced.cnf': '[b]\nspaced=1\n[a]\nspaced=1\n',
      'bang.cnf': '[a]\nbang=1\n',
      'upper.cnf': '[a]\nupper=1\n',
      'quoted.cnf': '[a]\nquoted=1\n',
      'subdir/x.cnf': '[a]\nsubdir=1\n',
      'nogroup.cnf': 'ng=0\n[a]\nng=1\n',
      'eof.cnf': '[a]\neof=wrong\n',
      'eof.cn': '[a]\neof=last byte dropped\n',
    };
    for (let i = 0; i < 13; i++) files[`chain/${i}.cnf`] = `[a]\nlevel=${i}\n!include chain/${i + 1}.cnf\n`;
    agree({ files, defaultsFile: 'main.cnf', groups: ['a'] });
    agree({
      files: { 'self.cnf': '[a]\n!include self.cnf\nx=1\n' },
      defaultsFile: 'self.cnf',
      groups: ['a'],
    });
    agree({ files: { 'eof2.cnf': '[a]\n!include' }, defaultsFile: 'eof2.cnf', groups: ['a'] });
  });

  it('reads an !includedir: .cnf only, byte order, hidden files, directories and dangling links skipped', () => {
    const names = [
      'zeta.cnf',
      'Alpha.cnf',
      'beta.CNF',
      'gamma.ini',
      'delta.cnf.bak',
      'eps',
      '.hidden.cnf',
      '10-x.cnf',
    ];
    names.push('9-x.cnf', '_u.cnf', 'b.cnf', 'a.cnf.cnf', ' sp.cnf', '~t.cnf', 'é.cnf', '.cnf');
    const files = Object.fromEntries(names.map((n) => [`d/${n}`, `[a]\nf=${n}\n`]));
    files['d/sub.cnf/x.cnf'] = '[a]\nf=sub\n';
    files['d/ww.cnf'] = '[a]\nf=world-writable\n';
    files['main.cnf'] = '[a]\n!includedir d\nmid=1\n!includedir d/\n!include d/nested-bad.cnf\nend=1\n';
    files['d/nested-bad.ini'] = '[a]\nx=1\n!includedir missing-dir\ny=2\n';
    files['d/nested-bad.cnf'] = '[a]\nnb=1\n!includedir missing-dir\nnb=2\n';
    agree({
      files,
      defaultsFile: 'main.cnf',
      groups: ['a'],
      setup: (dir) => {
        symlinkSync(join(dir, 'missing-target.cnf'), join(dir, 'd', 'dangling.cnf'));
        chmodSync(join(dir, 'd', 'ww.cnf'), 0o666);
      },
    });
  });

  it('ignores a world-writable --defaults-file without failing', () => {
    agree({
      files: { 'ww.cnf': '[a]\nx=1\n' },
      defaultsFile: 'ww.cnf',
      groups: ['a'],
      setup: (dir) => chmodSync(join(dir, 'ww.cnf'), 0o606),
    });
  });

  it('reads default files, MARIADB_HOME, --defaults-extra-file and ~/.my.cnf in mysqld order', () => {
    const files = {
      'home/.my.cnf': '[zz]\nx=home\n',
      'mh/my.cnf': '[zz]\nx=mh\n',
      'extra.cnf': '[zz]\nx=extra\n',
    };
    expect(
      agree({ files, defaultsExtraFile: 'extra.cnf', env: { MARIADB_HOME: 'mh' }, groups: ['zz'] }),
    ).toBe('--x=mh\n--x=extra\n--x=home\n');
    agree({ files, env: { MYSQL_HOME: 'mh' }, groups: ['zz'] });
    agree({ files, env: { MARIADB_HOME: '', MYSQL_HOME: 'mh' }, groups: ['zz'] });
    // --defaults-file wins and --defaults-extra-file is then ignored.
    agree({ files, defaultsFile: 'mh/my.cnf', defaultsExtraFile: 'extra.cnf', groups: ['zz'] });
  });

  it('fails where my_print_defaults fails', () => {
    agree({ defaultsFile: 'missing.cnf', groups: ['a'] });
    agree({ defaultsExtraFile: 'missing.cnf', groups: ['a'] });
    agree({ files: { 'e.cnf': 'x=1\n[a]\n' }, defaultsFile: 'e.cnf', groups: ['a'] });
    agree({ files: { 'e.cnf': '[a\nx=1\n' }, defaultsFile: 'e.cnf', groups: ['a'] });
    agree({ files: { 'e.cnf': '[a]\n!include   \n' }, defaultsFile: 'e.cnf', groups: ['a'] });
    agree({ files: { 'e.cnf': '[a]\n!include x' }, defaultsFile: 'e.cnf', groups: ['a'] });
    agree({ files: { 'e.cnf': '[a]\nx=1\n!includedir nowhere\n' }, defaultsFile: 'e.cnf', groups: ['a'] });
    agree({ files: { 'e.cnf': Buffer.from('\ufeff[a]\nx=1\n') }, defaultsFile: 'e.cnf', groups: ['a'] });
    agree({
      files: { 'mh/my.cnf': '[a]\n!includedir /nonexistent\n' },
      env: { MARIADB_HOME: 'mh' },
      groups: ['a'],
    });
  });

  it.skipIf(process.getuid?.() === 0)(
    'fails on an unreadable --defaults-file and skips an unreadable include',
    () => {
      const setup = (dir: string): void => chmodSync(join(dir, 'locked.cnf'), 0o000);
      const files = { 'locked.cnf': '[a]\nx=1\n', 'main.cnf': '[a]\n!include locked.cnf\ny=2\n' };
      agree({ files, defaultsFile: 'locked.cnf', groups: ['a'], setup });
      agree({ files, defaultsFile: 'main.cnf', groups: ['a'], setup });
    },
  );

  it('lists the default files in the order my_print_defaults --help shows', () => {
    const envs: Record<string, string>[] = [
      {},
      { MARIADB_HOME: '/etc' },
      { MARIADB_HOME: '//etc/mysql/.' },
      { MYSQL_HOME: '/opt/my' },
    ];
    envs.push({ MARIADB_HOME: '/a', MYSQL_HOME: '/b' }, { MARIADB_HOME: '', MYSQL_HOME: '/b' });
    for (const extra of [undefined, '/tmp/extra.cnf']) {
      for (const env of envs) {
        const args = [...(extra !== undefined ? [`--defaults-extra-file=${extra}`] : []), '--help'];
        const help = spawnSync('my_print_defaults', args, {
          encoding: 'utf8',
          env: { PATH: process.env.PATH, ...env },
        });
        const lines = help.stdout.split('\n');
        const listed = lines[lines.findIndex((l) => l.startsWith('Default options are read')) + 1]
          ?.trim()
          .split(' ');
        const ours = defaultOptionFiles({
          env,
          homeDir: '~',
          ...(extra !== undefined && { defaultsExtraFile: extra }),
        });
        expect(
          ours.map((f) => f.replace(/^.*\/~\//, '~/')),
          JSON.stringify(env),
        ).toEqual(listed);
      }
    }
  });
});

const trixie = available ? trixieRoot() : {};
if (available && trixie.root === undefined)
  console.log(`Skipping the 11.8 option-file oracle tests: ${trixie.skip}`);

describe.skipIf(trixie.root === undefined)("MariaDB 11.8's groups, against 11.8's my_print_defaults", () => {
  const v118 = { major: 11, minor: 8 };
  const candidates = [
    ...serverGroups(v118),
    ...serverGroups({ major: 10, minor: 11 }),
    'mysqld-11',
    'mariadb-11.8.9',
    'mysqld-11.8.9',
    'embedded',
    'client',
    'sst',
  ];
  const text = [...new Set(candidates)].map((g, i) => `[${g}]\nopt${i}=${g}\n`).join('');

  it('reads every 11.8 server group and no other for --mysqld (not the 10.11 ones)', () => {
    const out = agree({
      files: { 'g.cnf': text },
      defaultsFile: 'g.cnf',
      groups: ['--mysqld'],
      root: trixie.root!,
      version: v118,
    });
    expect(out).toContain('=mariadb-11\n');
    expect(out).not.toContain('=mariadb-10.11\n');
  });

  it('with a group suffix too', () => {
    const suffixed = candidates.map((g, i) => `[${g}.n1]\nsfx${i}=${g}.n1\n`).join('');
    agree({
      files: { 'g.cnf': text + suffixed },
      defaultsFile: 'g.cnf',
      suffix: '.n1',
      groups: ['--mysqld'],
      root: trixie.root!,
      version: v118,
    });
  });

  it("innodb_undo_directory in [mariadb-11.8] is the 11.8 server's, not the 10.11 server's", () => {
    agree({
      files: { 'u.cnf': '[mysqld]\ndatadir=/d\n[mariadb-11.8]\ninnodb_undo_directory=/undo\n' },
      defaultsFile: 'u.cnf',
      groups: ['--mysqld'],
      root: trixie.root!,
      version: v118,
    });
  });
});

describe('option files to settings', () => {
  it('reads the Debian-style fixture and names the file and line of a bad value', () => {
    const dir = join(FIXTURES, 'debian');
    const loaded = loadNodeOptions({
      defaultsFile: 'my.cnf',
      env: {},
      fs: { ...nodeOptionFs, cwd: () => dir },
    });
    expect(loaded.files.map((f) => f.slice(dir.length + 1))).toEqual([
      'my.cnf',
      'conf.d/mysql.cnf',
      'conf.d/mysqldump.cnf',
      'mariadb.conf.d/.hidden.cnf',
      'mariadb.conf.d/50-server.cnf',
      'mariadb.conf.d/60-galera.cnf',
      'mariadb.conf.d/99-local.cnf',
    ]);
    expect(loaded.sst.get('tcert')).toBe('/etc/mysql/certs/node1.pem');
    // "; ..." after a value is not a comment: the value is the whole rest of the line.
    expect(() => settingsFrom(loaded.sst, loaded.mysqld, {}, 2)).toThrow(
      `Cannot use [sst] idle_timeout = "60   ; a semicolon is no comment here" (${dir}/mariadb.conf.d/60-galera.cnf:15): expected a whole number of seconds`,
    );
  });
});
