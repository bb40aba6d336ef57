// The stand-in mysqld lives in src/demo (the demo uses it too); tests import it from here.
import { StandinMysqld, joinerCommand } from '../../src/demo/contractDriver.js';

export * from '../../src/demo/contractDriver.js';

/**
 * A joiner for `node` under the in-process stand-in mysqld (its --parent this test process), with the contract's
 * arguments and nothing else; `payload()` is its ready payload once printed.
 */
export function startStandinJoiner(node: { address: string; datadir: string; cnf: string }): {
  joiner: StandinMysqld;
  payload: () => string;
} {
  let payload = '';
  const joiner = new StandinMysqld(
    joinerCommand({
      address: node.address,
      datadir: node.datadir,
      defaultsFile: node.cnf,
      parent: process.pid,
    }),
    { datadir: node.datadir, onReady: (p) => (payload = p) },
  );
  return { joiner, payload: () => payload };
}
