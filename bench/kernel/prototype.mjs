// PROTOTYPE, not the library: the bulk paths with the fixes proposed for the client and the kernel
// transport (see docs/performance.md, "Bottlenecks"), built from the library's own pieces in dist/ so that
// bench/kernel/run.mjs can show what the fixes would buy on the same data, in the same boot. Same command
// line and `BENCH {json}` report as worker.mjs, for the modes `restore FILE` and `save`.
//
// The fixes, each measured here:
//  1. Synchronous exchange: the kernel answers a netlink request inside sendmsg(2) (and continues a dump
//     inside recvmsg(2)), so the replies are already queued when send returns. Sending with send(2) and
//     reading the replies at once with recv(MSG_DONTWAIT), through koffi, saves per round trip the event-loop
//     turns (each one reads the clock several times; UML has no vDSO, so every read is a trapped syscall),
//     the 0 ms timer and two epoll_ctl calls the `netlink` package spends on every send, and its MSG_PEEK
//     before every read. At most 64 datagrams are read synchronously per send; the rest arrive through the
//     package's poll as before, so a streamed dump stays bounded.
//  2. No drop check per datagram (a getsockopt(SO_MEMINFO) through koffi for every datagram received).
//  3. No timer per request (each setTimeout reads the clock through uv_update_time): timeouts off here; the
//     fix is one timer per batch.
//  4. restore: ACK only the last request of each window. The kernel still answers every failed request with
//     its error, in order, before that last ACK, so when it arrives every request of the window without an
//     error has succeeded: one reply per window instead of one per request.

import { readFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { KernelSocketTransport } from '../../dist/native/socket.js';
import { NetlinkConnection } from '../../dist/src/netlink/connection.js';
import { FamilyResolver } from '../../dist/src/netlink/family.js';
import { MessageWriter } from '../../dist/src/netlink/writer.js';
import { parseMessages } from '../../dist/src/netlink/reader.js';
import { operationRequest } from '../../dist/src/ipvs/operations.js';
import { Ipvs } from '../../dist/src/client.js';
import { formatRules, parseRules } from '../../dist/src/rules/index.js';

const startupMs = performance.now();
const [mode, arg] = process.argv.slice(2);
const NLM_F_REQUEST = 1;
const NLM_F_ACK = 4;
const NLMSG_ERROR = 2;
const MSG_DONTWAIT = 0x40;

class SyncTransport {
  constructor() {
    this.inner = new KernelSocketTransport();
    // The prototype reaches into the transport for its fd (found there for the socket options).
    this.fd = this.inner.fd;
    if (this.fd === undefined) throw new Error('prototype: the socket fd was not found');
    this.inner.fd = undefined; // fix 2: no drop check per datagram
    this.portId = this.inner.portId;
    this.receiveBufferSize = this.inner.receiveBufferSize;
    const lib = createRequire(import.meta.url)('koffi').load('libc.so.6');
    this.sendFn = lib.func('long send(int fd, const void *buf, unsigned long len, int flags)');
    this.recvFn = lib.func('long recv(int fd, _Out_ void *buf, unsigned long len, int flags)');
    this.buf = Buffer.alloc(65536);
  }
  attach(receiver) {
    this.receiver = receiver;
    this.inner.attach(receiver);
  }
  send(datagram) {
    if (this.sendFn(this.fd, datagram, datagram.length, 0) < 0) return this.inner.send(datagram);
    for (let i = 0; i < 64; i++) {
      const got = this.recvFn(this.fd, this.buf, this.buf.length, MSG_DONTWAIT);
      if (got <= 0) break;
      this.receiver.datagram(Buffer.from(this.buf.subarray(0, got)));
    }
    return Promise.resolve();
  }
  hold(busy) {
    this.inner.hold(busy);
  }
  close() {
    return this.inner.close();
  }
}

const OPS = { addService: 'add-service', updateService: 'update-service', deleteService: 'delete-service', addDestination: 'add-destination', updateDestination: 'update-destination', deleteDestination: 'delete-destination' };

/** Fix 4: windows of requests, only the last one asking for an ACK; failures counted from the error replies. */
async function executeAckingLast(ops, window = 1000) {
  const conn = new NetlinkConnection(new KernelSocketTransport());
  const fam = await new FamilyResolver(conn).resolve('IPVS');
  await conn.close();
  const family = { id: fam.id, version: fam.version || 1 };
  const tr = new SyncTransport();
  let failed = 0;
  let lastSeq = 0;
  let wake;
  tr.attach({
    datagram(d) {
      for (const m of parseMessages(d)) {
        if (m.type !== NLMSG_ERROR) continue;
        if (m.payload.readInt32LE(0) !== 0) failed++;
        if (m.seq === lastSeq) wake?.();
      }
    },
    error(err) {
      // Never throw here: an exception inside the package's native callback aborts the process.
      queueMicrotask(() => {
        throw err;
      });
    },
  });
  tr.hold(true);
  const reqs = ops.map((o, i) => operationRequest(family, o, i));
  const w = new MessageWriter(1 << 20);
  let seq = 0;
  for (let start = 0; start < reqs.length; start += window) {
    w.reset();
    const end = Math.min(reqs.length, start + window);
    for (let i = start; i < end; i++) {
      const r = reqs[i];
      w.beginMessage(r.type, NLM_F_REQUEST | (i === end - 1 ? NLM_F_ACK : 0) | (r.flags ?? 0), ++seq, tr.portId);
      r.body(w);
      w.endMessage();
    }
    lastSeq = seq;
    const done = new Promise((resolve) => (wake = resolve));
    await tr.send(w.toBuffer());
    await done;
  }
  tr.hold(false);
  await tr.close();
  return failed;
}

const result = { mode, prototype: true, startupMs: Math.round(startupMs) };
const t0 = performance.now();
if (mode === 'restore') {
  const ops = parseRules(readFileSync(arg, 'utf8')).map((r) => ({ op: OPS[r.op], service: r.service, destination: r.destination }));
  result.parseMs = Math.round(performance.now() - t0);
  result.failed = await executeAckingLast(ops);
} else if (mode === 'save') {
  const ipvs = await Ipvs.open({ transport: new SyncTransport(), timeoutMs: 0 }); // fix 3: no timer per request
  const services = await ipvs.services();
  const withDests = [];
  for (const s of services) withDests.push({ ...s, destinations: await ipvs.destinations(s) });
  result.readMs = Math.round(performance.now() - t0);
  writeSync(1, formatRules(withDests, { numeric: true }));
  await ipvs.close();
} else {
  throw new Error(`prototype: unknown mode ${mode}`);
}
result.workMs = Math.round(performance.now() - t0);
process.stderr.write(`BENCH ${JSON.stringify(result)}\n`);
