// The planner's two shortcuts for big tables: a service whose destinations the kernel already holds
// exactly is decided without normal forms (kernelDestinationEquals must agree with the full comparison),
// and a state just checked by parseDesiredState/checkDesiredState is not walked a second time by its first
// plan, while any later plan of the same object, or a state never checked, is checked in full.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { emptyStats } from '../../src/ipvs/stats.js';
import type { Destination, DestinationSpec, Forwarding, Service } from '../../src/ipvs/types.js';
import { validateServiceKey } from '../../src/ipvs/validate.js';
import { ValidationError } from '../../src/ipvs/errors.js';
import { apply, checkDesiredState, parseDesiredState, plan, readCurrent, type DesiredState } from '../../src/reconcile/index.js';
import {
  DesiredDestinations,
  kernelDestinationEquals,
  normalDesiredDestination,
  normalKernelDestination,
  normalKernelService,
  sameDestination,
} from '../../src/reconcile/normalize.js';
import { keyOfService } from '../../src/ipvs/service.js';
import { desiredDestinationsOf, normaliseDesiredState, sameDesiredDestinations, type DesiredEntry } from '../../src/reconcile/desired.js';
import { FakeKernel } from '../../src/testing/index.js';
import type { EditableState } from './scenarios.js';

const SVC4 = validateServiceKey({ protocol: 'tcp', address: '10.0.0.1', port: 80 });
const SVC6 = validateServiceKey({ protocol: 'tcp', address: '2001:db8::1', port: 80 });
const SERVICE4 = { protocol: 'tcp', address: '10.0.0.1', port: 80 };

function kernelDest(fields: Partial<Destination>): Destination {
  return {
    address: '10.0.0.2', family: 'ipv4', port: 80, forwarding: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0,
    activeConns: 0, inactiveConns: 0, persistentConns: 0, stats: emptyStats(), ...fields,
  };
}

/** Kernel destinations that differ from one another in one option each, tunnels included. */
function kernelVariants(): Destination[] {
  const out: Destination[] = [];
  for (const forwarding of ['masq', 'route', 'tunnel', 'local', 'bypass'] as Forwarding[]) {
    for (const weight of [0, 1, 5]) out.push(kernelDest({ forwarding, weight }));
    out.push(kernelDest({ forwarding, upperThreshold: 10 }), kernelDest({ forwarding, upperThreshold: 10, lowerThreshold: 4 }));
  }
  for (const tunnel of [
    { type: 'ipip', port: 0, checksum: 'nocsum' },
    { type: 'gue', port: 6080, checksum: 'nocsum' },
    { type: 'gue', port: 6081, checksum: 'csum' },
    { type: 'gre', port: 0, checksum: 'remcsum' },
    { type: 'gre', port: 0, checksum: 'csum' },
    { type: 'gre', port: 0, checksum: 'nocsum' },
  ] as const) {
    out.push(kernelDest({ forwarding: 'tunnel', tunnel: { ...tunnel } }));
  }
  return out;
}

/** Desired specs covering the same ground, defaults left out as a user would. */
function desiredVariants(): DestinationSpec[] {
  const out: DestinationSpec[] = [{ address: '10.0.0.2', port: 80 }];
  for (const forwarding of ['masq', 'route', 'tunnel'] as const) {
    for (const weight of [0, 1, 5]) out.push({ address: '10.0.0.2', port: 80, forwarding, weight });
    out.push({ address: '10.0.0.2', port: 80, forwarding, upperThreshold: 10 }, { address: '10.0.0.2', port: 80, forwarding, upperThreshold: 10, lowerThreshold: 4 });
  }
  out.push(
    { address: '10.0.0.2', port: 80, forwarding: 'tunnel', tunnel: { type: 'ipip' } },
    { address: '10.0.0.2', port: 80, forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080 } },
    { address: '10.0.0.2', port: 80, forwarding: 'tunnel', tunnel: { type: 'gue', port: 6081, checksum: 'csum' } },
    { address: '10.0.0.2', port: 80, forwarding: 'tunnel', tunnel: { type: 'gre', checksum: 'csum' } },
    { address: '10.0.0.2', port: 80, forwarding: 'tunnel', tunnel: { type: 'gre' } },
  );
  return out;
}

