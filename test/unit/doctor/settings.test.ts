// settingsChecks, material loading, port facts, rendering: exact messages for each case.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptionSet } from '../../../src/config/optionSet.js';
import { settingsFrom } from '../../../src/config/settings.js';
import { settingsChecks } from '../../../src/doctor/checks/settings.js';
import { compressCheck, portCheck } from '../../../src/doctor/checks/system.js';
import { loadMaterial } from '../../../src/doctor/material.js';
import { renderText } from '../../../src/doctor/render.js';
import { doctorExitCode } from '../../../src/doctor/exitCode.js';
import { encryptKey } from '../../helpers/pki.js';
import { goodNode, type GoodNode } from './setup.js';

function sst(values: Record<string, string>) {
  const set = new OptionSet(
    Object.entries(values).map(([name, value], i) => ({
      name,
      rawName: name,
      value,
      file: '/etc/my.cnf',
      line: i + 1,
      group: 'sst',
    })),
  );
  return settingsFrom(set, new OptionSet([]), {}, 2);
}

describe('settingsChecks()', () => {
  it('flags verify=0 and ignored sockopt tokens', () => {
    const results = settingsChecks(
      sst({ tcert: '/c.pem', sockopt: ',verify=0,dhparam=/d.pem,cipher=ECDHE-ECDSA-AES128-GCM-SHA256' }),
      [],
    );
    expect(results).toEqual([
      {
        id: 'config.sockopt',
        status: 'ok',
        message:
          'sockopt ",verify=0,dhparam=/d.pem,cipher=ECDHE-ECDSA-AES128-GCM-SHA256" is read with socat\'s rules',
      },
      {
        id: 'config.sockopt',
        status: 'warn',
        message:
          'sockopt "dhparam=/d.pem" is ignored: only ECDHE key exchange is used, so no DH parameters are needed',
        hint: 'remove it from [sst] sockopt',
      },
      {
        id: 'config.verify',
        status: 'warn',
        message:
          'sockopt "verify=0" turns off peer verification: as joiner this node accepts any donor, as donor any joiner',
        hint: 'remove "verify=0" from [sst] sockopt once "sst-tunnel doctor --peer" passes between the nodes',
      },
    ]);
  });

  it('fails when tcert is not set', () => {
    expect(settingsChecks(sst({}), ['/etc/my.cnf'])[0]).toMatchObject({
      id: 'config.tcert',
      status: 'fail',
      message: 'Cannot start an encrypted SST: [sst] tcert is not set in /etc/my.cnf',
    });
  });
});

describe('loadMaterial()', () => {
  let root: string;
  let good: GoodNode;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'doctor-material-'));
    good = await goodNode(root);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reports what each file holds', () => {
    const { results, creds } = loadMaterial({
      tcert: good.node.certPath,
      tkey: good.node.keyPath,
      tca: good.ca.certPath,
    });
    expect(creds).toBeDefined();
    expect(results.map((r) => r.message)).toEqual([
      `tcert "${good.node.certPath}" holds 1 certificate`,
      `tkey "${good.node.keyPath}" holds a private key`,
      `tca "${good.ca.certPath}" holds 1 certificate`,
    ]);
  });

  it('fails a file without PEM', () => {
    const junk = join(root, 'junk.pem');
    writeFileSync(junk, 'not a certificate\n');
    expect(loadMaterial({ tcert: junk }).results).toEqual([
      { id: 'pem.tcert', status: 'fail', message: `Cannot load certificate "${junk}": no PEM block found` },
    ]);
  });

  it('fails an encrypted key', () => {
    const encrypted = encryptKey(good.node.keyPath, join(root, 'enc.pem'));
    expect(loadMaterial({ tcert: good.node.certPath, tkey: encrypted }).results[1]).toEqual({
      id: 'pem.tkey',
      status: 'fail',
      message: `Cannot load key "${encrypted}": the key is encrypted and an SST cannot ask for a passphrase`,
      hint: `decrypt it: openssl pkey -in ${encrypted} -out <new file>`,
    });
  });

  it('fails a certificate file without a key when tkey is not set', () => {
    expect(loadMaterial({ tcert: good.node.certPath }).results[1]).toEqual({
      id: 'pem.tkey',
      status: 'fail',
      message: `Cannot load key: "${good.node.certPath}" holds no private key and [sst] tkey is not set`,
      hint: 'set [sst] tkey to the key file',
    });
  });
});

describe('port facts', () => {
  it('names the holder of a busy port', () => {
    const result = portCheck({
      host: '10.0.0.2',
      port: 4444,
      free: false,
      code: 'EADDRINUSE',
      message: '',
      holders: [{ pid: 77, command: 'socat openssl-listen:4444' }],
    });
    expect(result).toEqual({
      id: 'port',
      status: 'fail',
      message: 'Port 4444 on 10.0.0.2 is in use by pid 77 (socat openssl-listen:4444)',
      hint: 'stop that program (a leftover SST?), or advertise another port in wsrep_sst_receive_address',
    });
  });
});

describe('compress facts', () => {
  const facts = {
    version: 'rsync  version 3.5.0  protocol version 32',
    text: 'rsync  version 3.5.0  protocol version 32\nCompress list:\n    lz4 zlib none\n',
  };
  it('says nothing when compress is off, and names what rsync offers when it lacks the algorithm', () => {
    expect(compressCheck(undefined, 'rsync', facts)).toBeUndefined();
    expect(compressCheck('lz4', 'rsync', facts)).toEqual({
      id: 'compress',
      status: 'ok',
      message: 'rsync compresses the data passes with lz4',
    });
    expect(compressCheck('zstd', '/usr/bin/rsync', facts)).toEqual({
      id: 'compress',
      status: 'fail',
      message:
        'Cannot use [sst] compress = "zstd": /usr/bin/rsync (rsync  version 3.5.0  protocol version 32) offers only lz4, zlib',
      hint: 'set [sst] compress = on (rsync then negotiates), or install an rsync that offers it',
    });
  });
});

describe('renderText() and doctorExitCode()', () => {
  it('prints sections, marks, fix lines and a summary', () => {
    const checks = [
      { id: 'cert.validity', status: 'ok' as const, message: 'valid' },
      { id: 'cert.eku', status: 'fail' as const, message: 'bad EKU', hint: 'reissue' },
      { id: 'port', status: 'warn' as const, message: 'hmm' },
    ];
    expect(renderText(checks)).toBe(
      'Node certificate\n  ✓ valid\n  ✗ bad EKU\n      fix: reissue\n\nHost\n  ! hmm\n\n1 ok, 1 warning, 1 failure\n',
    );
    expect(doctorExitCode(checks)).toBe(2);
    expect(doctorExitCode(checks.slice(0, 1))).toBe(0);
    expect(doctorExitCode([checks[0], checks[2]] as typeof checks)).toBe(1);
  });
});
