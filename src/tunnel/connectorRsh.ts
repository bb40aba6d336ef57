/**
 * How the donor hands the connector to rsync: a `--rsh` command line that carries no secrets and survives rsync's
 * own word splitting, and the ConnectorSpec in an environment variable (rsync passes its environment on).
 * Kept apart from connector.ts so the donor role does not load node:tls just to build a string.
 */
import { UsageError } from '../errors.js';
import type { TlsPolicy } from '../tls/context.js';
import type { CredentialPaths } from '../tls/credentials.js';
import type { SelfCommand } from '../self.js';

/** Everything one connector process needs. */
export interface ConnectorSpec {
  host: string;
  port: number;
  paths: CredentialPaths;
  policy: TlsPolicy;
  idleTimeoutMs: number;
  /** A JSON summary (bytes, duration, protocol, cipher, identity, match, error) is written here at close. */
  reportFile?: string;
  /**
   * `[sst] rlimit` in bytes per second for the donor's payload: shared by every connection of the relay, or
   * this connector's own share when each connection has its own process.
   */
  rateLimit?: number;
  /**
   * This SST's binding token (sstBinding.ts), when the joiner advertised binding v1: every connection proves it
   * before rsync's first byte. A secret: it travels in the environment (readable by the SST's user only), never argv.
   */
  binding?: string;
}

/** The environment variable that carries the JSON ConnectorSpec from the donor to `sst-tunnel connect`. */
export const CONNECTOR_SPEC_ENV = 'SST_TUNNEL_CONNECT_SPEC';

/**
 * Quotes one word for rsync's --rsh parser (rsync(1) --rsh: spaces separate words; single or double quotes keep
 * spaces; a doubled quote inside quotes is a literal quote; backslashes are not special).
 */
export function quoteRshWord(word: string): string {
  return /^[\w./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, "''")}'`;
}

/** What the donor passes to rsync: `--rsh=<rsh>` and extra environment. */
export function connectorRsh(
  spec: ConnectorSpec,
  cli: SelfCommand,
): { rsh: string; env: Record<string, string> } {
  return {
    rsh: [cli.file, ...cli.args, 'connect'].map(quoteRshWord).join(' '),
    env: { [CONNECTOR_SPEC_ENV]: JSON.stringify(spec) },
  };
}

/** Reads the spec back in the connector; UsageError when the variable is missing or malformed. */
export function specFromEnv(env: NodeJS.ProcessEnv = process.env): ConnectorSpec {
  const text = env[CONNECTOR_SPEC_ENV];
  if (text === undefined || text === '') {
    throw new UsageError(
      `Cannot connect: ${CONNECTOR_SPEC_ENV} is not set (this command is started by rsync for the donor)`,
    );
  }
  let spec: ConnectorSpec;
  try {
    spec = JSON.parse(text) as ConnectorSpec;
  } catch (error) {
    throw new UsageError(`Cannot connect: ${CONNECTOR_SPEC_ENV} is not valid JSON`, { cause: error });
  }
  if (
    typeof spec.host !== 'string' ||
    !Number.isInteger(spec.port) ||
    typeof spec.paths?.tcert !== 'string' ||
    typeof spec.policy !== 'object'
  ) {
    throw new UsageError(`Cannot connect: ${CONNECTOR_SPEC_ENV} lacks host, port, paths.tcert or policy`);
  }
  return spec;
}
