/** Turns a failed listen() into the typed error the SST contract expects, with the likely fix in the message. */
import { ConfigError, PortBusyError } from '../errors.js';
import { findPortOwner } from './portOwner.js';

/** EADDRINUSE names the holder (from /proc), EACCES hints at privileged ports and SELinux, EADDRNOTAVAIL at the address. */
export function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  const where = `"${host.includes(':') ? `[${host}]` : host}:${port}"`;
  switch (error.code) {
    case 'EADDRINUSE': {
      const owner = findPortOwner(host, port);
      const who =
        owner === undefined
          ? 'another process (not visible to this user)'
          : `process ${owner.pid} (${owner.command})`;
      return new PortBusyError(`Cannot listen on ${where}: the port is in use by ${who}`, { cause: error });
    }
    case 'EACCES':
      return new PortBusyError(
        `Cannot listen on ${where}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE; under SELinux the port needs a label mysqld may bind, e.g. "semanage port -a -t mysqld_port_t -p tcp ${port}")`,
        { cause: error },
      );
    case 'EADDRNOTAVAIL':
      return new ConfigError(
        `Cannot listen on ${where}: the address is not assigned to any interface of this host`,
        { cause: error },
      );
    default:
      return new PortBusyError(`Cannot listen on ${where}: ${error.message}`, { cause: error });
  }
}
