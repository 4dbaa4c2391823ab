// The facts ipvsadm prints about a service or destination, read from the client's objects: raw flag bits,
// whether the persistence mask differs from the host mask, scheduler-flag names, forwarding words and
// switches, tunnel details. Shared by the rules format (-S) and the listings (-L) so both agree.

import { formatIPv4, ipv4Value } from './addresses.js';
import { IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2, IP_VS_SVC_F_SCHED3 } from '../ipvs/constants.js';
import type { Destination, Service, TunnelChecksum, TunnelType, WithoutStats } from '../ipvs/types.js';
import { FLAG_BITS } from '../ipvs/validate.js';

export const SCHED_FLAG_MASK = IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3;

/** The IP_VS_SVC_F_* word: the raw flags as reported, plus anything the friendly fields say. */
export function serviceFlagBits(service: WithoutStats<Service>): number {
  let bits = typeof service.rawFlags === 'number' ? service.rawFlags : 0;
  for (const flag of service.flags ?? []) bits |= FLAG_BITS[flag] ?? 0;
  if (service.persistence) bits |= IP_VS_SVC_F_PERSISTENT;
  return bits;
}

export function isPersistent(service: WithoutStats<Service>): boolean {
  return (serviceFlagBits(service) & IP_VS_SVC_F_PERSISTENT) !== 0;
}

/** The persistence mask as ipvsadm prints it when it is not the host mask; undefined when it is. */
export function persistenceMaskText(service: WithoutStats<Service>): string | undefined {
  const mask = service.persistence?.netmask;
  if (mask === undefined) return undefined;
  if (service.family === 'ipv6') {
    const prefix = typeof mask === 'number' ? mask : Number(mask);
    return prefix !== 128 ? String(prefix) : undefined;
  }
  const value = typeof mask === 'number' ? prefixToMask(mask) : ipv4Value(mask);
  if (value === undefined || value === 0xffffffff) return undefined;
  return formatIPv4(value);
}

function prefixToMask(prefix: number): number {
  return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffff : (0xffffffff << (32 - prefix)) >>> 0;
}

/** ipvsadm's print_sched_flags: names depend on the scheduler (sh, mh, or the generic flag-N). */
export function schedFlagsText(service: WithoutStats<Service>): string {
  const bits = serviceFlagBits(service);
  const names: string[] = [];
  if (service.scheduler === 'sh' || service.scheduler === 'mh') {
    const s = service.scheduler;
    if (bits & IP_VS_SVC_F_SCHED1) names.push(`${s}-fallback`);
    if (bits & IP_VS_SVC_F_SCHED2) names.push(`${s}-port`);
  } else {
    if (bits & IP_VS_SVC_F_SCHED1) names.push('flag-1');
    if (bits & IP_VS_SVC_F_SCHED2) names.push('flag-2');
    if (bits & IP_VS_SVC_F_SCHED3) names.push('flag-3');
  }
  return names.join(',');
}

/** Forwarding as the listing prints it; a method ipvsadm has no word for prints as C's "(null)". */
export function forwardingName(destination: Destination): string {
  switch (destination.forwarding) {
    case 'masq':
      return 'Masq';
    case 'local':
      return 'Local';
    case 'tunnel':
      return 'Tunnel';
    case 'route':
      return 'Route';
    default:
      return '(null)';
  }
}

/** Forwarding as a save line writes it. */
export function forwardingSwitch(destination: WithoutStats<Destination>): string {
  switch (destination.forwarding) {
    case 'masq':
      return '-m';
    case 'tunnel':
      return '-i';
    case 'local':
    case 'route':
      return '-g';
    default:
      return '(null)';
  }
}

export const TUNNEL_TYPE_INDEX: Record<TunnelType, number> = { ipip: 0, gue: 1, gre: 2 };
const CHECKSUM_SHORT: Record<TunnelChecksum, string> = { nocsum: '-c', csum: '+c', remcsum: 'r+c' };
const CHECKSUM_OPTION: Record<TunnelChecksum, string> = {
  nocsum: '--tun-nocsum',
  csum: '--tun-csum',
  remcsum: '--tun-remcsum',
};

/** The tunnel of a tunnel destination; a kernel that reports none means ipip. */
export function tunnelOf(destination: WithoutStats<Destination>): { type: TunnelType | number; port: number; checksum: TunnelChecksum } {
  return destination.tunnel ?? { type: 'ipip', port: 0, checksum: 'nocsum' };
}

/** --tun-info's column: `ipip`, `gue:6080:-c`, `gre:+c`, or n/a for anything else. */
export function tunnelInfoText(destination: Destination): string {
  if (destination.forwarding !== 'tunnel') return 'n/a';
  const t = tunnelOf(destination);
  switch (t.type) {
    case 'ipip':
      return 'ipip';
    case 'gue':
      return `gue:${t.port}:${CHECKSUM_SHORT[t.checksum] ?? ''}`.slice(0, 15);
    case 'gre':
      return `gre:${CHECKSUM_SHORT[t.checksum] ?? ''}`;
    default:
      return 'n/a';
  }
}

/** The tail of a save line for a tunnel destination (after `-w N`). */
export function tunnelRuleSuffix(destination: WithoutStats<Destination>): string {
  const t = tunnelOf(destination);
  switch (t.type) {
    case 'ipip':
      return ' --tun-type ipip';
    case 'gue':
      return ` --tun-type gue --tun-port ${t.port} ${CHECKSUM_OPTION[t.checksum] ?? ''}`;
    case 'gre':
      return ` --tun-type gre ${CHECKSUM_OPTION[t.checksum] ?? ''}`;
    default:
      return '';
  }
}
