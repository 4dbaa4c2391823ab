// The conformance suite against the real kernel, each test in a fresh network namespace. Runs only in
// the UML sandbox (IPVS_KERNEL=1): `npm run test:kernel`.

import { execFileSync } from 'node:child_process';
import { describe, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { conformanceSuite } from '../conformance/suite.js';

const onKernel = process.env.IPVS_KERNEL === '1';
let counter = 0;

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

/** A namespace with lo up and a dummy interface carrying the suite's addresses (routable for -g). */
export function makeNamespace(prefix: string): string {
  const name = `${prefix}-${process.pid}-${counter++}`;
  sh('ip', ['netns', 'add', name]);
  const ip = (...a: string[]): string => sh('ip', ['-n', name, ...a]);
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', 'dum0', 'type', 'dummy');
  for (const a of ['192.168.1.1/24', '10.0.0.1/8', '2001:db8::1/64']) ip('addr', 'add', a, 'dev', 'dum0');
  ip('link', 'set', 'dum0', 'up');
  return name;
}

if (onKernel) {
  conformanceSuite('real kernel (UML)', async () => {
    const ns = makeNamespace('conf');
    const ipvs = await Ipvs.open({ netns: ns });
    return {
      ipvs,
      ipvsadmSave: async () => sh('ip', ['netns', 'exec', ns, 'ipvsadm', '-Sn']),
      cleanup: async () => {
        await ipvs.close();
        sh('ip', ['netns', 'del', ns]);
      },
    };
  });
} else {
  describe('conformance: real kernel', () => {
    it.skip('runs only inside the UML sandbox (npm run test:kernel)', () => {});
  });
}
