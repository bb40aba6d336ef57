/**
 * Fault matrix, hostile peers against one running joiner (driven like mysqld): a plaintext client, TLS 1.0 and 1.1
 * clients, a client without certificate, a donor from another CA, a donor outside `allowed-donors`, a donor that
 * expects another joiner name, and a stalled handshake. Each is refused and logged, nothing is written into the
 * joiner's datadir, the donors fail before `flush tables`, and the same joiner then completes a real SST while
 * every listening socket of ours, sampled throughout, is the TLS port.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StandinMysqld } from '../helpers/mysqld-standin.js';
import { createCa, issueCert, type CaFiles, type CertFiles } from '../helpers/pki.js';
import { processesMentioning, treeDigest } from '../helpers/sst-fixture.js';
import {
  UUID,
  exceptLoopbackHelpers,
  expectNothingLeft,
  fillSmallDatadir,
  makePair,
  sampleListeners,
  show,
  signalAll,
  startDonor,
  startJoiner,
  waitUntil,
  type Pair,
  cnfWithSst,
} from './faults-kit.js';

const JOINER = '127.0.0.56';
const PORT = 14561;
let pair: Pair;
let joiner: StandinMysqld;
let payload: string;
let before: Map<string, string>;
let donorCert: CertFiles;
let rogue: CertFiles;
let intruder: CertFiles;
let bothCas: string;

// The joiner's own transient files are allowed while it runs; nothing else may change.
const ours = (rel: string): boolean => rel === 'wsrep_sst.pid' || rel === 'sst_in_progress';

beforeAll(async () => {
  pair = makePair(
    'refusals',
    { joiner: JOINER, donor: '127.0.0.57' },
    { 'connect-timeout': '90', 'idle-timeout': '5', 'handshake-timeout': '1', 'backup-threads': '1' },
    { joiner: { 'allowed-donors': 'donor' } },
  );
  fillSmallDatadir(pair.donor.datadir, 2);
  mkdirSync(join(pair.joiner.datadir, 'keep'));
  writeFileSync(join(pair.joiner.datadir, 'keep', 'me.ibd'), 'joiner data before the SST');
  const home = join(pair.base, 'pki', 'ca');
  const ca: CaFiles = {
    name: 'ca',
    dir: home,
    cert: join(home, 'ca.pem'),
    key: join(home, 'ca.key'),
    chain: [join(home, 'ca.pem')],
    config: join(home, 'openssl.cnf'),
  };
  donorCert = pair.donor.cert;
  intruder = issueCert(ca, 'intruder', { cn: 'intruder', ips: ['127.0.0.58'] });
  const other = createCa(join(pair.base, 'pki'), 'other');
  rogue = issueCert(other, 'rogue', { cn: 'donor', ips: ['127.0.0.57'] });
  bothCas = join(pair.base, 'both-cas.pem');
  writeFileSync(bothCas, readFileSync(ca.cert, 'utf8') + readFileSync(other.cert, 'utf8'));
  before = treeDigest(pair.joiner.datadir, ours);
  ({ joiner, payload } = await startJoiner(pair, PORT));
});

afterAll(async () => {
  signalAll(
    processesMentioning(pair.base).map((p) => p.pid),
    'SIGKILL',
  );
  pair.cleanup();
});

/** Waits for the n-th joiner log line matching `pattern`. */
async function joinerLogs(pattern: RegExp, count = 1): Promise<void> {
  await waitUntil(
    () => (joiner.stderr.match(new RegExp(pattern.source, 'g')) ?? []).length >= count,
    `joiner log ${pattern}`,
    15_000,
  );
}

function countOf(pattern: RegExp): number {
  return (joiner.stderr.match(new RegExp(pattern.source, 'g')) ?? []).length;
}

/** A donor option file: the pair's, with `[sst]` overrides. */
const donorCnf = (name: string, sst: Record<string, string>): string =>
  cnfWithSst(pair, 'donor', `donor-${name}`, sst);

