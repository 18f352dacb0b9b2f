import { defineConfig } from 'vitest/config';

// One runner for the whole workspace. isolated-vm needs --no-node-snapshot, hence forks with that execArgv.
export default defineConfig({
  test: {
    pool: 'forks',
    execArgv: ['--no-node-snapshot'],
    include: ['engine/**/*.test.ts', 'plugin-sdk/**/*.test.ts', 'plugins/*/test/**/*.test.ts', 'plugins/*/src/**/*.test.ts', 'builder-ui/**/*.test.{ts,tsx}'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    globalSetup: ['engine/test/global-setup.ts'],
    // Fails a test file that leaves a database pool, queue runner or sandbox isolate open (engine/test/leak-guard.ts).
    setupFiles: ['engine/test/leak-guard.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    // Under CI also a JSON report, from which .ci/run prints the plain "N passed, N failed" closing line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
  },
});
