// Builders of the netlink requests for every IPVS command, each labelled with what it does and what it
// is about, and mapping kernel refusals to sentences a person understands. Pure: no I/O here.

import type { OutgoingRequest } from '../netlink/connection.js';
import { KernelError } from '../netlink/errors.js';
import type { MessageWriter } from '../netlink/writer.js';
import * as C from './constants.js';
import { encodeDaemon, encodeDaemonState } from './daemon.js';
import { encodeDestination, encodeDestinationKey } from './destination.js';
import { encodeTimeouts } from './config.js';
import { encodeService, encodeServiceKeyAttr } from './service.js';
import type { WireDaemon, WireDestination, WireService, WireServiceKey, WireTimeouts } from './validate.js';

/** The resolved IPVS family: its id in this namespace and the version to stamp on requests. */
export interface IpvsFamily {
  id: number;
  version: number;
}

const NLM_F_CREATE = 0x400;

function build(fam: IpvsFamily, cmd: number, operation: string, object: string | undefined, attrs: ((w: MessageWriter) => void) | undefined, sentence: (code: string) => string | undefined, flags = 0): OutgoingRequest {
  return {
    type: fam.id,
    flags,
    label: object === undefined ? { operation } : { operation, object },
    body: (w) => {
      w.genlHeader(cmd, fam.version);
      attrs?.(w);
    },
    mapError: (err) => {
      const text = sentence(err.code) ?? generic(err.code);
      if (text === undefined) return undefined;
      return new KernelError({ errno: err.errno, operation, object, extack: err.extack, extackOffset: err.extackOffset, seq: err.seq, message: text });
    },
  };
}

function generic(code: string): string | undefined {
  if (code === 'EPERM' || code === 'EACCES') return 'permission denied: changing or reading IPVS needs CAP_NET_ADMIN (run as root)';
  return undefined;
}

const svcMissing = (s: WireServiceKey): string => `no such service ${s.text}`;

export function newService(fam: IpvsFamily, s: WireService): OutgoingRequest {
  return build(fam, C.IPVS_CMD_NEW_SERVICE, 'add service', s.text, (w) => encodeService(w, s), (code) => {
    if (code === 'EEXIST') return `service ${s.text} already exists`;
    if (code === 'ENOENT') return `scheduler "${s.scheduler}"${s.pe ? ` or persistence engine "${s.pe}"` : ''} not found: load ip_vs_${s.scheduler}${s.pe ? ` / ip_vs_pe_${s.pe}` : ''}`;
    return undefined;
  }, NLM_F_CREATE);
}

export function setService(fam: IpvsFamily, s: WireService): OutgoingRequest {
  return build(fam, C.IPVS_CMD_SET_SERVICE, 'update service', s.text, (w) => encodeService(w, s), (code) => {
    if (code === 'ESRCH') return svcMissing(s);
    if (code === 'ENOENT') return `scheduler "${s.scheduler}"${s.pe ? ` or persistence engine "${s.pe}"` : ''} not found: load ip_vs_${s.scheduler}`;
    return undefined;
  });
}

export function delService(fam: IpvsFamily, s: WireServiceKey): OutgoingRequest {
  return build(fam, C.IPVS_CMD_DEL_SERVICE, 'delete service', s.text, (w) => encodeServiceKeyAttr(w, s), (code) => (code === 'ESRCH' ? svcMissing(s) : undefined));
}

export function getService(fam: IpvsFamily, s: WireServiceKey): OutgoingRequest {
  return build(fam, C.IPVS_CMD_GET_SERVICE, 'get service', s.text, (w) => encodeServiceKeyAttr(w, s), (code) => (code === 'ESRCH' ? svcMissing(s) : undefined));
}

export function dumpServices(fam: IpvsFamily): OutgoingRequest {
  return build(fam, C.IPVS_CMD_GET_SERVICE, 'list services', undefined, undefined, () => undefined);
}

function destText(d: WireDestination, s: WireServiceKey): string {
  return `${d.text} in service ${s.text}`;
}

