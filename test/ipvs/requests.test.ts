// Golden bytes for every IPVS request: the client (through the real engine) writes each command, and
// the whole message is compared with what the test-only builder makes from the uapi layouts. Only the
// sequence number is taken from the request itself.

import { beforeEach, describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import {
  AF_INET, CMD, FLAGS_NLM, daemonNest, destFullNest, destKeyNest, ipvsMsg, svcFullNest, svcKeyNest, svcReplyNest, timeoutAttrs, infoAttrs,
  type KeyInput,
} from '../helpers/ipvs-bytes.js';
import { ScriptedIpvs, type IpvsRequest } from '../helpers/ipvs-script.js';
import { cat, dump, type Part } from '../helpers/netlink-bytes.js';

const FAMILY = 0x1c;
const REQ = FLAGS_NLM.REQUEST | FLAGS_NLM.ACK;
const NEW = REQ | FLAGS_NLM.CREATE;
const DUMP = FLAGS_NLM.REQUEST | FLAGS_NLM.DUMP;

const pcc: KeyInput = { protocol: 'tcp', address: '192.168.1.110', port: 0 };

function answer(req: IpvsRequest, k: ScriptedIpvs): Buffer | Buffer[] {
  if ((req.flags & FLAGS_NLM.DUMP) === FLAGS_NLM.DUMP) return k.dump(req, req.cmd === CMD.GET_DAEMON ? CMD.NEW_DAEMON : req.cmd, []);
  if (req.cmd === CMD.GET_SERVICE) return k.reply(req, CMD.NEW_SERVICE, svcReplyNest({ key: pcc, sched: 'rr', flags: 3, timeout: 600, netmask: 0xffffffff }));
  if (req.cmd === CMD.GET_CONFIG) return k.reply(req, CMD.SET_CONFIG, timeoutAttrs(900, 120, 300));
  if (req.cmd === CMD.GET_INFO) return k.reply(req, CMD.SET_INFO, infoAttrs(0x010201, 4096));
  return k.ack(req);
}

let k: ScriptedIpvs;
let ipvs: Ipvs;

beforeEach(async () => {
  k = new ScriptedIpvs({ familyId: FAMILY, handler: answer });
  ipvs = await Ipvs.open({ transport: k });
});

/** The last request, whole, against the expected message built with its sequence number. */
function expectLast(cmd: number, flags: number, ...attrs: Part[]): void {
  const req = k.last();
  const expected = ipvsMsg({ family: FAMILY, cmd, seq: req.seq, pid: k.portId, flags }, ...attrs);
  expect(dump(req.bytes)).toBe(dump(expected));
}

describe('service requests', () => {
  it('add a persistent port-0 (PCC) service: tcp 192.168.1.110:0 rr, 600 s', async () => {
    await ipvs.addService({ protocol: 'tcp', address: '192.168.1.110', port: 0, scheduler: 'rr', persistence: { timeout: 600 } });
    expectLast(CMD.NEW_SERVICE, NEW, svcFullNest(pcc, { sched: 'rr', flags: 1, timeout: 600, netmask: 0xffffffff }));
  });

  it('the same bytes spelled out by hand (ports in network order, NUL-terminated scheduler, flags + mask)', async () => {
    await ipvs.addService({ protocol: 'tcp', address: '192.168.1.110', port: 80, scheduler: 'rr', persistence: { timeout: 600 } });
    const req = k.last();
    const seq = req.bytes.subarray(8, 12).toString('hex');
    expect(req.bytes.toString('hex')).toBe(
      '5c000000' + '1c00' + '0504' + seq + '09030000' + // nlmsghdr: len 92, family 0x1c, REQUEST|ACK|CREATE, seq, pid 777
      '01010000' + // genl: NEW_SERVICE, version 1
      '48000180' + // IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED, 72 bytes
      '0600010002000000' + // AF = AF_INET
      '0600020006000000' + // PROTOCOL = TCP
      '08000300c0a8016e' + // ADDR = 192.168.1.110 (4 bytes)
      '0600040000500000' + // PORT = 80, big-endian
      '0700060072720000' + // SCHED_NAME = "rr\0"
      '0c000700' + '01000000' + 'ffffffff' + // FLAGS { flags = PERSISTENT, mask = ~0 }
      '0800080058020000' + // TIMEOUT = 600
      '08000900ffffffff', // NETMASK = 255.255.255.255, big-endian
    );
  });

  it('add an IPv6 fwmark service with a /64 persistence netmask, sh with both flags', async () => {
    await ipvs.addService({ fwmark: 10, family: 'ipv6', scheduler: 'sh', persistence: { timeout: 60, netmask: 64 }, flags: ['sh-port', 'sh-fallback'] });
    expectLast(CMD.NEW_SERVICE, NEW, svcFullNest({ fwmark: 10, family: 'ipv6' }, { sched: 'sh', flags: 0x19, timeout: 60, netmask: 64 }));
  });

  it('add an IPv6 UDP service, one-packet, sip persistence engine', async () => {
    const key: KeyInput = { protocol: 'udp', address: '2001:db8::53', port: 5060 };
    await ipvs.addService({ protocol: 'udp', address: '2001:DB8:0::53', port: 5060, flags: ['one-packet'], persistence: true, persistenceEngine: 'sip' });
    expectLast(CMD.NEW_SERVICE, NEW, svcFullNest(key, { sched: 'wlc', pe: 'sip', flags: 5, timeout: 300, netmask: 128 }));
  });

  it('add an IPv4 fwmark service with defaults', async () => {
    await ipvs.addService({ fwmark: 1 });
    expectLast(CMD.NEW_SERVICE, NEW, svcFullNest({ fwmark: 1 }, { sched: 'wlc', flags: 0, timeout: 0, netmask: 0xffffffff }));
  });

  it('update a service: the full entry, flags replaced', async () => {
    await ipvs.updateService({ protocol: 'sctp', address: '10.0.0.1', port: 9, scheduler: 'wrr', persistence: { netmask: '255.255.255.0' } });
    expectLast(CMD.SET_SERVICE, REQ, svcFullNest({ protocol: 'sctp', address: '10.0.0.1', port: 9 }, { sched: 'wrr', flags: 1, timeout: 300, netmask: 0xffffff00 }));
  });

  it('delete a service: the key only', async () => {
    await ipvs.deleteService({ protocol: 'tcp', address: '192.168.1.110', port: 0 });
    expectLast(CMD.DEL_SERVICE, REQ, svcKeyNest(pcc));
  });

  it('get one service: GET_SERVICE with the key, acked', async () => {
    await ipvs.service(pcc);
    expectLast(CMD.GET_SERVICE, REQ, svcKeyNest(pcc));
  });

  it('list services: GET_SERVICE as a dump, no attributes', async () => {
    await ipvs.services();
    expectLast(CMD.GET_SERVICE, DUMP);
  });
});

describe('destination requests', () => {
  it('add a direct-routing destination with weight 2 (port 0 from the PCC service)', async () => {
    await ipvs.addDestination(pcc, { address: '192.168.1.116', forwarding: 'route', weight: 2 });
    expectLast(CMD.NEW_DEST, NEW, svcKeyNest(pcc), destFullNest({ address: '192.168.1.116', port: 0, fwd: 3, weight: 2 }));
  });

  it('add a masquerading destination with thresholds', async () => {
    const svc: KeyInput = { protocol: 'tcp', address: '10.0.0.1', port: 80 };
    await ipvs.addDestination(svc, { address: '172.16.0.2', port: 8080, forwarding: 'masq', weight: 5, upperThreshold: 100, lowerThreshold: 10 });
    expectLast(CMD.NEW_DEST, NEW, svcKeyNest(svc), destFullNest({ address: '172.16.0.2', port: 8080, fwd: 0, weight: 5, upper: 100, lower: 10 }));
  });

  it('add an IPv6 gue-tunnelled destination to an IPv4 service (mixed family)', async () => {
    const svc: KeyInput = { protocol: 'udp', address: '10.0.0.1', port: 53 };
    await ipvs.addDestination(svc, { address: '2001:db8::7', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'csum' } });
    expectLast(CMD.NEW_DEST, NEW, svcKeyNest(svc), destFullNest({ address: '2001:db8::7', port: 53, fwd: 2, weight: 1, tunType: 1, tunPort: 6080, tunFlags: 1 }));
  });

  it('update a destination of an fwmark service', async () => {
    await ipvs.updateDestination({ fwmark: 7 }, { address: '10.1.1.1', weight: 0 });
    expectLast(CMD.SET_DEST, REQ, svcKeyNest({ fwmark: 7 }), destFullNest({ address: '10.1.1.1', port: 0, fwd: 3, weight: 0 }));
  });

  it('delete a destination: address, port and family only', async () => {
    const svc: KeyInput = { protocol: 'tcp', address: '2001:db8::1', port: 443 };
    await ipvs.deleteDestination(svc, { address: '2001:db8::2' });
    expectLast(CMD.DEL_DEST, REQ, svcKeyNest(svc), destKeyNest({ address: '2001:db8::2', port: 443 }));
  });

  it('list destinations: GET_DEST dump with the service key', async () => {
    await ipvs.destinations(pcc);
    expectLast(CMD.GET_DEST, DUMP, svcKeyNest(pcc));
  });
});

