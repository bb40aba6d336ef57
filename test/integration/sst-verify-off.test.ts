/**
 * `[sst] sockopt = ",verify=0"` on both nodes (the escape hatch of operators whose certificates do not match yet):
 * the SST still runs over TLS, both sides say once, loudly, that the peer is not authenticated, and the data
 * arrives whole.
 */
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { treeDigest } from '../helpers/sst-fixture.js';
import {
  UUID,
  expectNothingLeft,
  fillSmallDatadir,
  makePair,
  show,
  startDonor,
  startJoiner,
  killLeftovers,
} from './faults-kit.js';

const JOINER = '127.0.0.43';
const pair = makePair(
  'verify-off',
  { joiner: JOINER, donor: '127.0.0.49' },
  { sockopt: ',verify=0', 'backup-threads': '2' },
);

afterEach(() => killLeftovers(pair));
afterAll(() => pair.cleanup());

it('runs an SST with verify=0 on both nodes: TLS still, no peer check, one warning per side', async () => {
  fillSmallDatadir(pair.donor.datadir, 4);
  const port = 14643;
  const { joiner, payload } = await startJoiner(pair, port);
  const donor = startDonor(pair, payload);
  const [jr, dr] = await Promise.all([joiner.wait(60_000), donor.wait(60_000)]);
  expect(dr.exitCode, show(dr)).toBe(0);
  expect(jr.exitCode, show(jr)).toBe(0);
  expect(jr.lines).toEqual([`ready ${payload}`, `${UUID}:42 0`]);
  for (const db of ['db0', 'db1', 'db2', 'db3'])
    expect(treeDigest(join(pair.joiner.datadir, db))).toEqual(treeDigest(join(pair.donor.datadir, db)));
  expect(jr.stderr).toContain(
    `Listening for the donor on ${JOINER}:${port} (TLS, no client certificate asked (verify=0)`,
  );
  expect(jr.stderr).toContain('Peer verification is off (sockopt verify=0)');
  // The donor's first connection lists the modules; rsync's daemon exits 255 after that, which is not a failure.
  expect(jr.stderr).toMatch(
    /\(NOT verified\) closed: TLSv1\.3 \S+, in \d+ B, out \d+ B, [\d.]+ s, module listing/,
  );
  expect(jr.stderr).not.toContain('rsync exit 255');
  // Several connections, one warning: the relay sets up TLS once per SST.
  const warnings = dr.stderr.match(/Peer verification is off \(sockopt verify=0\)/g) ?? [];
  expect(warnings, show(dr)).toHaveLength(1);
  expect(dr.stderr).toMatch(
    /SST donor finished: .* over ([2-9]|\d{2,}) TLS connection\(s\), TLSv1\.3 \S+, peer NOT verified/,
  );
  expect(jr.stderr).toMatch(/SST joiner finished: .*, peer NOT verified \(sockopt verify=0\)/);
  await expectNothingLeft(pair, [{ host: JOINER, port }]);
});
