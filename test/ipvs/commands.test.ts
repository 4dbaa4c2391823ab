// The request builders' labels and error sentences: each kernel errno a command can meet becomes a
// sentence naming the object, and the KernelError keeps code = errno name, the errno and the extended ack.

import { describe, expect, it } from 'vitest';
import type { OutgoingRequest } from '../../src/netlink/connection.js';
import { KernelError, errnoValue } from '../../src/netlink/errors.js';
import { OperationBatch } from '../../src/ipvs/batch.js';
import * as cmd from '../../src/ipvs/commands.js';
import { validateDaemon, validateDestinationKey, validateDestinationSpec, validateServiceKey, validateServiceSpec, validateTimeouts } from '../../src/ipvs/validate.js';

const fam = { id: 0x1c, version: 1 };
const svc = validateServiceSpec({ protocol: 'tcp', address: '192.168.1.110', port: 80, scheduler: 'rr' });
const sipSvc = validateServiceSpec({ protocol: 'udp', address: '10.0.0.1', port: 5060, persistence: true, persistenceEngine: 'sip' });
const noneSipSvc = validateServiceSpec({ protocol: 'udp', address: '10.0.0.1', port: 5060, scheduler: 'none', persistence: true, persistenceEngine: 'sip' });
const key = validateServiceKey({ protocol: 'tcp', address: '192.168.1.110', port: 80 });
const dest = validateDestinationSpec(key, { address: '192.168.1.116' });
const destKey = validateDestinationKey(key, { address: '192.168.1.116' });

function refuse(req: OutgoingRequest, code: string, extack?: string): KernelError {
  const raw = new KernelError({ errno: errnoValue(code), operation: req.label.operation, object: req.label.object, extack, seq: 9 });
  const mapped = req.mapError?.(raw) ?? raw;
  expect(mapped).toBeInstanceOf(KernelError);
  return mapped as KernelError;
}

describe('labels', () => {
  it.each([
    [cmd.newService(fam, svc), 'add service', 'tcp 192.168.1.110:80'],
    [cmd.setService(fam, svc), 'update service', 'tcp 192.168.1.110:80'],
    [cmd.delService(fam, key), 'delete service', 'tcp 192.168.1.110:80'],
    [cmd.getService(fam, key), 'get service', 'tcp 192.168.1.110:80'],
    [cmd.dumpServices(fam), 'list services', undefined],
    [cmd.newDest(fam, key, dest), 'add destination', '192.168.1.116:80 in service tcp 192.168.1.110:80'],
    [cmd.setDest(fam, key, dest), 'update destination', '192.168.1.116:80 in service tcp 192.168.1.110:80'],
    [cmd.delDest(fam, key, destKey), 'delete destination', '192.168.1.116:80 in service tcp 192.168.1.110:80'],
    [cmd.dumpDests(fam, key), 'list destinations', 'of service tcp 192.168.1.110:80'],
    [cmd.newDaemon(fam, validateDaemon({ state: 'master', interface: 'eth0', syncId: 3 })), 'start sync daemon', 'master on eth0 (syncid 3)'],
    [cmd.delDaemon(fam, 2), 'stop sync daemon', 'backup'],
    [cmd.dumpDaemons(fam), 'list sync daemons', undefined],
    [cmd.setConfig(fam, validateTimeouts({ tcp: 5 })), 'set timeouts', 'tcp 5'],
    [cmd.getConfig(fam), 'get timeouts', undefined],
    [cmd.getInfo(fam), 'get info', undefined],
    [cmd.zero(fam), 'zero counters', 'of every service'],
    [cmd.zero(fam, key), 'zero counters', 'of service tcp 192.168.1.110:80'],
    [cmd.flush(fam), 'flush', 'every service and destination'],
  ])('%#: %s %s', (req, operation, object) => {
    expect(req.label).toEqual(object === undefined ? { operation } : { operation, object });
    expect(req.type).toBe(0x1c);
  });

  it('only the "new" commands carry NLM_F_CREATE', () => {
    expect(cmd.newService(fam, svc).flags).toBe(0x400);
    expect(cmd.newDest(fam, key, dest).flags).toBe(0x400);
    expect(cmd.setService(fam, svc).flags).toBe(0);
    expect(cmd.newDaemon(fam, validateDaemon({ state: 'master', interface: 'eth0' })).flags).toBe(0);
  });
});

