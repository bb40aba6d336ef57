import { describe, expect, it } from 'vitest';
import { parseServerVersion, serverGroups } from '../../../src/sst/serverVersion.js';
import { OptionSet } from '../../../src/config/optionSet.js';
import { sstAuthCheck } from '../../../src/doctor/checks/serverAuth.js';

describe('the server groups by version', () => {
  it('reads the version from mariadbd --version', () => {
    expect(
      parseServerVersion(
        '/usr/sbin/mariadbd  Ver 11.8.9-MariaDB-0+deb13u1 for debian-linux-gnu on x86_64 (Debian 13)',
      ),
    ).toEqual({ major: 11, minor: 8 });
    expect(parseServerVersion('mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu')).toEqual({
      major: 10,
      minor: 11,
    });
    expect(parseServerVersion('not a server')).toBeUndefined();
  });

  it('11.8 reads the groups mariadbd 11.8.9 prints', () => {
    expect(serverGroups({ major: 11, minor: 8 }).join(' ')).toBe(
      'mysqld server mysqld-11.8 mariadb mariadb-11.8 mariadb-11 mariadbd mariadbd-11.8 mariadbd-11 client-server galera',
    );
  });

  it('10.11 reads the groups mariadbd 10.11.19 prints (no major-only groups)', () => {
    expect(serverGroups({ major: 10, minor: 11 }).join(' ')).toBe(
      'mysqld server mysqld-10.11 mariadb mariadb-10.11 mariadbd mariadbd-10.11 client-server galera',
    );
  });
});

describe("doctor's wsrep_sst_auth check", () => {
  const set = (value?: string) =>
    new OptionSet(
      value === undefined
        ? []
        : [{ group: 'mysqld', name: 'wsrep-sst-auth', rawName: 'wsrep_sst_auth', value, file: 'f', line: 1 }],
    );
  it('warns on 11.8 with no or an empty wsrep_sst_auth, saying what to set', () => {
    for (const options of [set(), set('')]) {
      const r = sstAuthCheck({ major: 11, minor: 8, from: 'test' }, options);
      expect(r.status).toBe('warn');
      expect(r.hint).toContain('wsrep_sst_auth = rsync_tunnel:none');
    }
  });
  it('is ok on 11.8 with a placeholder, and on 10.11 whatever it is', () => {
    expect(sstAuthCheck({ major: 11, minor: 8, from: 'test' }, set('rsync_tunnel:none')).status).toBe('ok');
    expect(sstAuthCheck({ major: 10, minor: 11, from: 'test' }, set()).status).toBe('ok');
    expect(sstAuthCheck({ major: 11, minor: 4, from: 'test' }, set()).status).toBe('ok');
  });
});
