import { defineConfig } from 'vitest/config';

// Three tiers (docs/testing.md): `unit` needs no root and no network and runs in seconds;
// `integration` drives the real runc, overlayfs and the daemon over its socket;
// `e2e` uses the stock docker CLI as a client of a berth daemon.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['src/**/*.test.ts'], environment: 'node' } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