describe('daemon, config, info, zero and flush requests', () => {
  it('start a master daemon with every option (port as a host-order u16)', async () => {
    await ipvs.startDaemon({ state: 'master', interface: 'eth0', syncId: 5, syncMaxLen: 1400, mcastGroup: '239.1.1.1', mcastPort: 8849, mcastTtl: 2 });
    expectLast(CMD.NEW_DAEMON, REQ, daemonNest({ state: 1, ifname: 'eth0', syncId: 5, maxLen: 1400, group: '239.1.1.1', port: 8849, ttl: 2 }));
    // 8849 = 0x2291, little-endian on the wire
    expect(k.last().bytes.includes(Buffer.from('060007009122', 'hex'))).toBe(true);
  });

  it('start a backup daemon with an IPv6 group, the rest left to the kernel', async () => {
    await ipvs.startDaemon({ state: 'backup', interface: 'dum0', mcastGroup: 'ff02::1:2' });
    expectLast(CMD.NEW_DAEMON, REQ, daemonNest({ state: 2, ifname: 'dum0', syncId: 0, group: 'ff02::1:2' }));
  });

  it('stop a daemon: the state only, with a bare GET_INFO behind it in the same datagram', async () => {
    const before = k.sent.length;
    await ipvs.stopDaemon('backup');
    expect(k.sent.length).toBe(before + 1);
    const [del, info] = k.requests.slice(-2) as [IpvsRequest, IpvsRequest];
    expect(dump(del.bytes)).toBe(dump(ipvsMsg({ family: FAMILY, cmd: CMD.DEL_DAEMON, seq: del.seq, pid: k.portId, flags: REQ }, daemonNest({ state: 2 }))));
    expect(dump(info.bytes)).toBe(dump(ipvsMsg({ family: FAMILY, cmd: CMD.GET_INFO, seq: del.seq + 1, pid: k.portId, flags: REQ })));
    expect(dump(k.sent[before] as Buffer)).toBe(dump(cat(del.bytes, info.bytes)));
  });

  it('list daemons: GET_DAEMON dump', async () => {
    await ipvs.daemons();
    expectLast(CMD.GET_DAEMON, DUMP);
  });

  it('set timeouts: top-level u32s, 0 for what is left unchanged', async () => {
    await ipvs.setTimeouts({ tcp: 900 });
    expectLast(CMD.SET_CONFIG, REQ, timeoutAttrs(900, 0, 0));
    await ipvs.setTimeouts({ tcp: 1, tcpFin: 2, udp: 3 });
    expectLast(CMD.SET_CONFIG, REQ, timeoutAttrs(1, 2, 3));
  });

  it('get timeouts and info: bare commands', async () => {
    await ipvs.timeouts();
    expectLast(CMD.GET_CONFIG, REQ);
    await ipvs.info();
    expectLast(CMD.GET_INFO, REQ);
  });

  it('zero all, zero one service, flush', async () => {
    await ipvs.zero();
    expectLast(CMD.ZERO, REQ);
    await ipvs.zero({ fwmark: 3, family: 'ipv6' });
    expectLast(CMD.ZERO, REQ, svcKeyNest({ fwmark: 3, family: 'ipv6' }));
    await ipvs.flush();
    expectLast(CMD.FLUSH, REQ);
  });

  it('the family id and version come from the nlctrl reply', async () => {
    const other = new ScriptedIpvs({ familyId: 0x2a, familyVersion: 1, handler: answer });
    const c = await Ipvs.open({ transport: other });
    await c.flush();
    expect(other.last()).toMatchObject({ type: 0x2a, cmd: CMD.FLUSH, version: 1 });
    expect(other.sent[0]!.readUInt16LE(4)).toBe(0x10); // the first datagram is the nlctrl lookup
  });
});

