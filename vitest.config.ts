import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests start real daemons and sockets; two cores, so keep parallelism modest.
    maxWorkers: 2,
    teardownTimeout: 10_000,
    // The JSON report is what .ci/run counts.
    reporters: ['default', ['json', { outputFile: 'test-artifacts/vitest.json' }]],
  },
});
