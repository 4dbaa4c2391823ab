// The fake kernel's way of refusing a request: a thrown FakeErrno carries the positive errno the real
// kernel would return and, when the kernel would attach one, the extended-ack details (message, the
// offending attribute's offset in the request, the policy it failed). Only the dispatcher catches it
// and turns it into an NLMSG_ERROR or an NLMSG_DONE, exactly where the kernel would.

import { errnoValue } from '../netlink/errors.js';

/** What the kernel's struct netlink_ext_ack would hold for a refusal. */
export interface FakeExtack {
  /** NLMSGERR_ATTR_MSG */
  message?: string;
  /** NLMSGERR_ATTR_OFFS: byte offset of the bad attribute from the start of the request message. */
  offset?: number;
  /** NLMSGERR_ATTR_POLICY: the failed policy, already encoded as NL_POLICY_TYPE_ATTR_* attributes. */
  policy?: PolicyDescription;
}

/** The parts of a netlink policy the kernel reports back in NLMSGERR_ATTR_POLICY. */
export interface PolicyDescription {
  /** NL_ATTR_TYPE_* */
  type: number;
  minValueU?: bigint;
  maxValueU?: bigint;
  maxLength?: number;
}

export class FakeErrno extends Error {
  readonly errno: number;
  readonly extack: FakeExtack | undefined;
  constructor(errno: number, extack?: FakeExtack) {
    super(`errno ${errno}`);
    this.name = 'FakeErrno';
    this.errno = errno;
    this.extack = extack;
  }
}

/** A refusal by errno name, e.g. refuse('ESRCH'). */
export function refuse(name: string, extack?: FakeExtack): FakeErrno {
  return new FakeErrno(errnoValue(name), extack);
}

export const EPERM = errnoValue('EPERM');
export const ENOENT = errnoValue('ENOENT');
export const ESRCH = errnoValue('ESRCH');
export const EINTR = 4;
export const ENOMEM = errnoValue('ENOMEM');
export const EBUSY = errnoValue('EBUSY');
export const EEXIST = errnoValue('EEXIST');
export const ENODEV = errnoValue('ENODEV');
export const EINVAL = errnoValue('EINVAL');
export const ERANGE = errnoValue('ERANGE');
export const ENOBUFS = errnoValue('ENOBUFS');
export const EOPNOTSUPP = 95;
export const ENETUNREACH = errnoValue('ENETUNREACH');
export const EADDRNOTAVAIL = errnoValue('EADDRNOTAVAIL');
export const EAFNOSUPPORT = errnoValue('EAFNOSUPPORT');
