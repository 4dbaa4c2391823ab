// The fake kernel's requests by content: `kernel.requestLog` reads each request the way the fake's own parsing
// does (the service key, destination, daemon or timeouts it named, in the terms of kernel.state()), and a
// fault's `where` is given that same entry, so a test can refuse "real server 10.0.0.3 of tcp 10.0.0.1:80"
// without decoding netlink bytes.
import { describe, expect, it } from 'vitest';
import { Ipvs, IpvsError, KernelError, ValidationError, type Operation } from '../../src/index.js';
import * as C from '../../src/ipvs/constants.js';
import { NLM_F_ACK, NLM_F_REQUEST } from '../../src/netlink/constants.js';
import { MessageWriter } from '../../src/netlink/writer.js';
import { FakeKernel, type FakeRequest } from '../../src/testing/index.js';

const web = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
const dns = { protocol: 'udp', address: '10.0.0.2', port: 53 } as const;
const add = (address: string, service: typeof web | typeof dns = web): Operation => ({ op: 'add-destination', service, destination: { address } });
const outcome = (results: readonly object[]): unknown[] => results.map((r) => ('error' in r ? (r.error as KernelError).code : 'ok'));

describe('FakeKernel.requestLog', () => {
  it('holds each request by content: the service key, destination, daemon or timeouts it named', async () => {
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    await ipvs.addService({ ...web, scheduler: 'rr', persistence: { timeout: 60 } });
    await ipvs.addDestination(web, { address: '10.0.0.3', weight: 0, forwarding: 'masq' });
    await ipvs.deleteDestination(web, { address: '10.0.0.3' });
    await ipvs.addService({ fwmark: 7, family: 'ipv6' });
    await ipvs.addDestination({ fwmark: 7, family: 'ipv6' }, { address: '2001:db8::10', port: 8080 });
    await ipvs.hasService(web);
    await ipvs.destinations(web);
    await ipvs.services();
    await ipvs.setTimeouts({ tcp: 10 });
    await ipvs.startDaemon({ state: 'backup', interface: 'eth0', syncId: 3, mcastGroup: '239.1.2.3' });
    await ipvs.stopDaemon('backup');
    await ipvs.zero();
    const log = kernel.requestLog;
    expect(log.map((r) => r.command)).toEqual(kernel.requests);
    expect(log[0]).toEqual({ command: 'CTRL_CMD_GETFAMILY', dump: false });
    expect(log[1]).toEqual({
      command: 'IPVS_CMD_NEW_SERVICE', dump: false,
      service: { key: 'tcp 10.0.0.1:80', family: 'ipv4', ...web, scheduler: 'rr', flags: C.IP_VS_SVC_F_PERSISTENT, flagsMask: 0xffffffff, timeout: 60, netmask: 0xffffffff },
    });
    // "the second request added destination 10.0.0.3 with weight 0"
    expect(log[2]).toEqual({
      command: 'IPVS_CMD_NEW_DEST', dump: false,
      service: { key: 'tcp 10.0.0.1:80', family: 'ipv4', ...web },
      destination: { address: '10.0.0.3', family: 'ipv4', port: 80, forwarding: 'masq', weight: 0, upper: 0, lower: 0, tunnel: { type: 0, port: 0, flags: 0 } },
    });
    expect(log[3]).toEqual({ command: 'IPVS_CMD_DEL_DEST', dump: false, service: { key: 'tcp 10.0.0.1:80', family: 'ipv4', ...web }, destination: { address: '10.0.0.3', family: 'ipv4', port: 80 } });
    expect(log[4]?.service).toMatchObject({ key: 'fwmark 7 (IPv6)', family: 'ipv6', fwmark: 7, scheduler: 'wlc' });
    expect(log[5]?.destination).toMatchObject({ address: '2001:db8::10', family: 'ipv6', port: 8080, forwarding: 'route', weight: 1 });
    expect(log.slice(6, 8)).toEqual([
      { command: 'IPVS_CMD_GET_SERVICE', dump: false, service: { key: 'tcp 10.0.0.1:80', family: 'ipv4', ...web } },
      { command: 'IPVS_CMD_GET_DEST', dump: true, service: { key: 'tcp 10.0.0.1:80', family: 'ipv4', ...web } },
    ]);
    expect(log[8]).toEqual({ command: 'IPVS_CMD_GET_SERVICE', dump: true });
    expect(log[9]).toMatchObject({ command: 'IPVS_CMD_SET_CONFIG', timeouts: { tcp: 10 } });
    expect(log[10]).toEqual({
      command: 'IPVS_CMD_NEW_DAEMON', dump: false,
      daemon: { state: 'backup', interface: 'eth0', syncId: 3, maxLen: 0, group: '239.1.2.3', port: 0, ttl: 0 },
    });
    expect(log[11]).toEqual({ command: 'IPVS_CMD_DEL_DAEMON', dump: false, daemon: { state: 'backup' } });
    expect(log.at(-1)).toEqual({ command: 'IPVS_CMD_ZERO', dump: false }); // every service's counters
  });

  it('is frozen: a test cannot change the log, nor the fake through it', async () => {
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    await ipvs.addService(web);
    await ipvs.addDestination(web, { address: '10.0.0.3', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080 } });
    const log = kernel.requestLog;
    const entry = log[2] as FakeRequest;
    expect(Object.isFrozen(log)).toBe(true);
    for (const part of [entry, entry.service, entry.destination, entry.destination?.tunnel]) expect(Object.isFrozen(part)).toBe(true);
    expect(() => (log as FakeRequest[]).push(entry)).toThrow(TypeError);
    expect(() => ((log as FakeRequest[]).length = 0)).toThrow(TypeError);
    expect(() => Object.assign(entry.destination as object, { weight: 5 })).toThrow(TypeError);
    expect(() => Object.assign(entry.service as object, { port: 81 })).toThrow(TypeError);
    expect(() => Object.assign(entry.destination?.tunnel as object, { port: 1 })).toThrow(TypeError);
    expect(kernel.requestLog[2]?.destination).toMatchObject({ weight: 1, forwarding: 'tunnel', tunnel: { type: 1, port: 6080 } });
    expect(kernel.requests).toHaveLength(3);
    expect(kernel.state().services[0]?.destinations[0]).toMatchObject({ weight: 1, port: 80 });
  });

  it('is cleared with requests: emptied or shortened with kernel.requests.length, and by reset()', async () => {
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    await ipvs.addService(web);
    await ipvs.addService(dns);
    kernel.requests.length = 2;
    expect(kernel.requestLog.map((r) => r.service?.key)).toEqual([undefined, 'tcp 10.0.0.1:80']);
    kernel.requests.length = 0;
    expect(kernel.requestLog).toEqual([]);
    await ipvs.deleteService(dns);
    expect(kernel.requestLog).toEqual([{ command: 'IPVS_CMD_DEL_SERVICE', dump: false, service: { key: 'udp 10.0.0.2:53', family: 'ipv4', ...dns } }]);
    // A long test that clears requests as it goes keeps the log as short: 300 requests, never more than 10 kept.
    let most = 0;
    for (let i = 0; i < 300; i++) {
      if (i % 10 === 0) kernel.requests.length = 0;
      await ipvs.hasService(web);
      most = Math.max(most, kernel.requestLog.length);
    }
    expect(most).toBe(10);
    kernel.reset();
    expect(kernel.requestLog).toEqual([]);
    expect(kernel.requests).toEqual([]);
  });

  it('marks what the fake could not read, as the kernel refuses it with EINVAL, keeping what it could', async () => {
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    await ipvs.addService(web);
    const t = kernel.transport();
    t.attach({ datagram: () => {}, error: () => {} });
    const w = new MessageWriter();
    w.beginMessage(kernel.familyId, NLM_F_REQUEST | NLM_F_ACK, 1, t.portId);
    w.genlHeader(C.IPVS_CMD_NEW_DEST, 1);
    w.nested(C.IPVS_CMD_ATTR_SERVICE, () => {
      w.u16(C.IPVS_SVC_ATTR_AF, C.AF_INET);
      w.u16(C.IPVS_SVC_ATTR_PROTOCOL, C.IPPROTO_TCP);
      w.bytes(C.IPVS_SVC_ATTR_ADDR, Buffer.from([10, 0, 0, 1, ...Array(12).fill(0)]));
      w.u16be(C.IPVS_SVC_ATTR_PORT, 80);
    });
    w.nested(C.IPVS_CMD_ATTR_DEST, () => {
      w.bytes(C.IPVS_DEST_ATTR_ADDR, Buffer.from([10, 0, 0, 9, ...Array(12).fill(0)]));
      w.u16be(C.IPVS_DEST_ATTR_PORT, 80);
    }); // no forwarding, weight or thresholds
    w.endMessage();
    await t.send(w.toBuffer());
    expect(kernel.requestLog.at(-1)).toEqual({
      command: 'IPVS_CMD_NEW_DEST', dump: false, malformed: true,
      service: { key: 'tcp 10.0.0.1:80', family: 'ipv4', ...web },
      destination: { address: '10.0.0.9', family: 'ipv4', port: 80 },
    });
    expect(kernel.state().services[0]?.destinations).toEqual([]);
  });
});

