// The wire-level conformance suite against the fake kernel; its twin in test/kernel runs it against Linux.
import { FakeKernel } from '../src/testing/index.js';
import { WIRE_INTERFACES, wireSuite } from './conformance/wire-suite.js';

wireSuite('fake kernel', async () => {
  const kernel = new FakeKernel({ interfaces: WIRE_INTERFACES, dumpBudget: 3776 });
  return { transport: (options) => kernel.transport(options), cleanup: async () => {} };
});

// The second run also leaves every DEL_DAEMON unanswered, as Linux does for a daemon whose thread has not
// run yet (see FakeKernelOptions.idleDaemonThreads).
wireSuite('fake kernel, u64 padding, a small dump budget, idle daemon threads', async () => {
  const kernel = new FakeKernel({ interfaces: WIRE_INTERFACES, dumpBudget: 1024, u64Padding: true, familyId: 0x31, idleDaemonThreads: true });
  return { transport: (options) => kernel.transport(options), cleanup: async () => {} };
});
