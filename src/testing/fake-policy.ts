// How the kernel reads attributes (lib/nlattr.c, in the liberal mode IPVS asks for with
// GENL_DONT_VALIDATE_STRICT): walk the attributes while they are well formed and silently stop at the
// first one that is not; ignore types above the policy's maximum; keep the last of repeated types; and
// check each known attribute against its policy, failing with ERANGE (too short, too long) or EINVAL
// (a string without its NUL) and an extended-ack naming the attribute. The result is an Attributes
// from the netlink reader, so values are then read with the same typed getters as everywhere else.

import { NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HDRLEN, NLA_TYPE_MASK } from '../netlink/constants.js';
import { Attributes, type Attribute } from '../netlink/reader.js';
import { EINVAL, ERANGE, FakeErrno, type PolicyDescription } from './fake-errno.js';

export type PolicyType = 'u8' | 'u16' | 'u32' | 'nested' | 'binary' | 'nul-string' | 'unspec';

export interface AttrPolicy {
  type: PolicyType;
  /** binary: the maximum length; nul-string: the maximum string length; unspec: the minimum length. */
  len?: number;
}

/** A policy table: index = attribute type; `max` = the highest type the family parses. */
export interface Policy {
  max: number;
  attrs: Readonly<Record<number, AttrPolicy>>;
}

// NL_ATTR_TYPE_* as reported in NLMSGERR_ATTR_POLICY.
const NL_ATTR_TYPE_U8 = 2;
const NL_ATTR_TYPE_U16 = 3;
const NL_ATTR_TYPE_U32 = 4;
const NL_ATTR_TYPE_BINARY = 10;
const NL_ATTR_TYPE_NUL_STRING = 12;
const NL_ATTR_TYPE_NESTED = 13;

const MIN_LENGTH: Readonly<Record<PolicyType, number>> = { u8: 1, u16: 2, u32: 4, nested: 0, binary: 0, 'nul-string': 0, unspec: 0 };

function describe(p: AttrPolicy): PolicyDescription {
  switch (p.type) {
    case 'u8': return { type: NL_ATTR_TYPE_U8, minValueU: 0n, maxValueU: 0xffn };
    case 'u16': return { type: NL_ATTR_TYPE_U16, minValueU: 0n, maxValueU: 0xffffn };
    case 'u32': return { type: NL_ATTR_TYPE_U32, minValueU: 0n, maxValueU: 0xffffffffn };
    case 'nested': return { type: NL_ATTR_TYPE_NESTED };
    case 'binary': return p.len ? { type: NL_ATTR_TYPE_BINARY, maxLength: p.len } : { type: NL_ATTR_TYPE_BINARY };
    case 'nul-string': return p.len ? { type: NL_ATTR_TYPE_NUL_STRING, maxLength: p.len } : { type: NL_ATTR_TYPE_NUL_STRING };
    default: return { type: NL_ATTR_TYPE_BINARY };
  }
}

/** null when the value passes, else the errno validate_nla() returns. */
function check(p: AttrPolicy, data: Buffer): number | null {
  const len = data.length;
  switch (p.type) {
    case 'nul-string': {
      const limit = p.len ? Math.min(len, p.len + 1) : len;
      if (limit === 0 || !data.subarray(0, limit).includes(0)) return EINVAL;
      const strLen = data[len - 1] === 0 ? len - 1 : len;
      return p.len && strLen > p.len ? ERANGE : null;
    }
    case 'binary':
      return p.len && len > p.len ? ERANGE : null;
    case 'nested':
      return len !== 0 && len < NLA_HDRLEN ? ERANGE : null;
    case 'unspec':
      return p.len && len < p.len ? ERANGE : null;
    default:
      return len < MIN_LENGTH[p.type] ? ERANGE : null;
  }
}

/**
 * Parse the attributes filling `data` as the kernel would. `messageStart` is the byteOffset of the
 * request's nlmsghdr in the same underlying memory (every value is a view of the datagram), so the
 * extended-ack offset of a bad attribute can be given relative to the message. Throws FakeErrno on a
 * policy failure.
 */
export function parseAttributes(data: Buffer, policy: Policy, messageStart: number): Attributes {
  const list: Attribute[] = [];
  const to = data.length;
  let off = 0;
  while (to - off >= NLA_HDRLEN) {
    const len = data.readUInt16LE(off);
    if (len < NLA_HDRLEN || len > to - off) break; // nla_ok() fails: the rest is ignored
    const raw = data.readUInt16LE(off + 2);
    const type = raw & NLA_TYPE_MASK;
    const value = data.subarray(off + NLA_HDRLEN, off + len);
    if (type !== 0 && type <= policy.max) {
      const p = policy.attrs[type];
      if (p) {
        const errno = check(p, value);
        if (errno !== null) {
          const offset = data.byteOffset + off - messageStart;
          throw new FakeErrno(errno, { message: 'Attribute failed policy validation', offset, policy: describe(p) });
        }
      }
      list.push({ type, nestedFlag: (raw & NLA_F_NESTED) !== 0, netByteOrder: (raw & NLA_F_NET_BYTEORDER) !== 0, data: value });
    }
    off += Math.min((len + 3) & ~3, to - off);
  }
  return new Attributes(list);
}
