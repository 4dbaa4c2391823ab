// `ipvs/testing`: the fake kernel, for testing code built on `ipvs` without root or an IPVS kernel.
//   const kernel = new FakeKernel();
//   const ipvs = await Ipvs.open({ transport: kernel.transport() });
export { FakeKernel, type FakeKernelOptions } from './fake-kernel.js';
export type { FakeStats } from './fake-state.js';
