/** `sst-tunnel doctor --listen`: read the node, then answer one handshake with its credentials. */
import { chooseBindHost } from '../sst/bindHost.js';
import { DEFAULT_SST_PORT } from '../sst/address.js';
import { listenOnce } from './listen.js';
import { readNode, type NodeSources } from './node.js';
import { doctorExitCode } from './exitCode.js';
import { fail, worstStatus, type CheckResult, type CheckStatus } from '../preflight/result.js';

/** Options of `doctor --listen`. */
export interface ListenOptions extends NodeSources {
  /** Default: the advertised port (4444 when none). 0 = any free port. */
  port?: number;
  /** Default: where the joiner would bind for the advertised address. */
  bind?: string;
  timeoutMs: number;
  onListening?: (address: { host: string; port: number }) => void;
}

/** The listener's outcome: the setup failures that stopped it, or the handshake's checks. */
export interface ListenReport {
  status: CheckStatus;
  exitCode: 0 | 1 | 2;
  checks: CheckResult[];
}

function report(checks: CheckResult[]): ListenReport {
  return { status: worstStatus(checks), exitCode: doctorExitCode(checks), checks };
}

/** Reads the node's credentials and listens for one handshake. */
export async function runListen(opts: ListenOptions): Promise<ListenReport> {
  const state = readNode(opts);
  if (state.creds === undefined || state.settings === undefined) {
    const failures = state.checks.filter((c) => c.status === 'fail');
    return report(
      failures.length > 0
        ? failures
        : [fail('listen.bind', 'Cannot listen: no certificate and key to listen with')],
    );
  }
  const bind =
    opts.bind ??
    (state.advertised === undefined ? '0.0.0.0' : (await chooseBindHost(state.advertised.host)).bind);
  const port = opts.port ?? state.advertised?.port ?? DEFAULT_SST_PORT;
  return report(
    await listenOnce({
      host: bind,
      port,
      creds: state.creds,
      settings: state.settings,
      timeoutMs: opts.timeoutMs,
      ...(opts.onListening !== undefined && { onListening: opts.onListening }),
    }),
  );
}
