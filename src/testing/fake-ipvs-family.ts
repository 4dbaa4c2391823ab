// The IPVS generic-netlink family of the fake kernel: its operations table (every command needs
// CAP_NET_ADMIN; GET_SERVICE has a doit and a dumpit, GET_DEST and GET_DAEMON only dumpits) and the
// handlers, which follow ip_vs_genl_set_cmd / _set_daemon / _get_cmd / the dump functions of
// ip_vs_ctl.c step by step, so each refusal comes at the same point and with the same errno.

import * as C from '../ipvs/constants.js';
import { EEXIST, EINVAL, ESRCH, FakeErrno } from './fake-errno.js';
import { CMD_POLICY, parseDaemonAttributes, parseDaemonRequest, parseDestRequest, parseServiceRequest, type ServiceRequest } from './fake-ipvs-requests.js';
import { writeDaemon, writeDest, writeInfo, writeService, writeTimeouts, type ReplyStyle } from './fake-ipvs-replies.js';
import type { DaemonConfig, IpvsTable, Marked, Svc } from './fake-ipvs-table.js';
import { parseAttributes } from './fake-policy.js';
import { GENL_ADMIN_PERM, type DumpResult, type GenlFamily, type GenlOp, type GenlRequest, type ReplyBody } from './fake-netlink.js';

export interface IpvsFamilyContext {
  id: number;
  table: () => IpvsTable;
  style: () => ReplyStyle;
  connTableSize: number;
  /** Puts a dump's items in the order the kernel would give them (or shuffled). */
  order: <T>(items: T[]) => T[];
}

function serviceOf(table: IpvsTable, req: GenlRequest, full: boolean): { u: ServiceRequest; svc: Svc | undefined } {
  const u = parseServiceRequest(req.attrs?.raw(C.IPVS_CMD_ATTR_SERVICE), full, req.message.byteOffset, (af) => table.afValid(af));
  return { u, svc: table.find(u) };
}

/** ip_vs_genl_set_cmd(): services, destinations, zero, flush, timeouts. */
function setCmd(ctx: IpvsFamilyContext, req: GenlRequest): ReplyBody[] {
  const table = ctx.table();
  const attrs = req.attrs;
  const cmd = req.cmd;
  if (cmd === C.IPVS_CMD_FLUSH) {
    table.flush();
    return [];
  }
  if (cmd === C.IPVS_CMD_SET_CONFIG) {
    table.setTimeouts({
      tcp: attrs?.u32(C.IPVS_CMD_ATTR_TIMEOUT_TCP),
      tcpFin: attrs?.u32(C.IPVS_CMD_ATTR_TIMEOUT_TCP_FIN),
      udp: attrs?.u32(C.IPVS_CMD_ATTR_TIMEOUT_UDP),
    });
    return [];
  }
  if (cmd === C.IPVS_CMD_ZERO && !attrs?.has(C.IPVS_CMD_ATTR_SERVICE)) {
    table.zero();
    return [];
  }
  const needFull = cmd === C.IPVS_CMD_NEW_SERVICE || cmd === C.IPVS_CMD_SET_SERVICE;
  const { u, svc } = serviceOf(table, req, needFull);
  if (cmd !== C.IPVS_CMD_NEW_SERVICE && svc === undefined) throw new FakeErrno(ESRCH);
  if (cmd === C.IPVS_CMD_NEW_DEST || cmd === C.IPVS_CMD_SET_DEST || cmd === C.IPVS_CMD_DEL_DEST) {
    const s = svc as Svc;
    const deleting = cmd === C.IPVS_CMD_DEL_DEST;
    const d = parseDestRequest(attrs?.raw(C.IPVS_CMD_ATTR_DEST), !deleting, req.message.byteOffset);
    const af = table.resolveDestFamily(s, d, deleting);
    if (cmd === C.IPVS_CMD_NEW_DEST) table.addDest(s, af, d);
    else if (cmd === C.IPVS_CMD_SET_DEST) table.editDest(s, af, d);
    else table.deleteDest(s, af, d);
    return [];
  }
  switch (cmd) {
    case C.IPVS_CMD_NEW_SERVICE:
      if (svc) throw new FakeErrno(EEXIST);
      table.addService(u);
      return [];
    case C.IPVS_CMD_SET_SERVICE:
      table.editService(svc as Svc, u);
      return [];
    case C.IPVS_CMD_DEL_SERVICE:
      table.deleteService(svc as Svc);
      return [];
    case C.IPVS_CMD_ZERO:
      table.zero(svc as Svc);
      return [];
    default:
      throw new FakeErrno(EINVAL);
  }
}

