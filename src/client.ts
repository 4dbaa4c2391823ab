// The public client: one `Ipvs` per netlink socket (kernel or fake), every IPVS command as a method
// taking and returning the plain objects of src/ipvs/types.ts. Inputs are validated before any byte is
// sent; kernel refusals arrive as KernelError with the errno name and a sentence.

import { KernelSocketTransport } from '../native/socket.js';
import { NetlinkConnection, type OutgoingRequest, type RequestOptions } from './netlink/connection.js';
import { DecodeError } from './netlink/errors.js';
import { FamilyResolver } from './netlink/family.js';
import { Attributes, parseGenlHeader, type NetlinkMessage } from './netlink/reader.js';
import type { Transport } from './netlink/transport.js';
import * as cmd from './ipvs/commands.js';
import { decodeTimeouts, decodeInfo } from './ipvs/config.js';
import { IPVS_CMD_ATTR_DAEMON, IPVS_CMD_ATTR_DEST, IPVS_CMD_ATTR_SERVICE, IPVS_GENL_NAME } from './ipvs/constants.js';
import { decodeDaemon } from './ipvs/daemon.js';
import { decodeDestination } from './ipvs/destination.js';
import { operationRequest, type Operation, type OperationResult } from './ipvs/operations.js';
import { decodeService } from './ipvs/service.js';
import type {
  Daemon, DaemonSpec, DaemonState, Destination, DestinationKey, DestinationSpec, Info, Service, ServiceKey, ServiceSpec, Timeouts,
} from './ipvs/types.js';
import {
  daemonStateNumber, validateDaemon, validateDestinationKey, validateDestinationSpec, validateServiceKey, validateServiceSpec,
  validateTimeouts,
} from './ipvs/validate.js';

export interface OpenOptions {
  /** A network namespace name (under /var/run/netns) or path (/proc/PID/ns/net). Kernel transport only. */
  netns?: string;
  /** Any transport, e.g. the fake kernel's `kernel.transport()`. */
  transport?: Transport;
  /** Per-request timeout in ms (default 30 000). */
  timeoutMs?: number;
}

export interface ExecuteOptions {
  /** After the first failure, do not send the operations that follow (they are reported as skipped). */
  stopOnError?: boolean;
  signal?: AbortSignal;
  /** Requests per pipelined window; default sized from the socket's receive buffer. */
  window?: number;
}

const MISSING_FAMILY_HINT = 'the ip_vs kernel module is not loaded: run `modprobe ip_vs`';

export class Ipvs {
  private readonly conn: NetlinkConnection;
  private readonly fam: cmd.IpvsFamily;

  private constructor(conn: NetlinkConnection, fam: cmd.IpvsFamily) {
    this.conn = conn;
    this.fam = fam;
  }

  /** Open a client on the kernel (current or given namespace) or on a transport, resolving the IPVS family. */
  static async open(options: OpenOptions = {}): Promise<Ipvs> {
    const transport = options.transport ?? new KernelSocketTransport(options.netns === undefined ? {} : { netns: options.netns });
    const conn = new NetlinkConnection(transport, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs });
    try {
      const family = await new FamilyResolver(conn).resolve(IPVS_GENL_NAME, MISSING_FAMILY_HINT);
      return new Ipvs(conn, { id: family.id, version: family.version || 1 });
    } catch (err) {
      await conn.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.conn.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async run(req: OutgoingRequest, options?: RequestOptions): Promise<NetlinkMessage[]> {
    return this.conn.request(req, options);
  }

  private static attrs(msg: NetlinkMessage): Attributes {
    return Attributes.parse(parseGenlHeader(msg.payload).body);
  }

  // Services

  async addService(spec: ServiceSpec, options?: RequestOptions): Promise<void> {
    await this.run(cmd.newService(this.fam, validateServiceSpec(spec)), options);
  }

  /** Replace a service's options (scheduler, persistence, flags, engine); unspecified ones take their defaults, as `ipvsadm -E`. */
  async updateService(spec: ServiceSpec, options?: RequestOptions): Promise<void> {
    await this.run(cmd.setService(this.fam, validateServiceSpec(spec)), options);
  }

  async deleteService(key: ServiceKey, options?: RequestOptions): Promise<void> {
    await this.run(cmd.delService(this.fam, validateServiceKey(key)), options);
  }

  /** One service; throws KernelError ESRCH ("no such service ...") when it does not exist. */
  async service(key: ServiceKey, options?: RequestOptions): Promise<Service> {
    const replies = await this.run(cmd.getService(this.fam, validateServiceKey(key)), options);
    const reply = replies[0];
    if (!reply) throw new DecodeError('GET_SERVICE acknowledged without a service', 0);
    return this.decorate(this.decodeServiceMessage(reply));
  }

  /** Whether a service exists. */
  async hasService(key: ServiceKey, options?: RequestOptions): Promise<boolean> {
    try {
      await this.service(key, options);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'ESRCH') return false;
      throw err;
    }
  }

  private decodeServiceMessage(msg: NetlinkMessage): Service {
    const svc = Ipvs.attrs(msg).nested(IPVS_CMD_ATTR_SERVICE);
    if (!svc) throw new DecodeError('service reply without IPVS_CMD_ATTR_SERVICE', 0);
    return decodeService(svc);
  }

  private decorate(svc: Service): Service {
    const key: ServiceKey = svc.fwmark !== undefined ? { fwmark: svc.fwmark, family: svc.family } : { protocol: svc.protocol, address: svc.address, port: svc.port };
    Object.defineProperties(svc, {
      destinations: { value: () => this.destinations(key), enumerable: false },
      addDestination: { value: (d: DestinationSpec) => this.addDestination(key, d), enumerable: false },
    });
    return svc;
  }

