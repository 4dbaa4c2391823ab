// One behaviour suite for every kernel: the fake (test/conformance.fake.test.ts) and the real one
// (test/kernel/conformance.kernel.test.ts, in the real-kernel sandbox). Every client command and its error
// cases go through the public Ipvs client; what comes back is compared with what was meant. The kernel dumps
// in hash-table order, so listings are sorted before comparison. When a real ipvsadm can see the same table,
// its `ipvsadm -Sn` must print exactly the lines the test meant (ipvsadm 1.31 save format, as the real
// binary prints it: `-A KEY -s SCHED [-p TIMEOUT [-M MASK]] [--pe ENGINE] [-o] [-b FLAGS]`, and
// `-a KEY -r ADDR:PORT -g|-m|-i -w WEIGHT [--tun-type T [--tun-port P] [--tun-nocsum|--tun-csum|--tun-remcsum]]`,
// the checksum option for gue and gre only, nocsum included; thresholds are not saved).

import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import type { Ipvs } from '../../src/client.js';
import type { Destination, DestinationSpec, Service, ServiceKey, ServiceSpec } from '../../src/ipvs/types.js';
import { SCHEDULERS } from '../../src/ipvs/types.js';
import { AbortError, ClosedError, KernelError, TimeoutError, ValidationError } from '../../src/index.js';
import { runCli } from '../../src/cli/run.js';
import { staticResolver } from '../../src/rules/resolver.js';
import type { CallResult } from './unprivileged.js';
import type { Transport } from '../../src/netlink/transport.js';
import type { FakeKernelOptions } from '../../src/testing/index.js';
import { addForeignServices, addRawDestinations } from '../helpers/foreign-service.js';

export interface Harness {
  ipvs: Ipvs;
  /** Another client (another socket) on the same kernel. */
  openAnother?: () => Promise<Ipvs>;
  /** `ipvsadm -Sn` of the same table, when a real ipvsadm can see it. */
  ipvsadmSave?: () => Promise<string>;
  /** Run a real ipvsadm against the same table. */
  ipvsadm?: (...args: string[]) => Promise<string>;
  /** unprivilegedCalls() (./unprivileged.ts) by a client on the same kernel without CAP_NET_ADMIN. */
  unprivileged?: () => Promise<Record<string, CallResult>>;
  /** A new socket on the same kernel, for hand-built requests (closed by whoever uses it). */
  rawTransport?: () => Transport;
  /** The requests the kernel received so far (the fake kernel's log): proves that a refused call sent nothing. */
  requests?: () => readonly string[];
  /**
   * A client in a namespace of its own whose network came about as `history` says, for what depends on
   * what a namespace has had rather than on what it has (the suite's usual network shows neither).
   */
  openIn?: (history: NetworkHistory) => Promise<{ ipvs: Ipvs; close: () => Promise<void> }>;
  cleanup: () => Promise<void>;
}

/**
 * How a namespace's network came about: `new` (nothing: lo down, no address), `ipv6-only` (dum0 up with
 * 2001:db8::1/64 only), `ipv4-down` (dum0 given 10.9.9.1/24, never up), `ipv4-removed` (dum0 up with
 * 10.9.9.1/24, then the address deleted and the link down), `ipv6-down` (dum0, a dummy, given 2001:db8:9::1/64 and
 * the link-local fe80::99/64, never up).
 */
export type NetworkHistory = 'new' | 'ipv6-only' | 'ipv4-down' | 'ipv4-removed' | 'ipv6-down';

/** The fake's network after each history (the kernel twins run `ip` to get there: HISTORY_NETWORKS, test/kernel/netns.ts). */
export const FAKE_HISTORY_OPTIONS: Readonly<Record<NetworkHistory, FakeKernelOptions>> = {
  new: { interfaces: [{ name: 'lo', up: false }] },
  'ipv6-only': { interfaces: [{ name: 'lo', up: false }, { name: 'dum0', addresses: ['2001:db8::1/64'] }] },
  'ipv4-down': { interfaces: [{ name: 'lo', up: false }, { name: 'dum0', addresses: ['10.9.9.1/24'], up: false }] },
  'ipv4-removed': { interfaces: [{ name: 'lo', up: false }, { name: 'dum0', up: false }], ipv4LocalTable: true },
  'ipv6-down': { interfaces: [{ name: 'lo', up: false }, { name: 'dum0', addresses: ['2001:db8:9::1/64', 'fe80::99/64'], up: false }] },
};

const keyText = (s: Service): string => (s.fwmark !== undefined ? `fwmark ${s.fwmark}/${s.family}` : `${s.protocol} ${s.address}:${s.port}`);
const sortServices = (list: Service[]): Service[] => [...list].sort((a, b) => keyText(a).localeCompare(keyText(b)));
const destText = (d: Destination): string => `${d.address}:${d.port}`;
const sortDests = (list: Destination[]): Destination[] => [...list].sort((a, b) => destText(a).localeCompare(destText(b)));
const ZERO_STATS = { conns: 0n, inPackets: 0n, outPackets: 0n, inBytes: 0n, outBytes: 0n, cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };

async function refusal(p: Promise<unknown>): Promise<KernelError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(KernelError);
  return err as KernelError;
}

async function invalid(p: Promise<unknown>): Promise<ValidationError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ValidationError);
  return err as ValidationError;
}

