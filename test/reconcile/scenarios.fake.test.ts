// The shared reconcile scenarios on the fake kernel (dumps shuffled and split, as the kernel's are).
import { Ipvs } from '../../src/client.js';
import { FakeKernel } from '../../src/testing/index.js';
import { reconcileScenarios } from './scenarios.js';

reconcileScenarios('fake kernel', async () => {
  const kernel = new FakeKernel({ dumpBudget: 512, shuffleDumps: true });
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  return { ipvs, cleanup: () => ipvs.close() };
});
