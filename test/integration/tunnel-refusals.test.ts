/**
 * Every refusal, on the real listener and connector: the connection is dropped, a log line says why, and nothing
 * is written to the target. Donor-side name checks are socat's (SAN DNS, SAN IP or CN against the joiner's host).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer as createNetServer } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TlsPolicy } from '../../src/tls/context.js';
import { connectorRsh } from '../../src/tunnel/connectorRsh.js';
import { selfCommand } from '../../src/self.js';
import { createCa, issueCert, tempDir, type CaFiles, type CertFiles } from '../helpers/pki.js';
import { TEST_POLICY } from '../helpers/policy.js';
import {
  CLI,
  countEntries,
  killAll,
  requireBuiltCli,
  rsyncViaConnector,
  runningCount,
  start,
  startListenCli,
  waitFor,
  type Proc,
  listenTls,
} from '../helpers/procs.js';

const dir = tempDir('tunnel refusals');
let ca: CaFiles;
let other: CaFiles;
let joiner: CertFiles;
let donor: CertFiles;
const src = join(dir.path, 'src');
const policy = TEST_POLICY;
let n = 0;

beforeAll(() => {
  requireBuiltCli();
  ca = createCa(dir.path, 'ca');
  other = createCa(dir.path, 'other');
  joiner = issueCert(ca, 'joiner', { cn: 'joiner.test', dns: ['joiner.test'], ips: ['127.0.0.1'] });
  donor = issueCert(ca, 'donor', { cn: 'donor.test' });
  mkdirSync(src);
  writeFileSync(join(src, 'data'), 'payload');
});
afterEach(async () => {
  await killAll();
  expect(runningCount()).toBe(0);
});
afterAll(() => dir.cleanup());

/** A fresh, empty target and a listener serving it. */
async function listener(
  cert: CertFiles = joiner,
  extra: string[] = [],
): Promise<{ proc: Proc; port: number; target: string }> {
  const target = join(dir.path, `target${++n}`);
  mkdirSync(target);
  const started = await startListenCli([
    ...listenTls(ca.cert, cert.combined),
    '--module',
    `m=${target}`,
    ...extra,
  ]);
  return { ...started, target };
}

function rshFor(
  port: number,
  change: { tcert?: string; tkey?: string; tca?: string; policy?: Partial<TlsPolicy>; report?: string } = {},
): ReturnType<typeof connectorRsh> {
  return connectorRsh(
    {
      host: '127.0.0.1',
      port,
      paths: {
        tca: change.tca ?? ca.cert,
        tcert: change.tcert ?? donor.cert,
        tkey: change.tkey ?? donor.key,
      },
      policy: { ...policy, ...change.policy },
      idleTimeoutMs: 10_000,
      ...(change.report !== undefined && { reportFile: change.report }),
    },
    selfCommand(CLI),
  );
}

