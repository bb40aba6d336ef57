/**
 * What must not outlive this process (the demo's and the bench's servers, network namespaces and scratch
 * directories), undone when it exits by any path: a normal end, an uncaught error, or (after endOnSignals) a
 * SIGINT, SIGTERM or SIGHUP. Node's default action for those signals ends the process without an 'exit' event,
 * so without endOnSignals an interrupted demo left its mariadbd running in its own process group (out of reach
 * of the terminal's Ctrl-C) and an interrupted wan bench left its namespaces too.
 *
 * Cleanups run synchronously in the 'exit' event (nothing asynchronous can run there), newest first: a server is
 * killed before the directory or namespace it lives in is removed.
 */

const cleanups: (() => void)[] = [];

/** Runs every registered cleanup once, newest first; one that throws does not stop the others. */
function runCleanups(): void {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      cleanup();
    } catch {
      // best effort: the next cleanup still runs
    }
  }
}

process.on('exit', runCleanups);

/** Runs `cleanup` when this process exits, unless the returned function is called first (the work was undone). */
export function atExit(cleanup: () => void): () => void {
  cleanups.push(cleanup);
  return () => {
    const i = cleanups.indexOf(cleanup);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/**
 * For what a `finally` block undoes anyway (a scratch directory, the bench's namespaces): registers `cleanup`
 * with atExit, and returns the call that runs it now instead (once), for the `finally`.
 */
export function deferCleanup(cleanup: () => void): () => void {
  const forget = atExit(cleanup);
  return () => {
    forget();
    cleanup();
  };
}

let installed = false;

/**
 * For the commands that start servers (demo, bench): the first SIGINT, SIGTERM or SIGHUP runs the cleanups, then
 * raises the same signal again with no listener left, so this process ends the way its parent expects of that
 * signal (a shell reports 130 for SIGINT, 143 for SIGTERM). One line on stderr says why. Only cli.ts calls
 * process.exit (style.md), and an 'exit' event would not come from a signal's default action anyway.
 */
export function endOnSignals(command: string): void {
  if (installed) return;
  installed = true;
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const handler = (signal: NodeJS.Signals): void => {
    for (const s of signals) process.removeListener(s, handler);
    process.stderr.write(`${command}: ended by ${signal}; stopping what it started\n`);
    runCleanups();
    process.kill(process.pid, signal);
  };
  for (const s of signals) process.on(s, handler);
}
