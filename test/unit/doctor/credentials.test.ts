// credentialChecks: one good node, then one broken property per case, each with its exact message (habit 9).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa } from '../../../src/certs/index.js';
import { credentialChecks } from '../../../src/preflight/credentials.js';
import type { CheckResult } from '../../../src/preflight/result.js';
import { loadMaterial } from '../../../src/doctor/material.js';
import { bundle } from '../../helpers/pki.js';
import type { CredentialPaths, Credentials } from '../../../src/tls/credentials.js';
import { goodNode, opensslCert, type GoodNode } from './setup.js';

let root: string;
let good: GoodNode;
let other: GoodNode;
let paths: CredentialPaths;
const DAY = 86_400_000;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'doctor-creds-'));
  good = await goodNode(join(root, 'good'));
  other = await goodNode(join(root, 'other'), 'node2', ['10.0.0.3'], 'Other CA');
  paths = { tca: good.ca.certPath, tcert: good.node.certPath, tkey: good.node.keyPath };
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function load(p: CredentialPaths): Credentials {
  const { creds, results } = loadMaterial(p);
  if (creds === undefined) throw new Error(`not loaded: ${JSON.stringify(results)}`);
  return creds;
}

function byId(results: CheckResult[], id: string): CheckResult[] {
  return results.filter((r) => r.id === id);
}

function only(results: CheckResult[], id: string): CheckResult {
  const found = byId(results, id);
  expect(found).toHaveLength(1);
  return found[0] as CheckResult;
}

