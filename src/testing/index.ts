// `ipvs/testing`: a fake Linux kernel for testing code built on `ipvs` without root, without an IPVS
// kernel and without touching the host's table. It speaks the kernel's generic-netlink bytes, keeps
// an IPVS table with the kernel's rules and errnos, and lets a test look inside and inject faults:
//
//   const kernel = new FakeKernel();
//   const ipvs = await Ipvs.open({ transport: kernel.transport() });
//   ... exercise your code ...
//   expect(kernel.state().services).toHaveLength(1);
//
// See docs/testing.md.
export { FakeKernel, type FakeKernelOptions, type FakeRequestName, type LoadIpvsOptions, type UnloadIpvsOptions } from './fake-kernel.js';
export type { FakeTransportOptions } from './fake-transport.js';
export type { FaultCommand, FaultTarget } from './fake-faults.js';
export type { FakeRequest, FakeRequestService, FakeRequestDestination, FakeRequestDaemon } from './fake-request-log.js';
export type { IpvsCommandName } from '../ipvs/constants.js';
export type { FakeInterface } from './fake-network.js';
export type { FakeStats } from './fake-ipvs-table.js';
export type {
  FakeKernelState, FakeServiceState, FakeDestinationState, FakeDaemonState, FakeStatsTarget, FakeStatsValues,
} from './fake-inspect.js';
