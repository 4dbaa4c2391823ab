// One behaviour suite for every kernel: the fake (npm test) and the real one in UML (npm run test:kernel).
// Dump order is hash order in the kernel, so every listing is sorted before comparison.

import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import type { Ipvs } from '../../src/client.js';
import type { Destination, Service, ServiceKey } from '../../src/ipvs/types.js';
import { KernelError, ValidationError } from '../../src/index.js';

export interface Harness {
  ipvs: Ipvs;
  /** `ipvsadm -Sn` of the same table, when a real ipvsadm can see it. */
  ipvsadmSave?: () => Promise<string>;
  cleanup: () => Promise<void>;
}

const keyText = (s: Service): string => (s.fwmark !== undefined ? `f${s.fwmark}/${s.family}` : `${s.protocol} ${s.address}:${s.port}`);
const sortServices = (list: Service[]): Service[] => [...list].sort((a, b) => keyText(a).localeCompare(keyText(b)));
const sortDests = (list: Destination[]): Destination[] => [...list].sort((a, b) => `${a.address}:${a.port}`.localeCompare(`${b.address}:${b.port}`));

async function refusal(p: Promise<unknown>): Promise<KernelError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(KernelError);
  return err as KernelError;
}

export function conformanceSuite(name: string, open: () => Promise<Harness>): void {
  describe(`conformance: ${name}`, () => {
    let h: Harness;
    let ipvs: Ipvs;
    beforeEach(async () => {
      h = await open();
      ipvs = h.ipvs;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    const pcc = { protocol: 'tcp', address: '192.168.1.110', port: 0 } as const;
    const web = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;

    it('adds, lists, updates and deletes services of every kind', async () => {
      await ipvs.addService({ ...pcc, scheduler: 'rr', persistence: { timeout: 600 } });
      await ipvs.addService({ fwmark: 10, scheduler: 'rr', persistence: { timeout: 60 } });
      await ipvs.addService({ fwmark: 11, family: 'ipv6', scheduler: 'wrr' });
      await ipvs.addService({ protocol: 'udp', address: '192.168.1.111', port: 53, scheduler: 'sh', flags: ['sh-port', 'sh-fallback'] });
      await ipvs.addService({ protocol: 'sctp', address: '192.168.1.112', port: 3868, scheduler: 'mh', flags: ['mh-port'] });
      await ipvs.addService({ protocol: 'tcp', address: '2001:DB8:0:0::10', port: 443, persistence: { timeout: 30, netmask: 64 } });
      await ipvs.addService({ ...web, scheduler: 'lc', persistence: { netmask: '255.255.255.0' }, flags: ['one-packet'] });
      const list = sortServices(await ipvs.services());
      expect(list.map(keyText)).toEqual([
        'f10/ipv4', 'f11/ipv6', 'sctp 192.168.1.112:3868', 'tcp 192.168.1.110:0', 'tcp 192.168.1.110:80', 'tcp 2001:db8::10:443', 'udp 192.168.1.111:53',
      ]);
      const byKey = new Map(list.map((s) => [keyText(s), s]));
      expect(byKey.get('tcp 192.168.1.110:0')).toMatchObject({ scheduler: 'rr', persistence: { timeout: 600, netmask: '255.255.255.255' } });
      expect(byKey.get('tcp 192.168.1.110:80')).toMatchObject({ scheduler: 'lc', flags: ['one-packet'], persistence: { timeout: 300, netmask: '255.255.255.0' } });
      expect(byKey.get('tcp 2001:db8::10:443')).toMatchObject({ family: 'ipv6', persistence: { timeout: 30, netmask: 64 } });
      expect(byKey.get('udp 192.168.1.111:53')?.flags.sort()).toEqual(['sh-fallback', 'sh-port']);
      expect(byKey.get('sctp 192.168.1.112:3868')?.flags).toEqual(['mh-port']);
      expect(byKey.get('f11/ipv6')?.persistence).toBeUndefined();
      expect(typeof byKey.get('f10/ipv4')?.stats.conns).toBe('bigint');

      await ipvs.updateService({ ...web, scheduler: 'wrr' });
      const updated = await ipvs.service(web);
      expect(updated.scheduler).toBe('wrr');
      expect(updated.persistence).toBeUndefined();
      expect(await ipvs.hasService({ ...web, port: 81 })).toBe(false);

      await ipvs.deleteService({ fwmark: 11, family: 'ipv6' });
      expect((await ipvs.services()).length).toBe(6);
      await ipvs.flush();
      expect(await ipvs.services()).toEqual([]);
    });

    it('manages destinations: forwarding, weights, thresholds, tunnels, mixed families', async () => {
      await ipvs.addService({ ...web, scheduler: 'wrr' });
      await ipvs.addDestination(web, { address: '192.168.1.116', forwarding: 'route', weight: 2 });
      await ipvs.addDestination(web, { address: '192.168.1.117', port: 8080, forwarding: 'masq', weight: 0, upperThreshold: 100, lowerThreshold: 10 });
      await ipvs.addDestination(web, { address: '192.168.1.118', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'csum' } });
      await ipvs.addDestination(web, { address: '192.168.1.119', forwarding: 'tunnel', tunnel: { type: 'gre', checksum: 'remcsum' } });
      await ipvs.addDestination(web, { address: '2001:db8::20', forwarding: 'tunnel', tunnel: { type: 'ipip' } });
      const dests = sortDests(await ipvs.destinations(web));
      expect(dests.map((d) => [d.address, d.port, d.forwarding, d.weight])).toEqual([
        ['192.168.1.116', 80, 'route', 2],
        ['192.168.1.117', 8080, 'masq', 0],
        ['192.168.1.118', 80, 'tunnel', 1],
        ['192.168.1.119', 80, 'tunnel', 1],
        ['2001:db8::20', 80, 'tunnel', 1],
      ]);
      expect(dests[1]).toMatchObject({ upperThreshold: 100, lowerThreshold: 10 });
      expect(dests[2]?.tunnel).toEqual({ type: 'gue', port: 6080, checksum: 'csum' });
      expect(dests[3]?.tunnel).toMatchObject({ type: 'gre', checksum: 'remcsum' });
      expect(dests[4]).toMatchObject({ family: 'ipv6', tunnel: { type: 'ipip' } });

      await ipvs.updateDestination(web, { address: '192.168.1.116', weight: 5 });
      expect((await ipvs.destinations(web)).find((d) => d.address === '192.168.1.116')?.weight).toBe(5);
      await ipvs.deleteDestination(web, { address: '192.168.1.117', port: 8080 });
      expect((await ipvs.destinations(web)).length).toBe(4);
    });

    it('refuses with the kernel errno and a sentence', async () => {
      await ipvs.addService({ ...web, scheduler: 'rr' });
      await ipvs.addDestination(web, { address: '192.168.1.116' });
      const dup = await refusal(ipvs.addService({ ...web }));
      expect(dup.code).toBe('EEXIST');
      expect(dup.message).toContain('service tcp 192.168.1.110:80 already exists');
      expect((await refusal(ipvs.deleteService({ ...web, port: 81 }))).code).toBe('ESRCH');
      expect((await refusal(ipvs.service({ ...web, port: 81 }))).code).toBe('ESRCH');
      expect((await refusal(ipvs.addDestination({ ...web, port: 81 }, { address: '192.168.1.116' }))).code).toBe('ESRCH');
      expect((await refusal(ipvs.addDestination(web, { address: '192.168.1.116' }))).code).toBe('EEXIST');
      const noDest = await refusal(ipvs.deleteDestination(web, { address: '192.168.1.120' }));
      expect(noDest.code).toBe('ENOENT');
      expect(noDest.message).toContain('no such destination');
      expect((await refusal(ipvs.updateDestination(web, { address: '192.168.1.120' }))).code).toBe('ENOENT');
      // Listing the destinations of a missing service is an empty dump, not an error.
      expect(await ipvs.destinations({ ...web, port: 81 })).toEqual([]);
    });

    it('validates before sending anything', async () => {
      const bad: [() => Promise<unknown>, string][] = [
        [() => ipvs.addService({ ...web, port: 70000 }), 'port'],
        [() => ipvs.addService({ fwmark: 0 }), 'fwmark'],
        [() => ipvs.addService({ ...web, scheduler: 'nope' as never }), 'scheduler'],
        [() => ipvs.addService({ ...web, persistence: { netmask: '255.0.255.0' } }), 'persistence.netmask'],
        [() => ipvs.addDestination(web, { address: '192.168.1.116', weight: -1 }), 'destination.weight'],
        [() => ipvs.addDestination(web, { address: '192.168.1.116', tunnel: { type: 'ipip' } }), 'destination.tunnel'],
        [() => ipvs.addDestination(web, { address: '192.168.1.116', upperThreshold: 1, lowerThreshold: 2 }), 'destination.lowerThreshold'],
      ];
      for (const [call, field] of bad) {
        const err = await call().then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).field).toBe(field);
      }
      expect(await ipvs.services()).toEqual([]);
    });

    it('sets and reads timeouts, info, zero', async () => {
      await ipvs.setTimeouts({ tcp: 1000, tcpFin: 60, udp: 200 });
      expect(await ipvs.timeouts()).toEqual({ tcp: 1000, tcpFin: 60, udp: 200 });
      await ipvs.setTimeouts({ udp: 250 });
      expect(await ipvs.timeouts()).toEqual({ tcp: 1000, tcpFin: 60, udp: 250 });
      const info = await ipvs.info();
      expect(info.version).toBe('1.2.1');
      expect(info.connectionTableSize).toBeGreaterThan(0);
      await ipvs.addService({ ...web });
      await ipvs.zero(web);
      await ipvs.zero();
      expect((await refusal(ipvs.zero({ ...web, port: 99 }))).code).toBe('ESRCH');
    });

    it('starts and stops sync daemons', async () => {
      await ipvs.startDaemon({ state: 'master', interface: 'lo', syncId: 7 });
      await ipvs.startDaemon({ state: 'backup', interface: 'lo', syncId: 7 });
      const daemons = (await ipvs.daemons()).sort((a, b) => a.state.localeCompare(b.state));
      expect(daemons.map((d) => [d.state, d.interface, d.syncId])).toEqual([['backup', 'lo', 7], ['master', 'lo', 7]]);
      expect(daemons.map((d) => d.mcastPort)).toEqual([8848, 8848]); // the default sync port, in the kernel's byte order
      await ipvs.stopDaemon('master');
      await ipvs.stopDaemon('backup');
      expect(await ipvs.daemons()).toEqual([]);
    });

    it('pipelines many operations and reports each result', async () => {
      const svc = (i: number): ServiceKey => ({ protocol: 'tcp', address: '10.0.0.10', port: 1000 + i });
      const ops = Array.from({ length: 300 }, (_, i) => ({ op: 'add-service' as const, service: { ...svc(i), scheduler: 'rr' as const } }));
      ops.push({ op: 'add-service', service: { ...svc(5), scheduler: 'rr' } });
      const results = await ipvs.execute(ops);
      expect(results.filter((r) => 'ok' in r && r.ok).length).toBe(300);
      const last = results[300];
      expect(last && 'ok' in last && !last.ok && (last.error as KernelError).code).toBe('EEXIST');
      let count = 0;
      for await (const _ of ipvs.iterateServices()) count++;
      expect(count).toBe(300);
    });

    it('matches ipvsadm -Sn for the seed scenarios', async (ctx) => {
      if (!h.ipvsadmSave) ctx.skip();
      await ipvs.addService({ ...pcc, scheduler: 'rr', persistence: { timeout: 600 } });
      await ipvs.addDestination(pcc, { address: '192.168.1.116', port: 0, forwarding: 'route', weight: 2 });
      await ipvs.addService({ fwmark: 10, scheduler: 'rr', persistence: { timeout: 60 } });
      await ipvs.addDestination({ fwmark: 10 }, { address: '192.168.1.116' });
      await ipvs.addDestination({ fwmark: 10 }, { address: '192.168.1.117' });
      const lines = (await h.ipvsadmSave!()).trim().split('\n').map((l) => l.trim()).sort();
      expect(lines).toEqual([
        '-A -f 10 -s rr -p 60',
        '-A -t 192.168.1.110:0 -s rr -p 600',
        '-a -f 10 -r 192.168.1.116:0 -g -w 1',
        '-a -f 10 -r 192.168.1.117:0 -g -w 1',
        '-a -t 192.168.1.110:0 -r 192.168.1.116:0 -g -w 2',
      ].sort());
    });
  });
}
