// The client conformance suite against the fake kernel (its twin, test/kernel/conformance.kernel.test.ts,
// runs the same suite against Linux). The fake gets the real suite's network (dum0 with its addresses),
// small dump datagrams and a shuffled dump order; a second run uses the kernel's own packing, the u64
// padding of architectures without efficient unaligned access, and unanswered daemon stops.
import { Ipvs } from '../src/client.js';
import { FakeKernel, type FakeKernelOptions } from '../src/testing/index.js';
import { conformanceSuite, FAKE_HISTORY_OPTIONS } from './conformance/suite.js';
import { unprivilegedCalls } from './conformance/unprivileged.js';
import { WIRE_INTERFACES } from './conformance/wire-suite.js';

function onFake(name: string, options: FakeKernelOptions): void {
  conformanceSuite(name, async () => {
    const kernel = new FakeKernel({ interfaces: WIRE_INTERFACES, ...options });
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    return {
      ipvs,
      openAnother: () => Ipvs.open({ transport: kernel.transport() }),
      unprivileged: async () => {
        const other = await Ipvs.open({ transport: kernel.transport() });
        kernel.setUnprivileged(true);
        try {
          return await unprivilegedCalls(other);
        } finally {
          kernel.setUnprivileged(false);
          await other.close();
        }
      },
      rawTransport: () => kernel.transport(),
      requests: () => kernel.requests,
      openIn: async (history) => {
        const other = await Ipvs.open({ transport: new FakeKernel({ ...options, ...FAKE_HISTORY_OPTIONS[history] }).transport() });
        return { ipvs: other, close: () => other.close() };
      },
      cleanup: () => ipvs.close(),
    };
  });
}

onFake('fake kernel (small datagrams, shuffled dumps)', { dumpBudget: 512, shuffleDumps: true });
// The second run is User-Mode Linux as the real-kernel sandbox has it: u64 padding, and sync daemon
// threads that have not run when DEL_DAEMON comes (which Linux then answers with nothing).
onFake('fake kernel (u64 padding, kernel packing, idle daemon threads)', { u64Padding: true, hz: 100, idleDaemonThreads: true });
