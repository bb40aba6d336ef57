export async function runRsyncSuite(..._a: unknown[]): Promise<void> {}
