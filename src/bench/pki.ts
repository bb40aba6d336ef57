/** Throwaway certificates for the benchmark: one CA, a donor and a joiner certificate for 127.0.0.1, made by `certs`. */
import { mkdirSync } from 'node:fs';
import { createCa, createNodeCert } from '../certs/index.js';

/** Paths of the benchmark's key material. */
export interface BenchPki {
  ca: string;
  donor: { cert: string; key: string };
  joiner: { cert: string; key: string };
}

/** Writes a CA and two node certificates (ECDSA P-256, IP SANs) under `dir`. */
export async function makePki(dir: string, ips: string[] = ['127.0.0.1']): Promise<BenchPki> {
  mkdirSync(dir, { recursive: true });
  await createCa({ dir });
  const donor = await createNodeCert({ dir, name: 'donor', ips });
  const joiner = await createNodeCert({ dir, name: 'joiner', ips });
  return {
    ca: donor.caPath,
    donor: { cert: donor.certPath, key: donor.keyPath },
    joiner: { cert: joiner.certPath, key: joiner.keyPath },
  };
}