function opensslClient(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('openssl', ['s_client', '-connect', `${JOINER}:${PORT}`, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.stdin.end('@RSYNCD: 32.0\nrsync_tunnel_sst\n');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

function expectDatadirUntouched(): void {
  expect(treeDigest(pair.joiner.datadir, ours)).toEqual(before);
}

describe('hostile peers are refused, logged, and write nothing', () => {
  it('a plaintext client (the rsync daemon greeting without TLS)', async () => {
    const n = countOf(/the client did not speak TLS/);
    const socket: Socket = tcpConnect(PORT, JOINER);
    socket.on('error', () => undefined);
    socket.end('@RSYNCD: 32.0\nrsync_tunnel_sst\n');
    await joinerLogs(/Refused connection from 127\.0\.0\.1:\d+: the client did not speak TLS/, n + 1);
    socket.destroy();
    expectDatadirUntouched();
  });

  it.each([
    ['TLS 1.0', '-tls1'],
    ['TLS 1.1', '-tls1_1'],
  ])('a %s client', async (_name, flag) => {
    const n = countOf(/the client offered only TLS versions below the minimum/);
    const out = await opensslClient([
      flag,
      '-cipher',
      'DEFAULT:@SECLEVEL=0',
      '-cert',
      donorCert.cert,
      '-key',
      donorCert.key,
    ]);
    expect(out).toMatch(/alert protocol version|no protocols available|wrong version|unsupported protocol/i);
    await joinerLogs(
      /Refused connection from 127\.0\.0\.1:\d+: the client offered only TLS versions below the minimum/,
      n + 1,
    );
    expectDatadirUntouched();
  });

  it('a client without a certificate that sends the rsync greeting anyway', async () => {
    const socket = tlsConnect({
      host: JOINER,
      port: PORT,
      ca: readFileSync(pair.caCert),
      rejectUnauthorized: false,
    });
    socket.on('error', () => undefined);
    socket.on('secureConnect', () => socket.write('@RSYNCD: 32.0\nrsync_tunnel_sst\n'));
    await joinerLogs(/Refused connection from 127\.0\.0\.1:\d+: The donor presented no certificate/);
    socket.destroy();
    expectDatadirUntouched();
  });

  it('a donor whose certificate comes from another CA: refused by the joiner, the donor fails before flush tables', async () => {
    const cnf = donorCnf('rogue', { tcert: rogue.cert, tkey: rogue.key, tca: bothCas });
    const r = await startDonor(pair, payload, { defaultsFile: cnf }).wait(30_000);
    expect(r.exitCode, show(r)).toBe(22);
    expect(r.lines).toEqual([]);
    expect(r.stderr).toContain(
      'closed the connection without a byte after the TLS handshake: it most likely refused this donor',
    );
    await joinerLogs(/Refused connection from 127\.0\.0\.1:\d+: .*(certificate|chain|issuer)/i);
    expectDatadirUntouched();
  });

  it('a donor outside [sst] allowed-donors (same CA, other name)', async () => {
    const cnf = donorCnf('intruder', { tcert: intruder.cert, tkey: intruder.key });
    const r = await startDonor(pair, payload, { defaultsFile: cnf }).wait(30_000);
    expect(r.exitCode, show(r)).toBe(22);
    expect(r.lines).toEqual([]);
    expect(r.stderr).toContain('it most likely refused this donor');
    await joinerLogs(
      /matches none of the allowed donors "donor"; it presented subject "O=sst-tunnel tests, CN=intruder"/,
    );
    expectDatadirUntouched();
  });

  it('a joiner that does not carry the name the donor expects: the donor refuses it', async () => {
    const cnf = donorCnf('wrong-name', { sockopt: 'commonname=wrong.test' });
    const r = await startDonor(pair, payload, { defaultsFile: cnf }).wait(30_000);
    expect(r.exitCode, show(r)).toBe(22);
    expect(r.lines).toEqual([]);
    expect(r.stderr).toContain('The certificate of the joiner does not match "wrong.test"');
    expectDatadirUntouched();
  });

  it('a stalled TLS handshake is dropped after [sst] handshake-timeout', async () => {
    const socket = tcpConnect(PORT, JOINER);
    socket.on('error', () => undefined);
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.resume();
    await joinerLogs(/Refused connection from 127\.0\.0\.1:\d+: the TLS handshake did not finish in time/);
    await waitUntil(() => closed, 'the joiner to drop the silent connection', 5000);
    socket.destroy();
    expectDatadirUntouched();
  });

  it('the same joiner still serves a real SST, and no process of ours listens anywhere but the TLS port and the donor relay on loopback', async () => {
    // Sampled often: with the event-driven waits this SST takes well under a second.
    const sampler = sampleListeners(pair.base, () => [joiner.pid as number], 25);
    const donor = startDonor(pair, payload);
    const [jr, dr] = await Promise.all([joiner.wait(60_000), donor.wait(60_000)]);
    const { samples, seen } = sampler.stop();
    expect(dr.exitCode, show(dr)).toBe(0);
    expect(jr.exitCode, show(jr)).toBe(0);
    expect(jr.lines).toEqual([`ready ${payload}`, `${UUID}:42 0`]);
    expect(samples).toBeGreaterThan(10);
    expect(exceptLoopbackHelpers(seen).map((l) => `${l.host}:${l.port}`)).toEqual([`${JOINER}:${PORT}`]);
    // The relay was seen, and only on loopback.
    expect(
      seen.filter((l) => l.host === '127.0.0.1' && l.commands.every((c) => /--role donor/.test(c))),
    ).toHaveLength(1);
    // Every refusal was logged once, with its reason, on the joiner.
    expect(jr.stderr).not.toMatch(/Debugger listening/);
    await expectNothingLeft(pair, [{ host: JOINER, port: PORT }]);
  });
});
