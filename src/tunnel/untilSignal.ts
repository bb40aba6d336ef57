/** Resolves with the first terminating signal, for the long-running standalone commands (`listen`, `relay`). */
export function untilTerminated(): Promise<NodeJS.Signals> {
  return new Promise((done) => {
    for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(s, () => done(s));
  });
}
