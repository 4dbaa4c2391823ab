// What a user gets from `import ... from 'ipvs'`: the rules format round-trips through the client and the fake
// kernel using only names the package entry exports.
import { describe, expect, it } from 'vitest';
import { Ipvs, formatRules, isTableOperation, parseRules, toClientOperation, RulesSyntaxError, HealthChecker, plan } from '../src/index.js';
import { FakeKernel } from '../src/testing/index.js';

const SAVED = `-A -t 192.168.1.110:0 -s rr -p 600
-a -t 192.168.1.110:0 -r 192.168.1.116:0 -g -w 2
-a -t 192.168.1.110:0 -r 192.168.1.117:0 -g -w 1
-A -f 10 -s rr -p 60
-a -f 10 -r 192.168.1.116:0 -g -w 1
`;

describe('package entry', () => {
  it('exports the client, reconcile, health and the rules format', () => {
    expect(typeof Ipvs.open).toBe('function');
    expect(typeof plan).toBe('function');
    expect(typeof HealthChecker).toBe('function');
  });

  it('restores ipvsadm save text and saves it back byte for byte', async () => {
    await using ipvs = await Ipvs.open({ transport: new FakeKernel().transport() });
    const ops = parseRules(SAVED).filter(isTableOperation).map(toClientOperation);
    const results = await ipvs.execute(ops);
    expect(results).toEqual(ops.map(() => ({ ok: true })));
    const table = [];
    for (const svc of await ipvs.services()) table.push({ ...svc, destinations: await ipvs.destinations(svc) });
    expect(formatRules(table, { numeric: true })).toBe(SAVED);
  });

  it('names the line of a bad rule', () => {
    expect(() => parseRules('-A -t 192.168.1.110:80\n-a -t 192.168.1.110:80 -r nowhere:x\n')).toThrow(RulesSyntaxError);
    expect(() => parseRules('-A -t 192.168.1.110:80\n-a -t 192.168.1.110:80 -r 1.2.3.4 -w -5\n')).toThrow(/line 2/);
  });
});
