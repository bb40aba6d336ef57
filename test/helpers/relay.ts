/**
 * A joiner listener (`sst-tunnel listen`, a child process) and an in-process donor relay in front of it, as an
 * SST has them: what the relay and worker suites start in every test. The caller closes the relay (close()) and
 * ends the listener (stop(), which returns its log).
 */
import type { CertFiles, CaFiles } from './pki.js';
import { TEST_POLICY } from './policy.js';
import { startListenCli, type Proc } from './procs.js';
import { startDonorRelay, type DonorRelay, type RelayOptions } from '../../src/tunnel/relay.js';

/** What the pair needs: the CA, both certificates, the module's directory and extra `listen` arguments. */
export interface RelayPairOptions {
  ca: CaFiles;
  joiner: CertFiles;
  donor: CertFiles;
  dst: string;
  listenArgs?: string[];
  /** Extra environment of the listener (TMPDIR for a test that kills it and would leave its temp files). */
  listenEnv?: NodeJS.ProcessEnv;
  relay?: RelayOptions;
}

/** Starts the listener serving module `datadir` = `dst`, then the relay towards it. */
export async function startRelayPair(
  o: RelayPairOptions,
): Promise<{ proc: Proc; port: number; relay: DonorRelay; stop: () => Promise<string> }> {
  const { proc, port } = await startListenCli(
    [
      ...['--ca', o.ca.cert, '--cert', o.joiner.cert, '--key', o.joiner.key, '--module', `datadir=${o.dst}`],
      ...(o.listenArgs ?? []),
    ],
    o.listenEnv,
  );
  const relay = await startDonorRelay(
    {
      host: '127.0.0.1',
      port,
      paths: { tca: o.ca.cert, tcert: o.donor.cert, tkey: o.donor.key },
      policy: TEST_POLICY,
      idleTimeoutMs: 10_000,
    },
    o.relay ?? {},
  );
  if (relay === undefined) throw new Error('the relay did not start');
  return {
    proc,
    port,
    relay,
    stop: async () => {
      proc.child.kill('SIGTERM');
      await proc.exited;
      return proc.stderr();
    },
  };
}
