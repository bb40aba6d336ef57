import { describe, expect, it } from 'vitest';
import { ConfigError, ExitCode } from '../../../src/errors.js';
import {
  defaultOptionFiles,
  loadNodeOptions,
  OptionSet,
  readOptions,
  SERVER_GROUPS,
  type OptionSources,
} from '../../../src/config/optionFiles.js';
import { memoryFs, type MemoryFile } from './memoryFs.js';

const ENV = { HOME: '/home/mysql' };

function sources(
  files: Record<string, string | Buffer | MemoryFile>,
  extra: Partial<OptionSources> = {},
): OptionSources {
  return { env: ENV, fs: memoryFs(files), ...extra };
}

const pairs = (groups: string[], s: OptionSources): string[] =>
  readOptions(groups, s).map((e) => `${e.rawName}=${e.value ?? ''}`);

describe('defaultOptionFiles()', () => {
  it('lists /etc/my.cnf, /etc/mysql/my.cnf and ~/.my.cnf by default', () => {
    expect(defaultOptionFiles({ env: ENV })).toEqual([
      '/etc/my.cnf',
      '/etc/mysql/my.cnf',
      '/home/mysql/.my.cnf',
    ]);
  });

  it('adds $MARIADB_HOME (else $MYSQL_HOME) and the extra file before ~/.my.cnf', () => {
    const env = { ...ENV, MYSQL_HOME: '/opt/my' };
    expect(defaultOptionFiles({ env, defaultsExtraFile: 'x.cnf', fs: memoryFs({}, '/cwd') })).toEqual([
      '/etc/my.cnf',
      '/etc/mysql/my.cnf',
      '/opt/my/my.cnf',
      '/cwd/x.cnf',
      '/home/mysql/.my.cnf',
    ]);
    expect(defaultOptionFiles({ env: { ...env, MARIADB_HOME: '/opt/mariadb' } })[2]).toBe(
      '/opt/mariadb/my.cnf',
    );
    expect(defaultOptionFiles({ env: { ...env, MARIADB_HOME: '' } })).toHaveLength(3);
  });

  it('moves a directory listed twice to the end, as mysys does', () => {
    expect(defaultOptionFiles({ env: { MARIADB_HOME: '//etc/' } })).toEqual([
      '/etc/mysql/my.cnf',
      '/etc/my.cnf',
    ]);
  });

  it('reads ~/.my.cnf from homeDir, else $HOME only', () => {
    expect(defaultOptionFiles({ env: {}, homeDir: '/root' }).at(-1)).toBe('/root/.my.cnf');
    expect(defaultOptionFiles({ env: {} })).toEqual(['/etc/my.cnf', '/etc/mysql/my.cnf']);
  });

  it('uses only --defaults-file when given, resolved against the current directory', () => {
    const s = {
      env: ENV,
      defaultsFile: 'node.cnf',
      defaultsExtraFile: '/x.cnf',
      fs: memoryFs({}, '/etc/mysql'),
    };
    expect(defaultOptionFiles(s)).toEqual(['/etc/mysql/node.cnf']);
  });
});

