import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/ipvs/errors.js';
import { describeOperation, operationRequest, prepareOperation, prepareOperations, type Operation } from '../../src/ipvs/operations.js';

const fam = { id: 0x1c, version: 1 };
const svc = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;

const ops: Operation[] = [
  { op: 'add-service', service: { ...svc, scheduler: 'rr' } },
  { op: 'update-service', service: { ...svc, scheduler: 'wrr' } },
  { op: 'add-destination', service: svc, destination: { address: '192.168.1.116', weight: 2 } },
  { op: 'update-destination', service: svc, destination: { address: '192.168.1.116', weight: 0 } },
  { op: 'delete-destination', service: svc, destination: { address: '192.168.1.116' } },
  { op: 'delete-service', service: svc },
];

describe('operations', () => {
  it('each kind becomes its request', () => {
    expect(prepareOperations(fam, ops).map((r) => r.label.operation)).toEqual([
      'add service', 'update service', 'add destination', 'update destination', 'delete destination', 'delete service',
    ]);
  });

  it('describes operations in one line', () => {
    expect(ops.map(describeOperation)).toEqual([
      'add-service tcp 192.168.1.110:80',
      'update-service tcp 192.168.1.110:80',
      'add-destination 192.168.1.116:80 in service tcp 192.168.1.110:80',
      'update-destination 192.168.1.116:80 in service tcp 192.168.1.110:80',
      'delete-destination 192.168.1.116:80 in service tcp 192.168.1.110:80',
      'delete-service tcp 192.168.1.110:80',
    ]);
  });

  it('a bad operation throws, naming its index, the field and the value', () => {
    const bad = [...ops, { op: 'add-destination', service: svc, destination: { address: '2001:db8::1', forwarding: 'masq' } } as Operation];
    let err: unknown;
    try {
      prepareOperations(fam, bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ field: 'operations[6].destination.address', value: '2001:db8::1' });
    // the reason is kept whole, even with colons in the value
    expect((err as Error).message).toBe(
      'invalid operations[6].destination.address "2001:db8::1": a destination of another address family than its service (tcp 192.168.1.110:80) needs forwarding \'tunnel\'',
    );
    expect((err as ValidationError).cause).toBeInstanceOf(ValidationError);
  });

  it.each([
    [{ op: 'rename-service', service: svc }, 'operations[0].op', 'rename-service'],
    [null, 'operations[0].operation', null],
    [{ op: 'add-service', service: { ...svc, port: -1 } }, 'operations[0].service.port', -1],
    [{ op: 'delete-destination', service: { fwmark: 0 }, destination: { address: '1.1.1.1' } }, 'operations[0].service.fwmark', 0],
    [{ op: 'update-destination', service: svc, destination: { address: '1.1.1.1', weight: -5 } }, 'operations[0].destination.weight', -5],
  ])('refuses %j', (o, field, value) => {
    expect(() => operationRequest(fam, o as Operation, 0)).toThrow(ValidationError);
    try {
      prepareOperation(o as Operation, 0);
    } catch (e) {
      expect(e).toMatchObject({ field, value });
    }
  });

  it('without an index the field is the plain one', () => {
    expect(() => prepareOperation({ op: 'delete-service', service: { ...svc, protocol: 'gre' } } as unknown as Operation)).toThrow(/^invalid protocol "gre"/);
    expect(() => prepareOperations(fam, 'all' as unknown as Operation[])).toThrow(/invalid operations "all": must be an array/);
  });
});
