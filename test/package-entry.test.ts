// What a user gets from `import ... from 'ipvs'`: the rules format round-trips through the client and the fake
// kernel using only names the package entry exports.
import { describe, expect, it } from 'vitest';
import {
  Ipvs, formatRules, isTableOperation, parseRules, parseRulesResolving, prepareRulesResolving, PreparedRun, staticResolver, parseServicesFile, toClientOperation,
  RulesSyntaxError, CommandLineError, HealthChecker, plan,
} from '../src/index.js';
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

  it('restores text saved without -n (host names) through the entry alone', async () => {
    const named = '-A -t web:http -s rr\n-a -t web:http -r backend:http -m -w 2\n';
    const services = parseServicesFile('http 80/tcp www\n');
    const resolver = staticResolver({ web: '192.168.1.110', backend: '192.168.1.116' }, services);
    const ops = await parseRulesResolving(named, (name) => resolver.lookup(name), { services });
    expect(ops.map((o) => o.op)).toEqual(['addService', 'addDestination']);
    const steps = await prepareRulesResolving(named, (name) => resolver.lookup(name), { services });
    const run = steps[0];
    if (!(run instanceof PreparedRun)) throw new Error('expected a run');
    await using ipvs = await Ipvs.open({ transport: new FakeKernel().transport() });
    expect(await ipvs.execute(run.operations)).toEqual([{ ok: true }, { ok: true }]);
    expect(formatRules([{ ...(await ipvs.services())[0]!, destinations: await ipvs.destinations({ protocol: 'tcp', address: '192.168.1.110', port: 80 }) }], { numeric: true }))
      .toBe('-A -t 192.168.1.110:80 -s rr\n-a -t 192.168.1.110:80 -r 192.168.1.116:80 -m -w 2\n');
  });

  it('names the line of a bad rule', () => {
    expect(() => parseRules('-A -t 192.168.1.110:80\n-a -t 192.168.1.110:80 -r nowhere:x\n')).toThrow(RulesSyntaxError);
    expect(() => parseRules('-A -t 192.168.1.110:80\n-a -t 192.168.1.110:80 -r 1.2.3.4 -w -5\n')).toThrow(/line 2/);
  });

  it("a bad rule's cause is the CommandLineError with ipvsadm's own sentence and exit status", () => {
    let caught: unknown;
    try {
      parseRules('-A -t 192.168.1.110:80 --bogus\n');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RulesSyntaxError);
    const cause = (caught as RulesSyntaxError).cause;
    expect(cause).toBeInstanceOf(CommandLineError);
    expect((cause as CommandLineError).code).toBe('EUSAGE');
    expect((cause as CommandLineError).exitCode).toBe(255);
  });
});