/** openssl s_client as a misbehaving donor; its stdin stays open briefly so the server has time to judge. */
async function sClient(port: number, args: string[]): Promise<string> {
  const proc = start('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', ca.cert, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  setTimeout(() => proc.child.stdin?.end(), 500);
  await proc.exited;
  return proc.stdout() + proc.stderr();
}

describe('the listener refuses', () => {
  it('a donor certificate from another CA', async () => {
    const { proc, port, target } = await listener();
    const stranger = issueCert(other, `stranger${n}`, { cn: 'donor.test' });
    const result = await rsyncViaConnector(rshFor(port, { tcert: stranger.cert, tkey: stranger.key }), [
      `${src}/`,
      'x::m/',
    ]);
    expect(result.code).not.toBe(0);
    await waitFor(
      proc,
      /Refused connection from 127\.0\.0\.1:\d+: Cannot verify the certificate of the donor: it was not issued by a CA in tca \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\); it presented subject "O=sst-tunnel tests, CN=donor\.test"/,
    );
    expect(countEntries(target)).toBe(0);
  });

  it("nothing, but says the donor most likely refused this joiner's certificate when it ends the handshake", async () => {
    const { proc, port, target } = await listener();
    // The donor trusts another CA: it cannot verify the joiner and aborts mid-handshake. Seen from the joiner this
    // once read "closed before the TLS handshake: a port check", which sent operators looking at load balancers.
    const result = await rsyncViaConnector(rshFor(port, { tca: other.cert }), [`${src}/`, 'x::m/']);
    expect(result.code).not.toBe(0);
    await waitFor(
      proc,
      /Connection from 127\.0\.0\.1:\d+ ended during the TLS handshake, after its hello: the donor most likely refused this joiner's certificate \(is the CA that issued this node's tcert in the donor's tca\? does the certificate hold the name the donor checks\?\)/,
    );
    expect(proc.stderr()).not.toContain('a port check');
    expect(countEntries(target)).toBe(0);
  });

  it('an expired donor certificate', async () => {
    const { proc, port, target } = await listener();
    const expired = issueCert(ca, 'expired', {
      notBefore: new Date('2020-01-01'),
      notAfter: new Date('2020-02-01'),
    });
    await sClient(port, ['-cert', expired.cert, '-key', expired.key]);
    await waitFor(
      proc,
      /Refused connection from 127\.0\.0\.1:\d+: Cannot verify the certificate of the donor: the certificate has expired \(CERT_HAS_EXPIRED\)/,
    );
    expect(countEntries(target)).toBe(0);
  });

  it('a client without a certificate', async () => {
    const { proc, port, target } = await listener();
    await sClient(port, []);
    await waitFor(
      proc,
      /Refused connection from 127\.0\.0\.1:\d+: The donor presented no certificate \(mutual TLS requires one\)/,
    );
    expect(countEntries(target)).toBe(0);
  });

  it('a plaintext client (the rsync daemon greeting without TLS)', async () => {
    const { proc, port, target } = await listener();
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.end('@RSYNCD: 32.0\nm\n');
    await waitFor(proc, /Refused connection from 127\.0\.0\.1:\d+: the client did not speak TLS/);
    socket.destroy();
    expect(countEntries(target)).toBe(0);
  });

  it('nothing, but names a port check (connect, close without a byte) at once and does not count it', async () => {
    const { proc, port, target } = await listener();
    const socket = connect(port, '127.0.0.1', () => socket.end());
    socket.on('error', () => undefined);
    // At once: before, a half-open listener ignored the FIN and logged a stalled handshake 10 s later.
    await waitFor(
      proc,
      /Connection from 127\.0\.0\.1:\d+ closed before the TLS handshake: a port check, or a client that gave up/,
      2000,
    );
    proc.child.kill('SIGTERM');
    await proc.exited;
    expect(proc.stderr()).toMatch(/Listener closed: 0 connection\(s\), 0 refused/);
    expect(proc.stderr()).not.toMatch(/Refused connection/);
    expect(countEntries(target)).toBe(0);
  });

  it('a client offering only TLS 1.1', async () => {
    const { proc, port } = await listener();
    const out = await sClient(port, [
      '-tls1_1',
      '-cipher',
      'DEFAULT:@SECLEVEL=0',
      '-cert',
      donor.cert,
      '-key',
      donor.key,
    ]);
    expect(out).toMatch(/alert protocol version/);
    await waitFor(
      proc,
      /Refused connection from 127\.0\.0\.1:\d+: the client offered only TLS versions below the minimum/,
    );
  });

  it('a donor outside the allow-list', async () => {
    const { proc, port, target } = await listener(joiner, ['--allow', 'donor2.test', '--allow', '10.0.0.9']);
    const result = await rsyncViaConnector(rshFor(port), [`${src}/`, 'x::m/']);
    expect(result.code).not.toBe(0);
    await waitFor(
      proc,
      /The certificate of the donor matches none of the allowed donors "donor2\.test", "10\.0\.0\.9"; it presented subject "O=sst-tunnel tests, CN=donor\.test", SAN DNS none, SAN IP none/,
    );
    expect(countEntries(target)).toBe(0);
  });

  it('a stalled handshake, and keeps serving afterwards', async () => {
    const { proc, port, target } = await listener(joiner, ['--handshake-timeout', '300']);
    const silent = connect(port, '127.0.0.1');
    silent.on('error', () => undefined);
    await waitFor(proc, /Refused connection from 127\.0\.0\.1:\d+: the TLS handshake did not finish in time/);
    silent.destroy();
    const result = await rsyncViaConnector(rshFor(port), ['-a', `${src}/`, 'x::m/']);
    expect(result.code).toBe(0);
    expect(readFileSync(join(target, 'data'), 'utf8')).toBe('payload');
  });
});