describe('normalKernelService', () => {
  it('names and keys a kernel service as validateServiceKey does, without parsing it again', () => {
    const base = { scheduler: 'wlc', flags: [], rawFlags: 2, stats: emptyStats() };
    const services: Service[] = [
      { ...base, protocol: 'tcp', address: '10.0.0.1', port: 80, family: 'ipv4' },
      { ...base, protocol: 'udp', address: '2001:db8::1', port: 53, family: 'ipv6' },
      { ...base, protocol: 'sctp', address: '192.168.0.9', port: 0, family: 'ipv4' },
      { ...base, fwmark: 10, family: 'ipv4' },
      { ...base, fwmark: 4294967295, family: 'ipv6' },
    ] as Service[];
    for (const svc of services) {
      const wire = validateServiceKey(keyOfService(svc));
      const norm = normalKernelService(svc);
      expect(norm.id).toBe(wire.text);
      expect(norm.key).toEqual(wire.key);
      expect(norm.af).toBe(wire.af);
    }
  });
});

describe('kernelDestinationEquals', () => {
  it('agrees with the full comparison on every pair of kernel and desired variants', () => {
    let equal = 0;
    for (const d of kernelVariants()) {
      for (const spec of desiredVariants()) {
        const want = normalDesiredDestination(SVC4, spec);
        const full = sameDestination(normalKernelDestination(d), want);
        expect(kernelDestinationEquals(d, want), `${JSON.stringify(d.tunnel ?? d.forwarding)} ${d.weight} vs ${JSON.stringify(spec)}`).toBe(full);
        if (full) equal++;
      }
    }
    expect(equal).toBeGreaterThan(10); // the pairs include equal ones, not only differences
  });

  it('spells ids as the desired side does, IPv6 in brackets', () => {
    expect(normalKernelDestination(kernelDest({ port: 8080 })).id).toBe(normalDesiredDestination(SVC4, { address: '10.0.0.2', port: 8080 }).id);
    const d6 = kernelDest({ address: '2001:db8::2', family: 'ipv6', port: 443 });
    expect(normalKernelDestination(d6).id).toBe('[2001:db8::2]:443');
    expect(normalKernelDestination(d6).id).toBe(normalDesiredDestination(SVC6, { address: '2001:db8:0::2', port: 443 }).id);
    expect(normalKernelDestination(d6).key).toEqual({ address: '2001:db8::2', port: 443 });
  });
});

describe('DesiredDestinations', () => {
  it('lists only what was added when fewer came than expected', () => {
    const dests = new DesiredDestinations(10);
    dests.add(normalDesiredDestination(SVC4, { address: '10.0.0.7' }));
    expect(dests.list).toHaveLength(1);
    dests.add(normalDesiredDestination(SVC4, { address: '10.0.0.8' }));
    expect(dests.list.map((nd) => nd.id)).toEqual(['10.0.0.7:80', '10.0.0.8:80']);
    expect(dests.size).toBe(2);
  });

  // Searched while short, indexed once past 16: both must find the same ones and refuse the same twins.
  for (const [count, expected] of [[3, 3], [3, 0], [16, 16], [17, 5], [60, 60], [60, 0]] as const) {
    it(`finds each of ${count} destinations by address and port (${expected} expected), and refuses a twin`, () => {
      const dests = new DesiredDestinations(expected);
      const specs = Array.from({ length: count }, (_, i) => ({ address: i % 2 ? `10.3.${i >> 8}.${i & 255}` : `2001:db8::${(i + 1).toString(16)}`, port: 80 + (i % 3) }));
      for (const spec of specs) expect(dests.add(normalDesiredDestination(spec.address.includes(':') ? SVC6 : SVC4, { ...spec, forwarding: 'tunnel' }))).toBeUndefined();
      expect(dests.size).toBe(count);
      expect(dests.list.map((nd) => nd.address)).toEqual(specs.map((x) => x.address));
      for (const spec of specs) {
        const v6 = spec.address.includes(':');
        const d = kernelDest({ address: spec.address, family: v6 ? 'ipv6' : 'ipv4', port: spec.port });
        expect(dests.findKernel(d)?.id).toBe(normalKernelDestination(d).id);
        expect(dests.findKernel({ ...d, port: d.port + 1000 })).toBeUndefined();
      }
      const twin = normalDesiredDestination(SVC4, { address: specs[1]!.address, port: specs[1]!.port });
      expect(dests.add(twin)).toBe(dests.list[1]);
      expect(dests.size).toBe(count);
      // Written differently, the same address is the same destination.
      const loose = normalDesiredDestination(SVC6, { address: `[${specs[0]!.address.replace('::', ':0::')}]`, port: specs[0]!.port, forwarding: 'tunnel' });
      expect(dests.add(loose)).toBe(dests.list[0]);
    });
  }
});