describe('errors become sentences, code and errno kept', () => {
  it.each([
    [cmd.newService(fam, svc), 'EEXIST', 'service tcp 192.168.1.110:80 already exists [EEXIST]'],
    [cmd.newService(fam, svc), 'ENOENT', 'scheduler "rr" not found: load its module (modprobe ip_vs_rr) [ENOENT]'],
    [cmd.newService(fam, sipSvc), 'ENOENT', 'scheduler "wlc" or persistence engine "sip" not found: load their modules (modprobe ip_vs_wlc ip_vs_pe_sip) [ENOENT]'],
    // The scheduler none is no module: only a missing engine can be the cause.
    [cmd.newService(fam, noneSipSvc), 'ENOENT', 'persistence engine "sip" not found: load its module (modprobe ip_vs_pe_sip) [ENOENT]'],
    [cmd.newService(fam, svc), 'EINVAL', 'the kernel refused service tcp 192.168.1.110:80 as invalid [EINVAL]'],
    [cmd.newService(fam, svc), 'EAFNOSUPPORT', "add service tcp 192.168.1.110:80: this kernel's IPVS has no IPv6 support (CONFIG_IP_VS_IPV6, or IPv6 disabled) [EAFNOSUPPORT]"],
    [cmd.setService(fam, svc), 'ESRCH', 'no such service tcp 192.168.1.110:80 [ESRCH]'],
    [cmd.setService(fam, svc), 'ENOENT', 'scheduler "rr" not found: load its module (modprobe ip_vs_rr) [ENOENT]'],
    [cmd.delService(fam, key), 'ESRCH', 'no such service tcp 192.168.1.110:80 [ESRCH]'],
    [cmd.getService(fam, key), 'ESRCH', 'no such service tcp 192.168.1.110:80 [ESRCH]'],
    [cmd.newDest(fam, key, dest), 'EEXIST', 'destination 192.168.1.116:80 already exists in service tcp 192.168.1.110:80 [EEXIST]'],
    [cmd.newDest(fam, key, dest), 'ESRCH', 'no such service tcp 192.168.1.110:80 [ESRCH]'],
    [cmd.newDest(fam, key, dest), 'ERANGE', 'destination 192.168.1.116:80 in service tcp 192.168.1.110:80: weight or thresholds out of range (the weight must be 0 or more and the lower threshold at most the upper one) [ERANGE]'],
    [cmd.setDest(fam, key, dest), 'ENOENT', 'no such destination 192.168.1.116:80 in service tcp 192.168.1.110:80 [ENOENT]'],
    [cmd.delDest(fam, key, destKey), 'ENOENT', 'no such destination 192.168.1.116:80 in service tcp 192.168.1.110:80 [ENOENT]'],
    [cmd.delDest(fam, key, destKey), 'ESRCH', 'no such service tcp 192.168.1.110:80 [ESRCH]'],
    [cmd.newDaemon(fam, validateDaemon({ state: 'master', interface: 'eth0' })), 'EEXIST', 'a master sync daemon is already running [EEXIST]'],
    [cmd.newDaemon(fam, validateDaemon({ state: 'backup', interface: 'eth0' })), 'EBUSY', 'a backup sync daemon is already running [EBUSY]'],
    [cmd.newDaemon(fam, validateDaemon({ state: 'master', interface: 'eth9' })), 'ENODEV', 'no such interface eth9 for the master sync daemon [ENODEV]'],
    [cmd.newDaemon(fam, validateDaemon({ state: 'master', interface: 'eth1' })), 'ENETUNREACH',
      'the master sync daemon cannot reach its multicast group 224.0.0.81 through eth1: the interface is down, or an IPv6 group has no route there (loopback, or IPv6 off on an MTU below 1280) [ENETUNREACH]'],
    [cmd.newDaemon(fam, validateDaemon({ state: 'master', interface: 'lo', mcastGroup: 'ff02::5' })), 'ENETUNREACH',
      'the master sync daemon cannot reach its multicast group ff02::5 through lo: the interface is down, or an IPv6 group has no route there (loopback, or IPv6 off on an MTU below 1280) [ENETUNREACH]'],
    [cmd.newDaemon(fam, validateDaemon({ state: 'backup', interface: 'eth0' })), 'EINVAL',
      'the kernel refused the backup sync daemon: the group must be multicast, an IPv6 group needs IPv6 on the interface (an MTU of 1280 or more), and no service may have destinations of the other address family [EINVAL]'],
    [cmd.newDaemon(fam, validateDaemon({ state: 'backup', interface: 'eth0' })), 'EADDRINUSE', "the backup sync daemon's multicast port 8848 is already in use by another socket [EADDRINUSE]"],
    [cmd.newDaemon(fam, validateDaemon({ state: 'backup', interface: 'eth0', mcastPort: 9000 })), 'EADDRINUSE',
      "the backup sync daemon's multicast port 9000 is already in use by another socket [EADDRINUSE]"],
    [cmd.newDaemon(fam, validateDaemon({ state: 'master', interface: 'veth0', mcastGroup: 'ff02::5' })), 'EADDRNOTAVAIL',
      'the master sync daemon has no IPv6 address on veth0 to send to its group ff02::5 from: the interface has none yet (its link-local address stays tentative for about a second after the link comes up) or none at all (where the group has no route through it: no interface of the network namespace has one) [EADDRNOTAVAIL]'],
    [cmd.delDaemon(fam, 1), 'ESRCH', 'no master sync daemon is running [ESRCH]'],
    [cmd.setConfig(fam, validateTimeouts({ tcp: 2678400 })), 'EINVAL', 'timeouts tcp 2678400: a value is larger than this kernel accepts (INT_MAX/HZ seconds; 2147483 with HZ=1000) [EINVAL]'],
    // Only the values given are named: 0 (or absent) leaves one unchanged, it is not a value sent.
    [cmd.setConfig(fam, validateTimeouts({ udp: 2500000 })), 'EINVAL', 'timeouts udp 2500000: a value is larger than this kernel accepts (INT_MAX/HZ seconds; 2147483 with HZ=1000) [EINVAL]'],
    [cmd.setConfig(fam, validateTimeouts({ tcp: 0, tcpFin: 2500000, udp: 60 })), 'EINVAL', 'timeouts tcpfin 2500000 udp 60: a value is larger than this kernel accepts (INT_MAX/HZ seconds; 2147483 with HZ=1000) [EINVAL]'],
    [cmd.zero(fam, key), 'ESRCH', 'no such service tcp 192.168.1.110:80 [ESRCH]'],
  ])('%#: %s', (req, code, message) => {
    const err = refuse(req, code);
    expect(err.message).toBe(message);
    expect(err).toMatchObject({ code, errno: errnoValue(code), operation: req.label.operation, object: req.label.object, seq: 9 });
  });

  it('the destination EINVAL sentence names what the kernel checks', () => {
    expect(refuse(cmd.newDest(fam, key, dest), 'EINVAL').message).toMatch(/^the kernel refused destination 192\.168\.1\.116:80 in service tcp 192\.168\.1\.110:80: the address must be a unicast address/);
    expect(refuse(cmd.newDest(fam, key, dest), 'EINVAL').message).toContain('not ::ffff:a.b.c.d');
  });

  it('an IPv4 destination refused on adding: the sentence names a namespace that never had an IPv4 address', () => {
    const clause = 'in a network namespace that never had an IPv4 address (a new one whose lo is still down) every IPv4 address is refused: run `ip link set lo up` there';
    expect(refuse(cmd.newDest(fam, key, dest), 'EINVAL').message).toContain(`; ${clause} [EINVAL]`);
    // Linux checks the address only when adding; nor does the namespace matter to an IPv6 destination.
    expect(refuse(cmd.setDest(fam, key, dest), 'EINVAL').message).not.toContain(clause);
    const key6 = validateServiceKey({ protocol: 'tcp', address: '2001:db8::10', port: 80 });
    expect(refuse(cmd.newDest(fam, key6, validateDestinationSpec(key6, { address: '2001:db8::2' })), 'EINVAL').message).not.toContain(clause);
  });

  it('EPERM and EACCES: CAP_NET_ADMIN, on every command', () => {
    for (const req of [cmd.newService(fam, svc), cmd.dumpServices(fam), cmd.getInfo(fam), cmd.flush(fam), cmd.delDaemon(fam, 1)]) {
      for (const code of ['EPERM', 'EACCES']) {
        const err = refuse(req, code);
        expect(err.message).toMatch(/permission denied; IPVS needs CAP_NET_ADMIN \(run as root or grant the capability\) \[E(PERM|ACCES)\]$/);
        expect(err.message.startsWith(req.label.operation)).toBe(true);
        expect(err.code).toBe(code);
      }
    }
  });

  it('EPERM in a child user namespace: CAP_NET_ADMIN in the initial one, which no capability of its own gives', () => {
    // IPVS's commands are GENL_ADMIN_PERM: netlink_capable() checks the initial user namespace, so "grant the
    // capability" would send a container's root after something it has already.
    const inner = { ...fam, childUserNamespace: true };
    const execute = new OperationBatch();
    execute.add({ op: 'add-destination', service: { protocol: 'tcp', address: '192.168.1.110', port: 80 }, destination: { address: '192.168.1.116' } });
    for (const req of [cmd.newService(inner, svc), cmd.delDest(inner, key, destKey), cmd.dumpServices(inner), cmd.getInfo(inner), cmd.flush(inner), cmd.dumpDaemons(inner), execute.request(inner, 0)]) {
      const err = refuse(req, 'EPERM');
      expect(err.message).toMatch(/: permission denied; IPVS needs CAP_NET_ADMIN in the initial user namespace, and this process runs in another user namespace \(a container\), where no capability counts \[EPERM\]$/);
      expect(err.message.startsWith(req.label.operation)).toBe(true);
      expect(err.code).toBe('EPERM');
    }
  });

  it('keeps the extended ack', () => {
    const err = refuse(cmd.newService(fam, svc), 'EEXIST', 'service exists');
    expect(err.message).toBe('service tcp 192.168.1.110:80 already exists [EEXIST] (kernel: service exists)');
    expect(err.extack).toBe('service exists');
  });

  it('an errno without a sentence keeps the generic KernelError', () => {
    const req = cmd.newService(fam, svc);
    const raw = new KernelError({ errno: errnoValue('ENOMEM'), operation: 'add service', object: svc.text });
    expect(req.mapError?.(raw)).toBeUndefined();
    expect(raw.message).toBe('add service tcp 192.168.1.110:80 failed [ENOMEM]');
    // ENOENT for the scheduler none without an engine: no module to name (Linux looks none up), so generic too
    const none = validateServiceSpec({ protocol: 'tcp', address: '192.168.1.110', port: 80, scheduler: 'none' });
    expect(cmd.newService(fam, none).mapError?.(new KernelError({ errno: errnoValue('ENOENT'), operation: 'add service' }))).toBeUndefined();
    // EEXIST on an update is not "already exists": the kernel never says it, so it stays generic
    expect(cmd.setService(fam, svc).mapError?.(new KernelError({ errno: 17, operation: 'update service' }))).toBeUndefined();
  });
});
