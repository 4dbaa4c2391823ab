// The lab the traffic tests run in, all inside namespaces of one Lab:
//
//   cli (10.9.1.2, 10.9.1.3) --- [brc 10.9.1.1] dir [brs 10.9.2.1] --- rs1 (10.9.2.11), rs2 (10.9.2.12)
//                                    VIPs 10.9.1.100-115 (NAT)   |--- lan (10.9.2.50)
//                                    DR VIP 10.9.2.100           |
//                                  dir [sync0 10.9.3.1] --- dir2 [sync1 10.9.3.2]
//                                  dir [brs] ------------------ dir2 [s2 10.9.2.2]
//
// NAT: the client reaches a VIP on the director's client side; the real servers' default route is the
// director, which rewrites replies. Direct routing: the lan client shares the servers' segment; the
// director owns the DR VIP, the servers hold it on lo with arp_ignore=1/arp_announce=2 (so only the
// director answers ARP for it) and reply to the client directly. dir2 is a second director, linked to
// the first for the sync daemons' multicast and with a leg on the servers' segment to take a VIP over. Agents: HTTP servers in rs1/rs2 (ports 80 and 8080) and a
// sorry server in dir (port 80, for the 127.0.0.1 fail-back); clients in cli and lan.
//
// addIPv6() lays IPv6 over the same namespaces, bridges and veths: cli fd09:1::2 and ::3, dir fd09:1::1
// with the IPv6 NAT VIPs fd09:1::100-10f on brc and fd09:2::1 on brs, rs1 fd09:2::11, rs2 fd09:2::12, each
// side's default route via the director, which forwards IPv6. The agents' servers already listen on `::`.

import { Lab, type Agent } from './net.js';

export const CLIENT1 = '10.9.1.2';
export const CLIENT2 = '10.9.1.3';
export const RS1 = '10.9.2.11';
export const RS2 = '10.9.2.12';
export const LAN_CLIENT = '10.9.2.50';
export const DR_VIP = '10.9.2.100';
/** The standby director's address on the servers' segment. */
export const DIR2_LAN = '10.9.2.2';
export const VIP_COUNT = 16;
/** NAT VIPs, one per scenario so persistence templates of one never affect another. */
export const vip = (n: number): string => `10.9.1.${100 + n}`;

export const CLIENT1_6 = 'fd09:1::2';
export const CLIENT2_6 = 'fd09:1::3';
export const RS1_6 = 'fd09:2::11';
export const RS2_6 = 'fd09:2::12';
/** IPv6 NAT VIPs (after addIPv6), one per scenario like vip(). */
export const vip6 = (n: number): string => `fd09:1::${(0x100 + n).toString(16)}`;

export interface Topology {
  lab: Lab;
  dir: string;
  dir2: string;
  client: Agent;
  lan: Agent;
  rs1: Agent;
  rs2: Agent;
  sorry: Agent;
}

/** `tag` starts every namespace name (two test files may each build a lab). */
export async function buildTopology(tag = 'tr'): Promise<Topology> {
  const lab = new Lab(tag);
  try {
    // Recorded, then made by a few `ip -batch` processes (Lab.setup).
    const { dir, dir2, cli, lan, rs } = lab.setup((s) => {
      const dir = s.namespace('dir');
      const dir2 = s.namespace('dir2');
      const cli = s.namespace('cli');
      const lan = s.namespace('lan');
      const rs = [s.namespace('rs1'), s.namespace('rs2')];

      s.bridge(dir, 'brc', '10.9.1.1/24');
      s.bridge(dir, 'brs', '10.9.2.1/24');
      for (let n = 0; n < VIP_COUNT; n++) s.ip(dir, `addr add ${vip(n)}/32 dev brc`);
      s.ip(dir, `addr add ${DR_VIP}/32 dev brs`);

      s.veth({ ns: cli, ifname: 'c0', addresses: [`${CLIENT1}/24`, `${CLIENT2}/24`], gateway: '10.9.1.1' }, { ns: dir, ifname: 'cli0', bridge: 'brc' });
      s.veth({ ns: lan, ifname: 'l0', addresses: [`${LAN_CLIENT}/24`] }, { ns: dir, ifname: 'lan0', bridge: 'brs' });
      [RS1, RS2].forEach((address, i) => {
        const ns = rs[i]!;
        s.ip(ns, `addr add ${DR_VIP}/32 dev lo`);
        s.veth({ ns, ifname: 'e0', addresses: [`${address}/24`], gateway: '10.9.2.1' }, { ns: dir, ifname: `rs${i + 1}`, bridge: 'brs' });
        // After the addresses (each namespace's sysctls and ip lines run in the order given, one process per run).
        s.sysctl(ns, 'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2');
      });
      s.veth({ ns: dir2, ifname: 'sync1', addresses: ['10.9.3.2/24'] }, { ns: dir, ifname: 'sync0', addresses: ['10.9.3.1/24'] });
      // The standby's own leg on the servers' segment, for taking a direct-routing VIP over.
      s.veth({ ns: dir2, ifname: 's2', addresses: [`${DIR2_LAN}/24`] }, { ns: dir, ifname: 'dir2s', bridge: 'brs' });
      s.sysctl(dir, 'net.ipv4.ip_forward=1');
      return { dir, dir2, cli, lan, rs };
    });

    const [client, lanAgent, rs1, rs2, sorry] = await Promise.all([lab.agent(cli), lab.agent(lan), lab.agent(rs[0]!), lab.agent(rs[1]!), lab.agent(dir)]);
    await Promise.all([rs1!.serve('rs1', [80, 8080]), rs2!.serve('rs2', [80, 8080]), sorry!.serve('sorry', [80])]);
    return { lab, dir, dir2, client: client!, lan: lanAgent!, rs1: rs1!, rs2: rs2!, sorry: sorry! };
  } catch (err) {
    await lab.cleanup();
    throw err;
  }
}

/**
 * IPv6 on a built topology's client, director and real servers (see the header). Addresses skip duplicate
 * address detection (`nodad`, and accept_dad=0 for anything made later) so they are usable at once; every
 * sysctl is set inside the lab's namespaces only.
 */
export function addIPv6(t: Topology): void {
  const { lab, dir } = t;
  const cli = lab.name('cli');
  const rs = [lab.name('rs1'), lab.name('rs2')];
  lab.setup((s) => {
    for (const ns of [dir, cli, ...rs]) s.sysctl(ns, 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0');
    s.sysctl(dir, 'net.ipv6.conf.all.forwarding=1');
    const add = (ns: string, cidr: string, dev: string): void => s.ip(ns, `addr add ${cidr} dev ${dev} nodad`);
    add(dir, 'fd09:1::1/64', 'brc');
    add(dir, 'fd09:2::1/64', 'brs');
    for (let n = 0; n < VIP_COUNT; n++) add(dir, `${vip6(n)}/128`, 'brc');
    for (const a of [CLIENT1_6, CLIENT2_6]) add(cli, `${a}/64`, 'c0');
    // The family follows from the gateway (a batch line takes no -6).
    s.ip(cli, 'route add default via fd09:1::1');
    [RS1_6, RS2_6].forEach((address, i) => {
      add(rs[i]!, `${address}/64`, 'e0');
      s.ip(rs[i]!, 'route add default via fd09:2::1');
    });
  });
}