describe('FaultTarget.where', () => {
  it('refuses the addition of real server 10.0.0.3 to tcp 10.0.0.1:80, and nothing else', async () => {
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    await ipvs.addService(web);
    await ipvs.addService(dns);
    kernel.failNext(1, 'EEXIST', { command: 'IPVS_CMD_NEW_DEST', where: (r) => r.service?.key === 'tcp 10.0.0.1:80' && r.destination?.address === '10.0.0.3' });
    await ipvs.addDestination(dns, { address: '10.0.0.3' });
    await ipvs.addDestination(web, { address: '10.0.0.4' });
    const err = await ipvs.addDestination(web, { address: '10.0.0.3' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect(err).toMatchObject({ code: 'EEXIST' });
    expect(kernel.pendingFaults).toBe(0);
    expect(kernel.state().services.map((s) => [s.key, s.destinations.map((d) => d.address)])).toEqual([
      ['tcp 10.0.0.1:80', ['10.0.0.4']],
      ['udp 10.0.0.2:53', ['10.0.0.3']],
    ]);
    // The refused request is in the log all the same.
    expect(kernel.requestLog.at(-1)).toMatchObject({ command: 'IPVS_CMD_NEW_DEST', destination: { address: '10.0.0.3' } });
  });

  it('refuses only the 3rd destination of an execute() batch; with after, counts only the requests it accepts', async () => {
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    await ipvs.addService(web);
    await ipvs.addService(dns);
    kernel.failNext(1, 'ENOMEM', { where: (r) => r.destination?.address === '10.0.0.13' });
    expect(outcome(await ipvs.execute(['10.0.0.11', '10.0.0.12', '10.0.0.13', '10.0.0.14'].map((a) => add(a))))).toEqual(['ok', 'ok', 'ENOMEM', 'ok']);
    // after: 1 lets the first of web's destinations through and refuses the second; dns's are not counted.
    kernel.failNext(1, 'EBUSY', { command: 'IPVS_CMD_NEW_DEST', after: 1, where: (r) => r.service?.key === 'tcp 10.0.0.1:80' });
    const batch = [add('10.0.0.21', dns), add('10.0.0.22', dns), add('10.0.0.23'), add('10.0.0.24', dns), add('10.0.0.25'), add('10.0.0.26')];
    expect(outcome(await ipvs.execute(batch))).toEqual(['ok', 'ok', 'ok', 'ok', 'EBUSY', 'ok']);
    expect(kernel.pendingFaults).toBe(0);
  });

  it('is asked only about the requests the other fields match, and fires on a truthy answer', async () => {
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    const t2 = kernel.transport();
    await using other = await Ipvs.open({ transport: t2 });
    await ipvs.addService(web);
    const seen: string[] = [];
    kernel.failNext(1, 'EPERM', { command: 'IPVS_CMD_NEW_DEST', transport: t2, where: (r) => (seen.push(r.destination?.address ?? '?'), r.destination?.address === '10.0.0.5' ? 1 : 0) });
    await ipvs.addDestination(web, { address: '10.0.0.5' }); // another socket: not asked
    await other.hasService(web); // another command: not asked
    await other.addDestination(web, { address: '10.0.0.4' });
    await other.updateDestination(web, { address: '10.0.0.4', weight: 3 });
    expect(await other.addDestination(web, { address: '10.0.0.5' }).catch((e: unknown) => (e as KernelError).code)).toBe('EPERM');
    expect(seen).toEqual(['10.0.0.4', '10.0.0.5']);
  });

  it('a where that throws: the batch fails with that error as its cause, nothing of it is carried out, the fault stays as it was', async () => {
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    await ipvs.addService(web);
    const before = kernel.requests.length;
    let broken = true;
    kernel.failNext(1, 'ENOMEM', {
      command: 'IPVS_CMD_NEW_DEST',
      after: 1,
      where: (r) => {
        if (broken && r.destination?.address === '10.0.0.3') throw new RangeError('the test has a bug');
        return r.destination?.address !== '10.0.0.1';
      },
    });
    // The 2nd request already counted against `after` when the 3rd threw: that count is taken back too.
    const results = await ipvs.execute(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map((a) => add(a)));
    for (const r of results) {
      expect('error' in r).toBe(true);
      const err = (r as { error: Error }).error;
      expect(err).toBeInstanceOf(IpvsError);
      expect(err.message).toMatch(/^FakeKernel: the where of a failNext\(\) fault threw on IPVS_CMD_NEW_DEST \(nothing in its datagram was carried out\): the test has a bug$/);
      expect((err.cause as Error).cause).toBeInstanceOf(RangeError);
    }
    expect(kernel.state().services[0]?.destinations).toEqual([]);
    expect(kernel.requests).toHaveLength(before);
    expect(kernel.requestLog).toHaveLength(before);
    expect(kernel.pendingFaults).toBe(1);
    // Mended, the same batch: the fault counts from where it stood, so the 3rd (the 2nd it accepts) is refused.
    broken = false;
    expect(outcome(await ipvs.execute(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map((a) => add(a))))).toEqual(['ok', 'ok', 'ENOMEM', 'ok']);
    expect(kernel.state().services[0]?.destinations.map((d) => d.address).sort()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.4']);
    expect(kernel.pendingFaults).toBe(0);
  });

  it("aims at a listing by the service it names: only dns's destinations are refused", async () => {
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    await ipvs.addService(web);
    await ipvs.addService(dns);
    kernel.failNext(1, 'EBUSY', { command: 'IPVS_CMD_GET_DEST', where: (r) => r.dump && r.service?.port === 53 });
    expect(await ipvs.destinations(web)).toEqual([]);
    expect(await ipvs.destinations(dns).catch((e: unknown) => (e as KernelError).code)).toBe('EBUSY');
    expect(await ipvs.destinations(dns)).toEqual([]);
  });

  it('refuses a where that is not a function, arming nothing', () => {
    const kernel = new FakeKernel();
    for (const where of ['10.0.0.3', { address: '10.0.0.3' }, null]) {
      let err: unknown;
      try {
        kernel.failNext(1, 'EEXIST', { where: where as never });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe('FakeKernel.failNext where');
    }
    expect(kernel.pendingFaults).toBe(0);
  });
});

describe('FakeRequest types', () => {
  it('lets a test read either service form on both, and narrow by them', async () => {
    const kernel = new FakeKernel();
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    await ipvs.addService(web);
    await ipvs.addService({ fwmark: 9 });
    const [a, f] = kernel.requestLog.slice(1).map((r) => r.service);
    expect([a?.address, a?.port, a?.fwmark, f?.address, f?.fwmark]).toEqual(['10.0.0.1', 80, undefined, undefined, 9]);
    if (a?.fwmark === undefined) expect(a?.protocol).toBe('tcp');
  });
});
