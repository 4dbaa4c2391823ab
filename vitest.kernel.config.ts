import { defineConfig } from 'vitest/config';

// The real-kernel suites (test/kernel): run as root with IPVS_KERNEL=1 on a kernel with ip_vs, normally in the
// throwaway QEMU kernel (`npm run test:kernel`, scripts/kernel-vm.sh). One file at a time in a single forked
// worker: the tests create and delete network namespaces.
export default defineConfig({
  test: {
    include: ['test/kernel/**/*.test.ts'],
    // Not yet green on the real kernel: the ipvsadm differential of the CLI (4 mismatches and a slow -R) and the
    // reconcile suite (unfinished). IPVS_KERNEL_ALL=1 includes them.
    exclude: process.env.IPVS_KERNEL_ALL === '1' ? [] : ['test/kernel/cli-diff.test.ts', 'test/kernel/reconcile.kernel.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
