// The generic-netlink controller of the fake kernel (nlctrl, id 0x10): CTRL_CMD_GETFAMILY by name or id
// (ENOENT for a family the kernel does not have, EINVAL with neither) and as a dump of every family,
// answered with the attributes ctrl_fill_info() writes, in its order.

import {
  CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_HDRSIZE, CTRL_ATTR_MAXATTR, CTRL_ATTR_MCAST_GROUPS, CTRL_ATTR_OPS,
  CTRL_ATTR_OP_FLAGS, CTRL_ATTR_OP_ID, CTRL_ATTR_VERSION, CTRL_CMD_GETFAMILY, CTRL_CMD_NEWFAMILY, GENL_ID_CTRL,
} from '../netlink/constants.js';
import type { MessageWriter } from '../netlink/writer.js';
import { EINVAL, ENOENT, EOPNOTSUPP, FakeErrno } from './fake-errno.js';
import { opFlags, type GenlFamily, type GenlRequest, type ReplyBody } from './fake-netlink.js';

const CTRL_CMD_GETPOLICY = 10;
const CTRL_ATTR_MCAST_GRP_NAME = 1;
const CTRL_ATTR_MCAST_GRP_ID = 2;

function familyInfo(f: GenlFamily): ReplyBody {
  return {
    cmd: CTRL_CMD_NEWFAMILY,
    write: (w: MessageWriter) => {
      w.string(CTRL_ATTR_FAMILY_NAME, f.name);
      w.u16(CTRL_ATTR_FAMILY_ID, f.id);
      w.u32(CTRL_ATTR_VERSION, f.version);
      w.u32(CTRL_ATTR_HDRSIZE, 0);
      w.u32(CTRL_ATTR_MAXATTR, f.maxattr);
      if (f.ops.length > 0) {
        w.nested(CTRL_ATTR_OPS, () => {
          f.ops.forEach((op, i) => w.nested(i + 1, () => {
            w.u32(CTRL_ATTR_OP_ID, op.cmd);
            w.u32(CTRL_ATTR_OP_FLAGS, opFlags(f, op));
          }, false));
        }, false);
      }
      const groups = f.mcastGroups ?? [];
      if (groups.length > 0) {
        w.nested(CTRL_ATTR_MCAST_GROUPS, () => {
          groups.forEach(([id, name], i) => w.nested(i + 1, () => {
            w.u32(CTRL_ATTR_MCAST_GRP_ID, id);
            w.string(CTRL_ATTR_MCAST_GRP_NAME, name);
          }, false));
        }, false);
      }
    },
  };
}

/**
 * nlctrl, answering about itself and whatever `families()` lists at the time of the request. `autoload`
 * is called with a name asked for that is not listed, before looking again (ctrl_getfamily's
 * request_module()).
 */
export function nlctrlFamily(families: () => GenlFamily[], autoload?: (name: string) => void): GenlFamily {
  const self: GenlFamily = {
    id: GENL_ID_CTRL,
    name: 'nlctrl',
    version: 2,
    // The kernel reports 0: nlctrl's policy is per operation.
    maxattr: 0,
    policy: {
      max: 10,
      attrs: { [CTRL_ATTR_FAMILY_ID]: { type: 'u16' }, [CTRL_ATTR_FAMILY_NAME]: { type: 'nul-string', len: 15 } },
    },
    mcastGroups: [[GENL_ID_CTRL, 'notify']],
    ops: [
      {
        cmd: CTRL_CMD_GETFAMILY,
        flags: 0,
        doit: (req: GenlRequest) => {
          const a = req.attrs;
          const all = [self, ...families()];
          let found: GenlFamily | undefined;
          let looked = false;
          const id = a?.u16(CTRL_ATTR_FAMILY_ID);
          if (id !== undefined) {
            looked = true;
            found = all.find((f) => f.id === id);
          }
          const name = a?.string(CTRL_ATTR_FAMILY_NAME);
          if (name !== undefined) {
            looked = true;
            found = all.find((f) => f.name === name);
            if (!found && autoload) {
              autoload(name);
              found = [self, ...families()].find((f) => f.name === name);
            }
          }
          if (!looked) throw new FakeErrno(EINVAL);
          if (!found) throw new FakeErrno(ENOENT);
          return [familyInfo(found)];
        },
        dumpit: () => ({ items: [self, ...families()], body: familyInfo }),
      },
      // Listed as the kernel lists it (dump only); the fake does not answer policy dumps.
      { cmd: CTRL_CMD_GETPOLICY, flags: 0, dumpit: () => { throw new FakeErrno(EOPNOTSUPP); } },
    ],
  };
  return self;
}