/** ip_vs_genl_set_daemon() */
function setDaemon(ctx: IpvsFamilyContext, req: GenlRequest): ReplyBody[] {
  const table = ctx.table();
  const a = parseDaemonAttributes(req.attrs?.raw(C.IPVS_CMD_ATTR_DAEMON), req.message.byteOffset);
  if (req.cmd === C.IPVS_CMD_NEW_DAEMON) {
    table.startDaemon(parseDaemonRequest(a, table.afValid(C.AF_INET6)));
  } else {
    const state = a.u32(C.IPVS_DAEMON_ATTR_STATE);
    if (state === undefined) throw new FakeErrno(EINVAL);
    table.stopDaemon(state);
  }
  return [];
}

/** ip_vs_genl_get_cmd(): one service, the timeouts, the version. */
function getCmd(ctx: IpvsFamilyContext, req: GenlRequest): ReplyBody[] {
  const table = ctx.table();
  if (req.cmd === C.IPVS_CMD_GET_SERVICE) {
    const { svc } = serviceOf(table, req, false);
    if (!svc) throw new FakeErrno(ESRCH);
    return [{ cmd: C.IPVS_CMD_NEW_SERVICE, write: (w) => writeService(w, svc, ctx.style()) }];
  }
  if (req.cmd === C.IPVS_CMD_GET_CONFIG) return [{ cmd: C.IPVS_CMD_SET_CONFIG, write: (w) => writeTimeouts(w, table.timeouts()) }];
  return [{ cmd: C.IPVS_CMD_SET_INFO, write: (w) => writeInfo(w, ctx.connTableSize) }];
}

/**
 * A dump over a live list: the first part sees the items in the dump's order; each later part sees the
 * list as it is then, the items still there in that order and new ones after them, so the resuming
 * index skips or repeats entries as the kernel's walk of its hash table does when the table changes.
 * `revision` changes whenever the list does: until it moves, later parts reuse the view they have, so
 * a change elsewhere in the table (another service's destinations, for a services dump) costs nothing.
 */
function liveDump<T extends Marked>(ctx: IpvsFamilyContext, list: () => T[], revision: () => number, body: (item: T) => ReplyBody): DumpResult<T> {
  let order = ctx.order(list());
  let seen = revision();
  return {
    items: order,
    body,
    relist: () => {
      const now = revision();
      if (now === seen) return order;
      seen = now;
      const live = list();
      // Which items are live, then which live ones the dump knew, by stamping the items themselves:
      // two Sets of 20 000 objects per part made a listing beside another client's adds take ~15 s.
      const present = ++marks;
      for (const t of live) t.dumpMark = present;
      const kept = order.filter((t) => t.dumpMark === present);
      const known = ++marks;
      for (const t of kept) t.dumpMark = known;
      order = kept.concat(live.filter((t) => t.dumpMark !== known));
      return order;
    },
  };
}

/** Stamps for liveDump's passes (a relist runs start to end without yielding, so one field serves all dumps). */
let marks = 0;

function dumpServices(ctx: IpvsFamilyContext): DumpResult<Svc> {
  const style = ctx.style();
  // A revision of the table in use: ctx.table() is another table after an unload, a reload or a reset,
  // and every table starts at a revision of its own.
  return liveDump(ctx, () => ctx.table().list(), () => ctx.table().servicesRevision, (s) => ({ cmd: C.IPVS_CMD_NEW_SERVICE, write: (w) => writeService(w, s, style) }));
}

const EMPTY: DumpResult<never> = { items: [], body: (item) => item };