describe('execute() writes the same bytes, many per datagram', () => {
  it('one datagram holds every request of a window, back to back', async () => {
    const before = k.sent.length;
    await ipvs.execute([
      { op: 'add-service', service: { ...pcc, protocol: 'tcp', scheduler: 'rr', persistence: { timeout: 600 } } as never },
      { op: 'add-destination', service: pcc as never, destination: { address: '192.168.1.116', weight: 2 } },
      { op: 'delete-service', service: { fwmark: 1 } },
    ]);
    expect(k.sent.length).toBe(before + 1);
    const [a, b, c] = k.requests.slice(-3) as [IpvsRequest, IpvsRequest, IpvsRequest];
    const expected = cat(
      ipvsMsg({ family: FAMILY, cmd: CMD.NEW_SERVICE, seq: a.seq, pid: k.portId, flags: NEW }, svcFullNest(pcc, { sched: 'rr', flags: 1, timeout: 600, netmask: 0xffffffff })),
      ipvsMsg({ family: FAMILY, cmd: CMD.NEW_DEST, seq: b.seq, pid: k.portId, flags: NEW }, svcKeyNest(pcc), destFullNest({ address: '192.168.1.116', port: 0, fwd: 3, weight: 2 })),
      ipvsMsg({ family: FAMILY, cmd: CMD.DEL_SERVICE, seq: c.seq, pid: k.portId, flags: REQ }, svcKeyNest({ fwmark: 1 })),
    );
    expect(dump(k.sent[k.sent.length - 1]!)).toBe(dump(expected));
    expect([b.seq - a.seq, c.seq - b.seq]).toEqual([1, 1]);
  });

  it('AF_INET is 2 in every IPv4 key (sanity of the builder)', () => {
    expect(AF_INET).toBe(2);
  });
});
