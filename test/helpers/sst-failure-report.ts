// Setup file (vitest.config.ts): when a test fails, print what every stand-in SST script it started said (each
// one's WSREP_SST lines and any other stderr: a Node crash trace, a shim error), so the reason of a failed SST is
// in the failure output without a test asking for it. Real clusters report through withCluster (galera-fixture.ts).
import { beforeEach } from 'vitest';
import { StandinMysqld } from '../../src/demo/contractDriver.js';
import { renderSstSides } from '../../src/demo/sstOutput.js';

beforeEach((context) => {
  StandinMysqld.started.clear();
  context.onTestFailed(() => {
    const sides = [...StandinMysqld.started].map((standin) => ({
      label: `${/--role\s+'?(joiner|donor)/.exec(standin.command)?.[1] ?? 'script'} (pid ${standin.pid ?? '?'})`,
      where: `stderr captured by the stand-in mysqld; command: ${standin.command}`,
      text: standin.stderr,
    }));
    if (sides.length > 0) console.error(`SST scripts of this failed test:\n${renderSstSides(sides)}`);
  });
});
