// What a client without CAP_NET_ADMIN gets: every IPVS command is GENL_ADMIN_PERM, so each call below must
// be refused with EPERM and a sentence saying so, while opening the client (the nlctrl family lookup,
// which needs no privilege) works. The fake harness runs unprivilegedCalls() on a client of a kernel set
// unprivileged; the real-kernel harness runs this file as a program in a process stripped of
// CAP_NET_ADMIN (setpriv), which prints the results as JSON.

import { pathToFileURL } from 'node:url';
import { Ipvs } from '../../src/client.js';

export type CallResult = 'ok' | { code: string; message: string };

export async function unprivilegedCalls(ipvs: Ipvs): Promise<Record<string, CallResult>> {
  const calls: Record<string, () => Promise<unknown>> = {
    services: () => ipvs.services(),
    addService: () => ipvs.addService({ protocol: 'tcp', address: '192.168.1.110', port: 81 }),
    flush: () => ipvs.flush(),
    info: () => ipvs.info(),
  };
  const out: Record<string, CallResult> = {};
  for (const [name, call] of Object.entries(calls)) {
    out[name] = await call().then(
      () => 'ok' as const,
      (e: unknown) => ({ code: String((e as { code?: unknown }).code), message: String((e as Error).message) }),
    );
  }
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const ipvs = await Ipvs.open();
  try {
    process.stdout.write(`${JSON.stringify(await unprivilegedCalls(ipvs))}\n`);
  } finally {
    await ipvs.close();
  }
}
