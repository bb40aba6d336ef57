/**
 * A shaped link between two hosts for the wan bench (labs.md "Shaped links between hosts"): two network
 * namespaces joined by a veth pair, each end rate-limited with a `tbf` qdisc (this kernel has no netem: no delay
 * or loss, only a rate). The bench makes the namespaces and addresses itself and removes them afterwards, on
 * every path. Command lines are planned by pure functions; `openShapedLink` runs them.
 */
import { execFileSync } from 'node:child_process';

/** What the link looks like from the bench. */
export interface ShapedLink {
  /** Namespace and address of each side: [donor, joiner]. */
  sides: [{ ns: string; dev: string; address: string }, { ns: string; dev: string; address: string }];
  /** The rate in Mbit/s, or undefined for an unshaped veth. */
  mbit: number | undefined;
}

/** The link for a bench run: names carry the bench's pid so that two benches never share one. */
export function planLink(pid: number, mbit: number | undefined): ShapedLink {
  const tag = `s17-${pid}`;
  return {
    sides: [
      { ns: `${tag}-a`, dev: `v${pid}a`, address: '10.217.0.1' },
      { ns: `${tag}-b`, dev: `v${pid}b`, address: '10.217.0.2' },
    ],
    mbit,
  };
}

/**
 * tbf's arguments for a rate: a burst of 10 ms of traffic (at least 32 KiB: below a few jumbo segments the
 * qdisc cannot reach its rate), and 50 ms of queue before it drops.
 */
export function tbfArgs(dev: string, mbit: number): string[] {
  const burst = Math.max(32 * 1024, Math.ceil((mbit * 1e6) / 8 / 100));
  return [
    'qdisc',
    'replace',
    'dev',
    dev,
    'root',
    'tbf',
    'rate',
    `${mbit}mbit`,
    'burst',
    `${burst}`,
    'latency',
    '50ms',
  ];
}

/** The `ip` command lines that build the link, in order. */
export function setupCommands(link: ShapedLink): string[][] {
  const [a, b] = link.sides;
  const cmds: string[][] = [
    ['ip', 'netns', 'add', a.ns],
    ['ip', 'netns', 'add', b.ns],
    ['ip', 'link', 'add', a.dev, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.dev, 'netns', b.ns],
  ];
  for (const side of link.sides) {
    cmds.push(
      ['ip', '-n', side.ns, 'link', 'set', 'lo', 'up'],
      ['ip', '-n', side.ns, 'addr', 'add', `${side.address}/24`, 'dev', side.dev],
      ['ip', '-n', side.ns, 'link', 'set', side.dev, 'up'],
    );
    if (link.mbit !== undefined) cmds.push(['tc', '-n', side.ns, ...tbfArgs(side.dev, link.mbit)]);
  }
  return cmds;
}

/** The command lines that remove it (deleting a namespace deletes its veth end, and so the pair). */
export function teardownCommands(link: ShapedLink): string[][] {
  return link.sides.map((side) => ['ip', 'netns', 'delete', side.ns]);
}

/** Bytes a device has sent and received, from `ip -s` (`/sys` is the host's, not the namespace's). */
export function parseLinkBytes(text: string): { rx: number; tx: number } {
  // ip -s link show: "RX:  bytes packets ..." then the figures on the next line, the same for TX.
  const figure = (label: 'RX' | 'TX'): number => {
    const m = new RegExp(`${label}:[^\\n]*\\n\\s*(\\d+)`).exec(text);
    return m === null ? Number.NaN : Number(m[1]);
  };
  return { rx: figure('RX'), tx: figure('TX') };
}

/** Runs one command; its stderr goes into the error (`tc qdisc del` on an unshaped end is expected to fail). */
function run(cmd: string[]): string {
  return execFileSync(cmd[0] as string, cmd.slice(1), {
    encoding: 'utf8',
    timeout: 30_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Builds the link; on a failure half-way removes what was made and rethrows. */
export function openShapedLink(link: ShapedLink): {
  close: () => void;
  wireBytes: () => number;
  shape: (side: ShapedLink['sides'][number], mbit: number | undefined) => void;
} {
  const close = (): void => {
    for (const cmd of teardownCommands(link)) {
      try {
        run(cmd);
      } catch {
        // not made, or already gone
      }
    }
  };
  try {
    for (const cmd of setupCommands(link)) run(cmd);
  } catch (error) {
    close();
    throw error;
  }
  const [a] = link.sides;
  return {
    close,
    // A new rate on one end (tbf replaced), or none: the qdisc removed, the veth unshaped.
    shape: (side, mbit) => {
      if (mbit !== undefined) run(['tc', '-n', side.ns, ...tbfArgs(side.dev, mbit)]);
      else
        try {
          run(['tc', '-n', side.ns, 'qdisc', 'del', 'dev', side.dev, 'root']);
        } catch {
          // no qdisc of ours there
        }
    },
    // Everything that crossed the link, both ways, as the donor's end counts it.
    wireBytes: () => {
      const bytes = parseLinkBytes(run(['ip', '-n', a.ns, '-s', 'link', 'show', a.dev]));
      return bytes.rx + bytes.tx;
    },
  };
}