const SERVICE = { protocol: 'tcp', address: '10.1.0.1', port: 80 } as const;

async function kernelWith(state: DesiredState): Promise<Ipvs> {
  const ipvs = await Ipvs.open({ transport: new FakeKernel().transport() });
  expect((await apply(ipvs, state)).ok).toBe(true);
  return ipvs;
}

describe('planning a service whose destinations are already right', () => {
  const three = (): EditableState => ({
    services: [{ ...SERVICE, destinations: [{ address: '10.2.0.1', weight: 2 }, { address: '10.2.0.2' }, { address: '10.2.0.3', forwarding: 'masq' }] }],
  });

  it('plans nothing when they match, in any order', async () => {
    const ipvs = await kernelWith(three());
    const s = three();
    s.services[0]!.destinations!.reverse();
    expect((await plan(ipvs, s)).steps).toEqual([]);
  });

  it('as many destinations but one different: an add and a delete, not nothing', async () => {
    const ipvs = await kernelWith(three());
    const s = three();
    s.services[0]!.destinations![1] = { address: '10.2.0.9' };
    const p = await plan(ipvs, s);
    expect(p.steps.map((x) => `${x.operation.op} ${x.target}`)).toEqual([
      'add-destination tcp 10.1.0.1:80 -> 10.2.0.9:80',
      'delete-destination tcp 10.1.0.1:80 -> 10.2.0.2:80',
    ]);
  });

  it('one option different (weight, threshold, forwarding): one update', async () => {
    for (const change of [{ weight: 3 }, { upperThreshold: 5 }, { forwarding: 'tunnel' as const }]) {
      const ipvs = await kernelWith(three());
      const s = three();
      Object.assign(s.services[0]!.destinations![2]!, change);
      const p = await plan(ipvs, s);
      expect(p.steps.map((x) => x.operation.op)).toEqual(['update-destination']);
    }
  });

  it('a long list (indexed, not searched) plans the same way', async () => {
    const many = (): EditableState => ({
      services: [{ ...SERVICE, destinations: Array.from({ length: 40 }, (_, i) => ({ address: `10.4.0.${i + 1}`, weight: 1 + (i % 5) })) }],
    });
    const ipvs = await kernelWith(many());
    expect((await plan(ipvs, many())).steps).toEqual([]);
    const s = many();
    s.services[0]!.destinations![30]!.weight = 50;
    s.services[0]!.destinations![31] = { address: '10.4.1.1' };
    const p = await plan(ipvs, s);
    expect(p.steps.map((x) => `${x.operation.op} ${x.target}`)).toEqual([
      'update-destination tcp 10.1.0.1:80 -> 10.4.0.31:80',
      'add-destination tcp 10.1.0.1:80 -> 10.4.1.1:80',
      'delete-destination tcp 10.1.0.1:80 -> 10.4.0.32:80',
    ]);
    const twice = many();
    twice.services[0]!.destinations![35] = { address: '10.4.0.3' };
    await expect(plan(ipvs, twice)).rejects.toThrow(/destinations\[35\].*10\.4\.0\.3:80 is also services\[0\]\.destinations\[2\]/);
  });

  it('a kernel destination fewer or more than desired: the add or the delete', async () => {
    const ipvs = await kernelWith(three());
    const fewer = three();
    fewer.services[0]!.destinations!.pop();
    expect((await plan(ipvs, fewer)).steps.map((x) => x.operation.op)).toEqual(['delete-destination']);
    const more = three();
    more.services[0]!.destinations!.push({ address: '10.2.0.4' });
    expect((await plan(ipvs, more)).steps.map((x) => x.operation.op)).toEqual(['add-destination']);
  });
});

