// What a process that runs for weeks does to the real kernel socket, in a few seconds of guest time: one client
// used across the wrap of its 32-bit sequence numbers (the kernel echoes them; the socket's own paths, the
// synchronous exchange of a listing with recvmmsg, its watch of a running dump and its reads of replies, compare
// them, numbers above 2^31 first and small ones after the wrap), and clients opened and closed again and again,
// in a namespace and not, or refused: no file descriptor is left behind. Run inside the real-kernel sandbox
// (IPVS_KERNEL=1): `node scripts/sandbox.mjs --kernel-suite -- test/kernel/long-running.kernel.test.ts`.

import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import type { Operation, OperationResult } from '../../src/ipvs/operations.js';
import { createNamespace, deleteNamespaces } from './netns.js';

const onKernel = process.env.IPVS_KERNEL === '1';

interface Engine {
  seq: number;
  inFlight: number;
  currentDump: unknown;
  dumpQueue: { size: number };
}

const outcome = (r: OperationResult): string => ('error' in r ? r.error.code : 'skipped' in r ? 'skipped' : 'ok');
const openFds = (): number => readdirSync('/proc/self/fd').length;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

if (onKernel) {
  describe('a long-running process on the real kernel socket', () => {
    const namespaces: string[] = [];
    const namespace = (): string => {
      const ns = `longrun-${process.pid}-${namespaces.length}`;
      // A routed 10.0.0.0/8, so that its addresses are unicast destinations.
      createNamespace(ns, ['link set lo up', 'link add dum0 type dummy', 'addr add 10.255.0.1/8 dev dum0', 'link set dum0 up']);
      namespaces.push(ns);
      return ns;
    };
    afterAll(() => deleteNamespaces(namespaces));

    it('one client across the sequence-number wrap: every answer matched, nothing left waiting', async () => {
      // A short timeout: an answer matched to no request shows as one, far above what the kernel takes.
      const ipvs = await Ipvs.open({ netns: namespace(), timeoutMs: 10_000 });
      try {
        const engine = (ipvs as unknown as { conn: Engine }).conn;
        // 60 services: a listing of them comes in several datagrams.
        const services = Array.from({ length: 60 }, (_, i) => ({ protocol: 'tcp' as const, address: `10.0.1.${i + 1}`, port: 80, scheduler: 'rr' as const }));
        expect((await ipvs.execute(services.map((s): Operation => ({ op: 'add-service', service: s })))).map(outcome)).toEqual(services.map(() => 'ok'));
        const pool = Array.from({ length: 16 }, (_, i) => ({ address: `10.1.0.${i + 1}`, port: 80 }));
        engine.seq = 0xffffffff - 600;
        const start = engine.seq;
        let round = 0;
        for (; engine.seq >= start || engine.seq < 600; round++) {
          const svc = services[round % services.length]!;
          const key = { protocol: svc.protocol, address: svc.address, port: svc.port };
          // One datagram, one ACK at its end, and an ERROR for the change refused inside it.
          const ops: Operation[] = pool.map((d) => ({ op: 'add-destination', service: key, destination: { ...d, weight: 1 } }));
          ops.splice(3, 0, { op: 'add-destination', service: { ...key, port: 81 }, destination: { ...pool[0]!, weight: 1 } });
          expect((await ipvs.execute(ops)).map(outcome)).toEqual(ops.map((_, i) => (i === 3 ? 'ESRCH' : 'ok')));
          // A listing answered whole in the exchange, and one of several datagrams.
          expect((await ipvs.destinations(key, { stats: false })).map((d) => d.address).sort()).toEqual(pool.map((d) => d.address).sort());
          expect(await ipvs.services({ stats: false })).toHaveLength(services.length);
          // A listing stopped early: the rest is read and dropped before the next one goes out.
          for await (const s of ipvs.iterateServices({ stats: false })) {
            expect(s.port).toBe(80);
            break;
          }
          await expect(ipvs.addService(svc)).rejects.toMatchObject({ code: 'EEXIST' });
          const deleted = await ipvs.execute(pool.map((d): Operation => ({ op: 'delete-destination', service: key, destination: d })));
          expect(deleted.map(outcome)).toEqual(pool.map(() => 'ok'));
        }
        expect(round).toBeGreaterThan(5);
        expect(await ipvs.services({ stats: false })).toHaveLength(services.length);
        expect(engine.inFlight).toBe(0);
        expect(engine.currentDump).toBeUndefined();
        expect(engine.dumpQueue.size).toBe(0);
      } finally {
        await ipvs.close();
      }
    });

    it('clients opened and closed 300 times (here, in a namespace, refused): no descriptor left open', async () => {
      const ns = namespace();
      const cycle = async (i: number): Promise<void> => {
        if (i % 3 === 2) {
          // A namespace that does not exist: refused before a socket is made.
          await expect(Ipvs.open({ netns: `${ns}-missing` })).rejects.toThrow(/does not exist/);
          return;
        }
        const ipvs = await Ipvs.open(i % 3 === 0 ? {} : { netns: ns });
        try {
          await ipvs.info();
        } finally {
          await ipvs.close();
        }
      };
      // The first cycles load what stays loaded (native modules, libc); counted from after them.
      for (let i = 0; i < 6; i++) await cycle(i);
      await turn();
      const before = openFds();
      for (let i = 0; i < 300; i++) {
        await cycle(i);
        // A program's loop waits between its passes; the socket's close completes on the event loop.
        if (i % 10 === 9) await turn();
      }
      await turn();
      expect(openFds()).toBe(before);
    });
  });
}
