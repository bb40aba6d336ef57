/**
 * How the donor's rsync passes reach the joiner (sst-contract.md 3.4.4, design.md): the joiner's binding token
 * relayed by mysqld, the liveness link towards an sst-tunnel joiner, and either one long-lived relay for every
 * connection or one connector per rsync connection. Its own module because all of it is set up once, before
 * anything is locked, and the copy only asks it for a runner per pass and for the figures of the connections.
 */
import { join } from 'node:path';
import { describeError } from '../errors.js';
import { idleTimeoutFor } from '../config/settings.js';
import { logger } from '../log.js';
import { connectorRsh } from '../tunnel/connectorRsh.js';
import { prepareConnectorTls } from '../tunnel/connector.js';
import type { LivenessLink } from '../tunnel/liveness.js';
import { openDonorLiveness } from '../tunnel/livenessConnect.js';
import { relayWanted, startDonorRelay, type DonorRelay } from '../tunnel/relay.js';
import { donorToken } from '../tunnel/sstBinding.js';
import { livenessHandler } from './livenessPolicy.js';
import type { MysqldAuth } from './mysqldAuth.js';
import type { PassRunner } from './rsyncPass.js';
import { formatBytes, readReports, type RoleContext, type SessionFigures } from './roleContext.js';

const log = logger('donor');

/** The donor's way to the joiner, set up once per SST. */
export interface DonorTransport {
  /** The liveness link, when the joiner asked for binding and the link came up. */
  link: LivenessLink | undefined;
  /** The relay every rsync connection goes through; undefined: one connector per connection. */
  relay: DonorRelay | undefined;
  /** What the next rsync pass runs with. */
  runnerFor(): PassRunner;
  /** The figures of every finished connection. */
  sessions(): SessionFigures[];
}

/**
 * Sets up the donor's transport; `onLink` hears of the liveness link as soon as it is up, so a failure after it
 * can still be told to the joiner.
 */
export async function openDonorTransport(
  ctx: RoleContext,
  auth: MysqldAuth,
  onLink: (link: LivenessLink) => void,
): Promise<DonorTransport> {
  const { prepared, lifecycle, signal, tmpdir } = ctx;
  const { args, settings } = prepared;
  // The joiner's binding token (sstBinding.ts), relayed by mysqld: env on 10.x, stdin on 11.6+.
  // Our children (rsync, connectors) need not inherit mysqld's copy; connectors get the token in their spec.
  delete process.env.WSREP_SST_OPT_REMOTE_AUTH;
  const binding = donorToken(auth);
  log.info(
    binding !== undefined
      ? "The joiner asked for SST binding: every connection proves this SST's token"
      : 'The joiner did not ask for SST binding (an original or older joiner): connections carry plain rsync',
  );
  const expectedName = settings.sockopt.commonname ?? args.address.host;
  const reportDir = join(tmpdir, 'reports');
  const base = {
    host: args.address.host,
    port: args.address.port,
    paths: ctx.prepared.credentials.paths,
    policy: { ...prepared.policy, expectedName },
    idleTimeoutMs: settings.idleTimeoutMs,
    ...(settings.rateLimit !== undefined && { rateLimit: settings.rateLimit }),
  };
  // The liveness link (liveness.ts), only towards a joiner that asked for binding: an sst-tunnel joiner. Opened
  // before anything is locked, and held through the completion marker.
  let link: LivenessLink | undefined;
  // Made once for the link and the relay: one read of the key material, one verify=0 warning.
  let tls: ReturnType<typeof prepareConnectorTls> | undefined;
  if (binding !== undefined && settings.livenessMs > 0) {
    tls = prepareConnectorTls(base);
    const opened = await openDonorLiveness(
      { ...base, binding },
      tls,
      settings.livenessMs,
      livenessHandler((error) => lifecycle.abort(error)),
    );
    if (opened.link !== undefined) {
      link = opened.link;
      onLink(link);
      const live = link;
      lifecycle.onCleanup('liveness link', () =>
        live.fail(signal.aborted ? describeError(signal.reason) : 'the donor stopped'),
      );
    }
    log.info(
      opened.link !== undefined
        ? `Liveness link to the joiner is up: a dead link or a frozen joiner ends this SST within ${settings.livenessMs / 1000} s ([sst] liveness-timeout)`
        : `No liveness link: ${opened.why}; a silent joiner is judged by [sst] idle-timeout`,
    );
  }
  const idleMs = idleTimeoutFor(settings, link !== undefined);
  if (idleMs === 0 && settings.idleTimeoutMs > 0)
    log.debug('No idle timeout on the data connections: the liveness link judges the joiner');
  const spec = { ...base, idleTimeoutMs: idleMs, ...(binding !== undefined && { binding }) };
  if (settings.rateLimit !== undefined)
    log.info(`Sending at most ${formatBytes(settings.rateLimit)}/s, all connections together ([sst] rlimit)`);
  // One long-lived relay carries every connection; without it each rsync starts its own connector.
  if (!relayWanted())
    log.info('No relay (SST_TUNNEL_RELAY=none): each rsync connection starts its own connector');
  const relay = relayWanted() ? await startDonorRelay(spec, tls === undefined ? {} : { tls }) : undefined;
  // Aborted (a signal, mysqld gone, the liveness link lost): no grace, the joiner will not wind them down.
  if (relay !== undefined) lifecycle.onCleanup('relay', () => relay.close(signal.aborted ? 0 : undefined));
  let counter = 0;
  const runnerFor = (): PassRunner => {
    if (relay !== undefined) {
      return {
        rsync: settings.rsync,
        transport: { relay: { host: relay.host, port: relay.port } },
        env: {},
        explain: relay.lastError,
        failures: relay.failures,
        closed: relay.closed,
      };
    }
    const reportFile = join(reportDir, `${String(counter++).padStart(4, '0')}.json`);
    // Each connector limits only itself: its share of the rate, with backup-threads passes at once at most.
    const share =
      spec.rateLimit === undefined
        ? {}
        : { rateLimit: Math.max(1, Math.floor(spec.rateLimit / settings.backupThreads)) };
    const { rsh: command, env } = connectorRsh({ ...spec, ...share, reportFile }, ctx.cli);
    return { rsync: settings.rsync, transport: { rsh: command }, env, reportFile };
  };
  const sessions = (): SessionFigures[] => (relay !== undefined ? relay.sessions() : readReports(reportDir));
  return { link, relay, runnerFor, sessions };
}