  /** All services, streamed: the table is never held in memory as a whole. */
  async *iterateServices(options?: RequestOptions): AsyncGenerator<Service> {
    for await (const msg of this.conn.dump(cmd.dumpServices(this.fam), options)) yield this.decorate(this.decodeServiceMessage(msg));
  }

  async services(options?: RequestOptions): Promise<Service[]> {
    const out: Service[] = [];
    for await (const s of this.iterateServices(options)) out.push(s);
    return out;
  }

  // Destinations

  async addDestination(key: ServiceKey, dest: DestinationSpec, options?: RequestOptions): Promise<void> {
    const s = validateServiceKey(key);
    await this.run(cmd.newDest(this.fam, s, validateDestinationSpec(s, dest)), options);
  }

  /** Replace a destination's options; unspecified ones take their defaults (weight 1, route), as `ipvsadm -e`. */
  async updateDestination(key: ServiceKey, dest: DestinationSpec, options?: RequestOptions): Promise<void> {
    const s = validateServiceKey(key);
    await this.run(cmd.setDest(this.fam, s, validateDestinationSpec(s, dest)), options);
  }

  async deleteDestination(key: ServiceKey, dest: DestinationKey, options?: RequestOptions): Promise<void> {
    const s = validateServiceKey(key);
    await this.run(cmd.delDest(this.fam, s, validateDestinationKey(s, dest)), options);
  }

  async *iterateDestinations(key: ServiceKey, options?: RequestOptions): AsyncGenerator<Destination> {
    const s = validateServiceKey(key);
    for await (const msg of this.conn.dump(cmd.dumpDests(this.fam, s), options)) {
      const d = Ipvs.attrs(msg).nested(IPVS_CMD_ATTR_DEST);
      if (!d) throw new DecodeError('destination reply without IPVS_CMD_ATTR_DEST', 0);
      yield decodeDestination(d, s.af);
    }
  }

  async destinations(key: ServiceKey, options?: RequestOptions): Promise<Destination[]> {
    const out: Destination[] = [];
    for await (const d of this.iterateDestinations(key, options)) out.push(d);
    return out;
  }

  // Timeouts, daemons, info, zero, flush

  async timeouts(options?: RequestOptions): Promise<Timeouts> {
    const [reply] = await this.run(cmd.getConfig(this.fam), options);
    if (!reply) throw new DecodeError('GET_CONFIG acknowledged without a reply', 0);
    return decodeTimeouts(Ipvs.attrs(reply));
  }

  /** Set connection timeouts in seconds; a missing (or 0) field is left unchanged. */
  async setTimeouts(timeouts: Partial<Timeouts>, options?: RequestOptions): Promise<void> {
    await this.run(cmd.setConfig(this.fam, validateTimeouts(timeouts)), options);
  }

  async daemons(options?: RequestOptions): Promise<Daemon[]> {
    const out: Daemon[] = [];
    for await (const msg of this.conn.dump(cmd.dumpDaemons(this.fam), options)) {
      const d = Ipvs.attrs(msg).nested(IPVS_CMD_ATTR_DAEMON);
      if (d) out.push(decodeDaemon(d));
    }
    return out;
  }

  async startDaemon(spec: DaemonSpec, options?: RequestOptions): Promise<void> {
    await this.run(cmd.newDaemon(this.fam, validateDaemon(spec)), options);
  }

  async stopDaemon(state: DaemonState, options?: RequestOptions): Promise<void> {
    await this.run(cmd.delDaemon(this.fam, daemonStateNumber(state)), options);
  }

  async info(options?: RequestOptions): Promise<Info> {
    const [reply] = await this.run(cmd.getInfo(this.fam), options);
    if (!reply) throw new DecodeError('GET_INFO acknowledged without a reply', 0);
    return decodeInfo(Ipvs.attrs(reply));
  }

  /** Zero the counters of one service, or of everything. */
  async zero(key?: ServiceKey, options?: RequestOptions): Promise<void> {
    await this.run(cmd.zero(this.fam, key === undefined ? undefined : validateServiceKey(key)), options);
  }

  /** Delete every service and destination. */
  async flush(options?: RequestOptions): Promise<void> {
    await this.run(cmd.flush(this.fam), options);
  }

  // Bulk

  /**
   * Carry out many operations, pipelined: windows of requests written in one datagram each, every
   * request acked. All operations are validated first; one bad operation throws and nothing is sent.
   * Results come back in input order.
   */
  async execute(ops: readonly Operation[], options: ExecuteOptions = {}): Promise<OperationResult[]> {
    const reqs = ops.map((o, i) => operationRequest(this.fam, o, i));
    const results: OperationResult[] = new Array<OperationResult>(reqs.length);
    // About 1 KiB of receive buffer per queued ACK (skb overhead), so acks never overflow it.
    const window = options.window ?? Math.max(16, Math.min(1024, Math.floor(this.conn.transport.receiveBufferSize / 1024)));
    let failed = false;
    for (let start = 0; start < reqs.length; start += window) {
      if (failed && options.stopOnError) {
        for (let i = start; i < reqs.length; i++) results[i] = { skipped: true };
        break;
      }
      const slice = reqs.slice(start, start + window);
      const settled = await Promise.allSettled(this.conn.batch(slice, options.signal ? { signal: options.signal } : {}));
      settled.forEach((r, j) => {
        if (r.status === 'fulfilled') results[start + j] = { ok: true };
        else {
          results[start + j] = { ok: false, error: r.reason as Error };
          failed = true;
        }
      });
      if (failed && options.stopOnError) {
        // The kernel went on with the rest of this window; report what it did, skip what follows.
      }
    }
    return results;
  }
}