export function newDest(fam: IpvsFamily, s: WireServiceKey, d: WireDestination): OutgoingRequest {
  return build(fam, C.IPVS_CMD_NEW_DEST, 'add destination', destText(d, s), (w) => { encodeServiceKeyAttr(w, s); encodeDestination(w, d); }, (code) => {
    if (code === 'EEXIST') return `destination ${destText(d, s)} already exists`;
    if (code === 'ESRCH') return svcMissing(s);
    return undefined;
  }, NLM_F_CREATE);
}

export function setDest(fam: IpvsFamily, s: WireServiceKey, d: WireDestination): OutgoingRequest {
  return build(fam, C.IPVS_CMD_SET_DEST, 'update destination', destText(d, s), (w) => { encodeServiceKeyAttr(w, s); encodeDestination(w, d); }, (code) => {
    if (code === 'ENOENT') return `no such destination ${destText(d, s)}`;
    if (code === 'ESRCH') return svcMissing(s);
    return undefined;
  });
}

export function delDest(fam: IpvsFamily, s: WireServiceKey, d: WireDestination): OutgoingRequest {
  return build(fam, C.IPVS_CMD_DEL_DEST, 'delete destination', destText(d, s), (w) => { encodeServiceKeyAttr(w, s); encodeDestinationKey(w, d); }, (code) => {
    if (code === 'ENOENT') return `no such destination ${destText(d, s)}`;
    if (code === 'ESRCH') return svcMissing(s);
    return undefined;
  });
}

export function dumpDests(fam: IpvsFamily, s: WireServiceKey): OutgoingRequest {
  return build(fam, C.IPVS_CMD_GET_DEST, 'list destinations', `of service ${s.text}`, (w) => encodeServiceKeyAttr(w, s), (code) => (code === 'ESRCH' ? svcMissing(s) : undefined));
}

export function newDaemon(fam: IpvsFamily, d: WireDaemon): OutgoingRequest {
  const what = `${d.state === C.IP_VS_STATE_MASTER ? 'master' : 'backup'} on ${d.ifname} (syncid ${d.syncId})`;
  return build(fam, C.IPVS_CMD_NEW_DAEMON, 'start sync daemon', what, (w) => encodeDaemon(w, d), (code) => {
    if (code === 'EEXIST' || code === 'EBUSY') return `a ${d.state === C.IP_VS_STATE_MASTER ? 'master' : 'backup'} sync daemon is already running`;
    if (code === 'ENODEV') return `no such interface ${d.ifname}`;
    return undefined;
  });
}

export function delDaemon(fam: IpvsFamily, state: number): OutgoingRequest {
  const name = state === C.IP_VS_STATE_MASTER ? 'master' : 'backup';
  return build(fam, C.IPVS_CMD_DEL_DAEMON, 'stop sync daemon', name, (w) => encodeDaemonState(w, state), (code) => (code === 'ESRCH' ? `no ${name} sync daemon is running` : undefined));
}

export function dumpDaemons(fam: IpvsFamily): OutgoingRequest {
  return build(fam, C.IPVS_CMD_GET_DAEMON, 'list sync daemons', undefined, undefined, () => undefined);
}

export function setConfig(fam: IpvsFamily, t: WireTimeouts): OutgoingRequest {
  return build(fam, C.IPVS_CMD_SET_CONFIG, 'set timeouts', `tcp ${t.tcp} tcpfin ${t.tcpFin} udp ${t.udp}`, (w) => encodeTimeouts(w, t), () => undefined);
}

export function getConfig(fam: IpvsFamily): OutgoingRequest {
  return build(fam, C.IPVS_CMD_GET_CONFIG, 'get timeouts', undefined, undefined, () => undefined);
}

export function getInfo(fam: IpvsFamily): OutgoingRequest {
  return build(fam, C.IPVS_CMD_GET_INFO, 'get info', undefined, undefined, () => undefined);
}

export function zero(fam: IpvsFamily, s?: WireServiceKey): OutgoingRequest {
  return build(fam, C.IPVS_CMD_ZERO, 'zero counters', s?.text, s ? (w) => encodeServiceKeyAttr(w, s) : undefined, (code) => (code === 'ESRCH' && s ? svcMissing(s) : undefined));
}

export function flush(fam: IpvsFamily): OutgoingRequest {
  return build(fam, C.IPVS_CMD_FLUSH, 'flush', undefined, undefined, () => undefined);
}
