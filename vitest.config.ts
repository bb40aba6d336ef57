import { defineConfig } from 'vitest/config';

// Process-heavy tests (real rsync, TLS, mariadbd) share 2 cores and fixed loopback ports: run files one at a time.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    restoreMocks: true,
    unstubEnvs: true,
    reporters: ['default'],
    setupFiles: ['test/helpers/fail-on-warning.ts', 'test/helpers/sst-failure-report.ts'],
  },
});
