/**
 * `sst-tunnel doctor`: every check in order, with the I/O they need (option files, stat, rsync, a brief bind of
 * the SST port, an optional handshake with a peer). Returns a report; render.ts prints it.
 */
import { readCertificateFile, type CertificateInfo } from '../certs/index.js';
import { describeError } from '../errors.js';
import { chooseBindHost } from '../sst/bindHost.js';
import { parseSstAddress, DEFAULT_SST_PORT } from '../sst/address.js';
import { rsyncVersion } from '../sst/prepare.js';
import type { AdvertisedAddress } from './advertised.js';
import { compressCheck, datadirCheck, portCheck, rsyncCheck, type RsyncFacts } from './checks/system.js';
import { dirFacts } from './fileFacts.js';
import { readNode, type NodeSources, type NodeState } from './node.js';
import { probePeer } from './peer.js';
import { probePort } from './portProbe.js';
import { doctorExitCode } from './exitCode.js';
import { fail, warn, worstStatus, type CheckResult, type CheckStatus } from '../preflight/result.js';

/** Options of `doctor` (the CLI's, plus NodeSources' test hooks). */
export interface DoctorOptions extends NodeSources {
  datadir?: string;
  /** `HOST[:PORT]` of another node's listener. */
  peer?: string;
  /** Skip binding the SST port (tests that run beside a listener). */
  skipPort?: boolean;
}

/** The whole result: the checklist, the verdict, and what was read, for --json. */
export interface DoctorReport {
  status: CheckStatus;
  exitCode: 0 | 1 | 2;
  user: string;
  advertised?: AdvertisedAddress;
  checks: CheckResult[];
  certificates: { file: string; certificates: CertificateInfo[] }[];
}

function rsyncFacts(binary: string): RsyncFacts {
  try {
    return rsyncVersion(binary);
  } catch (error) {
    return { error: describeError(error) };
  }
}

async function portChecks(advertised: AdvertisedAddress): Promise<CheckResult[]> {
  const { bind, warning } = await chooseBindHost(advertised.host);
  const results = warning === undefined ? [] : [warn('address.local', warning)];
  results.push(portCheck(await probePort(bind, advertised.port)));
  return results;
}

async function peerChecks(state: NodeState, peer: string): Promise<CheckResult[]> {
  let host: string;
  let port: number;
  try {
    const parsed = parseSstAddress(peer);
    host = parsed.host;
    port = parsed.explicitPort ? parsed.port : DEFAULT_SST_PORT;
  } catch (error) {
    return [fail('peer.connect', describeError(error))];
  }
  if (state.creds === undefined || state.settings === undefined) {
    return [
      fail(
        'peer.connect',
        `Cannot test ${peer}: this node's certificate and key could not be loaded (see above)`,
      ),
    ];
  }
  return probePeer({ host, port, creds: state.creds, settings: state.settings });
}

async function describeFiles(state: NodeState): Promise<DoctorReport['certificates']> {
  const files = [state.settings?.tcert, state.settings?.tca].filter((f): f is string => f !== undefined);
  const out: DoctorReport['certificates'] = [];
  for (const file of files) {
    try {
      out.push({ file, certificates: await readCertificateFile(file) });
    } catch {
      // Already reported by the pem checks (or tca is a directory).
    }
  }
  return out;
}

/** Runs every check. Never throws for a problem of the node: each problem is a failed check. */
export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const state = readNode(opts);
  const checks = [...state.checks];
  if (state.settings !== undefined) {
    const rsync = rsyncFacts(state.settings.rsync);
    checks.push(rsyncCheck(rsync));
    const compress = compressCheck(state.settings.compress, state.settings.rsync, rsync);
    if (compress !== undefined) checks.push(compress);
    const datadir = opts.datadir ?? state.mysqld?.get('datadir') ?? '/var/lib/mysql';
    checks.push(datadirCheck(dirFacts(datadir, state.names), state.user));
  }
  if (state.advertised !== undefined && opts.skipPort !== true)
    checks.push(...(await portChecks(state.advertised)));
  if (opts.peer !== undefined) checks.push(...(await peerChecks(state, opts.peer)));
  return {
    status: worstStatus(checks),
    exitCode: doctorExitCode(checks),
    user: state.userName,
    ...(state.advertised !== undefined && { advertised: state.advertised }),
    checks,
    certificates: await describeFiles(state),
  };
}
