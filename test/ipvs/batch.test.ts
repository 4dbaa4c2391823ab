// OperationBatch: operations validated and encoded ahead. Its bytes are those of the single-request
// builders (commands.ts) for the same operations, across chunk boundaries and in slices; a bad operation
// throws naming its index and leaves the batch as it was; a refusal's label and sentence are built from
// the operation again.

import { describe, expect, it } from 'vitest';
import { OperationBatch } from '../../src/ipvs/batch.js';
import { ValidationError } from '../../src/ipvs/errors.js';
import { preparedRequest, prepareOperation, type Operation } from '../../src/ipvs/operations.js';
import { KernelError } from '../../src/netlink/errors.js';
import { MessageWriter } from '../../src/netlink/writer.js';

const fam = { id: 0x2a, version: 1 };

/** Every kind of change, IPv4, IPv6 and fwmark, with every option a batch can carry. */
function sample(n: number): Operation[] {
  const ops: Operation[] = [];
  for (let i = 0; ops.length < n; i++) {
    const tcp = { protocol: 'tcp' as const, address: `10.${(i >> 8) & 255}.${i & 255}.1`, port: 80 };
    const v6 = { protocol: 'udp' as const, address: `2001:db8::${(i % 0xfff).toString(16)}`, port: 53 };
    const mark = { fwmark: i + 1, family: 'ipv6' as const };
    ops.push(
      { op: 'add-service', service: { ...tcp, scheduler: 'wrr', persistence: { timeout: 600, netmask: '255.255.255.0' } } },
      { op: 'add-destination', service: tcp, destination: { address: `192.168.${i & 255}.2`, port: 8080, forwarding: 'masq', weight: i % 7, upperThreshold: 10, lowerThreshold: 5 } },
      { op: 'add-service', service: { ...v6, scheduler: 'sh', flags: ['sh-port'], persistenceEngine: 'sip' } },
      { op: 'add-destination', service: v6, destination: { address: '10.9.9.9', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'csum' } } },
      { op: 'update-service', service: { ...mark, scheduler: 'rr' } },
      { op: 'update-destination', service: tcp, destination: { address: `192.168.${i & 255}.2`, port: 8080, forwarding: 'route', weight: 3 } },
      { op: 'delete-destination', service: v6, destination: { address: '10.9.9.9' } },
      { op: 'delete-service', service: mark },
    );
  }
  return ops.slice(0, n);
}

/** The messages the single-request path writes, seq and port id 0, REQUEST/ACK left to the engine. */
function expected(ops: readonly Operation[]): Buffer {
  const w = new MessageWriter();
  for (const op of ops) {
    const req = preparedRequest(fam, prepareOperation(op));
    w.beginMessage(req.type, req.flags ?? 0, 0, 0);
    req.body(w);
    w.endMessage();
  }
  return w.toBuffer();
}

describe('OperationBatch', () => {
  it('holds the same bytes as the single-request builders, for every kind of change', () => {
    const ops = sample(64);
    const batch = OperationBatch.from(ops);
    expect(batch.length).toBe(64);
    expect(batch.messages(fam, 0, 64).equals(expected(ops))).toBe(true);
  });

  it('across its chunks, and in any window or slice', () => {
    const ops = sample(9000); // a few 256 KiB chunks
    const batch = OperationBatch.from(ops);
    const all = expected(ops);
    expect(batch.messages(fam, 0, ops.length).equals(all)).toBe(true);
    for (const [a, b] of [[0, 1], [1000, 2024], [2300, 2400], [4000, 8999], [8999, 9000], [5, 5]] as const) {
      expect(batch.messages(fam, a, b).equals(expected(ops.slice(a, b)))).toBe(true);
      const slice = batch.slice(a, b);
      expect(slice.length).toBe(b - a);
      expect(slice.messages(fam, 0, b - a).equals(expected(ops.slice(a, b)))).toBe(true);
    }
    const inner = batch.slice(100, 300).slice(50, 60);
    expect(inner.length).toBe(10);
    expect(inner.operation(0)).toBe(ops[150]);
    expect(inner.messages(fam, 0, 10).equals(expected(ops.slice(150, 160)))).toBe(true);
    expect(() => inner.add(ops[0]!)).toThrow(TypeError);
  });

  it('writes the family id and version it is sent with', () => {
    const ops = sample(3);
    const other = { id: 0x77, version: 2 };
    const bytes = OperationBatch.from(ops).messages(other, 0, 3);
    for (let at = 0; at < bytes.length; at += (bytes.readUInt32LE(at) + 3) & ~3) {
      expect(bytes.readUInt16LE(at + 4)).toBe(0x77);
      expect(bytes[at + 17]).toBe(2);
    }
  });

  it('a bad operation throws naming its index, and the batch is as it was', () => {
    const ops = sample(10);
    const batch = new OperationBatch();
    for (const op of ops.slice(0, 4)) batch.add(op);
    const bad = { op: 'add-destination', service: ops[1]!.service, destination: { address: '10.1.1.1', weight: -1 } } as Operation;
    expect(() => batch.add(bad)).toThrow(ValidationError);
    try {
      batch.add(bad);
    } catch (err) {
      expect((err as ValidationError).field).toBe('operations[4].destination.weight');
    }
    expect(batch.length).toBe(4);
    for (const op of ops.slice(4)) batch.add(op);
    expect(batch.messages(fam, 0, 10).equals(expected(ops))).toBe(true);
    expect(batch.operation(9)).toBe(ops[9]);
    expect(() => OperationBatch.from([...ops, { op: 'nope' } as unknown as Operation])).toThrow(/operations\[10\]\.op/);
    expect(() => OperationBatch.from('all' as unknown as Operation[])).toThrow(/must be an array/);
  });

  it('a request is labelled and its refusal worded as the single-request path does', () => {
    const ops = sample(8);
    const batch = OperationBatch.from(ops);
    for (let i = 0; i < ops.length; i++) {
      const mine = batch.request(fam, i);
      const theirs = preparedRequest(fam, prepareOperation(ops[i]!));
      expect(mine.label).toEqual(theirs.label);
      for (const errno of [17, 3, 2, 22, 34, 1]) {
        const err = new KernelError({ errno, operation: theirs.label.operation, object: theirs.label.object });
        expect(mine.mapError?.(err)?.message).toBe(theirs.mapError?.(err)?.message);
      }
    }
    expect(batch.slice(1).request(fam, 0).label).toEqual({ operation: 'add destination', object: '192.168.0.2:8080 in service tcp 10.0.0.1:80' });
  });

  it('builds from a source instead of keeping the operations, and copes with a source that changed', () => {
    const ops = sample(4);
    const asked: number[] = [];
    const batch = new OperationBatch({ source: (i) => (asked.push(i), ops[i]!) });
    for (const op of ops) batch.add(op);
    expect(asked).toEqual([]);
    expect(batch.request(fam, 2).label.operation).toBe('add service');
    expect(asked).toEqual([2]);
    ops[3] = { op: 'delete-service', service: { fwmark: 0 } };
    expect(batch.request(fam, 3).label).toEqual({ operation: 'add destination', object: 'operations[3]' });
  });
});