describe('readOptions()', () => {
  const base = {
    '/etc/mysql/my.cnf': '[sst]\ntcert=/a.pem\n!includedir /etc/mysql/conf.d/\n',
    '/etc/mysql/conf.d/b.cnf': '[sst]\ntcert=/b.pem\n',
    '/etc/mysql/conf.d/a.cnf': '[mysqld]\ndatadir=/data\n[sst]\ntkey=/a.key\n',
    '/etc/mysql/conf.d/c.conf': '[sst]\ntcert=/ignored.pem\n',
    '/home/mysql/.my.cnf': '[sst]\ntcert=/home.pem\n',
  };

  it('reads files in order, includedir entries sorted, only the asked groups', () => {
    expect(pairs(['sst'], sources(base))).toEqual([
      'tcert=/a.pem',
      'tkey=/a.key',
      'tcert=/b.pem',
      'tcert=/home.pem',
    ]);
  });

  it('records the normalized name, file, line and group of each entry', () => {
    const [entry] = readOptions(['sst'], sources({ '/etc/my.cnf': '[SST]\n\nLoose_Idle_Timeout = 5\n' }));
    expect(entry).toEqual({
      name: 'idle-timeout',
      rawName: 'Loose_Idle_Timeout',
      value: '5',
      file: '/etc/my.cnf',
      line: 3,
      group: 'SST',
    });
  });

  it('adds the suffix groups, ranked by position in the files', () => {
    const files = { '/etc/my.cnf': '[sst.n1]\nx=suffix\n[sst]\nx=plain\n[sst.n2]\nx=other\n' };
    expect(pairs(['sst'], sources(files, { defaultsGroupSuffix: '.n1' }))).toEqual(['x=suffix', 'x=plain']);
    expect(pairs(['sst'], sources(files, { env: { MARIADB_GROUP_SUFFIX: '.n2' } }))).toEqual([
      'x=plain',
      'x=other',
    ]);
  });

  it('skips missing and unreadable default files silently', () => {
    const files = {
      '/etc/my.cnf': { content: '[a]\nx=1\n', unreadable: true },
      '/etc/mysql/my.cnf': '[a]\ny=2\n',
    };
    expect(pairs(['a'], sources(files))).toEqual(['y=2']);
  });

  it('fails on a missing or unreadable --defaults-file, naming it', () => {
    const missing = (): unknown => readOptions(['a'], sources({}, { defaultsFile: '/etc/node.cnf' }));
    expect(missing).toThrow(ConfigError);
    expect(missing).toThrow(
      'Cannot open required defaults file "/etc/node.cnf" (--defaults-file): no such file or directory',
    );
    const locked = sources(
      { '/etc/node.cnf': { content: '[a]\n', unreadable: true } },
      { defaultsFile: '/etc/node.cnf' },
    );
    expect(() => readOptions(['a'], locked)).toThrow(
      'Cannot open required defaults file "/etc/node.cnf" (--defaults-file): permission denied',
    );
    try {
      missing();
    } catch (error) {
      expect((error as ConfigError).exitCode).toBe(ExitCode.ENOENT);
    }
  });

  it('fails on a missing --defaults-extra-file, naming it', () => {
    expect(() => readOptions(['a'], sources({}, { defaultsExtraFile: 'extra.cnf' }))).toThrow(
      'Cannot open required defaults file "/work/extra.cnf" (--defaults-extra-file): no such file or directory',
    );
  });

  it('ignores world-writable files with a warning, even an explicit one', () => {
    const warnings: string[] = [];
    const files = { '/etc/node.cnf': { content: '[a]\nx=1\n', mode: 0o666 } };
    const s = sources(files, { defaultsFile: '/etc/node.cnf', onWarning: (m) => warnings.push(m) });
    expect(pairs(['a'], s)).toEqual([]);
    expect(warnings).toEqual(['Ignoring world-writable option file "/etc/node.cnf", as mysqld does']);
  });

  it('fails on a parse error in a top-level file, with file and line', () => {
    expect(() => readOptions(['a'], sources({ '/etc/my.cnf': 'x=1\n' }))).toThrow(
      'Cannot read option file "/etc/my.cnf": found an option without a preceding group at line 1',
    );
    expect(() => readOptions(['a'], sources({ '/etc/my.cnf': '[a]\n!include \n' }))).toThrow(
      'Cannot read option file "/etc/my.cnf": wrong "!include" directive at line 2: no path',
    );
    expect(() => readOptions(['a'], sources({ '/etc/my.cnf': '[a]\n!includedir /nowhere\n' }))).toThrow(
      'Cannot read option file "/etc/my.cnf": cannot read directory "/nowhere" of the "!includedir" at line 2: no such file or directory',
    );
  });

  it('stops only the included file on its error, with a warning, and carries on', () => {
    const warnings: string[] = [];
    const files = { '/etc/my.cnf': '[a]\nx=1\n!include /inc.cnf\ny=2\n', '/inc.cnf': '[a]\nz=1\n[b\nz=2\n' };
    expect(pairs(['a'], sources(files, { onWarning: (m) => warnings.push(m) }))).toEqual([
      'x=1',
      'z=1',
      'y=2',
    ]);
    expect(warnings).toEqual([
      'Cannot read option file "/inc.cnf": wrong group definition at line 3; the rest of that file is ignored, as mysqld does',
    ]);
  });

  it('follows includes 10 deep and warns about the 11th', () => {
    const files: Record<string, string> = {};
    for (let i = 0; i <= 11; i++) files[`/c/${i}.cnf`] = `[a]\nl=${i}\n!include /c/${i + 1}.cnf\n`;
    const warnings: string[] = [];
    const s = sources(files, { defaultsFile: '/c/0.cnf', onWarning: (m) => warnings.push(m) });
    expect(pairs(['a'], s)).toEqual(Array.from({ length: 11 }, (_, i) => `l=${i}`));
    expect(warnings).toEqual([
      'Skipping a "!include" directive in "/c/10.cnf" at line 3: includes nest at most 10 deep',
    ]);
  });

  it('resolves relative includes against the current directory, not the including file', () => {
    const files = { '/etc/mysql/my.cnf': '[a]\n!include local.cnf\n', '/work/local.cnf': '[a]\nx=cwd\n' };
    expect(pairs(['a'], sources(files))).toEqual(['x=cwd']);
  });
});

