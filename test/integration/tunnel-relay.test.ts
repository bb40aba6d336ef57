/**
 * The donor relay as the SST uses it: rsync as a daemon client of 127.0.0.1:<relay port>, the relay carrying each
 * connection over real TLS into `sst-tunnel listen` with real rsync daemons. Checks byte-for-byte copies, that
 * the payload takes the static-buffer path straight into TLS without corruption, that other users' processes
 * are refused before a byte, and that close() frees the port.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as tlsServer, type TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pump } from '../../src/tunnel/pump.js';
import type { DonorRelay } from '../../src/tunnel/relay.js';
import { startRelayPair } from '../helpers/relay.js';
import { adoptWithStaticBuffer } from '../../src/tunnel/staticRead.js';
import { createCa, issueCert, tempDir, type CaFiles, type CertFiles } from '../helpers/pki.js';
import { CLI, killAll, run, runningCount, treeHash } from '../helpers/procs.js';
import { createHash } from 'node:crypto';

const dir = tempDir('tunnel relay');
let ca: CaFiles;
let joiner: CertFiles;
let donor: CertFiles;
const src = join(dir.path, 'src');
let relays: DonorRelay[] = [];

beforeAll(() => {
  ca = createCa(dir.path, 'ca');
  joiner = issueCert(ca, 'joiner', { cn: 'joiner.test', ips: ['127.0.0.1'] });
  donor = issueCert(ca, 'donor', { cn: 'donor.test' });
  mkdirSync(join(src, 'db'), { recursive: true });
  writeFileSync(join(src, 'ibdata1'), randomBytes(40 << 20));
  for (let i = 0; i < 300; i++) writeFileSync(join(src, 'db', `t${i}.ibd`), randomBytes(i * 301));
});
afterEach(async () => {
  await Promise.all(relays.map((r) => r.close()));
  relays = [];
  await killAll();
  expect(runningCount()).toBe(0);
});
afterAll(() => dir.cleanup());

async function joinerAndRelay(
  dst: string,
  uids?: number[],
): Promise<{ relay: DonorRelay; stop: () => Promise<string> }> {
  const pair = await startRelayPair({
    ca,
    joiner,
    donor,
    dst,
    ...(uids !== undefined && { relay: { uids } }),
  });
  relays.push(pair.relay);
  return pair;
}

describe('donor relay', () => {
  it('carries parallel rsync daemon clients over verified TLS, byte for byte, and frees its port', async () => {
    const dst = join(dir.path, 'dst');
    mkdirSync(dst);
    const { relay, stop } = await joinerAndRelay(dst);
    const push = (args: string[]): ReturnType<typeof run> =>
      run('rsync', [`--port=${relay.port}`, '--recursive', '--whole-file', '--inplace', ...args]);
    const results = await Promise.all([
      push([`${src}/ibdata1`, `${relay.host}::datadir/`]),
      push([`${src}/db`, `${relay.host}::datadir/`]),
    ]);
    for (const r of results) expect(r.stderr).toBe('');
    expect(results.map((r) => r.code)).toEqual([0, 0]);
    expect(treeHash(dst)).toBe(treeHash(src));
    const port = relay.port;
    await relay.close(); // waits for the connections to wind down, as the donor does before `done`
    const sessions = relay.sessions();
    expect(sessions).toHaveLength(2);
    for (const s of sessions) {
      expect(s).toMatchObject({ protocol: 'TLSv1.3', match: { field: 'SAN IP', value: '127.0.0.1' } });
      expect(s.error).toBeUndefined();
    }
    expect(sessions.reduce((sum, s) => sum + s.bytesOut, 0)).toBeGreaterThan(40 << 20);
    expect(relay.refused()).toBe(0);
    const probe = connect({ port, host: '127.0.0.1' });
    await expect(
      new Promise((resolve, reject) => probe.once('connect', resolve).once('error', reject)),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(await stop()).toMatch(/Listener closed: 2 connection\(s\), 0 refused/);
  });

  it('reads its credentials once: a certificate file replaced mid-SST does not fail the later passes', async () => {
    const dst = join(dir.path, 'dst-creds');
    mkdirSync(dst);
    const own = { cert: join(dir.path, 'donor-copy.pem'), key: join(dir.path, 'donor-copy.key') };
    copyFileSync(donor.cert, own.cert);
    copyFileSync(donor.key, own.key);
    const pair = await startRelayPair({ ca, joiner, donor: { ...donor, ...own }, dst });
    relays.push(pair.relay);
    const list = (): ReturnType<typeof run> =>
      run('rsync', [`--port=${pair.relay.port}`, `${pair.relay.host}::`]);
    expect((await list()).code).toBe(0);
    // A half-written rotation: every later connection would fail if each one read the files again.
    writeFileSync(own.cert, 'not a certificate\n');
    const second = await list();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^datadir\s/m);
    await pair.relay.close();
    expect(pair.relay.failures()).toBe(0);
    const sessions = pair.relay.sessions();
    expect(sessions).toHaveLength(2);
    for (const s of sessions) expect(s).toMatchObject({ match: { field: 'SAN IP', value: '127.0.0.1' } });
    await pair.stop();
  });

  it('refuses a connection made by another user before a byte reaches the joiner', async () => {
    const dst = join(dir.path, 'dst-refused');
    mkdirSync(dst);
    // Allow only a uid nobody has: this process's own rsync stands in for another user's process.
    const { relay, stop } = await joinerAndRelay(dst, [4_000_000]);
    const listing = await run('rsync', [`--port=${relay.port}`, `${relay.host}::`]);
    expect(listing.code).not.toBe(0);
    expect(listing.stdout).toBe('');
    expect(relay.refused()).toBe(1);
    expect(relay.sessions()).toHaveLength(0);
    expect(await stop()).toMatch(/Listener closed: 0 connection\(s\), 0 refused/);
  });

  it.runIf(process.getuid?.() === 0)('as root, refuses an rsync run by nobody (uid 65534)', async () => {
    const dst = join(dir.path, 'dst-nobody');
    mkdirSync(dst);
    chmodSync(dir.path, 0o755);
    const { relay, stop } = await joinerAndRelay(dst);
    const listing = await run('setpriv', [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      'rsync',
      `--port=${relay.port}`,
      `${relay.host}::`,
    ]);
    expect(listing.code).not.toBe(0);
    expect(relay.refused()).toBe(1);
    // Root itself (the SST's user here) still gets through.
    const own = await run('rsync', [`--port=${relay.port}`, `${relay.host}::`]);
    expect(own.code).toBe(0);
    expect(own.stdout).toMatch(/^datadir\s/m);
    await stop();
  });

  it('static-buffer reads into TLS with a queue allowance above the buffer: not one byte corrupted', async () => {
    // The relay's fast path hands TLS a view of its reused read buffer when nothing is queued; with a limit
    // above the buffer size the source keeps reading while TLS writes wait, which is when a wrong copy
    // decision would show up as corrupted bytes.
    const server = tlsServer({
      cert: execFileSync('cat', [joiner.cert]),
      key: execFileSync('cat', [joiner.key]),
    });
    const received = createHash('sha256');
    let receivedBytes = 0;
    const ended = new Promise<void>((resolve) =>
      server.once('secureConnection', (s: TLSSocket) => {
        s.on('data', (c: Buffer) => {
          received.update(c);
          receivedBytes += c.length;
          s.pause();
          setTimeout(() => s.resume(), 1);
        });
        s.once('end', () => {
          s.end();
          resolve();
        });
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const tlsPort = (server.address() as { port: number }).port;
    const tls = tlsConnect({
      port: tlsPort,
      host: '127.0.0.1',
      ca: execFileSync('cat', [ca.cert]),
      servername: 'joiner.test',
      checkServerIdentity: () => undefined,
    });
    await new Promise((resolve) => tls.once('secureConnect', resolve));
    const plain = createServer({ allowHalfOpen: true, pauseOnConnect: true });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<import('node:net').Socket>((resolve) => plain.once('connection', resolve));
    const client = connect({
      port: (plain.address() as { port: number }).port,
      host: '127.0.0.1',
      allowHalfOpen: true,
    });
    const adopted = adoptWithStaticBuffer(await accepted);
    const p = pump(
      { readable: tls, writable: tls },
      { readable: adopted, writable: adopted },
      { idleTimeoutMs: 10_000, bufferLimit: 8 << 20 },
    );
    const data = randomBytes(48 << 20);
    client.end(data);
    await ended;
    expect(receivedBytes).toBe(data.length);
    expect(received.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    for (const s of [client, adopted, tls]) s.destroy();
    await p.done;
    plain.close();
    server.close();
  });
});

describe('standalone commands, bad input', () => {
  it.each([
    [['relay', '--port', 'abc'], /Invalid value for --port: "abc" is not a port number/],
    [['relay', '--port', '70000'], /Invalid value for --port: "70000" is not a port number/],
    [
      ['listen', '--port', '0', '--cert', '/nonexistent.pem', '--workers', 'two'],
      /Invalid value for --workers: "two"/,
    ],
  ])('%j exits 22 with one message naming the option', async (args, message) => {
    const r = await run(process.execPath, [CLI, ...args], {
      env: {
        ...process.env,
        SST_TUNNEL_CONNECT_SPEC: JSON.stringify({
          host: '127.0.0.1',
          port: 1,
          paths: { tcert: '/x' },
          policy: {},
        }),
      },
    });
    expect(r.code).toBe(22);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});
