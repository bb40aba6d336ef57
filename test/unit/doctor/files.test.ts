// fileChecks: one readable setup, then one broken property per case, with exact messages (habit 9).
import { describe, expect, it } from 'vitest';
import { fileChecks, type FileFacts } from '../../../src/doctor/checks/files.js';
import { userIdentity } from '../../../src/doctor/userDb.js';

const passwd = 'root:x:0:0:root:/root:/bin/bash\nmysql:x:102:105:MySQL Server:/nonexistent:/bin/false\n';
const group = 'root:x:0:\nadm:x:4:syslog\nmysql:x:105:\nssl-cert:x:110:mysql\n';
const mysql = userIdentity('mysql', passwd, group);
if (mysql === undefined) throw new Error('fixture user missing');

const dirs = [
  { path: '/', mode: 0o40755, uid: 0, gid: 0, owner: 'root', group: 'root' },
  { path: '/etc', mode: 0o40755, uid: 0, gid: 0, owner: 'root', group: 'root' },
  { path: '/etc/mysql', mode: 0o40755, uid: 0, gid: 0, owner: 'root', group: 'root' },
];
const stat = (path: string, mode: number, uid = 0, gid = 105) => ({
  path,
  mode: 0o100000 | mode,
  uid,
  gid,
  owner: uid === 0 ? 'root' : 'mysql',
  group: gid === 105 ? 'mysql' : gid === 4 ? 'adm' : 'root',
  isDirectory: false,
});
const key: FileFacts = {
  role: 'tkey',
  path: '/etc/mysql/key.pem',
  holdsKey: true,
  stat: stat('/etc/mysql/key.pem', 0o640),
  ancestors: dirs,
};
const cert: FileFacts = {
  role: 'tcert',
  path: '/etc/mysql/cert.pem',
  holdsKey: false,
  stat: stat('/etc/mysql/cert.pem', 0o644),
  ancestors: dirs,
};

describe('fileChecks()', () => {
  it('passes a root:mysql 0640 key and a 0644 certificate', () => {
    expect(fileChecks([cert, key], mysql)).toEqual([
      {
        id: 'file.readable',
        status: 'ok',
        message: 'tcert "/etc/mysql/cert.pem" is readable by user "mysql" (owner root:mysql, mode 0644)',
      },
      {
        id: 'file.readable',
        status: 'ok',
        message: 'tkey "/etc/mysql/key.pem" is readable by user "mysql" (owner root:mysql, mode 0640)',
      },
      {
        id: 'file.key-private',
        status: 'ok',
        message:
          'Private key "/etc/mysql/key.pem" is not readable by other users (owner root:mysql, mode 0640)',
      },
    ]);
  });

  it("finds the user's supplementary groups in /etc/group", () => {
    expect(mysql.gids).toEqual([105, 110]);
    expect(userIdentity('nobody', passwd, group)).toBeUndefined();
  });

  it('fails a missing file', () => {
    expect(
      fileChecks(
        [{ role: 'tcert', path: cert.path, holdsKey: false, error: 'ENOENT', ancestors: [] }],
        mysql,
      ),
    ).toEqual([
      {
        id: 'file.exists',
        status: 'fail',
        message: 'Cannot find tcert "/etc/mysql/cert.pem": file not found',
        hint: 'check [sst] tcert',
      },
    ]);
  });

  it('fails a key the mysqld user cannot read', () => {
    const facts = { ...key, stat: stat(key.path, 0o600, 0, 0) };
    expect(fileChecks([facts], mysql)[0]).toEqual({
      id: 'file.readable',
      status: 'fail',
      message:
        'tkey "/etc/mysql/key.pem" is not readable by user "mysql" (uid 102): owner root:root, mode 0600',
      hint: 'chgrp mysql /etc/mysql/key.pem && chmod g+r /etc/mysql/key.pem',
    });
  });

  it('fails a file behind a directory the mysqld user cannot enter', () => {
    const closed = [...dirs.slice(0, 2), { ...dirs[2], mode: 0o40700 } as (typeof dirs)[number]];
    expect(fileChecks([{ ...cert, ancestors: closed }], mysql)[0]).toEqual({
      id: 'file.readable',
      status: 'fail',
      message:
        'tcert "/etc/mysql/cert.pem" is not readable by user "mysql" (uid 102): directory "/etc/mysql" is not searchable (owner root:root, mode 0700)',
      hint: 'chgrp mysql /etc/mysql && chmod g+x /etc/mysql',
    });
  });

  it('fails a world-readable key', () => {
    expect(fileChecks([{ ...key, stat: stat(key.path, 0o644) }], mysql)[1]).toEqual({
      id: 'file.key-private',
      status: 'fail',
      message: 'Private key "/etc/mysql/key.pem" is readable by every user (owner root:mysql, mode 0644)',
      hint: 'chmod o-rwx /etc/mysql/key.pem',
    });
  });

  it('warns about a key readable by a group the mysqld user is not in', () => {
    const facts = { ...key, stat: stat(key.path, 0o640, 102, 4) };
    expect(fileChecks([facts], mysql)[1]).toEqual({
      id: 'file.key-private',
      status: 'warn',
      message:
        'Private key "/etc/mysql/key.pem" is readable by group "adm", which user "mysql" is not in (owner mysql:adm, mode 0640)',
      hint: 'chmod g-r /etc/mysql/key.pem',
    });
  });

  it('treats a combined tcert (key inside) as a key, and skips access checks for an unknown user', () => {
    const combined = { ...cert, holdsKey: true };
    expect(fileChecks([combined], undefined).map((r) => `${r.id} ${r.status}`)).toEqual([
      'file.key-private fail',
    ]);
  });
});