describe('loadNodeOptions()', () => {
  it('splits [sst] (with its suffix group) from the server groups and lists the files read', () => {
    const files = {
      '/etc/mysql/my.cnf':
        '[galera]\nwsrep_on=ON\n[sst]\ntcert=/a.pem\n[sst.n1]\ntkey=/k.pem\n[client]\nuser=x\n',
      '/home/mysql/.my.cnf': '[mysqld.n1]\ndatadir=/d\n',
    };
    const loaded = loadNodeOptions(sources(files, { defaultsGroupSuffix: '.n1' }));
    expect(loaded.sst.names()).toEqual(['tcert', 'tkey']);
    expect(loaded.mysqld.names()).toEqual(['wsrep-on', 'datadir']);
    expect(loaded.files).toEqual(['/etc/mysql/my.cnf', '/home/mysql/.my.cnf']);
    expect(loaded.warnings).toEqual([]);
  });

  it('reads the server groups of mariadbd 10.11', () => {
    expect(SERVER_GROUPS).toEqual([
      'mysqld',
      'server',
      'mysqld-10.11',
      'mariadb',
      'mariadb-10.11',
      'mariadbd',
      'mariadbd-10.11',
      'client-server',
      'galera',
    ]);
    expect(Object.isFrozen(SERVER_GROUPS)).toBe(true);
  });
});

describe('OptionSet', () => {
  const entry = (rawName: string, value: string | undefined, line: number) => ({
    name: rawName,
    rawName,
    value,
    file: '/f',
    line,
    group: 'sst',
  });
  const set = new OptionSet([
    entry('idle_timeout', '1', 1),
    entry('Loose-IDLE-timeout', '2', 2),
    entry('flag', undefined, 3),
  ]);

  it('looks names up in any -/_/case/loose- form; the last one wins', () => {
    expect(set.get('idle-timeout')).toBe('2');
    expect(set.get('IDLE_TIMEOUT')).toBe('2');
    expect(set.get('loose-idle-timeout')).toBe('2');
    expect(set.entry('idle_timeout')?.line).toBe(2);
    expect(set.all('idle-timeout').map((e) => e.value)).toEqual(['1', '2']);
  });

  it('tells a bare flag from an absent name', () => {
    expect(set.get('flag')).toBeUndefined();
    expect(set.has('flag')).toBe(true);
    expect(set.has('absent')).toBe(false);
    expect(set.all('absent')).toEqual([]);
    expect(set.names()).toEqual(['idle-timeout', 'flag']);
  });
});
