import { defineConfig } from 'vitest/config';

// The real-kernel suites (test/kernel): run as root with IPVS_KERNEL=1 on a kernel with ip_vs, normally inside the
// throwaway User-Mode Linux kernel (`npm run test:kernel`, scripts/sandbox.mjs). One file at a time in a single
// forked worker: the tests create and delete network namespaces and compare with the real ipvsadm.
export default defineConfig({
  test: {
    include: ['test/kernel/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
