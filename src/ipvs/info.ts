// General information (ipvsadm's "IP Virtual Server version 1.2.1 (size=4096)"): GET_INFO answers with
// IPVS_INFO_ATTR_VERSION (IP_VS_VERSION_CODE, 0x010201 for every kernel since 2.6) and
// IPVS_INFO_ATTR_CONN_TAB_SIZE, both top-level u32s. encodeInfo writes the reply shape (for the fake
// kernel and tests; requests carry no attributes).

import { DecodeError } from '../netlink/errors.js';
import { Attributes, parseGenlHeader } from '../netlink/reader.js';
import type { MessageWriter } from '../netlink/writer.js';
import { IPVS_INFO_ATTR_CONN_TAB_SIZE, IPVS_INFO_ATTR_VERSION } from './constants.js';
import type { Info } from './types.js';

/** 0x010201 -> '1.2.1' */
export function versionText(code: number): string {
  return `${(code >>> 16) & 0xff}.${(code >>> 8) & 0xff}.${code & 0xff}`;
}

export function encodeInfo(w: MessageWriter, info: Pick<Info, 'versionCode' | 'connectionTableSize'>): void {
  w.u32(IPVS_INFO_ATTR_VERSION, info.versionCode);
  w.u32(IPVS_INFO_ATTR_CONN_TAB_SIZE, info.connectionTableSize);
}

/** The top-level attributes of a GET_INFO reply. */
export function decodeInfo(a: Attributes): Info {
  const code = a.u32(IPVS_INFO_ATTR_VERSION);
  const size = a.u32(IPVS_INFO_ATTR_CONN_TAB_SIZE);
  if (code === undefined || size === undefined) throw new DecodeError('info reply without version or connection table size', 0);
  return { version: versionText(code), versionCode: code, connectionTableSize: size };
}

/** A GET_INFO reply body (after the netlink header). */
export function decodeInfoMessage(payload: Buffer): Info {
  return decodeInfo(Attributes.parse(parseGenlHeader(payload).body));
}
