// The conformance suites against the real kernel, each test in a fresh network namespace (lo up, a dummy
// interface carrying the suites' addresses so direct-routing destinations are routable). Run inside the
// real-kernel sandbox only (IPVS_KERNEL=1): `node scripts/sandbox.mjs --kernel-suite` or `npm run test:kernel`.
// Their twins on the fake kernel are test/conformance.fake.test.ts and test/conformance.wire.fake.test.ts.

import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, it } from 'vitest';
import { KernelSocketTransport } from '../../native/socket.js';
import { Ipvs } from '../../src/client.js';
import type { Transport } from '../../src/netlink/transport.js';
import { conformanceSuite } from '../conformance/suite.js';
import { wireSuite } from '../conformance/wire-suite.js';

const onKernel = process.env.IPVS_KERNEL === '1';
const run = promisify(execFile);
let counter = 0;

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

/** A namespace with lo up and dum0 carrying the suites' addresses (see WIRE_INTERFACES). */
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
  conformanceSuite('real kernel', async () => {
    const ns = makeNamespace('conf');
    const ipvs = await Ipvs.open({ netns: ns });
    const ipvsadm = async (...args: string[]): Promise<string> => (await run('ip', ['netns', 'exec', ns, 'ipvsadm', ...args], { encoding: 'utf8' })).stdout;
    return {
      ipvs,
      openAnother: () => Ipvs.open({ netns: ns }),
      ipvsadmSave: () => ipvsadm('-Sn'),
      ipvsadm,
      cleanup: async () => {
        await ipvs.close();
        sh('ip', ['netns', 'del', ns]);
      },
    };
  });

  wireSuite('real kernel', async () => {
    const ns = makeNamespace('wire');
    const opened: Transport[] = [];
    return {
      transport: (options) => {
        const t = new KernelSocketTransport({ netns: ns, ...options });
        opened.push(t);
        return t;
      },
      cleanup: async () => {
        for (const t of opened) await t.close();
        sh('ip', ['netns', 'del', ns]);
      },
    };
  });
} else {
  describe('conformance: real kernel', () => {
    it.skip('runs only inside the real-kernel sandbox (IPVS_KERNEL=1)', () => {});
  });
}