const saveLines = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter((l) => l !== '').sort();

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

    /** `ipvsadm -Sn` must hold exactly these lines (skipped where no real ipvsadm sees the table). */
    async function ipvsadmSaves(lines: string[]): Promise<void> {
      if (!h.ipvsadmSave) return;
      expect(saveLines(await h.ipvsadmSave())).toEqual([...lines].sort());
    }

    const pcc = { protocol: 'tcp', address: '192.168.1.110', port: 0 } as const;
    const web = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
    const dns = { protocol: 'udp', address: '192.168.1.111', port: 53 } as const;
    const diameter = { protocol: 'sctp', address: '192.168.1.112', port: 3868 } as const;
    const web6 = { protocol: 'tcp', address: '2001:db8::10', port: 443 } as const;
    const sip = { protocol: 'udp', address: '192.168.1.113', port: 5060 } as const;

    describe('services', () => {
      it('adds every kind of service and reads each back', async () => {
        await ipvs.addService({ ...pcc, scheduler: 'rr', persistence: { timeout: 600 } });
        await ipvs.addService({ fwmark: 10, scheduler: 'rr', persistence: { timeout: 60 } });
        await ipvs.addService({ fwmark: 11, family: 'ipv6', scheduler: 'wrr' });
        await ipvs.addService({ ...dns, scheduler: 'sh', flags: ['sh-port', 'sh-fallback'] });
        await ipvs.addService({ ...diameter, scheduler: 'mh', flags: ['mh-port'] });
        await ipvs.addService({ protocol: 'tcp', address: '2001:DB8:0:0::10', port: 443, persistence: { timeout: 30, netmask: 64 } });
        await ipvs.addService({ ...web, scheduler: 'lc', persistence: { netmask: '255.255.255.0' } });
        await ipvs.addService({ ...sip, scheduler: 'rr', persistence: { timeout: 120 }, persistenceEngine: 'sip', flags: ['one-packet'] });
        const list = sortServices(await ipvs.services());
        expect(list.map(keyText)).toEqual([
          'fwmark 10/ipv4', 'fwmark 11/ipv6', 'sctp 192.168.1.112:3868', 'tcp 192.168.1.110:0', 'tcp 192.168.1.110:80', 'tcp 2001:db8::10:443',
          'udp 192.168.1.111:53', 'udp 192.168.1.113:5060',
        ]);
        const by = new Map(list.map((s) => [keyText(s), s]));
        expect(by.get('tcp 192.168.1.110:0')).toMatchObject({ ...pcc, family: 'ipv4', scheduler: 'rr', flags: [], persistence: { timeout: 600, netmask: '255.255.255.255' } });
        expect(by.get('tcp 192.168.1.110:80')).toMatchObject({ scheduler: 'lc', persistence: { timeout: 300, netmask: '255.255.255.0' } });
        expect(by.get('tcp 2001:db8::10:443')).toMatchObject({ family: 'ipv6', address: '2001:db8::10', scheduler: 'wlc', persistence: { timeout: 30, netmask: 64 } });
        expect(by.get('udp 192.168.1.111:53')).toMatchObject({ scheduler: 'sh' });
        expect(by.get('udp 192.168.1.111:53')?.flags.slice().sort()).toEqual(['sh-fallback', 'sh-port']);
        expect(by.get('sctp 192.168.1.112:3868')).toMatchObject({ protocol: 'sctp', scheduler: 'mh', flags: ['mh-port'] });
        expect(by.get('udp 192.168.1.113:5060')).toMatchObject({ persistenceEngine: 'sip', flags: ['one-packet'], persistence: { timeout: 120 } });
        expect(by.get('fwmark 10/ipv4')).toMatchObject({ fwmark: 10, family: 'ipv4', persistence: { timeout: 60, netmask: '255.255.255.255' } });
        expect(by.get('fwmark 10/ipv4')?.protocol).toBeUndefined();
        expect(by.get('fwmark 11/ipv6')).toMatchObject({ fwmark: 11, family: 'ipv6', scheduler: 'wrr' });
        expect(by.get('fwmark 11/ipv6')?.persistence).toBeUndefined();
        expect(by.get('fwmark 11/ipv6')?.persistenceEngine).toBeUndefined();
        for (const s of list) {
          expect(s.stats).toEqual(ZERO_STATS);
          expect(s.rawFlags & 0x2).toBe(0x2); // IP_VS_SVC_F_HASHED, as the kernel reports it
        }
        await ipvsadmSaves([
          '-A -t 192.168.1.110:0 -s rr -p 600',
          '-A -f 10 -s rr -p 60',
          '-A -f 11 -6 -s wrr',
          '-A -u 192.168.1.111:53 -s sh -b sh-fallback,sh-port',
          '-A --sctp-service 192.168.1.112:3868 -s mh -b mh-port',
          '-A -t [2001:db8::10]:443 -s wlc -p 30 -M 64',
          '-A -t 192.168.1.110:80 -s lc -p 300 -M 255.255.255.0',
          '-A -u 192.168.1.113:5060 -s rr -p 120 --pe sip -o',
        ]);
      });

      it('generic scheduler flags flag-1..3: any scheduler, read back by the scheduler names', async () => {
        await ipvs.addService({ ...web, scheduler: 'rr', flags: ['flag-1', 'flag-3'] });
        await ipvs.addService({ ...dns, scheduler: 'sh', flags: ['flag-1', 'flag-3'] });
        await ipvs.addService({ fwmark: 7, scheduler: 'mh', flags: ['flag-2'] });
        expect(await ipvs.service(web)).toMatchObject({ flags: ['flag-1', 'flag-3'] });
        expect((await ipvs.service(web)).rawFlags & 0x38).toBe(0x28);
        expect(await ipvs.service(dns)).toMatchObject({ flags: ['sh-fallback', 'flag-3'] });
        expect(await ipvs.service({ fwmark: 7 })).toMatchObject({ flags: ['mh-port'] });
        // A service's flags written back as a spec set the same bits, whatever the scheduler.
        const read = await ipvs.service(web);
        await ipvs.updateService({ ...web, scheduler: 'wlc', flags: read.flags });
        expect(await ipvs.service(web)).toMatchObject({ scheduler: 'wlc', flags: ['flag-1', 'flag-3'] });
        // ipvsadm prints only the sh names for an sh service: the SCHED3 bit set there does not show.
        await ipvsadmSaves([
          '-A -t 192.168.1.110:80 -s wlc -b flag-1,flag-3',
          '-A -u 192.168.1.111:53 -s sh -b sh-fallback',
          '-A -f 7 -s mh -b mh-port',
        ]);
      });

      it('takes every scheduler of Linux 6.1', async () => {
        for (const [i, scheduler] of SCHEDULERS.entries()) await ipvs.addService({ protocol: 'tcp', address: '10.1.0.1', port: 1000 + i, scheduler });
        const got = (await ipvs.services()).map((s) => [s.port, s.scheduler]).sort((a, b) => Number(a[0]) - Number(b[0]));
        expect(got).toEqual(SCHEDULERS.map((s, i) => [1000 + i, s]));
      });

      it("takes the scheduler 'none' (no scheduler): added, read back, written back, updated, saved by -S and restored by -R", async () => {
        await ipvs.addService({ ...web, scheduler: 'none' });
        await ipvs.addDestination(web, { address: '192.168.1.116', forwarding: 'masq', weight: 2 });
        const read = await ipvs.service(web);
        expect(read).toMatchObject({ ...web, scheduler: 'none', flags: [] });
        // A service read back is a valid spec, 'none' included.
        await ipvs.updateService({ ...read, persistence: { timeout: 60, netmask: '255.255.255.0' } } as ServiceSpec);
        expect(await ipvs.service(web)).toMatchObject({ scheduler: 'none', persistence: { timeout: 60, netmask: '255.255.255.0' } });
        await ipvs.updateService({ ...web, scheduler: 'rr' });
        expect(await ipvs.service(web)).toMatchObject({ scheduler: 'rr' });
        expect(await ipvs.execute([
          { op: 'update-service', service: { ...web, scheduler: 'none', flags: ['flag-1'] } },
          { op: 'add-service', service: { fwmark: 7, scheduler: 'none', persistence: { timeout: 30 } } },
        ])).toEqual([{ ok: true }, { ok: true }]);
        expect(await ipvs.service(web)).toMatchObject({ scheduler: 'none', flags: ['flag-1'] });
        expect(await ipvs.service({ fwmark: 7 })).toMatchObject({ scheduler: 'none', persistence: { timeout: 30 } });
        const lines = ['-A -t 192.168.1.110:80 -s none -b flag-1', '-a -t 192.168.1.110:80 -r 192.168.1.116:80 -m -w 2', '-A -f 7 -s none -p 30'];
        await ipvsadmSaves(lines);

        // The command line's -S then -R, on this client (kept open: the command line closes what it opened).
        const kept = new Proxy(ipvs, {
          get: (target, name) => (name === 'close' ? async () => {} : (Reflect.get(target, name, target) as unknown)),
        });
        const cli = async (argv: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> => {
          let stdout = '';
          let stderr = '';
          const code = await runCli(argv, {
            ipvs: async () => kept, stdin, resolver: staticResolver(),
            stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) },
          });
          return { code, stdout, stderr };
        };
        const saved = await cli(['-Sn']);
        expect(saved).toMatchObject({ code: 0, stderr: '' });
        expect(saveLines(saved.stdout)).toEqual([...lines].sort());
        await ipvs.flush();
        expect(await cli(['-R'], saved.stdout)).toEqual({ code: 0, stdout: '', stderr: '' });
        expect(saveLines((await cli(['-Sn'])).stdout)).toEqual([...lines].sort());
        expect(await ipvs.service(web)).toMatchObject({ scheduler: 'none', flags: ['flag-1'] });
        expect(await cli(['-A', '-u', '192.168.1.111:53', '-s', 'none'])).toEqual({ code: 0, stdout: '', stderr: '' });
        expect(await ipvs.service(dns)).toMatchObject({ scheduler: 'none' });
        await ipvsadmSaves([...lines, '-A -u 192.168.1.111:53 -s none']);
      });

      it('persistence: defaults, masks and prefixes, on and off', async () => {
        await ipvs.addService({ ...web, persistence: true });
        await ipvs.addService({ ...web6, persistence: { netmask: 48 } });
        await ipvs.addService({ fwmark: 12, scheduler: 'wlc', persistence: { timeout: 100, netmask: '255.255.0.0' } });
        await ipvs.addService({ fwmark: 13, family: 'ipv6', scheduler: 'sh', persistence: { timeout: 100, netmask: 48 } });
        expect((await ipvs.service(web)).persistence).toEqual({ timeout: 300, netmask: '255.255.255.255' });
        expect((await ipvs.service(web6)).persistence).toEqual({ timeout: 300, netmask: 48 });
        expect((await ipvs.service({ fwmark: 12 })).persistence).toEqual({ timeout: 100, netmask: '255.255.0.0' });
        expect((await ipvs.service({ fwmark: 13, family: 'ipv6' })).persistence).toEqual({ timeout: 100, netmask: 48 });
        await ipvs.updateService({ ...web, persistence: false });
        expect((await ipvs.service(web)).persistence).toBeUndefined();
        await ipvsadmSaves([
          '-A -t 192.168.1.110:80 -s wlc',
          '-A -t [2001:db8::10]:443 -s wlc -p 300 -M 48',
          '-A -f 12 -s wlc -p 100 -M 255.255.0.0',
          '-A -f 13 -6 -s sh -p 100 -M 48',
        ]);
      });

      it('gets one service, tells whether one exists, and refuses a missing one with ESRCH', async () => {
        await ipvs.addService({ ...web, scheduler: 'rr' });
        const s = await ipvs.service({ protocol: 'tcp', address: '192.168.1.110', port: 80 });
        expect(s).toMatchObject({ ...web, scheduler: 'rr', family: 'ipv4', flags: [] });
        expect(await ipvs.hasService(web)).toBe(true);
        expect(await ipvs.hasService({ ...web, port: 81 })).toBe(false);
        expect(await ipvs.hasService({ ...web, protocol: 'udp' })).toBe(false);
        expect(await ipvs.hasService({ fwmark: 80 })).toBe(false);
        const err = await refusal(ipvs.service({ ...web, port: 81 }));
        expect(err.code).toBe('ESRCH');
        expect(err.message).toContain('no such service');
        expect((await refusal(ipvs.service({ fwmark: 1, family: 'ipv6' }))).code).toBe('ESRCH');
      });

      it('updates a service: options not given go back to their defaults', async () => {
        await ipvs.addService({ ...dns, scheduler: 'sh', flags: ['sh-port'], persistence: { timeout: 60 }, persistenceEngine: 'sip' });
        await ipvs.updateService({ ...dns, scheduler: 'rr' });
        const s = await ipvs.service(dns);
        expect(s).toMatchObject({ scheduler: 'rr', flags: [] });
        expect(s.persistence).toBeUndefined();
        expect(s.persistenceEngine).toBeUndefined();
        await ipvs.updateService({ ...dns, scheduler: 'mh', flags: ['mh-fallback'], persistence: { timeout: 30 } });
        expect(await ipvs.service(dns)).toMatchObject({ scheduler: 'mh', flags: ['mh-fallback'], persistence: { timeout: 30 } });
        await ipvs.updateService({ fwmark: 5, scheduler: 'rr' }).then(
          () => expect.unreachable(),
          (e: unknown) => expect((e as KernelError).code).toBe('ESRCH'),
        );
        await ipvsadmSaves(['-A -u 192.168.1.111:53 -s mh -p 30 -b mh-fallback']);
      });

      it('refuses a duplicate with EEXIST; deletes, and refuses deleting a missing one with ESRCH', async () => {
        await ipvs.addService({ ...web, scheduler: 'rr' });
        const dup = await refusal(ipvs.addService({ ...web, scheduler: 'wrr' }));
        expect(dup.code).toBe('EEXIST');
        expect(dup.message).toContain('service tcp 192.168.1.110:80 already exists');
        expect((await ipvs.service(web)).scheduler).toBe('rr');
        await ipvs.addService({ fwmark: 10 });
        expect((await refusal(ipvs.addService({ fwmark: 10 }))).code).toBe('EEXIST');
        await ipvs.addService({ fwmark: 10, family: 'ipv6' }); // another family: another service
        await ipvs.deleteService({ fwmark: 10, family: 'ipv6' });
        expect((await refusal(ipvs.deleteService({ fwmark: 10, family: 'ipv6' }))).code).toBe('ESRCH');
        expect((await refusal(ipvs.deleteService({ ...web, port: 81 }))).code).toBe('ESRCH');
        await ipvs.deleteService(web);
        expect((await ipvs.services()).map(keyText)).toEqual(['fwmark 10/ipv4']);
      });

      it('deletes a service with its destinations; flush empties the table', async () => {
        await ipvs.addService(web);
        await ipvs.addDestination(web, { address: '192.168.1.116' });
        await ipvs.addService({ fwmark: 3 });
        await ipvs.deleteService(web);
        await ipvs.addService(web);
        expect(await ipvs.destinations(web)).toEqual([]);
        await ipvs.addDestination(web, { address: '192.168.1.116', weight: 4 }); // the old one comes back from the kernel's trash
        expect((await ipvs.destinations(web)).map((d) => [d.address, d.weight])).toEqual([['192.168.1.116', 4]]);
        await ipvs.flush();
        expect(await ipvs.services()).toEqual([]);
        await ipvs.flush();
        await ipvsadmSaves([]);
      });

      it('services of other protocols, made raw as another tool can: read with their number, kept apart from the rest, removed by it', async (ctx) => {
        if (!h.rawTransport) return ctx.skip();
        await ipvs.addService({ ...web, scheduler: 'rr' });
        await ipvs.addService({ ...dns, scheduler: 'wrr' });
        // Linux 6.1 takes any protocol over generic netlink (and balances only TCP, UDP and SCTP); 300 fits its 16 bits.
        await addForeignServices(h.rawTransport(), [
          { protocol: 47, address: '192.168.1.110', port: 80, destination: { address: '192.168.1.116' } },
          { protocol: 50, address: '192.168.1.110', port: 0, destination: { address: '192.168.1.117', weight: 3 } },
          { protocol: 300, address: '2001:db8::10', port: 443 },
        ]);
        const gre = { protocol: 47, address: '192.168.1.110', port: 80 } as const;
        const esp = { protocol: 50, address: '192.168.1.110', port: 0 } as const;
        expect(sortServices(await ipvs.services()).map(keyText)).toEqual([
          '300 2001:db8::10:443', '47 192.168.1.110:80', '50 192.168.1.110:0', 'tcp 192.168.1.110:80', 'udp 192.168.1.111:53',
        ]);
        expect(await ipvs.service(gre)).toMatchObject({ ...gre, family: 'ipv4', scheduler: 'rr', flags: [], stats: ZERO_STATS });
        expect(await ipvs.service(web)).toMatchObject({ ...web, scheduler: 'rr' }); // another service than proto 47 on the same address and port
        expect(await ipvs.destinations(gre)).toMatchObject([{ address: '192.168.1.116', port: 80, forwarding: 'masq', weight: 1 }]);
        expect(await ipvs.destinations(esp)).toMatchObject([{ address: '192.168.1.117', port: 0, forwarding: 'masq', weight: 3 }]);
        expect(await ipvs.destinations(web)).toEqual([]);
        await ipvsadmSaves([
          '-A -t 192.168.1.110:80 -s rr',
          '-A -u 192.168.1.111:53 -s wrr',
          '-A --xxx-service 192.168.1.110:80 -s rr',
          '-a --xxx-service 192.168.1.110:80 -r 192.168.1.116:80 -m -w 1',
          '-A --xxx-service 192.168.1.110:0 -s rr',
          '-a --xxx-service 192.168.1.110:0 -r 192.168.1.117:0 -m -w 3',
          '-A --xxx-service [2001:db8::10]:443 -s rr',
        ]);
        // Named by their number they are read, changed and removed like any other; adding one is refused before sending.
        await ipvs.updateService({ ...esp, scheduler: 'wlc' });
        await ipvs.updateDestination(esp, { address: '192.168.1.117', forwarding: 'masq', weight: 5 });
        expect((await ipvs.destinations(esp)).map((d) => d.weight)).toEqual([5]);
        await ipvs.deleteService(gre);
        expect((await refusal(ipvs.deleteService(gre))).message).toMatch(/^no such service proto 47 192\.168\.1\.110:80 \[ESRCH\]/);
        expect(await ipvs.hasService(gre)).toBe(false);
        const sent = h.requests?.().length;
        expect((await invalid(ipvs.addService(gre))).message).toMatch(/^invalid protocol 47: Linux would create a service of this protocol but balance nothing/);
        if (sent !== undefined) expect(h.requests!().length).toBe(sent);
        for (const s of await ipvs.services()) if (typeof s.protocol === 'number') await ipvs.deleteService(s);
        expect(sortServices(await ipvs.services()).map(keyText)).toEqual(['tcp 192.168.1.110:80', 'udp 192.168.1.111:53']);
        await ipvsadmSaves(['-A -t 192.168.1.110:80 -s rr', '-A -u 192.168.1.111:53 -s wrr']);
      });

      it('destinations with a forwarding method or tunnel type without a name, made raw as another tool can: read with their number, deleted, refused as input', async (ctx) => {
        if (!h.rawTransport) return ctx.skip();
        await ipvs.addService({ ...web, scheduler: 'rr' });
        await ipvs.addDestination(web, { address: '192.168.1.116', forwarding: 'masq' });
        // Linux 6.1 keeps FWD_METHOD & IP_VS_CONN_F_FWD_MASK (0..7) and any u8 tunnel type.
        await addRawDestinations(h.rawTransport(), { ...web, protocol: 6 }, [
          { address: '192.168.1.117', fwd: 5, weight: 2 },
          { address: '192.168.1.118', fwd: 7 },
          { address: '192.168.1.119', fwd: 2, tunnel: { type: 3 } },
          { address: '192.168.1.120', fwd: 2, tunnel: { type: 200, port: 5555, flags: 1 } },
        ]);
        const read = sortDests(await ipvs.destinations(web));
        expect(read.map((d) => [d.address, d.forwarding, d.weight, d.tunnel])).toEqual([
          ['192.168.1.116', 'masq', 1, undefined],
          ['192.168.1.117', 5, 2, undefined],
          ['192.168.1.118', 7, 1, undefined],
          ['192.168.1.119', 'tunnel', 1, { type: 3, port: 0, checksum: 'nocsum' }],
          ['192.168.1.120', 'tunnel', 1, { type: 200, port: 5555, checksum: 'csum' }],
        ]);
        // ipvsadm 1.31 has no switch for 5..7 (C's "(null)") and writes no --tun-type past gre.
        await ipvsadmSaves([
          '-A -t 192.168.1.110:80 -s rr',
          '-a -t 192.168.1.110:80 -r 192.168.1.116:80 -m -w 1',
          '-a -t 192.168.1.110:80 -r 192.168.1.117:80 (null) -w 2',
          '-a -t 192.168.1.110:80 -r 192.168.1.118:80 (null) -w 1',
          '-a -t 192.168.1.110:80 -r 192.168.1.119:80 -i -w 1',
          '-a -t 192.168.1.110:80 -r 192.168.1.120:80 -i -w 1',
        ]);
        const sent = h.requests?.().length;
        const fwd5 = read[1]!;
        expect(await invalid(ipvs.updateDestination(web, { ...fwd5, forwarding: fwd5.forwarding as 'route', weight: 0 }))).toMatchObject({ field: 'destination.forwarding', value: 5 });
        expect(await invalid(ipvs.updateDestination(web, { ...read[3]!, forwarding: 'tunnel', weight: 0 }))).toMatchObject({ field: 'destination.tunnel.type', value: 3 });
        if (sent !== undefined) expect(h.requests!().length).toBe(sent);
        await ipvs.updateDestination(web, { ...read[3]!, forwarding: 'tunnel', tunnel: { type: 'ipip' }, weight: 0 });
        for (const d of [read[1]!, read[2]!, read[4]!]) await ipvs.deleteDestination(web, d);
        expect(sortDests(await ipvs.destinations(web)).map((d) => [d.address, d.forwarding, d.weight, d.tunnel?.type])).toEqual([
          ['192.168.1.116', 'masq', 1, undefined],
          ['192.168.1.119', 'tunnel', 0, 'ipip'],
        ]);
      });

      it('streams a table of hundreds of services, split over many datagrams', async () => {
        const ops = Array.from({ length: 300 }, (_, i) => ({ op: 'add-service' as const, service: { protocol: 'tcp' as const, address: '10.0.0.10', port: 1000 + i, scheduler: 'rr' as const } }));
        const results = await ipvs.execute(ops);
        expect(results.every((r) => 'ok' in r && r.ok)).toBe(true);
        const ports: number[] = [];
        for await (const s of ipvs.iterateServices()) ports.push(s.port as number);
        expect(ports.sort((a, b) => a - b)).toEqual(ops.map((o) => o.service.port));
      });
    });

    describe('destinations', () => {
      it('forwarding methods, weights (0 too), thresholds and default ports', async () => {
        await ipvs.addService({ ...web, scheduler: 'wrr' });
        await ipvs.addDestination(web, { address: '192.168.1.116', forwarding: 'route', weight: 2 });
        await ipvs.addDestination(web, { address: '192.168.1.117', port: 8080, forwarding: 'masq', weight: 0, upperThreshold: 100, lowerThreshold: 10 });
        await ipvs.addDestination(web, { address: '192.168.1.120' });
        const dests = sortDests(await ipvs.destinations(web));
        expect(dests).toEqual([
          { address: '192.168.1.116', family: 'ipv4', port: 80, forwarding: 'route', weight: 2, upperThreshold: 0, lowerThreshold: 0, activeConns: 0, inactiveConns: 0, persistentConns: 0, stats: ZERO_STATS },
          { address: '192.168.1.117', family: 'ipv4', port: 8080, forwarding: 'masq', weight: 0, upperThreshold: 100, lowerThreshold: 10, activeConns: 0, inactiveConns: 0, persistentConns: 0, stats: ZERO_STATS },
          { address: '192.168.1.120', family: 'ipv4', port: 80, forwarding: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0, activeConns: 0, inactiveConns: 0, persistentConns: 0, stats: ZERO_STATS },
        ]);
        const streamed: string[] = [];
        for await (const d of ipvs.iterateDestinations(web)) streamed.push(d.address);
        expect(streamed.sort()).toEqual(['192.168.1.116', '192.168.1.117', '192.168.1.120']);
        await ipvsadmSaves([
          '-A -t 192.168.1.110:80 -s wrr',
          '-a -t 192.168.1.110:80 -r 192.168.1.116:80 -g -w 2',
          '-a -t 192.168.1.110:80 -r 192.168.1.117:8080 -m -w 0',
          '-a -t 192.168.1.110:80 -r 192.168.1.120:80 -g -w 1',
        ]);
      });

      it('stats: false reads the same services and destinations without their statistics', async () => {
        const v6 = { protocol: 'udp', address: '2001:db8::1', port: 53 } as const;
        await ipvs.addService({ ...web, scheduler: 'wrr', persistence: { timeout: 60 } });
        await ipvs.addService({ fwmark: 12, scheduler: 'rr' });
        await ipvs.addService({ ...v6, scheduler: 'sh', flags: ['sh-port'] });
        await ipvs.addDestination(web, { address: '192.168.1.116', forwarding: 'masq', weight: 2, upperThreshold: 9 });
        await ipvs.addDestination(web, { address: '192.168.1.117', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080 } });
        await ipvs.addDestination(v6, { address: '2001:db8::10', weight: 3 });
        const strip = <T extends { stats: unknown }>(o: T): Omit<T, 'stats'> => {
          const { stats: _stats, ...rest } = o;
          return rest;
        };
        const full = sortServices(await ipvs.services());
        const bare = await ipvs.services({ stats: false });
        expect(bare.every((s) => !('stats' in s))).toBe(true);
        expect(sortServices(bare as unknown as Service[])).toEqual(full.map(strip));
        const streamed: unknown[] = [];
        for await (const s of ipvs.iterateServices({ stats: false })) streamed.push(s);
        expect(sortServices(streamed as Service[])).toEqual(full.map(strip));
        // A service read so still has its methods.
        const bareWeb = bare.find((s) => s.port === 80)!;
        expect(sortDests(await bareWeb.destinations())).toEqual(sortDests(await ipvs.destinations(web)));
        for (const key of [web, v6]) {
          const dests = sortDests(await ipvs.destinations(key));
          const without = await ipvs.destinations(key, { stats: false });
          expect(without.every((d) => !('stats' in d))).toBe(true);
          expect(sortDests(without as Destination[])).toEqual(dests.map(strip));
          const iterated: unknown[] = [];
          for await (const d of ipvs.iterateDestinations(key, { stats: false })) iterated.push(d);
          expect(sortDests(iterated as Destination[])).toEqual(dests.map(strip));
        }
        const runs: Array<{ service: ServiceKey; destinations: unknown[] }> = [];
        for await (const run of ipvs.destinationsOfEach([web, v6], { stats: false })) runs.push(...run);
        expect(runs.map((r) => sortDests(r.destinations as Destination[]))).toEqual([
          sortDests(await ipvs.destinations(web)).map(strip),
          sortDests(await ipvs.destinations(v6)).map(strip),
        ]);
        // Anything but a boolean is refused before a byte is sent.
        const before = h.requests?.().length;
        const err = await invalid(ipvs.services({ stats: 'no' as unknown as boolean }));
        expect(err.field).toBe('stats');
        if (before !== undefined) expect(h.requests!().length).toBe(before);
      });

      it('tunnels: ipip, gue with its port, gre, checksum options, and a destination of the other family', async () => {
        await ipvs.addService(web);
        await ipvs.addDestination(web, { address: '192.168.1.118', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'csum' } });
        await ipvs.addDestination(web, { address: '192.168.1.119', forwarding: 'tunnel', tunnel: { type: 'gre', checksum: 'csum' } });
        await ipvs.addDestination(web, { address: '192.168.1.121', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6081, checksum: 'remcsum' } });
        await ipvs.addDestination(web, { address: '192.168.1.122', forwarding: 'tunnel' });
        await ipvs.addDestination(web, { address: '2001:db8::20', forwarding: 'tunnel', tunnel: { type: 'ipip' } });
        const by = new Map((await ipvs.destinations(web)).map((d) => [d.address, d]));
        expect(by.get('192.168.1.118')).toMatchObject({ forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'csum' } });
        expect(by.get('192.168.1.119')).toMatchObject({ tunnel: { type: 'gre', checksum: 'csum' } });
        expect(by.get('192.168.1.121')).toMatchObject({ tunnel: { type: 'gue', port: 6081, checksum: 'remcsum' } });
        expect(by.get('192.168.1.122')).toMatchObject({ forwarding: 'tunnel', tunnel: { type: 'ipip', checksum: 'nocsum' } });
        expect(by.get('2001:db8::20')).toMatchObject({ family: 'ipv6', port: 80, forwarding: 'tunnel', tunnel: { type: 'ipip' } });
        const mixed = await invalid(ipvs.addDestination(web, { address: '2001:db8::21', forwarding: 'route' }));
        expect(mixed.field).toBe('destination.address');
        await ipvsadmSaves([
          '-A -t 192.168.1.110:80 -s wlc',
          '-a -t 192.168.1.110:80 -r 192.168.1.118:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum',
          '-a -t 192.168.1.110:80 -r 192.168.1.119:80 -i -w 1 --tun-type gre --tun-csum',
          '-a -t 192.168.1.110:80 -r 192.168.1.121:80 -i -w 1 --tun-type gue --tun-port 6081 --tun-remcsum',
          '-a -t 192.168.1.110:80 -r 192.168.1.122:80 -i -w 1 --tun-type ipip',
          '-a -t 192.168.1.110:80 -r [2001:db8::20]:80 -i -w 1 --tun-type ipip',
        ]);
      });

      it('fwmark and IPv6 services: destinations default to port 0 and the service port', async () => {
        await ipvs.addService({ fwmark: 10, scheduler: 'rr', persistence: { timeout: 60 } });
        await ipvs.addDestination({ fwmark: 10 }, { address: '192.168.1.116' });
        await ipvs.addDestination({ fwmark: 10 }, { address: '192.168.1.117', port: 8080, forwarding: 'masq' });
        await ipvs.addService({ ...web6, scheduler: 'rr' });
        await ipvs.addDestination(web6, { address: '2001:db8::21', port: 8443, forwarding: 'masq', weight: 3 });
        await ipvs.addDestination(web6, { address: '2001:db8::22' });
        expect(sortDests(await ipvs.destinations({ fwmark: 10 })).map((d) => [d.address, d.port, d.forwarding])).toEqual([['192.168.1.116', 0, 'route'], ['192.168.1.117', 8080, 'masq']]);
        expect(sortDests(await ipvs.destinations(web6)).map((d) => [d.address, d.family, d.port, d.weight])).toEqual([['2001:db8::21', 'ipv6', 8443, 3], ['2001:db8::22', 'ipv6', 443, 1]]);
        await ipvsadmSaves([
          '-A -f 10 -s rr -p 60',
          '-a -f 10 -r 192.168.1.116:0 -g -w 1',
          '-a -f 10 -r 192.168.1.117:8080 -m -w 1',
          '-A -t [2001:db8::10]:443 -s rr',
          '-a -t [2001:db8::10]:443 -r [2001:db8::21]:8443 -m -w 3',
          '-a -t [2001:db8::10]:443 -r [2001:db8::22]:443 -g -w 1',
        ]);
      });

      it('updates a destination: options not given go back to their defaults', async () => {
        await ipvs.addService(web);
        await ipvs.addDestination(web, { address: '192.168.1.116', forwarding: 'masq', weight: 7, upperThreshold: 50, lowerThreshold: 5 });
        await ipvs.updateDestination(web, { address: '192.168.1.116', weight: 5 });
        expect(await ipvs.destinations(web)).toMatchObject([{ address: '192.168.1.116', forwarding: 'route', weight: 5, upperThreshold: 0, lowerThreshold: 0 }]);
        await ipvs.updateDestination(web, { address: '192.168.1.116', forwarding: 'tunnel', tunnel: { type: 'gre' }, weight: 0 });
        expect(await ipvs.destinations(web)).toMatchObject([{ forwarding: 'tunnel', weight: 0, tunnel: { type: 'gre', checksum: 'nocsum' } }]);
        await ipvsadmSaves(['-A -t 192.168.1.110:80 -s wlc', '-a -t 192.168.1.110:80 -r 192.168.1.116:80 -i -w 0 --tun-type gre --tun-nocsum']);
      });

      it('deletes destinations; a deleted destination can be added again', async () => {
        await ipvs.addService(web);
        await ipvs.addDestination(web, { address: '192.168.1.116' });
        await ipvs.addDestination(web, { address: '192.168.1.117', port: 8080, forwarding: 'masq' });
        await ipvs.deleteDestination(web, { address: '192.168.1.117', port: 8080 });
        await ipvs.deleteDestination(web, { address: '192.168.1.116' });
        expect(await ipvs.destinations(web)).toEqual([]);
        await ipvs.addDestination(web, { address: '192.168.1.117', port: 8080, forwarding: 'route', weight: 9 });
        expect(await ipvs.destinations(web)).toMatchObject([{ address: '192.168.1.117', port: 8080, forwarding: 'route', weight: 9 }]);
      });

      it('refuses with the kernel errno and a sentence', async () => {
        await ipvs.addService({ ...web, scheduler: 'rr' });
        await ipvs.addDestination(web, { address: '192.168.1.116' });
        const dup = await refusal(ipvs.addDestination(web, { address: '192.168.1.116', weight: 3 }));
        expect(dup.code).toBe('EEXIST');
        expect(dup.message).toContain('already exists');
        expect((await refusal(ipvs.addDestination({ ...web, port: 81 }, { address: '192.168.1.116' }))).code).toBe('ESRCH');
        expect((await refusal(ipvs.updateDestination({ ...web, port: 81 }, { address: '192.168.1.116' }))).code).toBe('ESRCH');
        expect((await refusal(ipvs.deleteDestination({ ...web, port: 81 }, { address: '192.168.1.116' }))).code).toBe('ESRCH');
        const noDest = await refusal(ipvs.deleteDestination(web, { address: '192.168.1.120' }));
        expect(noDest.code).toBe('ENOENT');
        expect(noDest.message).toContain('no such destination');
        expect((await refusal(ipvs.updateDestination(web, { address: '192.168.1.120' }))).code).toBe('ENOENT');
        expect((await refusal(ipvs.deleteDestination(web, { address: '192.168.1.116', port: 81 }))).code).toBe('ENOENT');
        // The kernel takes only local or unicast destination addresses: not a subnet broadcast (multicast,
        // 0.0.0.0 and the like, refused on every host, the client refuses itself: see 'validates before sending').
        expect((await refusal(ipvs.addDestination(web, { address: '192.168.1.255' }))).code).toBe('EINVAL');
        // An IPv4 server written as IPv4-mapped IPv6 is not IPV6_ADDR_UNICAST; the sentence says what to write.
        await ipvs.addService({ ...web6, port: 8443 });
        const mapped = await refusal(ipvs.addDestination({ ...web6, port: 8443 }, { address: '::ffff:192.168.1.5' }));
        expect(mapped.code).toBe('EINVAL');
        expect(mapped.message).toContain('an IPv4 server by its IPv4 address, not ::ffff:a.b.c.d');
        await ipvs.deleteService({ ...web6, port: 8443 });
        // dum1 is down: the broadcast address of its prefix is not special then.
        await ipvs.addDestination(web, { address: '172.16.0.255' });
        await ipvs.deleteDestination(web, { address: '172.16.0.255' });
        // Listing the destinations of a missing service is an empty dump, not an error.
        expect(await ipvs.destinations({ ...web, port: 81 })).toEqual([]);
        expect(await ipvs.destinations(web)).toMatchObject([{ address: '192.168.1.116', weight: 1 }]);
      });
    });

    describe('the namespace\'s IPv4 history', () => {
      // Linux creates a namespace's IPv4 local routing table with its first IPv4 address (on any interface,
      // up or down) and keeps it; until then inet_addr_type() calls every IPv4 address broadcast.
      async function inNamespace(history: NetworkHistory, body: (ipvs: Ipvs) => Promise<void>): Promise<void> {
        const ns = await h.openIn!(history);
        try {
          await body(ns.ipvs);
        } finally {
          await ns.close();
        }
      }

      it.each(['new', 'ipv6-only'] as const)('%s: every IPv4 destination is refused with EINVAL, IPv6 ones are not', async (history) => {
        if (!h.openIn) return;
        await inNamespace(history, async (ns) => {
          await ns.addService({ ...web, scheduler: 'rr' });
          const err = await refusal(ns.addDestination(web, { address: '192.168.1.116' }));
          expect(err.code).toBe('EINVAL');
          expect(err.message).toContain('a network namespace that never had an IPv4 address');
          expect(err.message).toContain('`ip link set lo up`');
          await ns.addService({ fwmark: 1 });
          expect((await refusal(ns.addDestination({ fwmark: 1 }, { address: '10.0.0.2' }))).code).toBe('EINVAL');
          await ns.addService(web6);
          await ns.addDestination(web6, { address: '2001:db8::2' });
          expect((await refusal(ns.addDestination(web6, { address: '192.168.1.117', forwarding: 'tunnel' }))).code).toBe('EINVAL');
          expect(await ns.destinations(web)).toEqual([]);
          expect((await ns.destinations(web6)).map(destText)).toEqual(['2001:db8::2:443']);
        });
      });

      // Not IPv4, but the same histories: Linux picks an IPv6 master's source address before it reports that the
      // group has no route through the interface, so where no interface has an IPv6 address the refusal is
      // EADDRNOTAVAIL, not the ENETUNREACH of the usual network (found by fake-drift.kernel.test.ts).
      it.each(['new', 'ipv4-down'] as const)('%s: an IPv6 master on lo finds no source address (EADDRNOTAVAIL)', async (history) => {
        if (!h.openIn) return;
        await inNamespace(history, async (ns) => {
          const err = await refusal(ns.startDaemon({ state: 'master', interface: 'lo', mcastGroup: 'ff02::5' }));
          expect(err.code).toBe('EADDRNOTAVAIL');
          expect(err.message).toContain('no interface of the network namespace has one');
          expect(await ns.daemons()).toEqual([]);
        });
      });

      it.each(['ipv4-down', 'ipv4-removed'] as const)('%s: IPv4 destinations are taken', async (history) => {
        if (!h.openIn) return;
        await inNamespace(history, async (ns) => {
          await ns.addService({ ...web, scheduler: 'rr' });
          await ns.addDestination(web, { address: '192.168.1.116' });
          await ns.addService({ fwmark: 1 });
          await ns.addDestination({ fwmark: 1 }, { address: '10.0.0.2' });
          expect((await ns.destinations(web)).map(destText)).toEqual(['192.168.1.116:80']);
          expect((await ns.destinations({ fwmark: 1 })).map(destText)).toEqual(['10.0.0.2:0']);
        });
      });
    });

    describe("the namespace's IPv6 history", () => {
      // An IPv6 address given to a dummy interface that is down is local at once (a dummy does no duplicate
      // address detection, so its local route goes in), and Linux takes a link-local destination only when it is
      // local: fe80::99 of the down dum0 is taken, another link-local address is not. (An interface taken down
      // loses its IPv6 addresses; a veth given one while down keeps it tentative, not local, unless `nodad`.)
      it('ipv6-down: a link-local destination that is an address of a down dummy is taken, another is refused', async () => {
        if (!h.openIn) return;
        const ns = await h.openIn('ipv6-down');
        try {
          await ns.ipvs.addService(web6);
          await ns.ipvs.addDestination(web6, { address: 'fe80::99', forwarding: 'masq' });
          expect((await refusal(ns.ipvs.addDestination(web6, { address: 'fe80::98', forwarding: 'masq' }))).code).toBe('EINVAL');
          await ns.ipvs.addDestination(web6, { address: '2001:db8:9::1', forwarding: 'route' });
          await ns.ipvs.addService({ fwmark: 2 });
          await ns.ipvs.addDestination({ fwmark: 2 }, { address: 'fe80::99', forwarding: 'tunnel' });
          expect((await refusal(ns.ipvs.addDestination({ fwmark: 2 }, { address: 'fe80::97', forwarding: 'tunnel' }))).code).toBe('EINVAL');
          expect((await ns.ipvs.destinations(web6)).map(destText).sort()).toEqual(['2001:db8:9::1:443', 'fe80::99:443']);
          expect((await ns.ipvs.destinations({ fwmark: 2 })).map(destText)).toEqual(['fe80::99:0']);
        } finally {
          await ns.close();
        }
      });

      // Those addresses are sources too: an IPv6 master with no route out finds one (on the down dum0), so its
      // refusal is ENETUNREACH, not the EADDRNOTAVAIL of a namespace with no IPv6 address at all ('new').
      it('ipv6-down: an IPv6 master with no route out finds a source on the down dummy (ENETUNREACH); a backup starts', async () => {
        if (!h.openIn) return;
        const ns = await h.openIn('ipv6-down');
        try {
          for (const iface of ['lo', 'dum0']) {
            expect((await refusal(ns.ipvs.startDaemon({ state: 'master', interface: iface, mcastGroup: 'ff02::5' }))).code).toBe('ENETUNREACH');
          }
          await ns.ipvs.startDaemon({ state: 'backup', interface: 'dum0', mcastGroup: 'ff02::5' });
          expect((await ns.ipvs.daemons()).map((d) => [d.state, d.interface, d.mcastGroup])).toEqual([['backup', 'dum0', 'ff02::5']]);
          await ns.ipvs.stopDaemon('backup');
        } finally {
          await ns.close();
        }
      });
    });

    describe('timeouts, info, counters, flush', () => {
      it('reads the defaults, sets all or some timeouts; 0 or absent leaves one unchanged', async () => {
        expect(await ipvs.timeouts()).toEqual({ tcp: 900, tcpFin: 120, udp: 300 });
        await ipvs.setTimeouts({ tcp: 1000, tcpFin: 60, udp: 200 });
        expect(await ipvs.timeouts()).toEqual({ tcp: 1000, tcpFin: 60, udp: 200 });
        await ipvs.setTimeouts({ udp: 250 });
        await ipvs.setTimeouts({ tcp: 0 });
        expect(await ipvs.timeouts()).toEqual({ tcp: 1000, tcpFin: 60, udp: 250 });
        if (h.ipvsadm) expect(await h.ipvsadm('-Ln', '--timeout')).toContain('Timeout (tcp tcpfin udp): 1000 60 250');
      });

      it('reports the IPVS version and connection table size', async () => {
        const info = await ipvs.info();
        expect(info).toMatchObject({ version: '1.2.1', versionCode: 0x010201 });
        expect(info.connectionTableSize).toBeGreaterThan(0);
      });

      it('zeroes the counters of one service or all; a missing one is ESRCH', async () => {
        await ipvs.addService(web);
        await ipvs.addDestination(web, { address: '192.168.1.116' });
        await ipvs.zero(web);
        await ipvs.zero();
        expect((await ipvs.service(web)).stats).toEqual(ZERO_STATS);
        const err = await refusal(ipvs.zero({ ...web, port: 99 }));
        expect(err.code).toBe('ESRCH');
        expect(err.message).toContain('no such service');
      });
    });

    describe('sync daemons', () => {
      afterEach(async () => {
        for (const d of await ipvs.daemons()) await ipvs.stopDaemon(d.state);
      });

      it('starts a master and a backup, lists them with the kernel defaults, stops them', async () => {
        await ipvs.startDaemon({ state: 'master', interface: 'lo', syncId: 7 });
        await ipvs.startDaemon({ state: 'backup', interface: 'lo', syncId: 7 });
        const daemons = (await ipvs.daemons()).sort((a, b) => a.state.localeCompare(b.state));
        expect(daemons).toEqual([
          { state: 'backup', interface: 'lo', syncId: 7, syncMaxLen: 65507, mcastGroup: '224.0.0.81', mcastPort: 8848, mcastTtl: 1 },
          { state: 'master', interface: 'lo', syncId: 7, syncMaxLen: 1472, mcastGroup: '224.0.0.81', mcastPort: 8848, mcastTtl: 1 },
        ]);
        await ipvs.stopDaemon('master');
        await ipvs.stopDaemon('backup');
        expect(await ipvs.daemons()).toEqual([]);
      });

      it('stops a daemon right after starting it, though the kernel may then send no answer', async () => {
        // Linux stops a daemon whose thread has not run yet but answers nothing (kthread_stop's -EINTR,
        // which netlink drops): the client must still return at once, not after its timeout.
        for (let i = 0; i < 4; i++) {
          const state = i % 2 === 0 ? 'backup' : 'master';
          await ipvs.startDaemon({ state, interface: 'lo', syncId: i });
          const start = Date.now();
          await ipvs.stopDaemon(state);
          expect(Date.now() - start).toBeLessThan(5000);
          expect(await ipvs.daemons()).toEqual([]);
        }
      });

      it('passes the multicast group, port, TTL and message size', async () => {
        await ipvs.startDaemon({ state: 'backup', interface: 'dum0', syncId: 8, mcastGroup: '239.1.1.1', mcastPort: 9000, mcastTtl: 3, syncMaxLen: 1200 });
        await ipvs.startDaemon({ state: 'master', interface: 'dum0', syncId: 9, mcastGroup: 'ff02::5' });
        const daemons = (await ipvs.daemons()).sort((a, b) => a.state.localeCompare(b.state));
        expect(daemons).toEqual([
          { state: 'backup', interface: 'dum0', syncId: 8, syncMaxLen: 1200, mcastGroup: '239.1.1.1', mcastPort: 9000, mcastTtl: 3 },
          { state: 'master', interface: 'dum0', syncId: 9, syncMaxLen: 1452, mcastGroup: 'ff02::5', mcastPort: 8848, mcastTtl: 1 },
        ]);
        if (h.ipvsadm) {
          expect(await h.ipvsadm('-Ln', '--daemon')).toContain('backup sync daemon (mcast=dum0, syncid=8, maxlen=1200, group=239.1.1.1, port=9000, ttl=3)');
        }
      });

      it('stops one kind and leaves the other running with its settings; a refused start changes neither', async () => {
        const backupDaemon = { state: 'backup', interface: 'dum0', syncId: 200, syncMaxLen: 2000, mcastGroup: '239.7.7.7', mcastPort: 9300, mcastTtl: 4 } as const;
        const masterDaemon = { state: 'master', interface: 'lo', syncId: 3, syncMaxLen: 1472, mcastGroup: '224.0.0.81', mcastPort: 8848, mcastTtl: 1 } as const;
        await ipvs.startDaemon(backupDaemon);
        await ipvs.startDaemon({ state: 'master', interface: 'lo', syncId: 3 });
        // A second master, refused (EEXIST), and one on an interface that is not there (ENODEV).
        expect((await refusal(ipvs.startDaemon({ state: 'master', interface: 'dum0', syncId: 9, mcastPort: 9999 }))).code).toBe('EEXIST');
        expect((await refusal(ipvs.startDaemon({ state: 'backup', interface: 'nosuch0', syncId: 9 }))).code).toBe('ENODEV');
        const byState = async (): Promise<unknown[]> => (await ipvs.daemons()).sort((a, b) => a.state.localeCompare(b.state));
        expect(await byState()).toEqual([backupDaemon, masterDaemon]);
        await ipvs.stopDaemon('master');
        expect(await byState()).toEqual([backupDaemon]);
        expect((await refusal(ipvs.stopDaemon('master'))).code).toBe('ESRCH');
        expect(await byState()).toEqual([backupDaemon]);
        // A master again, with other settings; then the backup stops and the master stays.
        await ipvs.startDaemon({ state: 'master', interface: 'dum0', syncId: 4, mcastGroup: 'ff02::7', mcastPort: 9301 });
        const master2 = { state: 'master', interface: 'dum0', syncId: 4, syncMaxLen: 1452, mcastGroup: 'ff02::7', mcastPort: 9301, mcastTtl: 1 };
        expect(await byState()).toEqual([backupDaemon, master2]);
        await ipvs.stopDaemon('backup');
        expect(await byState()).toEqual([master2]);
        expect((await refusal(ipvs.stopDaemon('backup'))).code).toBe('ESRCH');
        expect(await byState()).toEqual([master2]);
      });

      it('refuses a second daemon of a kind, a missing interface, stopping one not running', async () => {
        await ipvs.startDaemon({ state: 'master', interface: 'lo', syncId: 1 });
        const again = await refusal(ipvs.startDaemon({ state: 'master', interface: 'lo', syncId: 2 }));
        expect(again.code).toBe('EEXIST');
        expect(again.message).toContain('already running');
        const noDev = await refusal(ipvs.startDaemon({ state: 'backup', interface: 'nosuch0' }));
        expect(noDev.code).toBe('ENODEV');
        expect(noDev.message).toContain('no such interface nosuch0');
        // The kernel would refuse a unicast group with EINVAL; the client refuses it first.
        expect((await invalid(ipvs.startDaemon({ state: 'backup', interface: 'lo', mcastGroup: '10.1.1.1' }))).field).toBe('daemon.mcastGroup');
        await ipvs.stopDaemon('master');
        const notRunning = await refusal(ipvs.stopDaemon('master'));
        expect(notRunning.code).toBe('ESRCH');
        expect(notRunning.message).toContain('no master sync daemon is running');
        expect((await refusal(ipvs.stopDaemon('backup'))).code).toBe('ESRCH');
      });

      it('refuses a daemon the kernel cannot give a socket: a master on a down interface, IPv6 where there is none', async () => {
        const down = await refusal(ipvs.startDaemon({ state: 'master', interface: 'dum1' }));
        expect(down.code).toBe('ENETUNREACH');
        expect(down.message).toContain('cannot reach its multicast group 224.0.0.81 through dum1');
        expect((await refusal(ipvs.startDaemon({ state: 'master', interface: 'lo', mcastGroup: 'ff02::5' }))).code).toBe('ENETUNREACH');
        expect((await refusal(ipvs.startDaemon({ state: 'master', interface: 'dum2', mcastGroup: 'ff02::5' }))).code).toBe('ENETUNREACH');
        const noV6 = await refusal(ipvs.startDaemon({ state: 'backup', interface: 'dum2', mcastGroup: 'ff02::5' }));
        expect(noV6.code).toBe('EINVAL');
        expect(noV6.message).toContain('an IPv6 group needs IPv6 on the interface');
        expect(await ipvs.daemons()).toEqual([]);
        await ipvs.startDaemon({ state: 'master', interface: 'lo' });
        await ipvs.startDaemon({ state: 'backup', interface: 'dum1', mcastGroup: 'ff02::5' });
        expect((await ipvs.daemons()).map((d) => `${d.state} ${d.interface}`).sort()).toEqual(['backup dum1', 'master lo']);
      });

      it('refuses an IPv6 master on an interface with no IPv6 address to send from; a backup, or an IPv4 group, needs none', async () => {
        const none = await refusal(ipvs.startDaemon({ state: 'master', interface: 'dum3', mcastGroup: 'ff02::5' }));
        expect(none.code).toBe('EADDRNOTAVAIL');
        expect(none.message).toContain('the master sync daemon has no IPv6 address on dum3 to send to its group ff02::5 from');
        expect(await ipvs.daemons()).toEqual([]);
        await ipvs.startDaemon({ state: 'backup', interface: 'dum3', mcastGroup: 'ff02::5' });
        await ipvs.startDaemon({ state: 'master', interface: 'dum3' });
        expect((await ipvs.daemons()).map((d) => `${d.state} ${d.interface} ${d.mcastGroup}`).sort()).toEqual(['backup dum3 ff02::5', 'master dum3 224.0.0.81']);
      });

      it('keeps mixed-family destinations and the sync daemon apart', async () => {
        await ipvs.addService(web);
        await ipvs.addDestination(web, { address: '2001:db8::20', forwarding: 'tunnel' });
        expect((await refusal(ipvs.startDaemon({ state: 'master', interface: 'lo' }))).code).toBe('EINVAL');
        await ipvs.deleteDestination(web, { address: '2001:db8::20' });
        await ipvs.startDaemon({ state: 'master', interface: 'lo' });
        expect((await refusal(ipvs.addDestination(web, { address: '2001:db8::20', forwarding: 'tunnel' }))).code).toBe('EINVAL');
      });
    });

    describe('bulk and validation', () => {
      it('pipelines many operations and reports each result in order', async () => {
        const svc = (i: number): ServiceKey => ({ protocol: 'tcp', address: '10.0.0.10', port: 1000 + i });
        const ops = [
          ...Array.from({ length: 200 }, (_, i) => ({ op: 'add-service' as const, service: { ...svc(i), scheduler: 'rr' as const } })),
          { op: 'add-destination' as const, service: svc(0), destination: { address: '192.168.1.116' } },
          { op: 'update-destination' as const, service: svc(0), destination: { address: '192.168.1.116', weight: 3 } },
          { op: 'add-service' as const, service: { ...svc(5), scheduler: 'rr' as const } },
          { op: 'update-service' as const, service: { ...svc(1), scheduler: 'wrr' as const } },
          { op: 'delete-service' as const, service: svc(2) },
          { op: 'delete-destination' as const, service: svc(3), destination: { address: '192.168.1.116' } },
        ];
        const results = await ipvs.execute(ops);
        expect(results.slice(0, 202).every((r) => 'ok' in r && r.ok)).toBe(true);
        const codes = results.slice(202).map((r) => ('ok' in r && !r.ok ? (r.error as KernelError).code : 'ok' in r ? 'ok' : 'skipped'));
        expect(codes).toEqual(['EEXIST', 'ok', 'ok', 'ENOENT']);
        expect((await ipvs.services()).length).toBe(199);
        expect((await ipvs.service(svc(1))).scheduler).toBe('wrr');
        expect(await ipvs.destinations(svc(0))).toMatchObject([{ address: '192.168.1.116', weight: 3 }]);
      });

      it('lets the event loop turn during a long execute(); an abort in a turn skips the windows not sent', async () => {
        // 20 000 additions: about 20 windows, each answered inside its send on the kernel socket, so only the
        // turns execute() takes between windows let this counter run (on the fake, every reply is an event).
        const ops = Array.from({ length: 20_000 }, (_, i) => ({
          op: 'add-service' as const,
          service: { protocol: 'tcp' as const, address: `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, port: 80 },
        }));
        const controller = new AbortController();
        let turns = 0;
        let on = true;
        const tick = (): void => {
          if (!on) return;
          if (++turns === 3) controller.abort();
          setImmediate(tick);
        };
        setImmediate(tick);
        const results = await ipvs.execute(ops, { signal: controller.signal });
        on = false;
        expect(turns).toBeGreaterThanOrEqual(3);
        const ok = results.filter((r) => 'ok' in r && r.ok).length;
        const skipped = results.filter((r) => 'skipped' in r).length;
        const aborted = results.filter((r) => 'ok' in r && !r.ok);
        expect(ok + skipped + aborted.length).toBe(ops.length);
        expect(skipped).toBeGreaterThan(0);
        // A window in flight at the abort (on the fake, whose replies take turns) has an unknown outcome.
        expect(aborted.every((r) => 'error' in r && r.error instanceof AbortError)).toBe(true);
        const count = (await ipvs.services({ stats: false })).length;
        expect(count).toBeGreaterThanOrEqual(ok);
        expect(count).toBeLessThanOrEqual(ok + aborted.length);
      });

      it('stops after a failing window with stopOnError', async () => {
        await ipvs.addService({ ...web, port: 2 });
        const ops = [1, 2, 3, 4].map((port) => ({ op: 'add-service' as const, service: { ...web, port } }));
        const results = await ipvs.execute(ops, { stopOnError: true, window: 2 });
        expect(results).toEqual([{ ok: true }, { ok: false, error: expect.any(KernelError) }, { skipped: true }, { skipped: true }]);
        expect((await ipvs.services()).map((s) => s.port).sort()).toEqual([1, 2]);
      });

      it('validates before sending anything: a refused call changes nothing', async () => {
        await ipvs.addService(web);
        const before = h.requests?.().length;
        const bad: [() => Promise<unknown>, string][] = [
          [() => ipvs.addService({ ...web, port: 70000 }), 'port'],
          [() => ipvs.addService({ fwmark: 0 }), 'fwmark'],
          [() => ipvs.addService({ ...web, scheduler: 'nope' as never }), 'scheduler'],
          [() => ipvs.addService({ ...web, persistence: { netmask: '255.0.255.0' } }), 'persistence.netmask'],
          [() => ipvs.addService({ ...web, persistence: { netmask: 129 } } as ServiceSpec), 'persistence.netmask'],
          [() => ipvs.addService({ ...web, flags: ['sh-port'] }), 'flags'],
          [() => ipvs.addService({ ...web, persistenceEngine: 'nope' as never }), 'persistenceEngine'],
          [() => ipvs.addDestination(web, { address: '192.168.1.116', weight: -1 }), 'destination.weight'],
          [() => ipvs.addDestination(web, { address: '192.168.1.116', tunnel: { type: 'ipip' } }), 'destination.tunnel'],
          [() => ipvs.addDestination(web, { address: '192.168.1.116', forwarding: 'tunnel', tunnel: { type: 'gue' } }), 'destination.tunnel.port'],
          [() => ipvs.addDestination(web, { address: '192.168.1.116', forwarding: 'tunnel', tunnel: { type: 'ipip', checksum: 'csum' } }), 'destination.tunnel.checksum'],
          [() => ipvs.addDestination(web, { address: '192.168.1.116', upperThreshold: 1, lowerThreshold: 2 }), 'destination.lowerThreshold'],
          [() => ipvs.addDestination(web, { address: 'nope' } as DestinationSpec), 'destination.address'],
          [() => ipvs.execute([{ op: 'add-service', service: { ...web, port: 81 } }, { op: 'add-service', service: { ...web, port: -1 } }]), 'operations[1].service.port'],
          // Unknown fields: a typo would otherwise take the default of the field it meant.
          [() => ipvs.addService({ ...web, port: 81, schedular: 'sh' } as ServiceSpec), 'schedular'],
          [() => ipvs.updateService({ ...web, persistence: { timout: 60 } } as ServiceSpec), 'persistence.timout'],
          [() => ipvs.addDestination(web, { address: '192.168.1.116', wieght: 0 } as DestinationSpec), 'destination.wieght'],
          [() => ipvs.updateDestination(web, { address: '192.168.1.116', forwarding: 'tunnel', tunnel: { type: 'gre', chksum: 'csum' } } as DestinationSpec), 'destination.tunnel.chksum'],
          [() => ipvs.setTimeouts({ tcpfin: 30 } as never), 'timeouts.tcpfin'],
          [() => ipvs.startDaemon({ state: 'master', interface: 'lo', syncid: 9 } as never), 'daemon.syncid'],
          [() => ipvs.execute([{ op: 'delete-service', service: web, destination: { address: '192.168.1.116' } } as never]), 'operations[0].destination'],
          // Linux's gre ignores remcsum (ipvsadm refuses it too).
          [() => ipvs.addDestination(web, { address: '192.168.1.116', forwarding: 'tunnel', tunnel: { type: 'gre', checksum: 'remcsum' } }), 'destination.tunnel.checksum'],
          // Addresses Linux refuses as destinations on every host.
          ...['224.0.0.5', '239.255.255.255', '0.0.0.0', '255.255.255.255'].map((address): [() => Promise<unknown>, string] => [() => ipvs.addDestination(web, { address }), 'destination.address']),
          [() => ipvs.updateDestination(web, { address: '224.0.0.5' }), 'destination.address'],
          [() => ipvs.addDestination(web6, { address: '::' }), 'destination.address'],
          [() => ipvs.addDestination(web6, { address: 'ff02::1' }), 'destination.address'],
          [() => ipvs.execute([{ op: 'add-destination', service: web, destination: { address: '192.168.1.116' } }, { op: 'add-destination', service: web, destination: { address: '224.0.0.1' } }]), 'operations[1].destination.address'],
        ];
        for (const [call, field] of bad) expect((await invalid(call())).field).toBe(field);
        expect((await ipvs.services()).map(keyText)).toEqual(['tcp 192.168.1.110:80']);
        expect(await ipvs.destinations(web)).toEqual([]);
        if (before !== undefined) expect(h.requests?.().length).toBe(before + 2); // the two reads just above
      });
    });

    describe('permissions', () => {
      it('without CAP_NET_ADMIN every command is EPERM, with advice, and changes nothing', async (ctx) => {
        if (!h.unprivileged) ctx.skip();
        await ipvs.addService(web);
        const eperm = { code: 'EPERM', message: expect.stringContaining('IPVS needs CAP_NET_ADMIN') };
        expect(await h.unprivileged!()).toEqual({ services: eperm, addService: eperm, flush: eperm, info: eperm });
        expect((await ipvs.services()).map(keyText)).toEqual(['tcp 192.168.1.110:80']);
      });
    });

    describe('sockets', () => {
      it('two clients on one kernel see each other’s changes', async (ctx) => {
        if (!h.openAnother) ctx.skip();
        const other = await h.openAnother!();
        try {
          await ipvs.addService(web);
          expect((await other.services()).map(keyText)).toEqual(['tcp 192.168.1.110:80']);
          await other.addDestination(web, { address: '192.168.1.116' });
          expect((await ipvs.destinations(web)).map((d) => d.address)).toEqual(['192.168.1.116']);
        } finally {
          await other.close();
        }
      });

      it('one dump per socket at a time: a listing started inside a loop over a large listing waits for it, read ahead, and the loop goes on', async () => {
        const ops = Array.from({ length: 1000 }, (_, i) => ({ op: 'add-service' as const, service: { protocol: 'tcp' as const, address: '10.0.0.10', port: 1000 + i } }));
        await ipvs.execute(ops);
        let seen = 0;
        let nested = 0;
        for await (const s of ipvs.iterateServices()) {
          seen++;
          if ((await ipvs.destinations(s)).length === 0) nested++;
        }
        expect([seen, nested]).toEqual([1000, 1000]);
        expect(await ipvs.destinations({ protocol: 'tcp', address: '10.0.0.10', port: 1000 })).toEqual([]);
      });

      it('listings take turns: right after a break out of a large one, and several at once', async () => {
        const ops = Array.from({ length: 1000 }, (_, i) => ({ op: 'add-service' as const, service: { protocol: 'tcp' as const, address: '10.0.0.11', port: 1000 + i } }));
        await ipvs.execute(ops);
        let n = 0;
        for await (const s of ipvs.iterateServices()) if (++n === 3 || !s) break;
        expect(await ipvs.services()).toHaveLength(1000);
        const all = await Promise.all([ipvs.services(), ipvs.services({ stats: false }), ipvs.destinations({ protocol: 'tcp', address: '10.0.0.11', port: 1000 })]);
        expect(all.map((r) => r.length)).toEqual([1000, 1000, 0]);
      });

      it('collected reads take turns too: two exports at once, an export next to daemons(), daemons() next to services()', async () => {
        const ops = Array.from({ length: 1000 }, (_, i) => [
          { op: 'add-service' as const, service: { protocol: 'tcp' as const, address: '10.0.0.13', port: 1000 + i } },
          { op: 'add-destination' as const, service: { protocol: 'tcp' as const, address: '10.0.0.13', port: 1000 + i }, destination: { address: '192.168.1.7' } },
        ]).flat();
        expect((await ipvs.execute(ops)).every((r) => 'ok' in r && r.ok)).toBe(true);
        const [a, b] = await Promise.all([ipvs.exportState(), ipvs.exportState()]);
        expect(a.services).toHaveLength(1000);
        expect(b).toEqual(a);
        // A daemons() call a moment later, while the export reads destinations (between two of its runs).
        const later = new Promise<void>((r) => setTimeout(r, 5)).then(() => ipvs.daemons());
        expect(await Promise.all([ipvs.exportState(), later])).toEqual([a, []]);
        const lists = await Promise.all([ipvs.daemons(), ipvs.services({ stats: false }), ipvs.daemons()]);
        expect(lists.map((l) => l.length)).toEqual([0, 1000, 0]);
      });

      it('a listing ended midway by an abort or its timeout leaves the socket usable: the next listing waits for the rest to be dropped', async () => {
        const ops = Array.from({ length: 1000 }, (_, i) => ({ op: 'add-service' as const, service: { protocol: 'tcp' as const, address: '10.0.0.12', port: 1000 + i } }));
        await ipvs.execute(ops);
        // A transport that delivers the whole dump at once may finish it before the abort or the timer: then
        // the loop simply ends. Either way the next listing must work (the kernel refuses a second dump on
        // the socket, EBUSY, until the first one's end is read).
        const ac = new AbortController();
        let n = 0;
        const aborted = await (async () => {
          for await (const s of ipvs.iterateServices({ signal: ac.signal })) if (++n === 2 && s) ac.abort();
        })().catch((e: unknown) => e);
        if (aborted !== undefined) expect(aborted).toBeInstanceOf(AbortError);
        expect(await ipvs.services()).toHaveLength(1000);
        n = 0;
        const timedOut = await (async () => {
          for await (const s of ipvs.iterateServices({ timeoutMs: 200 })) if (++n === 2 && s) await new Promise((r) => setTimeout(r, 400));
        })().catch((e: unknown) => e);
        if (timedOut !== undefined) {
          expect(timedOut).toBeInstanceOf(TimeoutError);
          expect((timedOut as Error).message).toMatch(/the listing was not read to its end within 200 ms/);
        }
        expect(await ipvs.services({ stats: false })).toHaveLength(1000);
      });

      it('a listing aborted while it waits its turn settles at once, is never sent, and the listings behind it go on', async () => {
        const ops = Array.from({ length: 1000 }, (_, i) => ({ op: 'add-service' as const, service: { protocol: 'tcp' as const, address: '10.0.0.13', port: 1000 + i } }));
        await ipvs.execute(ops);
        const getDests = (): number => (h.requests?.() ?? []).filter((r) => r === 'IPVS_CMD_GET_DEST').length;
        const before = getDests();
        const settled: string[] = [];
        // Scheduled before any listing: "at once" is before the event loop's next turn.
        setImmediate(() => settled.push('turn'));
        const ac = new AbortController();
        const first = ipvs.services({ stats: false }).finally(() => settled.push('first'));
        const queued = ipvs.destinations({ protocol: 'tcp', address: '10.0.0.13', port: 1000 }, { signal: ac.signal }).then(
          () => 'listed',
          (e: unknown) => e,
        ).finally(() => settled.push('queued'));
        const behind = ipvs.services();
        ac.abort();
        const outcome = await queued;
        const turned = settled.includes('turn');
        expect((await first).length).toBe(1000);
        expect((await behind).length).toBe(1000);
        // A socket that answers a listing inside its send (the kernel's) has read the first listing whole
        // before the second starts: nothing waits, and the abort comes after the second has its answer.
        // Unless a turn of the event loop fell due meanwhile (the first listing read long): then the second
        // waits for it before its send, and the abort ends that wait at once, as it ends a wait for the
        // socket. The first may then be read already, its promise just not settled: the order of the two
        // says nothing, the turn does.
        if (outcome === 'listed') return;
        expect(outcome).toBeInstanceOf(AbortError);
        expect(turned).toBe(false);
        if (h.requests) expect(getDests()).toBe(before);
        expect(await ipvs.destinations({ protocol: 'tcp', address: '10.0.0.13', port: 1000 })).toEqual([]);
      });

      it('a closed client refuses further calls', async () => {
        const other = h.openAnother ? await h.openAnother() : undefined;
        if (!other) return;
        await other.close();
        await expect(other.services()).rejects.toBeInstanceOf(ClosedError);
      });
    });
  });
}
