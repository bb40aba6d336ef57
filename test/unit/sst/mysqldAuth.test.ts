import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  authFromEnv,
  MysqldAuthParseError,
  parseAuthLines,
  readMysqldAuth,
  splitUserPassword,
  userCreationFailed,
} from '../../../src/sst/mysqldAuth.js';

describe('parseAuthLines (the 11.6+ credentials pipe)', () => {
  it('reads the four keys and ignores unknown keys, blank lines and lines without =', () => {
    const text =
      'sst_user=wsrep.sst.261205_1\nsst_password=p=a:ss\nsst_future=x\n\nnoequals\n' +
      'sst_remote_user=ru\nsst_remote_password=rp\n';
    expect(parseAuthLines(text)).toEqual({
      user: 'wsrep.sst.261205_1',
      password: 'p=a:ss',
      remoteUser: 'ru',
      remotePassword: 'rp',
    });
  });

  it('takes a last line without a newline, strips a CR, and keeps an empty value empty', () => {
    expect(parseAuthLines('sst_user=u\r\nsst_password=')).toEqual({ user: 'u', password: '' });
  });

  it('is empty for an empty pipe (the user-creation failure)', () => {
    expect(parseAuthLines('')).toEqual({});
  });

  it('refuses a control character and never puts the value in the message', () => {
    let caught: unknown;
    try {
      parseAuthLines('sst_password=zq\u0001xv\n');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MysqldAuthParseError);
    expect((caught as Error).message).toContain('sst_password');
    expect((caught as Error).message).not.toContain('zq');
  });
});

describe('authFromEnv (10.x)', () => {
  it('splits at the first colon', () => {
    expect(authFromEnv({ WSREP_SST_OPT_AUTH: 'root:pa:ss', WSREP_SST_OPT_REMOTE_AUTH: 'joiner:s3' })).toEqual(
      {
        source: 'env',
        user: 'root',
        password: 'pa:ss',
        remoteUser: 'joiner',
        remotePassword: 's3',
      },
    );
  });

  it('an empty WSREP_SST_OPT_AUTH (10.11 always sets it) is still the env dialect', () => {
    expect(authFromEnv({ WSREP_SST_OPT_AUTH: '' })).toEqual({ source: 'env' });
  });

  it('is undefined when neither variable is set (11.6+)', () => {
    expect(authFromEnv({ PATH: '/usr/bin' })).toBeUndefined();
  });

  it('a user without a colon has no password', () => {
    expect(splitUserPassword('X', 'only')).toEqual({ user: 'only' });
  });

  it('refuses a newline in a variable', () => {
    expect(() => authFromEnv({ WSREP_SST_OPT_AUTH: 'a:b\nc' })).toThrow(MysqldAuthParseError);
  });
});

describe('readMysqldAuth', () => {
  it('prefers the environment and leaves stdin unread', async () => {
    const stdin = new PassThrough();
    stdin.write('sst_user=x\n');
    const auth = await readMysqldAuth({ env: { WSREP_SST_OPT_AUTH: 'u:p' }, stdin, timeoutMs: 1000 });
    expect(auth).toEqual({ source: 'env', user: 'u', password: 'p' });
    expect(stdin.read()?.toString()).toBe('sst_user=x\n');
  });

  it('reads the pipe to EOF, in pieces', async () => {
    const stdin = new PassThrough();
    const pending = readMysqldAuth({ env: {}, stdin, timeoutMs: 5000 });
    stdin.write('sst_us');
    setTimeout(() => stdin.end('er=u1\nsst_password=p1\n'), 20);
    const auth = await pending;
    expect(auth).toEqual({ source: 'stdin', user: 'u1', password: 'p1' });
    expect(userCreationFailed(auth)).toBe(false);
  });

  it('EOF with nothing is the 11.6+ user-creation failure', async () => {
    const stdin = new PassThrough();
    stdin.end();
    const auth = await readMysqldAuth({ env: {}, stdin, timeoutMs: 5000 });
    expect(auth).toEqual({ source: 'stdin' });
    expect(userCreationFailed(auth)).toBe(true);
  });

  it('a pipe that stays open and silent is not mysqld’s: none, within the bound', async () => {
    const stdin = new PassThrough();
    const t0 = Date.now();
    const auth = await readMysqldAuth({ env: {}, stdin, timeoutMs: 200 });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(auth).toEqual({ source: 'none' });
    expect(userCreationFailed(auth)).toBe(false);
  });

  it('a pipe that carried credentials but was not closed is used as it is at the bound', async () => {
    const stdin = new PassThrough();
    stdin.write('sst_user=u\n');
    const auth = await readMysqldAuth({ env: {}, stdin, timeoutMs: 200 });
    expect(auth).toEqual({ source: 'stdin', user: 'u' });
  });

  it('no stdin and no variables: none', async () => {
    expect(await readMysqldAuth({ env: {}, stdin: null, timeoutMs: 100 })).toEqual({ source: 'none' });
  });
});
