import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*/test/**/*.test.ts', 'core/*/test/**/*.test.ts', 'mappers/*/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    // Tests wait for conditions with their own deadlines (waitFor); these outer limits only stop a hung
    // test, and must stay above the longest inner deadline on a loaded 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Tests start real brokers and devices on loopback; two files at a time suits a 2-core machine.
    maxWorkers: 2,
  },
});