describe("readCurrent's keep", () => {
  it('drops the lists it returns false for and marks their services inSync; keeps the others as read', async () => {
    const other = { protocol: 'udp', address: '10.1.0.2', port: 53 } as const;
    const ipvs = await kernelWith({
      services: [
        { ...SERVICE, destinations: [{ address: '10.2.0.1' }, { address: '10.2.0.2' }] },
        { ...other, destinations: [{ address: '10.2.0.3', forwarding: 'masq' }] },
      ],
    });
    const seen: string[] = [];
    const current = await readCurrent(ipvs, () => true, undefined, (id, list) => {
      seen.push(`${id}: ${list.length}`);
      return id !== 'tcp 10.1.0.1:80';
    });
    expect(seen.sort()).toEqual(['tcp 10.1.0.1:80: 2', 'udp 10.1.0.2:53: 1']);
    const dropped = current.get('tcp 10.1.0.1:80')!;
    expect(dropped.inSync).toBe(true);
    expect(dropped.destinations).toBeUndefined();
    const kept = current.get('udp 10.1.0.2:53')!;
    expect(kept.inSync).toBeUndefined();
    expect(kept.destinations?.map((d) => d.address)).toEqual(['10.2.0.3']);
    // Without keep, every list read is kept.
    const all = await readCurrent(ipvs, () => true);
    expect([...all.values()].map((c) => c.destinations?.length)).toEqual(expect.arrayContaining([2, 1]));
  });
});

describe('a state checked once', () => {
  const json = JSON.stringify({ services: [{ ...SERVICE, destinations: [{ address: '10.2.0.1' }] }] });

  it('is checked again by every plan after its first', async () => {
    const ipvs = await kernelWith({ services: [] });
    const s = parseDesiredState(json);
    expect((await plan(ipvs, s)).steps).toHaveLength(2);
    (s.services[0]!.destinations![0] as unknown as Record<string, unknown>).wieght = 3;
    const err = await plan(ipvs, s).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('services[0].destinations[0].wieght');
  });

  it('a state built in code and never checked is checked by its plan', async () => {
    const ipvs = await kernelWith({ services: [] });
    const s = { services: [{ ...SERVICE, destinations: [{ address: '10.2.0.1', wieght: 3 }] }] } as unknown as DesiredState;
    await expect(plan(ipvs, s)).rejects.toThrow(/wieght/);
  });

  it('checkDesiredState still refuses what it refused before, and each check marks afresh', async () => {
    const ipvs = await kernelWith({ services: [] });
    const s = checkDesiredState(JSON.parse(json));
    expect(checkDesiredState(s)).toBe(s);
    await plan(ipvs, s); // takes the mark
    (s.services[0] as unknown as Record<string, unknown>).shceduler = 'rr';
    expect(() => checkDesiredState(s)).toThrow(/shceduler/);
    await expect(plan(ipvs, s)).rejects.toThrow(/shceduler/);
  });
});

