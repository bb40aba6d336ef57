import { describe, expect, it } from 'vitest';
import { renderSstSides, sstScriptOutput } from './sstOutput.js';

// A joiner's error log as mariadbd 10.11 writes it when the SST script dies before `ready`: mariadbd's own
// lines, the script's WSREP_SST line and a Node crash trace, then mariadbd's abort with its crash report.
const JOINER_LOG = `2026-12-05 15:09:00 0 [Note] WSREP: Quorum results:
	version    = 6,
	component  = PRIMARY,
View:
  id: fe089b5b-f0be-11f1-a6f4-86a8195e5698:17
  members(2):
=================================================
2026-12-05 15:09:01 0 [Note] WSREP: Running: 'wsrep_sst_rsync_tunnel --role 'joiner' --address '127.0.0.3''
WSREP_SST: [INFO] rsync_tunnel SST started on joiner (sst-tunnel, pid 4242) (20261205 15:09:01.120)
node:fs:1521
Error: EACCES: permission denied, scandir '/tmp/sst-tunnel-77-abcdef'
    at readdirSync (node:fs:1521:26)
2026-12-05 15:09:02 0 [ERROR] WSREP: Failed to read 'ready <addr>' from: wsrep_sst_rsync_tunnel
2026-12-05 15:09:02 0 [ERROR] WSREP: SST request callback failed. This is unrecoverable, restart required.
2026-12-05 15:09:02 0 [ERROR] mysqld got signal 6 ;
Sorry, we probably made a mistake, and this is a bug.
Server version: 10.11.14-MariaDB-0+deb12u2-log source revision: 0
stack_bottom = 0x0 thread_stack 0x49000
/usr/sbin/mariadbd(my_print_stacktrace+0x2e)[0x55d0]
`;

describe('sstScriptOutput', () => {
  it("separates the script's WSREP_SST lines and other stderr from mariadbd's lines and crash report", () => {
    expect(sstScriptOutput(JOINER_LOG)).toEqual({
      wsrep: [
        'WSREP_SST: [INFO] rsync_tunnel SST started on joiner (sst-tunnel, pid 4242) (20261205 15:09:01.120)',
      ],
      other: [
        'node:fs:1521',
        "Error: EACCES: permission denied, scandir '/tmp/sst-tunnel-77-abcdef'",
        '    at readdirSync (node:fs:1521:26)',
      ],
    });
  });

  it("keeps a shim error and rsync's lines, drops mariadbd's untimestamped Version line", () => {
    const log = [
      "Version: '10.11.14-MariaDB-0+deb12u2-log'  socket: '/x/mysqld.sock'  port: 3306  Debian 12",
      'WSREP_SST: [ERROR] Cannot find the Node.js binary "node" needed by wsrep_sst_rsync_tunnel (set SST_TUNNEL_NODE)',
      'rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1338)',
    ].join('\n');
    const out = sstScriptOutput(log);
    expect(out.wsrep).toHaveLength(1);
    expect(out.other).toEqual([expect.stringMatching(/^rsync error: .*\(code 23\)/)]);
  });
});

describe('renderSstSides', () => {
  it('names each side and its log, says when a side wrote no WSREP_SST line, and keeps the newest lines', () => {
    const many = Array.from({ length: 5 }, (_, i) => `WSREP_SST: [INFO] line ${i}`).join('\n');
    const text = renderSstSides(
      [
        { label: 'donor "node1"', where: '/d/error.log', text: many },
        { label: 'joiner "node2"', where: '/j/error.log', text: 'node:internal crash\n' },
      ],
      2,
    );
    expect(text).toBe(
      [
        'donor "node1" SST lines: (full log: /d/error.log)',
        '  ... (3 earlier lines)',
        '  WSREP_SST: [INFO] line 3',
        '  WSREP_SST: [INFO] line 4',
        'joiner "node2" SST lines: (full log: /j/error.log)',
        '  (no WSREP_SST line)',
        'joiner "node2" other script output:',
        '  node:internal crash',
      ].join('\n'),
    );
  });
});
