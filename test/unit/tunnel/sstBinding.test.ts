import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BINDING_MAGIC,
  BINDING_TAG,
  boundReadyPayload,
  donorToken,
  judgePreamble,
  newToken,
  proofFor,
  redactReadyLine,
} from '../../../src/tunnel/sstBinding.js';

const token = newToken();
const exporter = randomBytes(32);
const expected = proofFor(token, exporter);

describe('sstBinding', () => {
  it('makes a fresh hex token that passes mysqld address and auth checks', () => {
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    expect(newToken()).not.toBe(token);
    expect(boundReadyPayload(token, '10.0.0.1:4444/rsync_tunnel_sst')).toBe(
      `${BINDING_TAG}:${token}@10.0.0.1:4444/rsync_tunnel_sst`,
    );
  });

  it('takes the token only from a tagged, well-formed remote auth', () => {
    expect(donorToken({ remoteUser: BINDING_TAG, remotePassword: token })).toBe(token);
    expect(donorToken({ remoteUser: 'CN', remotePassword: token })).toBeUndefined();
    expect(donorToken({ remoteUser: BINDING_TAG, remotePassword: 'x y' })).toBeUndefined();
    expect(donorToken({})).toBeUndefined();
  });

  it('admits the right proof, and waits for whole preambles', () => {
    const preamble = Buffer.concat([BINDING_MAGIC, expected]);
    expect(judgePreamble(preamble.subarray(0, 5), expected, false)).toBeUndefined();
    expect(judgePreamble(preamble.subarray(0, 39), expected, true)).toBeUndefined();
    expect(judgePreamble(preamble, expected, true)).toEqual({ kind: 'bound' });
    expect(judgePreamble(Buffer.concat([preamble, Buffer.from('@RSYNCD: 31.0\n')]), expected, true)).toEqual({
      kind: 'bound',
    });
  });

  it('refuses a proof made with another token or for another TLS session', () => {
    const other = Buffer.concat([BINDING_MAGIC, proofFor(newToken(), exporter)]);
    expect(judgePreamble(other, expected, false)).toMatchObject({ kind: 'refused' });
    const replayed = Buffer.concat([BINDING_MAGIC, proofFor(token, randomBytes(32))]);
    expect(judgePreamble(replayed, expected, false)).toMatchObject({ kind: 'refused' });
  });

  it('admits an rsync greeting unless binding is required, and refuses anything else', () => {
    const greeting = Buffer.from('@RSYNCD: 31.0 sha512 sha256\n');
    expect(judgePreamble(greeting.subarray(0, 4), expected, false)).toBeUndefined();
    expect(judgePreamble(greeting, expected, false)).toEqual({ kind: 'unbound' });
    expect(judgePreamble(greeting, expected, true)).toMatchObject({
      kind: 'refused',
      reason: expect.stringContaining('require-donor-binding') as unknown,
    });
    expect(judgePreamble(Buffer.from('GET / HTTP/1.1\r\n'), expected, false)).toMatchObject({
      kind: 'refused',
    });
  });

  it('masks the secret of a ready line for logs', () => {
    expect(redactReadyLine(`ready ${BINDING_TAG}:${token}@h:4444/m`)).toBe(
      `ready ${BINDING_TAG}:***@h:4444/m`,
    );
    expect(redactReadyLine('ready h:4444/m')).toBe('ready h:4444/m');
    expect(redactReadyLine('done 1:2 0')).toBe('done 1:2 0');
  });
});
