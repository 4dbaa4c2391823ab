// From a parsed ipvsadm command to the client's input types. ipvsadm always sends complete objects, so
// `-E` and `-e` replace every field (a field not given takes ipvsadm's default, it is not "left as is"):
// the specs built here are complete in the same way, which keeps `ipvs -E` and `ipvsadm -E` identical.

import { netmaskText, type ParsedCommand, TUNNEL_TYPES } from './command-line.js';
import {
  IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_TUNNEL,
  IP_VS_SVC_F_PERSISTENT,
  IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
  IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM,
} from '../ipvs/constants.js';
import { flagNames } from '../ipvs/service.js';
import type {
  DaemonSpec,
  DestinationKey,
  DestinationSpec,
  ForwardingInput,
  Scheduler,
  ServiceFlag,
  ServiceKey,
  ServiceSpec,
  TunnelChecksum,
  TunnelSpec,
} from '../ipvs/types.js';

/** The service named by the command, or undefined when none was given (e.g. `-Z` for all). */
export function serviceKeyOf(cmd: ParsedCommand): ServiceKey | undefined {
  const svc = cmd.service;
  if (svc.fwmark) return { fwmark: svc.fwmark, family: svc.family ?? 'ipv4' };
  if (!svc.address || !svc.protocol) return undefined;
  return { protocol: svc.protocol, address: svc.address.text, port: svc.port };
}

/**
 * The service flags as the client names them: SCHED1/SCHED2 carry the sh or mh name of those schedulers,
 * any other scheduler bit its generic flag-N name (the names a service read back shows).
 */
export function serviceFlagsOf(flags: number, scheduler: string): ServiceFlag[] {
  return flagNames(flags, scheduler);
}

/** The complete service of -A / -E. */
export function serviceSpecOf(cmd: ParsedCommand): ServiceSpec {
  const svc = cmd.service;
  const key = serviceKeyOf(cmd);
  if (!key) throw new Error('serviceSpecOf: the command names no service');
  const spec: ServiceSpec = {
    ...key,
    // ipvsadm hands any name to the kernel, which answers ENOENT for one it does not have.
    scheduler: svc.scheduler as Scheduler,
    persistence:
      svc.flags & IP_VS_SVC_F_PERSISTENT
        ? { timeout: svc.timeout, netmask: svc.family === 'ipv6' ? svc.netmask : netmaskText(svc.netmask) }
        : false,
    flags: serviceFlagsOf(svc.flags, svc.scheduler),
  };
  if (svc.persistenceEngine !== '') spec.persistenceEngine = svc.persistenceEngine as ServiceSpec['persistenceEngine'];
  return spec;
}

const FORWARDING: Record<number, ForwardingInput> = {
  [IP_VS_CONN_F_MASQ]: 'masq',
  [IP_VS_CONN_F_TUNNEL]: 'tunnel',
};

function checksumOf(flags: number): TunnelChecksum {
  if (flags & IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM) return 'remcsum';
  if (flags & IP_VS_TUNNEL_ENCAP_FLAG_CSUM) return 'csum';
  return 'nocsum';
}

/** The complete destination of -a / -e. */
export function destinationSpecOf(cmd: ParsedCommand): DestinationSpec {
  const d = cmd.destination;
  if (!d.address) throw new Error('destinationSpecOf: the command names no real server');
  const forwarding = FORWARDING[d.forwarding] ?? 'route';
  const spec: DestinationSpec = {
    address: d.address.text,
    port: d.port,
    forwarding,
    weight: d.weight,
    upperThreshold: d.upperThreshold,
    lowerThreshold: d.lowerThreshold,
  };
  if (forwarding === 'tunnel') {
    const type = TUNNEL_TYPES[d.tunnelType] ?? 'ipip';
    const tunnel: TunnelSpec = { type };
    if (type === 'gue') tunnel.port = d.tunnelPort;
    if (type !== 'ipip') tunnel.checksum = checksumOf(d.tunnelFlags);
    spec.tunnel = tunnel;
  }
  return spec;
}

/** The destination named by -d. */
export function destinationKeyOf(cmd: ParsedCommand): DestinationKey {
  const d = cmd.destination;
  if (!d.address) throw new Error('destinationKeyOf: the command names no real server');
  return { address: d.address.text, port: d.port };
}

/** The sync daemon of --start-daemon. */
export function daemonSpecOf(cmd: ParsedCommand): DaemonSpec {
  const d = cmd.daemon;
  const spec: DaemonSpec = { state: d.state ?? 'master', interface: d.interface, syncId: d.syncId };
  if (d.syncMaxLen) spec.syncMaxLen = d.syncMaxLen;
  if (d.mcastGroup) spec.mcastGroup = d.mcastGroup.text;
  if (d.mcastPort) spec.mcastPort = d.mcastPort;
  if (d.mcastTtl) spec.mcastTtl = d.mcastTtl;
  return spec;
}
