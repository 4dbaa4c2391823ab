// Generic-netlink family resolution through the nlctrl controller (CTRL_CMD_GETFAMILY by name),
// cached per connection: the id can differ between boots and network namespaces never share sockets.
// It can also change while a connection is open: a family registered again (its module unloaded and
// loaded) gets a new id, so a user that finds its id refused looks the family up again with refresh().

import {
  CTRL_ATTR_FAMILY_ID,
  CTRL_ATTR_FAMILY_NAME,
  CTRL_ATTR_HDRSIZE,
  CTRL_ATTR_MAXATTR,
  CTRL_ATTR_OPS,
  CTRL_ATTR_OP_FLAGS,
  CTRL_ATTR_OP_ID,
  CTRL_ATTR_VERSION,
  CTRL_CMD_GETFAMILY,
  GENL_ID_CTRL,
} from './constants.js';
import type { NetlinkConnection, RequestOptions } from './connection.js';
import { DecodeError, FamilyNotFoundError, KernelError } from './errors.js';
import { Attributes, parseGenlHeader } from './reader.js';

export interface FamilyOp {
  id: number;
  flags: number;
}

export interface GenlFamily {
  name: string;
  id: number;
  version: number;
  headerSize: number;
  maxAttr: number;
  ops: FamilyOp[];
}

/** The nlctrl version this code speaks (CTRL_VERSION in the kernel is 2). */
const CTRL_VERSION = 2;

export function decodeFamily(body: Buffer): GenlFamily {
  const a = Attributes.parse(body);
  const id = a.u16(CTRL_ATTR_FAMILY_ID);
  const name = a.string(CTRL_ATTR_FAMILY_NAME);
  if (id === undefined || name === undefined) throw new DecodeError('family reply without id or name', 0);
  const ops: FamilyOp[] = [];
  const opsAttr = a.nested(CTRL_ATTR_OPS);
  if (opsAttr) {
    for (const item of opsAttr.list) {
      const op = Attributes.parse(item.data);
      ops.push({ id: op.u32(CTRL_ATTR_OP_ID) ?? 0, flags: op.u32(CTRL_ATTR_OP_FLAGS) ?? 0 });
    }
  }
  return {
    name,
    id,
    version: a.u32(CTRL_ATTR_VERSION) ?? 0,
    headerSize: a.u32(CTRL_ATTR_HDRSIZE) ?? 0,
    maxAttr: a.u32(CTRL_ATTR_MAXATTR) ?? 0,
    ops,
  };
}

/** Resolves and caches families for one connection. */
export class FamilyResolver {
  private readonly cache = new Map<string, Promise<GenlFamily>>();
  /** Lookups not answered yet, by name. */
  private readonly pending = new Map<string, Promise<GenlFamily>>();

  constructor(private readonly conn: NetlinkConnection) {}

  /**
   * The family named `name`. `missingHint` is appended to the FamilyNotFoundError, e.g. the module to load.
   * A failed lookup is not cached, so loading the module later and retrying works.
   */
  resolve(name: string, missingHint?: string, options?: RequestOptions): Promise<GenlFamily> {
    let p = this.cache.get(name);
    if (!p) {
      const lookup = this.lookup(name, missingHint, options);
      p = lookup;
      this.cache.set(name, lookup);
      this.pending.set(name, lookup);
      const answered = (): void => {
        if (this.pending.get(name) === lookup) this.pending.delete(name);
      };
      lookup.then(answered, () => {
        answered();
        if (this.cache.get(name) === lookup) this.cache.delete(name);
      });
    }
    return p;
  }

  /**
   * The family named `name` looked up again, whatever was cached: for a caller whose cached id the kernel
   * refused (the family may have been registered again, under a new id). A lookup not answered yet is
   * shared rather than sent twice.
   */
  refresh(name: string, missingHint?: string, options?: RequestOptions): Promise<GenlFamily> {
    const pending = this.pending.get(name);
    if (pending) return pending;
    this.cache.delete(name);
    return this.resolve(name, missingHint, options);
  }

  private async lookup(name: string, missingHint: string | undefined, options?: RequestOptions): Promise<GenlFamily> {
    let replies;
    try {
      replies = await this.conn.request(
        {
          type: GENL_ID_CTRL,
          body: (w) => {
            w.genlHeader(CTRL_CMD_GETFAMILY, CTRL_VERSION);
            w.string(CTRL_ATTR_FAMILY_NAME, name);
          },
          label: { operation: 'resolve generic netlink family', object: name },
        },
        options,
      );
    } catch (err) {
      if (err instanceof KernelError && err.code === 'ENOENT') throw new FamilyNotFoundError(name, missingHint);
      throw err;
    }
    const reply = replies[0];
    if (!reply) throw new DecodeError('nlctrl acknowledged without a family reply', 0);
    return decodeFamily(parseGenlHeader(reply.payload).body);
  }
}