describe('the connector checks the joiner name like socat', () => {
  const cases: Array<
    [string, { cn?: string | null; dns?: string[]; ips?: string[] }, string, string | undefined]
  > = [
    ['SAN DNS matches', { cn: null, dns: ['joiner.test'] }, 'joiner.test', 'SAN DNS'],
    ['SAN DNS mismatch', { cn: null, dns: ['joiner.test'] }, 'other.test', undefined],
    ['SAN IP matches', { cn: null, ips: ['127.0.0.1'] }, '127.0.0.1', 'SAN IP'],
    ['SAN IP mismatch', { cn: null, ips: ['10.9.9.9'] }, '127.0.0.1', undefined],
    ['CN-only matches', { cn: 'joiner.test' }, 'joiner.test', 'CN'],
    ['CN-only mismatch', { cn: 'joiner.test' }, '127.0.0.1', undefined],
  ];
  it.each(cases)('%s', async (name, names, expected, field) => {
    const cert = issueCert(ca, `joiner-${name.replace(/\W+/g, '-')}`, names);
    const { port, target } = await listener(cert);
    const report = join(dir.path, `${name}.json`);
    // The joiner is dialled at 127.0.0.1; the expected name is what the donor was told (or sockopt commonname=).
    const result = await rsyncViaConnector(rshFor(port, { report, policy: { expectedName: expected } }), [
      '-a',
      `${src}/`,
      'x::m/',
    ]);
    const summary = JSON.parse(readFileSync(report, 'utf8')) as { match?: { field: string }; error?: string };
    if (field !== undefined) {
      expect(result.code).toBe(0);
      expect(summary.match?.field).toBe(field);
      expect(countEntries(target)).toBe(1);
    } else {
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(
        `The certificate of the joiner does not match "${expected}": expected a SAN DNS, SAN IP or CN equal to "${expected}"; it presented subject`,
      );
      expect(summary.error).toMatch(/does not match/);
      expect(countEntries(target)).toBe(0);
    }
  });
});

describe('the connector tells a refusing joiner from a dead one', () => {
  /**
   * A TLS server with the joiner's certificate that verifies the donor, then drops it right after the handshake
   * without a byte, as our listener does when it refuses a donor. `die` also stops listening first, as a joiner
   * killed in that instant would.
   */
  async function dropper(die: boolean): Promise<{ port: number; close(): void }> {
    const server = createServer({
      ca: readFileSync(ca.cert),
      cert: readFileSync(joiner.cert),
      key: readFileSync(joiner.key),
      requestCert: true,
      rejectUnauthorized: true,
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      if (die) server.close();
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    return { port, close: () => server.close() };
  }

  it.each([
    [
      false,
      'closed the connection without a byte after the TLS handshake: it most likely refused this donor',
    ],
    [true, "accepted this donor's TLS connection, then closed it and no longer listens: it stopped or died"],
  ])('joiner dies: %s', async (die, words) => {
    const joinerEnd = await dropper(die);
    const report = join(dir.path, `dropper-${String(die)}.json`);
    try {
      const result = await rsyncViaConnector(rshFor(joinerEnd.port, { report }), ['-a', `${src}/`, 'x::m/']);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(words);
      const summary = JSON.parse(readFileSync(report, 'utf8')) as { error?: string };
      expect(summary.error).toContain(words);
    } finally {
      joinerEnd.close();
    }
  });
});

describe('the connector tries again on a network error', () => {
  async function freePort(): Promise<number> {
    const server = createNetServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

  it('a joiner port that refuses at first and then listens: the transfer completes', async () => {
    const port = await freePort();
    const transfer = rsyncViaConnector(rshFor(port), ['-a', `${src}/`, 'x::m/']);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const { target } = await listener(joiner, ['--port', String(port)]);
    const result = await transfer;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /Cannot connect to the joiner "127\.0\.0\.1:\d+": connect ECONNREFUSED .*: trying again in 1 s \(attempt 2 of 4\)/,
    );
    expect(countEntries(target)).toBe(1);
  });

  it('gives up after 4 attempts with the last error, and never retries a refused certificate', async () => {
    const port = await freePort();
    const gone = await rsyncViaConnector(rshFor(port), ['-a', `${src}/`, 'x::m/']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr.match(/trying again in 1 s/g)).toHaveLength(3);
    expect(gone.stderr).toContain('(attempt 4 of 4)');
    expect(gone.stderr).toMatch(/Cannot connect to the joiner "127\.0\.0\.1:\d+": connect ECONNREFUSED/);
    const { port: listening } = await listener();
    const refused = await rsyncViaConnector(
      rshFor(listening, { tcert: joiner.cert, tkey: joiner.key, tca: other.cert }),
      ['-a', `${src}/`, 'x::m/'],
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).not.toContain('trying again');
  });
});
