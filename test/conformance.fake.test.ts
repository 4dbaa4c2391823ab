import { Ipvs } from '../src/client.js';
import { FakeKernel } from '../src/testing/index.js';
import { conformanceSuite } from './conformance/suite.js';

conformanceSuite('fake kernel', async () => {
  const kernel = new FakeKernel({ dumpBudget: 512, shuffleDumps: true });
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  return { ipvs, cleanup: () => ipvs.close() };
});
