import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { renderRsyncdConf, type RsyncdConfOptions } from '../../../src/rsync/conf.js';

const base: RsyncdConfOptions = {
  modules: [
    { name: 'rsync_tunnel_sst', path: '/var/lib/mysql', comment: 'datadir' },
    { name: 'rsync_tunnel_sst-log_dir', path: '/var/lib/mysql-redo' },
  ],
  uid: 0,
  gid: 0,
  timeoutSeconds: 300,
};

function settings(text: string): Map<string, string> {
  const global = text.split('\n[')[0] ?? '';
  return new Map(
    global
      .split('\n')
      .filter((line) => line.includes(' = ') && !line.startsWith('#'))
      .map((line) => line.split(' = ') as [string, string]),
  );
}

describe('renderRsyncdConf()', () => {
  it('renders the baseline for root: uid/gid kept, no chroot, no munging, writable, no syslog', () => {
    const text = renderRsyncdConf(base);
    const global = settings(text);
    expect(Object.fromEntries(global)).toMatchObject({
      uid: '0',
      gid: '0',
      'use chroot': 'no',
      'munge symlinks': 'no',
      'read only': 'no',
      'reverse lookup': 'no',
      timeout: '300',
      'log file': '/dev/stderr',
    });
    expect(text).toContain('\n[rsync_tunnel_sst]\n    path = /var/lib/mysql\n    comment = datadir\n');
    expect(text).toContain('\n[rsync_tunnel_sst-log_dir]\n    path = /var/lib/mysql-redo\n');
    expect(text.endsWith('\n')).toBe(true);
  });

  it('leaves uid/gid out for an unprivileged user (rsync would fail in setgroups)', () => {
    const text = renderRsyncdConf({ ...base, uid: 105, gid: 110 });
    expect(settings(text).has('uid')).toBe(false);
    expect(settings(text).has('gid')).toBe(false);
  });

  it('escapes % so rsync does not expand %VAR% in paths', () => {
    expect(renderRsyncdConf({ ...base, modules: [{ name: 'm', path: '/data/100%HOME%' }] })).toContain(
      'path = /data/100%%HOME%%',
    );
  });

  it('keeps spaces and unicode inside a path', () => {
    expect(renderRsyncdConf({ ...base, modules: [{ name: 'm', path: '/data/my dir/é' }] })).toContain(
      'path = /data/my dir/é\n',
    );
  });

  it('writes the log file when given', () => {
    expect(settings(renderRsyncdConf({ ...base, logFile: '/tmp/x/rsyncd.log' })).get('log file')).toBe(
      '/tmp/x/rsyncd.log',
    );
  });

  const bad: Array<[string, Partial<RsyncdConfOptions>, RegExp]> = [
    ['a module name with a slash', { modules: [{ name: 'a/b', path: '/x' }] }, /module name "a\/b"/],
    ['a module name with a bracket', { modules: [{ name: 'a]', path: '/x' }] }, /module name "a]"/],
    ['a module name with a space', { modules: [{ name: 'a b', path: '/x' }] }, /module name "a b"/],
    ['an empty module name', { modules: [{ name: '', path: '/x' }] }, /module name ""/],
    [
      'a duplicate module',
      {
        modules: [
          { name: 'a', path: '/x' },
          { name: 'a', path: '/y' },
        ],
      },
      /module "a" is listed twice/,
    ],
    ['a relative path', { modules: [{ name: 'a', path: 'x' }] }, /path "x" of module "a" is not absolute/],
    ['a path with a newline', { modules: [{ name: 'a', path: '/x\n[evil]' }] }, /path of module "a"/],
    ['a path with a trailing space', { modules: [{ name: 'a', path: '/x ' }] }, /surrounding spaces/],
    ['a negative timeout', { timeoutSeconds: -1 }, /timeout "-1"/],
  ];
  it.each(bad)('refuses %s', (_name, change, message) => {
    expect(() => renderRsyncdConf({ ...base, ...change })).toThrow(ConfigError);
    expect(() => renderRsyncdConf({ ...base, ...change })).toThrow(message);
  });
});
