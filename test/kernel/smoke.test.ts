// Smoke test for the real-kernel runner: proves the sandbox booted a kernel with ip_vs loaded and that a root
// process can program it. Uses the ipvsadm binary on purpose, so a failure here points at the sandbox, not at the
// library. Skipped outside the sandbox (IPVS_KERNEL !== '1').
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const inKernel = process.env.IPVS_KERNEL === '1';

function ipvsadm(...args: string[]): string {
  return execFileSync('ipvsadm', args, { encoding: 'utf8' });
}

describe('kernel sandbox smoke', () => {
  (inKernel ? it : it.skip)('adds, lists and clears a service with ipvsadm', () => {
    try {
      ipvsadm('-A', '-t', '10.200.0.1:80', '-s', 'rr');
      expect(ipvsadm('-Sn')).toContain('-A -t 10.200.0.1:80 -s rr');
    } finally {
      ipvsadm('-C');
    }
  });
});