describe('credentialChecks()', () => {
  it('passes every check for a node made by sst-tunnel certs', () => {
    const results = credentialChecks(load(paths), { advertisedHost: '10.0.0.2' });
    expect(results.filter((r) => r.status !== 'ok')).toEqual([]);
    expect(results.map((r) => r.id)).toEqual([
      'cert.key-match',
      'cert.validity',
      'cert.chain',
      'cert.ca-cn',
      'cert.eku',
      'cert.identity',
      'ca.validity',
    ]);
    expect(only(results, 'cert.identity').message).toBe(
      `Certificate "${paths.tcert}" covers "10.0.0.2" by SAN IP "10.0.0.2"`,
    );
    expect(only(results, 'cert.chain').message).toBe(
      `Certificate "${paths.tcert}" verifies against tca "${paths.tca}" (issuer "CN=Doctor CA")`,
    );
    expect(only(results, 'cert.eku').message).toBe(
      `Certificate "${paths.tcert}" allows TLS server and client use (extended key usage serverAuth, clientAuth)`,
    );
  });

  it('fails a key that belongs to another certificate', () => {
    const results = credentialChecks(load({ ...paths, tkey: other.node.keyPath }));
    expect(only(results, 'cert.key-match')).toEqual({
      id: 'cert.key-match',
      status: 'fail',
      message: `Cannot use certificate "${paths.tcert}" with key "${other.node.keyPath}": the key does not match the certificate`,
      hint: 'use the key made together with this certificate, or make a new pair with "sst-tunnel certs node"',
    });
  });

  it('fails a certificate that the configured tca did not issue', () => {
    const results = credentialChecks(load({ ...paths, tca: other.ca.certPath }));
    expect(only(results, 'cert.chain')).toEqual({
      id: 'cert.chain',
      status: 'fail',
      message: `Cannot verify certificate "${paths.tcert}" against tca "${other.ca.certPath}": certificate "CN=node1" was not issued by any certificate in "${other.ca.certPath}" or in the chain of "${paths.tcert}"`,
      hint: 'set [sst] tca to the CA that issued it (issuer "CN=Doctor CA"), or add that CA to the bundle',
    });
  });

  it('fails an expired certificate and names the renewal command', () => {
    const creds = load(paths);
    const end = new Date(creds.leaf.validTo);
    const result = only(credentialChecks(creds, { now: new Date(end.getTime() + 3 * DAY) }), 'cert.validity');
    expect(result).toEqual({
      id: 'cert.validity',
      status: 'fail',
      message: `Certificate "${paths.tcert}" expired on ${end.toISOString()} (3 days ago)`,
      hint: `reissue it: sst-tunnel certs node --dir ${good.dir} --name node1 --ip 10.0.0.2 --force`,
    });
  });

  it('warns when the certificate expires within the warning window', () => {
    const creds = load(paths);
    const end = new Date(creds.leaf.validTo);
    const now = new Date(end.getTime() - 12 * DAY - 1000);
    const result = only(credentialChecks(creds, { now }), 'cert.validity');
    expect(result).toEqual({
      id: 'cert.validity',
      status: 'warn',
      message: `Certificate "${paths.tcert}" expires in 12 days, on ${end.toISOString()} (warning window 30 days)`,
      hint: `renew it before then: sst-tunnel certs node --dir ${good.dir} --name node1 --ip 10.0.0.2 --force`,
    });
    expect(only(credentialChecks(creds, { now, expiryWarningDays: 10 }), 'cert.validity').status).toBe('ok');
  });

  it("fails a certificate whose CN equals its CA's CN", () => {
    const cert = opensslCert(good.dir, 'same-cn', good.ca, {
      cn: 'Doctor CA',
      sans: ['IP:10.0.0.2'],
      eku: 'serverAuth,clientAuth',
    });
    const result = only(credentialChecks(load({ ...paths, ...tcertOf(cert) })), 'cert.ca-cn');
    expect(result).toEqual({
      id: 'cert.ca-cn',
      status: 'fail',
      message: `Certificate "${cert.certPath}" has the same common name "Doctor CA" as its CA "CN=Doctor CA"`,
      hint: 'give the CA and each node distinct names (OpenSSL takes such a certificate for self-signed); reissue it with "sst-tunnel certs node"',
    });
  });

  it('fails a certificate whose extended key usage lacks clientAuth', () => {
    const cert = opensslCert(good.dir, 'server-only', good.ca, {
      cn: 'node1',
      sans: ['IP:10.0.0.2'],
      eku: 'serverAuth',
    });
    const result = only(credentialChecks(load({ ...paths, ...tcertOf(cert) })), 'cert.eku');
    expect(result).toEqual({
      id: 'cert.eku',
      status: 'fail',
      message: `Certificate "${cert.certPath}" does not allow clientAuth: its extended key usage is serverAuth`,
      hint: 'every node is a TLS server (joiner) and a TLS client (donor): reissue it with extendedKeyUsage = serverAuth, clientAuth ("sst-tunnel certs node" does)',
    });
  });

  it('accepts a certificate without any extended key usage', () => {
    const cert = opensslCert(good.dir, 'no-eku', good.ca, { cn: 'node1', sans: ['IP:10.0.0.2'] });
    const result = only(credentialChecks(load({ ...paths, ...tcertOf(cert) })), 'cert.eku');
    expect(result.status).toBe('ok');
    expect(result.message).toBe(
      `Certificate "${cert.certPath}" has no extended key usage: it may act as TLS server and client`,
    );
  });

  it('fails when the advertised IP is not covered and gives the command that fixes it', () => {
    const result = only(credentialChecks(load(paths), { advertisedHost: '10.9.9.9' }), 'cert.identity');
    expect(result).toEqual({
      id: 'cert.identity',
      status: 'fail',
      message: `Certificate "${paths.tcert}" does not cover "10.9.9.9", the address donors will check: it holds CN "node1", SAN DNS "node1", SAN IP "10.0.0.2"`,
      hint: `make a certificate with SAN IP "10.9.9.9": sst-tunnel certs node --dir ${good.dir} --name node1 --ip 10.0.0.2 --ip 10.9.9.9 --force; or advertise a name the certificate holds (wsrep_sst_receive_address)`,
    });
  });

  it('suggests --dns for an advertised name that is not covered', () => {
    const result = only(
      credentialChecks(load(paths), { advertisedHost: 'db1.example.com' }),
      'cert.identity',
    );
    expect(result.hint).toBe(
      `make a certificate with SAN DNS "db1.example.com": sst-tunnel certs node --dir ${good.dir} --name node1 --dns db1.example.com --ip 10.0.0.2 --force; or advertise a name the certificate holds (wsrep_sst_receive_address)`,
    );
  });

  it('accepts an address covered by the CN only, and says so', () => {
    const cert = opensslCert(good.dir, 'cn-only', good.ca, { cn: '10.0.0.5', eku: 'serverAuth,clientAuth' });
    const creds = load({ ...paths, ...tcertOf(cert) });
    expect(only(credentialChecks(creds, { advertisedHost: '10.0.0.5' }), 'cert.identity')).toEqual({
      id: 'cert.identity',
      status: 'ok',
      message: `Certificate "${cert.certPath}" covers "10.0.0.5" by its CN "10.0.0.5" only (no SAN matches; accepted as socat does, refused by peers with strict-identity)`,
    });
  });

  it('warns about an expired CA elsewhere in the bundle, and fails when the node depends on it', async () => {
    const old = await createCa({
      dir: join(root, 'old'),
      cn: 'Old CA',
      days: 1,
      now: new Date('2020-01-01T00:00:00Z'),
    });
    const tca = bundle(join(root, 'bundle.pem'), [good.ca.certPath, old.certPath]);
    const results = byId(credentialChecks(load({ ...paths, tca })), 'ca.validity');
    expect(results.map((r) => r.status)).toEqual(['ok', 'warn']);
    expect(results[1]).toEqual({
      id: 'ca.validity',
      status: 'warn',
      message: `CA "CN=Old CA" in tca "${tca}" expired on 2020-01-02T00:00:00.000Z`,
      hint: 'remove it from the bundle once no node uses a certificate it issued',
    });
    const creds = load(paths);
    const caEnd = new Date(creds.caCerts[0]?.validTo ?? '');
    const late = byId(credentialChecks(creds, { now: new Date(caEnd.getTime() + DAY) }), 'ca.validity');
    expect(late[0]?.status).toBe('fail');
    expect(late[0]?.message).toBe(
      `CA "CN=Doctor CA" in tca "${paths.tca}" expired on ${caEnd.toISOString()} and the node certificate depends on it`,
    );
  });

  it('warns when tca is not set', () => {
    const result = only(credentialChecks(load({ tcert: paths.tcert, tkey: paths.tkey ?? '' })), 'cert.chain');
    expect(result.status).toBe('warn');
    expect(result.message).toBe(
      '[sst] tca is not set: peers are checked against the built-in public CAs, which never issue cluster certificates',
    );
  });
});

function tcertOf(cert: { certPath: string; keyPath: string }): { tcert: string; tkey: string } {
  return { tcert: cert.certPath, tkey: cert.keyPath };
}
