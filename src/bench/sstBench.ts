export async function runSstSuite(..._a: unknown[]): Promise<void> {}