/** ip_vs_genl_dump_dests(): a request that cannot name a service ends the dump empty, not in error. */
function dumpDests(ctx: IpvsFamilyContext, req: GenlRequest): DumpResult {
  const table = ctx.table();
  let u: ServiceRequest | undefined;
  try {
    const attrs = parseAttributes(req.body, CMD_POLICY, req.message.byteOffset);
    try {
      u = serviceOf(table, { ...req, attrs }, false).u;
    } catch (err) {
      if (!(err instanceof FakeErrno)) throw err;
    }
  } catch (err) {
    if (!(err instanceof FakeErrno)) throw err;
    return { ...EMPTY, ...(err.extack?.message !== undefined ? { extack: { message: err.extack.message } } : {}) };
  }
  const key = u;
  if (!key || !table.find(key)) return EMPTY;
  const style = ctx.style();
  // Each part looks the service up again, as the kernel parses the request anew for every part; the
  // lookup is repeated only when the table's service list has changed (the service may be gone, or be
  // another one under the same key), and the part's view only when that service's destinations have.
  let seenTable: IpvsTable | undefined;
  let seenServices = 0;
  let svc: Svc | undefined;
  const current = (): Svc | undefined => {
    const t = ctx.table();
    if (t !== seenTable || t.servicesRevision !== seenServices) {
      seenTable = t;
      seenServices = t.servicesRevision;
      svc = t.find(key);
    }
    return svc;
  };
  return liveDump(ctx, () => [...(current()?.dests ?? [])], () => current()?.destsRevision ?? 0, (d) => ({ cmd: C.IPVS_CMD_NEW_DEST, write: (w) => writeDest(w, d, style) }));
}

function dumpDaemons(ctx: IpvsFamilyContext): DumpResult<DaemonConfig> {
  const daemons = ctx.table().daemons;
  const list = [C.IP_VS_STATE_MASTER, C.IP_VS_STATE_BACKUP].flatMap((s) => {
    const d = daemons.get(s);
    return d ? [d] : [];
  });
  return { items: list, body: (d) => ({ cmd: C.IPVS_CMD_NEW_DAEMON, write: (w) => writeDaemon(w, d) }) };
}

export function ipvsFamily(ctx: IpvsFamilyContext): GenlFamily {
  const set = (cmd: number): GenlOp => ({ cmd, flags: GENL_ADMIN_PERM, doit: (req) => setCmd(ctx, req) });
  const daemon = (cmd: number): GenlOp => ({ cmd, flags: GENL_ADMIN_PERM, doit: (req) => setDaemon(ctx, req) });
  const get = (cmd: number): GenlOp => ({ cmd, flags: GENL_ADMIN_PERM, doit: (req) => getCmd(ctx, req) });
  return {
    id: ctx.id,
    name: C.IPVS_GENL_NAME,
    version: C.IPVS_GENL_VERSION,
    maxattr: C.IPVS_CMD_ATTR_TIMEOUT_UDP,
    policy: CMD_POLICY,
    ops: [
      set(C.IPVS_CMD_NEW_SERVICE),
      set(C.IPVS_CMD_SET_SERVICE),
      set(C.IPVS_CMD_DEL_SERVICE),
      { ...get(C.IPVS_CMD_GET_SERVICE), dumpit: () => dumpServices(ctx) },
      set(C.IPVS_CMD_NEW_DEST),
      set(C.IPVS_CMD_SET_DEST),
      set(C.IPVS_CMD_DEL_DEST),
      { cmd: C.IPVS_CMD_GET_DEST, flags: GENL_ADMIN_PERM, dumpit: (req) => dumpDests(ctx, req) },
      daemon(C.IPVS_CMD_NEW_DAEMON),
      daemon(C.IPVS_CMD_DEL_DAEMON),
      { cmd: C.IPVS_CMD_GET_DAEMON, flags: GENL_ADMIN_PERM, dumpit: () => dumpDaemons(ctx) },
      set(C.IPVS_CMD_SET_CONFIG),
      get(C.IPVS_CMD_GET_CONFIG),
      get(C.IPVS_CMD_GET_INFO),
      set(C.IPVS_CMD_ZERO),
      set(C.IPVS_CMD_FLUSH),
    ],
  };
}
