// A health checker on the fake kernel with a manual clock and servers whose health a test switches
// with a word: setUp('10.0.0.2', false). Checks are custom functions reading that switchboard, so a
// test drives hours of checking deterministically in milliseconds.

import { Ipvs } from '../../src/client.js';
import { HealthChecker, ManualScheduler, type HealthCheckerOptions, type HealthConfig, type HealthEvents } from '../../src/health/index.js';
import { FakeKernel } from '../../src/testing/index.js';

export const VIP = '192.168.1.110';
export const SERVICE = { protocol: 'tcp', address: VIP, port: 80 } as const;

export interface Harness {
  kernel: FakeKernel;
  ipvs: Ipvs;
  clock: ManualScheduler;
  checker: HealthChecker;
  logs: string[];
  events: { type: keyof HealthEvents; text: string }[];
  setUp(address: string, healthy: boolean): void;
  /** Destinations of the service as the kernel holds them: 'address:port weight'. */
  table(key?: object): Promise<string[]>;
  /** Destination changes the kernel received. */
  destChanges(): string[];
  close(): Promise<void>;
}

export function seedConfig(extra: Partial<HealthConfig['services'][number]> = {}): HealthConfig {
  return {
    services: [
      {
        ...SERVICE,
        scheduler: 'rr',
        destinations: [
          { address: '192.168.1.116', forwarding: 'route', weight: 2 },
          { address: '192.168.1.117', forwarding: 'route', weight: 1 },
        ],
        sorryServer: { address: '127.0.0.1' },
        ...extra,
      },
    ],
  };
}

export async function harness(
  config: HealthConfig,
  options: Partial<HealthCheckerOptions> & { before?: (ipvs: Ipvs, kernel: FakeKernel) => Promise<void> } = {},
): Promise<Harness> {
  const kernel = new FakeKernel();
  const ipvs = await Ipvs.open({ transport: kernel.transport() });
  if (options.before) await options.before(ipvs, kernel);
  const clock = new ManualScheduler();
  const healthy = new Map<string, boolean>();
  const withChecks: HealthConfig = {
    ...config,
    check: config.check ?? {
      type: 'custom',
      name: 'switchboard',
      run: (t) => healthy.get(t.address) ?? true,
      intervalMs: 1000,
      timeoutMs: 500,
      rise: 2,
      fall: 3,
      jitterMs: 0,
    },
  };
  const logs: string[] = [];
  const logger = {
    info: (m: string) => logs.push(`info ${m}`),
    warn: (m: string) => logs.push(`warn ${m}`),
    error: (m: string) => logs.push(`error ${m}`),
  };
  // `before` is the harness's own: the checker refuses options it does not have.
  const { before: _before, ...checkerOptions } = options;
  const checker = new HealthChecker({ ipvs, config: withChecks, scheduler: clock, logger, random: () => 0, ...checkerOptions });
  const events: Harness['events'] = [];
  for (const type of ['up', 'down', 'sorry', 'change', 'error'] as const) {
    checker.on(type, (e) => events.push({ type, text: 'description' in e ? e.description : 'destinationId' in e ? `${e.destinationId}${'active' in e ? ` ${e.active}` : ''}` : '' }));
  }
  const requestsBefore = kernel.requests.length;
  return {
    kernel,
    ipvs,
    clock,
    checker,
    logs,
    events,
    setUp: (address, h) => healthy.set(address, h),
    table: async (key = SERVICE) => (await ipvs.destinations(key as typeof SERVICE)).map((d) => `${d.address}:${d.port} ${d.weight}`).sort(),
    destChanges: () => kernel.requests.slice(requestsBefore).filter((r) => /_(NEW|SET|DEL)_DEST$/.test(r)),
    close: async () => {
      await checker.stop();
      await ipvs.close();
    },
  };
}
