// A real node:tls mutual-auth handshake with certificates from `createCa`/`createNodeCert`: what the SST roles do.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, createNodeCert } from '../../src/certs/index.js';

interface Creds {
  cert: string;
  key: string;
  ca: string;
}

interface Outcome {
  reply: string;
  clientError?: string;
  serverError?: string;
  clientCnSeenByServer?: string;
}

async function creds(
  dir: string,
  name: string,
  extra: Parameters<typeof createNodeCert>[0] | object = {},
): Promise<Creds> {
  const node = await createNodeCert({ dir, name, ...extra });
  return {
    cert: readFileSync(node.certPath, 'utf8'),
    key: readFileSync(node.keyPath, 'utf8'),
    ca: readFileSync(node.caPath, 'utf8'),
  };
}

/** Joiner-like server (client cert required and verified), donor-like client (chain + name of the server checked). */
async function exchange(server: Creds, client: Creds & { servername?: string }): Promise<Outcome> {
  const outcome: Outcome = { reply: '' };
  const srv = tls.createServer(
    { ...server, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
    (socket) => {
      const cn = socket.getPeerCertificate().subject?.CN;
      if (cn !== undefined) outcome.clientCnSeenByServer = String(cn);
      socket.on('error', () => {});
      socket.once('data', (data) => socket.end(`echo:${String(data)}`));
    },
  );
  srv.on('tlsClientError', (error) => {
    outcome.serverError = error.message;
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  try {
    await new Promise<void>((resolve) => {
      const { servername, ...material } = client;
      const socket = tls.connect(
        { host: '127.0.0.1', port, ...material, ...(servername !== undefined ? { servername } : {}) },
        () => socket.write('hello'),
      );
      const timer = setTimeout(() => socket.destroy(new Error('test timeout')), 5000);
      socket.setEncoding('utf8');
      socket.on('data', (data: string) => (outcome.reply += data));
      socket.on('error', (error: NodeJS.ErrnoException) => {
        outcome.clientError = error.code ?? error.message;
      });
      socket.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  } finally {
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
  return outcome;
}

let root: string;
let clusterDir: string;
let otherDir: string;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'certs-tls-'));
  clusterDir = join(root, 'cluster');
  otherDir = join(root, 'other');
  await createCa({ dir: clusterDir });
  await createCa({ dir: otherDir });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('node:tls with certs from one cluster CA', () => {
  it.each(['ecdsa', 'rsa2048', 'rsa3072'] as const)(
    'mutual auth succeeds with %s keys; the donor checks the joiner IP SAN',
    async (keyType) => {
      const joiner = await creds(clusterDir, `joiner-${keyType}`, { ips: ['127.0.0.1'], keyType });
      const donor = await creds(clusterDir, `donor-${keyType}`, { keyType });
      const outcome = await exchange(joiner, donor);
      expect(outcome).toEqual({ reply: 'echo:hello', clientCnSeenByServer: `donor-${keyType}` });
    },
  );

  it('the donor checks a DNS SAN when it dials a name', async () => {
    const joiner = await creds(clusterDir, 'db1.galera.lan');
    const donor = await creds(clusterDir, 'db2.galera.lan');
    expect(await exchange(joiner, { ...donor, servername: 'db1.galera.lan' })).toMatchObject({
      reply: 'echo:hello',
    });
    // Dialled by an address the certificate does not name: refused, which is the point of SANs.
    expect(await exchange(joiner, donor)).toMatchObject({
      reply: '',
      clientError: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });

  it('the joiner refuses a donor whose certificate comes from another CA', async () => {
    const joiner = await creds(clusterDir, 'joiner-strict', { ips: ['127.0.0.1'] });
    const stranger = await creds(otherDir, 'stranger');
    const outcome = await exchange(joiner, { ...stranger, ca: joiner.ca });
    expect(outcome.reply).toBe('');
    expect(outcome.clientCnSeenByServer).toBeUndefined();
    // Under TLS 1.3 the client finishes first and the server then drops it; no secure connection ever reached the
    // server's handler, which is what matters.
    expect(outcome.serverError).toBeDefined();
  });

  it('the donor refuses a joiner whose certificate comes from another CA', async () => {
    const impostor = await creds(otherDir, 'impostor', { ips: ['127.0.0.1'] });
    const donor = await creds(clusterDir, 'donor-strict');
    const outcome = await exchange({ ...impostor, ca: donor.ca }, donor);
    expect(outcome.reply).toBe('');
    expect(outcome.clientError).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('an expired joiner certificate is refused by the donor', async () => {
    const expired = await creds(clusterDir, 'expired', {
      ips: ['127.0.0.1'],
      notBefore: new Date(Date.now() - 10 * 86400_000),
      notAfter: new Date(Date.now() - 86400_000),
    });
    const donor = await creds(clusterDir, 'donor-expired');
    expect(await exchange(expired, donor)).toMatchObject({ reply: '', clientError: 'CERT_HAS_EXPIRED' });
  });
});
