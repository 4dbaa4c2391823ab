// Connection timeouts (SET_CONFIG/GET_CONFIG, top-level attributes) and general info (GET_INFO).

import type { Attributes } from '../netlink/reader.js';
import type { MessageWriter } from '../netlink/writer.js';
import {
  IPVS_CMD_ATTR_TIMEOUT_TCP, IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, IPVS_CMD_ATTR_TIMEOUT_UDP,
  IPVS_INFO_ATTR_CONN_TAB_SIZE, IPVS_INFO_ATTR_VERSION,
} from './constants.js';
import type { Info, Timeouts } from './types.js';
import type { WireTimeouts } from './validate.js';

export function encodeTimeouts(w: MessageWriter, t: WireTimeouts): void {
  w.u32(IPVS_CMD_ATTR_TIMEOUT_TCP, t.tcp);
  w.u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t.tcpFin);
  w.u32(IPVS_CMD_ATTR_TIMEOUT_UDP, t.udp);
}

export function decodeTimeouts(a: Attributes): Timeouts {
  return {
    tcp: a.u32(IPVS_CMD_ATTR_TIMEOUT_TCP) ?? 0,
    tcpFin: a.u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN) ?? 0,
    udp: a.u32(IPVS_CMD_ATTR_TIMEOUT_UDP) ?? 0,
  };
}

export function decodeInfo(a: Attributes): Info {
  const code = a.u32(IPVS_INFO_ATTR_VERSION) ?? 0;
  return {
    version: `${(code >> 16) & 0xff}.${(code >> 8) & 0xff}.${code & 0xff}`,
    versionCode: code,
    connectionTableSize: a.u32(IPVS_INFO_ATTR_CONN_TAB_SIZE) ?? 0,
  };
}
