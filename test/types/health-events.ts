// Compiled by the project's typecheck and, under exactOptionalPropertyTypes, by test/types/exact-optional.test.ts:
// the health checker's events are typed as they are emitted: every one names its service (the `error` event
// too: a failure is always a service's change or read), and a listener may be async.
import type { HealthChecker, ServiceKey } from '../../src/index.js';

export function listen(checker: HealthChecker, log: (line: string) => void, notify: (line: string) => Promise<void>): void {
  checker.on('error', (e) => {
    const service: ServiceKey = e.service;
    const id: string = e.serviceId;
    log(`${id} ${JSON.stringify(service)}: ${e.description}: ${e.error.message}`);
  });
  checker.on('down', async (e) => notify(`${e.serviceId} ${e.destinationId} down (was ${e.previous})`));
  const seen: string[] = [];
  checker.on('check', (e) => seen.push(`${e.destinationId} ${e.status}`)).once('up', (e) => seen.push(e.destinationId));
  // @ts-expect-error no such event
  checker.on('recovered', () => undefined);
}
