// Connection timeouts (ipvsadm --set): SET_CONFIG and GET_CONFIG carry them as top-level u32 attributes
// in seconds, not in a nest. On SET a 0 means "leave unchanged" (ip_vs_set_timeout skips zero values),
// so a partial update sends 0 for what it leaves out. GET omits the TCP pair on kernels built without
// TCP support and the UDP one without UDP support; a missing value decodes as 0.

import { Attributes, parseGenlHeader } from '../netlink/reader.js';
import type { MessageWriter } from '../netlink/writer.js';
import { IPVS_CMD_ATTR_TIMEOUT_TCP, IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, IPVS_CMD_ATTR_TIMEOUT_UDP } from './constants.js';
import type { Timeouts } from './types.js';
import type { WireTimeouts } from './validate.js';

export function encodeTimeouts(w: MessageWriter, t: WireTimeouts): void {
  w.u32(IPVS_CMD_ATTR_TIMEOUT_TCP, t.tcp);
  w.u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t.tcpFin);
  w.u32(IPVS_CMD_ATTR_TIMEOUT_UDP, t.udp);
}

/** The top-level attributes of a GET_CONFIG reply. */
export function decodeTimeouts(a: Attributes): Timeouts {
  return {
    tcp: a.u32(IPVS_CMD_ATTR_TIMEOUT_TCP) ?? 0,
    tcpFin: a.u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN) ?? 0,
    udp: a.u32(IPVS_CMD_ATTR_TIMEOUT_UDP) ?? 0,
  };
}

/** A GET_CONFIG reply body (after the netlink header). */
export function decodeTimeoutsMessage(payload: Buffer): Timeouts {
  return decodeTimeouts(Attributes.parse(parseGenlHeader(payload).body));
}
