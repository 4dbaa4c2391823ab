import { defineConfig } from 'vitest/config';

// The real-kernel suites (test/kernel): run as root with IPVS_KERNEL=1 on a kernel with ip_vs. Each test
// works in its own network namespace. One file at a time: the tests create and delete namespaces.
export default defineConfig({
  test: {
    include: ['test/kernel/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