describe('plain destination lists (compared as written, normal forms built only when needed)', () => {
  const entryOf = (service: Record<string, unknown>, destinations: DestinationSpec[]): DesiredEntry =>
    [...normaliseDesiredState({ services: [{ ...service, destinations } as unknown as DesiredState['services'][number]] }).values()][0]!;

  /** The plain answer, then the normal forms' answer for the same entry (sameDesiredDestinations switches once they exist). */
  function bothAnswers(list: Destination[], service: Record<string, unknown>, specs: DestinationSpec[]): [boolean, boolean, boolean] {
    const entry = entryOf(service, specs);
    const plain = entry.dests === undefined;
    const first = sameDesiredDestinations(list, entry);
    expect(desiredDestinationsOf(entry)).toBe(entry.dests);
    return [plain, first, sameDesiredDestinations(list, entry)];
  }

  it('agrees with the normal forms on every pair of kernel and desired variants, and only tunnels are not plain', () => {
    let equal = 0;
    for (const d of kernelVariants()) {
      for (const spec of desiredVariants()) {
        const [plain, first, full] = bothAnswers([d], SERVICE4, [spec]);
        expect(plain, JSON.stringify(spec)).toBe(spec.forwarding !== 'tunnel');
        expect(first, `${d.forwarding} ${d.weight} vs ${JSON.stringify(spec)}`).toBe(full);
        if (full && plain) equal++;
      }
    }
    expect(equal).toBeGreaterThan(5);
  });

  it('agrees on lists: reordered, one option changed, one missing, one extra, another port, the service port by default', () => {
    const kernel = [1, 2, 3, 4].map((n) => kernelDest({ address: `10.0.0.${n}`, port: n === 4 ? 81 : 80, weight: n, forwarding: n === 2 ? 'masq' : 'route' }));
    const specs: DestinationSpec[] = [
      { address: '10.0.0.3', weight: 3 },
      { address: '10.0.0.1', port: 80, weight: 1, forwarding: 'route' },
      { address: '10.0.0.4', port: 81, weight: 4 },
      { address: '10.0.0.2', weight: 2, forwarding: 'masq' },
    ];
    const cases: Array<[string, Destination[], DestinationSpec[], boolean]> = [
      ['same', kernel, specs, true],
      ['weight', kernel, specs.map((s, i) => (i === 0 ? { ...s, weight: 9 } : s)), false],
      ['threshold', kernel, specs.map((s, i) => (i === 1 ? { ...s, upperThreshold: 5 } : s)), false],
      ['forwarding', kernel, specs.map((s, i) => (i === 3 ? { ...s, forwarding: 'route' as const } : s)), false],
      ['missing', kernel, specs.slice(1), false],
      ['extra', kernel.slice(1), specs, false],
      ['port', kernel, specs.map((s, i) => (i === 2 ? { ...s, port: 80 } : s)), false],
      ['as many, one other', kernel, specs.map((s, i) => (i === 0 ? { ...s, address: '10.0.0.9' } : s)), false],
      ['empty', [], [], true],
    ];
    for (const [name, list, want, expected] of cases) {
      const [plain, first, full] = bothAnswers(list, SERVICE4, want);
      expect([name, plain, first, full]).toEqual([name, true, expected, expected]);
    }
  });

  it('normal forms at once for what cannot be compared as written: other spellings, tunnels, long lists', () => {
    expect(entryOf(SERVICE4, [{ address: '10.0.0.2' }]).dests).toBeUndefined();
    expect(entryOf({ protocol: 'tcp', address: '2001:db8::1', port: 80 }, [{ address: '2001:db8::2' }]).dests).toBeUndefined();
    expect(entryOf({ protocol: 'tcp', address: '2001:db8::1', port: 80 }, [{ address: '2001:DB8::2' }]).dests?.list[0]?.address).toBe('2001:db8::2');
    expect(entryOf(SERVICE4, [{ address: '10.0.0.2', forwarding: 'tunnel' }]).dests).toBeDefined();
    const many = Array.from({ length: 17 }, (_, n) => ({ address: `10.0.1.${n}` }));
    expect(entryOf(SERVICE4, many.slice(0, 16)).dests).toBeUndefined();
    expect(entryOf(SERVICE4, many).dests?.size).toBe(17);
    // An IPv6 spelling the kernel would report otherwise is found equal through its normal form.
    const d6 = kernelDest({ address: '2001:db8::2', family: 'ipv6' });
    expect(bothAnswers([d6], { protocol: 'tcp', address: '2001:db8::1', port: 80 }, [{ address: '2001:DB8:0::2' }])).toEqual([false, true, true]);
  });

  it('is validated in full before anything is read, duplicates and all', () => {
    const refused = (specs: DestinationSpec[]): ValidationError => {
      try {
        entryOf(SERVICE4, specs);
      } catch (err) {
        return err as ValidationError;
      }
      throw new Error('not refused');
    };
    expect(refused([{ address: '10.0.0.2' }, { address: '10.0.0.3', weight: -1 }]).field).toBe('services[0].destinations[1].weight');
    expect(refused([{ address: '10.0.0.2', forwarding: 'local' } as unknown as DestinationSpec]).field).toBe('services[0].destinations[0].forwarding');
    expect(refused([{ address: '10.0.0.2', upperThreshold: 1, lowerThreshold: 2 }]).field).toBe('services[0].destinations[0].lowerThreshold');
    const twice = refused([{ address: '10.0.0.2' }, { address: '10.0.0.3' }, { address: '10.0.0.2', port: 80, weight: 5 }]);
    expect([twice.field, twice.message]).toEqual(['services[0].destinations[2]', expect.stringMatching(/10\.0\.0\.2:80 is also services\[0\]\.destinations\[0\]/)]);
    // The first fault in list order is the one named, a duplicate before a bad value as much as after one.
    expect(refused([{ address: '10.0.0.2' }, { address: '10.0.0.2' }, { address: '10.0.0.3', weight: -1 }]).field).toBe('services[0].destinations[1]');
    expect(refused([{ address: '10.0.0.2', forwarding: 'tunnel' }, { address: '10.0.0.3', weight: -1 }]).field).toBe('services[0].destinations[1].weight');
  });

  it('a list changed after planning began is validated again when its normal forms are built', () => {
    const specs: DestinationSpec[] = [{ address: '10.0.0.2' }];
    const entry = entryOf(SERVICE4, specs);
    (specs[0] as { weight: number }).weight = -1;
    expect(sameDesiredDestinations([kernelDest({})], entry)).toBe(false);
    expect(() => desiredDestinationsOf(entry)).toThrow(/services\[0\]\.destinations\[0\]\.weight/);
  });
});
