// The client against a scripted kernel: opening (family resolution and its failures), errors as
// sentences, single replies, streamed dumps, bound service helpers, and closing.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { FakeKernel } from '../../src/testing/index.js';
import {
  AbortError, ClosedError, DecodeError, DumpInterruptedError, FamilyNotFoundError, IpvsError, KernelError, TimeoutError, ValidationError, type ReadOptions,
} from '../../src/index.js';
import { CMD, daemonNest, destReplyNest, infoAttrs, svcReplyNest, timeoutAttrs, type KeyInput } from '../helpers/ipvs-bytes.js';
import { ScriptedIpvs, type Handler } from '../helpers/ipvs-script.js';

const EEXIST = 17, ESRCH = 3, ENOENT = 2, EPERM = 1;
const key: KeyInput = { protocol: 'tcp', address: '192.168.1.110', port: 80 };
const svcReply = (k: KeyInput = key, sched = 'rr') => svcReplyNest({ key: k, sched, flags: 2, timeout: 0, netmask: 0xffffffff, stats: { conns: 3n } });

async function open(handler?: Handler, extra: ConstructorParameters<typeof ScriptedIpvs>[0] = {}): Promise<{ k: ScriptedIpvs; ipvs: Ipvs }> {
  const k = new ScriptedIpvs({ ...extra, ...(handler ? { handler } : {}) });
  const ipvs = await Ipvs.open({ transport: k, timeoutMs: 2000 });
  return { k, ipvs };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('open', () => {
  it('resolves the IPVS family and uses its id', async () => {
    const { k, ipvs } = await open(undefined, { familyId: 0x33 });
    await ipvs.flush();
    expect(k.last()).toMatchObject({ type: 0x33, cmd: CMD.FLUSH });
    await ipvs.close();
  });

  it('a missing family is FamilyNotFoundError saying to modprobe ip_vs, and the transport is closed', async () => {
    const k = new ScriptedIpvs({ familyMissing: true });
    const err = await rejection(Ipvs.open({ transport: k }));
    expect(err).toBeInstanceOf(FamilyNotFoundError);
    expect(err).toBeInstanceOf(IpvsError);
    expect(err.message).toBe('generic netlink family "IPVS" not found: the ip_vs kernel module is not loaded: run `modprobe ip_vs`');
    expect((err as FamilyNotFoundError).code).toBe('ENOFAMILY');
    expect(k.closed).toBe(1);
  });

  it('refuses bad options before touching anything', async () => {
    const k = new ScriptedIpvs();
    await expect(Ipvs.open({ transport: k, netns: 'blue' })).rejects.toMatchObject({ field: 'netns', value: 'blue' });
    await expect(Ipvs.open({ transport: k, timeoutMs: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(Ipvs.open({ netns: '' })).rejects.toMatchObject({ field: 'netns' });
    // The path reaches open(2) as a C string, cut at the first NUL: this one would enter the namespace `blue`.
    await expect(Ipvs.open({ netns: 'blue\0green' })).rejects.toMatchObject({ field: 'netns', reason: 'must not contain a NUL character' });
    await expect(Ipvs.open({ receiveBufferSize: 10 })).rejects.toMatchObject({ field: 'receiveBufferSize' });
    // Ignored before: a transport's own buffer sizes execute()'s windows.
    await expect(Ipvs.open({ transport: k, receiveBufferSize: 1 << 20 })).rejects.toMatchObject({ field: 'receiveBufferSize', value: 1 << 20 });
    expect(k.sent).toHaveLength(0);
  });
});

describe('errors', () => {
  it('kernel errnos become sentences; code is the errno name', async () => {
    const { ipvs } = await open((req, k) => {
      if (req.cmd === CMD.NEW_SERVICE) return k.error(req, EEXIST);
      if (req.cmd === CMD.SET_SERVICE) return k.error(req, ENOENT, 'scheduler not found');
      if (req.cmd === CMD.DEL_DEST) return k.error(req, ENOENT);
      if (req.cmd === CMD.DEL_SERVICE) return k.error(req, ESRCH);
      return k.ack(req);
    });
    const add = await rejection(ipvs.addService({ ...key, protocol: 'tcp', scheduler: 'rr' } as never));
    expect(add).toBeInstanceOf(KernelError);
    expect(add).toMatchObject({ code: 'EEXIST', errno: 17, operation: 'add service', object: 'tcp 192.168.1.110:80', message: 'service tcp 192.168.1.110:80 already exists [EEXIST]' });
    const upd = await rejection(ipvs.updateService({ ...key, scheduler: 'lblcr' } as never));
    expect(upd.message).toBe('scheduler "lblcr" not found: load its module (modprobe ip_vs_lblcr) [ENOENT] (kernel: scheduler not found)');
    const del = await rejection(ipvs.deleteDestination(key as never, { address: '192.168.1.116' }));
    expect(del.message).toBe('no such destination 192.168.1.116:80 in service tcp 192.168.1.110:80 [ENOENT]');
    expect((await rejection(ipvs.deleteService(key as never))).message).toBe('no such service tcp 192.168.1.110:80 [ESRCH]');
  });

  it('EPERM says CAP_NET_ADMIN', async () => {
    const { ipvs } = await open((req, k) => k.error(req, EPERM));
    const err = await rejection(ipvs.services());
    expect(err).toMatchObject({ code: 'EPERM' });
    expect(err.message).toMatch(/^list services: permission denied; IPVS needs CAP_NET_ADMIN/);
  });

  it('a refused input sends nothing', async () => {
    const { k, ipvs } = await open();
    const before = k.sent.length;
    await expect(ipvs.addService({ protocol: 'tcp', address: '192.168.1.110', port: 70000 })).rejects.toThrow('invalid port 70000: must be an integer 0..65535');
    await expect(ipvs.addDestination(key as never, { address: '10.0.0.1', weight: -1 })).rejects.toMatchObject({ field: 'destination.weight', value: -1 });
    await expect(ipvs.setTimeouts({ tcp: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(ipvs.startDaemon({ state: 'master', interface: 'eth0', mcastGroup: '10.1.1.1' })).rejects.toMatchObject({ field: 'daemon.mcastGroup' });
    await expect(ipvs.stopDaemon('primary' as never)).rejects.toMatchObject({ field: 'state', value: 'primary' });
    await expect(ipvs.zero({ fwmark: -3 })).rejects.toMatchObject({ field: 'fwmark' });
    expect(k.sent.length).toBe(before);
  });

  it('a request nobody answers times out', async () => {
    const k = new ScriptedIpvs({ handler: () => undefined });
    const ipvs = await Ipvs.open({ transport: k, timeoutMs: 30 });
    await expect(ipvs.flush()).rejects.toBeInstanceOf(TimeoutError);
    await expect(ipvs.info({ timeoutMs: 0, signal: AbortSignal.timeout(20) })).rejects.toBeInstanceOf(AbortError);
  });
});

describe('single replies', () => {
  it('service() decodes GET_SERVICE; hasService() turns ESRCH into false', async () => {
    const { ipvs } = await open((req, k) => {
      if (req.cmd !== CMD.GET_SERVICE) return k.ack(req);
      // tcp 192.168.1.110:80 exists, nothing else does
      return req.attrs.includes(Buffer.from([0, 80])) ? k.reply(req, CMD.NEW_SERVICE, svcReply()) : k.error(req, ESRCH);
    });
    const s = await ipvs.service(key as never);
    expect(s).toMatchObject({ protocol: 'tcp', address: '192.168.1.110', port: 80, scheduler: 'rr', stats: { conns: 3n } });
    expect(await ipvs.hasService(key as never)).toBe(true);
    expect(await ipvs.hasService({ ...key, port: 81 } as never)).toBe(false);
    const err = await rejection(ipvs.service({ ...key, port: 81 } as never));
    expect(err).toMatchObject({ code: 'ESRCH', message: 'no such service tcp 192.168.1.110:81 [ESRCH]' });
  });

  it('hasService() passes other errors on', async () => {
    const { ipvs } = await open((req, k) => k.error(req, EPERM));
    await expect(ipvs.hasService(key as never)).rejects.toMatchObject({ code: 'EPERM' });
  });

  it('an ACK without the reply is a DecodeError', async () => {
    const { ipvs } = await open((req, k) => k.ack(req));
    await expect(ipvs.info()).rejects.toBeInstanceOf(DecodeError);
    await expect(ipvs.service(key as never)).rejects.toThrow(/get service: acknowledged without a reply/);
  });

  it('timeouts() and info()', async () => {
    const { ipvs } = await open((req, k) => {
      if (req.cmd === CMD.GET_CONFIG) return k.reply(req, CMD.SET_CONFIG, timeoutAttrs(900, 120, 300));
      if (req.cmd === CMD.GET_INFO) return k.reply(req, CMD.SET_INFO, infoAttrs(0x010201, 4096));
      return k.ack(req);
    });
    expect(await ipvs.timeouts()).toEqual({ tcp: 900, tcpFin: 120, udp: 300 });
    expect(await ipvs.info()).toEqual({ version: '1.2.1', versionCode: 0x010201, connectionTableSize: 4096 });
  });
});

describe('dumps', () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => svcReply({ protocol: 'tcp', address: `10.0.${i >> 8}.${i & 255}`, port: 80 }));

  it('services() collects a multi-datagram dump in order', async () => {
    const { ipvs } = await open((req, k) => k.dump(req, CMD.NEW_SERVICE, many(300), { perDatagram: 7 }));
    const all = await ipvs.services();
    expect(all).toHaveLength(300);
    expect(all[299]).toMatchObject({ address: '10.0.1.43', scheduler: 'rr' });
  });

  it('iterateServices() yields as datagrams arrive and can stop early', async () => {
    const { k, ipvs } = await open((req, s) => s.dump(req, CMD.NEW_SERVICE, many(50), { perDatagram: 10 }), { manual: true });
    const it = ipvs.iterateServices()[Symbol.asyncIterator]();
    const first = it.next();
    await new Promise((r) => setImmediate(r));
    expect(k.heldCount).toBe(6); // five datagrams of services and the DONE, not delivered yet
    k.release();
    expect((await first).value).toMatchObject({ address: '10.0.0.0' });
    await it.return?.();
    // the client is still usable and nothing is left waiting
    k.manual = false;
    k.handler = (req, s) => s.ack(req);
    await ipvs.flush();
  });

  it('destinations() of a service, IPv6 and tunnel details included', async () => {
    const { k, ipvs } = await open((req, s) => s.dump(req, CMD.NEW_DEST, [
      destReplyNest({ address: '192.168.1.116', port: 80, fwd: 3, weight: 2, active: 1 }),
      destReplyNest({ address: '2001:db8::7', port: 80, fwd: 2, weight: 1, tunType: 1, tunPort: 6080 }),
    ]));
    const ds = await ipvs.destinations(key as never);
    expect(ds.map((d) => [d.address, d.forwarding, d.weight])).toEqual([['192.168.1.116', 'route', 2], ['2001:db8::7', 'tunnel', 1]]);
    expect(ds[1]!.tunnel).toEqual({ type: 'gue', port: 6080, checksum: 'nocsum' });
    expect(k.last().cmd).toBe(CMD.GET_DEST);
  });

  it('a dump interrupted by a table change is DumpInterruptedError', async () => {
    const { ipvs } = await open((req, k) => k.dump(req, CMD.NEW_SERVICE, many(3), { intr: true }));
    await expect(ipvs.services()).rejects.toBeInstanceOf(DumpInterruptedError);
  });

  it('a broken entry in a dump is a DecodeError', async () => {
    const { ipvs } = await open((req, k) => k.dump(req, CMD.NEW_SERVICE, [svcReplyNest({ key, sched: 'rr', flags: 0, timeout: 0, netmask: 0, omit: [6] })]));
    await expect(ipvs.services()).rejects.toThrow(/service without IPVS_SVC_ATTR_SCHED_NAME/);
  });

  it('daemons()', async () => {
    const { ipvs } = await open((req, k) => k.dump(req, CMD.NEW_DAEMON, [
      daemonNest({ state: 1, ifname: 'eth0', syncId: 1, maxLen: 1472, group: '224.0.0.81', port: 8848, ttl: 1 }, false),
      daemonNest({ state: 2, ifname: 'dum0', syncId: 2 }, false),
    ]));
    expect(await ipvs.daemons()).toEqual([
      { state: 'master', interface: 'eth0', syncId: 1, syncMaxLen: 1472, mcastGroup: '224.0.0.81', mcastPort: 8848, mcastTtl: 1 },
      { state: 'backup', interface: 'dum0', syncId: 2 },
    ]);
  });
});

describe('bound services', () => {
  it('carry non-enumerable destinations() and addDestination() for their own key', async () => {
    const fw: KeyInput = { fwmark: 10, family: 'ipv6' };
    const { k, ipvs } = await open((req, s) => {
      if (req.cmd === CMD.GET_SERVICE) return s.dump(req, CMD.NEW_SERVICE, [svcReply(), svcReply(fw, 'wlc')]);
      if (req.cmd === CMD.GET_DEST) return s.dump(req, CMD.NEW_DEST, [destReplyNest({ address: '2001:db8::9', port: 0, fwd: 3, weight: 1 })]);
      return s.ack(req);
    });
    const [a, b] = await ipvs.services();
    expect(Object.keys(a!)).toEqual(['protocol', 'address', 'port', 'family', 'scheduler', 'flags', 'stats', 'rawFlags']);
    expect(JSON.stringify({ ...b!, stats: undefined })).toBe('{"fwmark":10,"family":"ipv6","scheduler":"wlc","flags":[],"rawFlags":2}');
    expect(await b!.destinations()).toMatchObject([{ address: '2001:db8::9' }]);
    await b!.addDestination({ address: '2001:db8::10' });
    const add = k.last();
    expect(add.cmd).toBe(CMD.NEW_DEST);
    expect(add.attrs.includes(Buffer.from([8, 0, 5, 0, 10, 0, 0, 0]))).toBe(true); // FWMARK = 10 in the service key
    // a Service read back is itself a valid key
    await ipvs.deleteService(a!);
    expect(k.last().cmd).toBe(CMD.DEL_SERVICE);
  });

  it('share one prototype: no own methods, plain copies, the key read when called', async () => {
    const { k, ipvs } = await open((req, s) => {
      if (req.cmd === CMD.GET_SERVICE) return s.dump(req, CMD.NEW_SERVICE, [svcReply(), svcReply({ ...key, port: 81 })]);
      if (req.cmd === CMD.GET_DEST) return s.dump(req, CMD.NEW_DEST, []);
      return s.ack(req);
    });
    const [a, b] = await ipvs.services();
    expect(Object.getPrototypeOf(a)).toBe(Object.getPrototypeOf(b));
    expect(Object.getOwnPropertyNames(a)).not.toContain('destinations');
    expect(Object.keys(Object.getPrototypeOf(a) as object)).toEqual([]);
    const copy = { ...a! };
    expect(copy).toEqual(a);
    expect('destinations' in copy).toBe(false);
    expect(structuredClone(a)).toEqual(copy);
    a!.port = 8080;
    await a!.addDestination({ address: '10.0.0.1' });
    expect(k.last().attrs.includes(Buffer.from([6, 0, 4, 0, 0x1f, 0x90, 0, 0]))).toBe(true); // PORT 8080 in the service key
  });
});

describe('closing', () => {
  it('close() fails what waits with ClosedError, later calls too; asyncDispose closes', async () => {
    const { k, ipvs } = await open(() => undefined);
    const waiting = ipvs.flush();
    await ipvs.close();
    await expect(waiting).rejects.toBeInstanceOf(ClosedError);
    await expect(ipvs.info()).rejects.toBeInstanceOf(ClosedError);
    expect(k.closed).toBe(1);
    await ipvs.close();
    expect(k.closed).toBe(1);

    const k2 = new ScriptedIpvs();
    {
      await using c = await Ipvs.open({ transport: k2 });
      await c.flush();
    }
    expect(k2.closed).toBe(1);
  });
});

describe('reads without statistics: the types', () => {
  it('say stats is there unless stats: false was asked for', async () => {
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    const key = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
    await ipvs.addService(key);
    await ipvs.addDestination(key, { address: '10.0.1.1' });
    const [whole] = await ipvs.services();
    const [bare] = await ipvs.services({ stats: false });
    expect(whole!.stats.conns).toBe(0n);
    // @ts-expect-error: a read with stats: false has no statistics
    expect(bare!.stats).toBeUndefined();
    const [d] = await ipvs.destinations(key, { stats: false });
    // @ts-expect-error: likewise for destinations
    expect(d!.stats).toBeUndefined();
    expect((await ipvs.destinations(key, { stats: true }))[0]!.stats.conns).toBe(0n);
    for await (const run of ipvs.destinationsOfEach([key], { stats: false, runLength: 4 })) {
      // @ts-expect-error: and for destinationsOfEach
      expect(run[0]!.destinations[0]!.stats).toBeUndefined();
    }
    const [bound] = await bare!.destinations({ stats: false });
    // @ts-expect-error: and for a bound service's destinations()
    expect(bound!.stats).toBeUndefined();
    expect((await whole!.destinations())[0]!.stats.conns).toBe(0n);
    // An option only known to be a boolean: the objects may lack statistics, and are typed so.
    const maybe: ReadOptions = { stats: whole !== undefined };
    const [either] = await ipvs.services(maybe);
    // @ts-expect-error: stats may be missing
    expect(either!.stats.conns).toBe(0n);
    expect('stats' in either! && either.stats.conns).toBe(0n);
    const [eitherDest] = await ipvs.destinations(key, { stats: Boolean(maybe.stats) });
    // @ts-expect-error: likewise for destinations
    expect(eitherDest!.stats.conns).toBe(0n);
    for await (const run of ipvs.destinationsOfEach([key], maybe)) {
      // @ts-expect-error: and for destinationsOfEach
      expect(run[0]!.destinations[0]!.stats.conns).toBe(0n);
    }
    // No stats option, or stats true: whole objects.
    for await (const run of ipvs.destinationsOfEach([key])) expect(run[0]!.destinations[0]!.stats.conns).toBe(0n);
    expect((await ipvs.services({ stats: true, timeoutMs: 1000 }))[0]!.stats.conns).toBe(0n);
  });
});
