// Claims of docs/api.md that no other test stated, each checked through the package's entries as a user
// imports them: the "Other exports" (printing, plan pieces, state pieces, health config pieces, errnoName),
// the error classes' codes and fields, the error sentences table for errnos met on any command, and the
// read-back helpers desiredServiceOf / desiredDestinationOf; and that api.md with testing.md names every export.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AbortError, ClosedError, CommandLineError, DecodeError, DEFAULT_FALL, DEFAULT_INTERVAL_MS, DEFAULT_RISE, DEFAULT_TIMEOUT_MS,
  desiredDestinationOf, desiredServiceOf, desiredStateFromRuleOperations, desiredStateFromRules, describeApplyResult, describePlan,
  describeStep, detectStateFormat, drainId, DumpInterruptedError, errnoName, FamilyNotFoundError, Ipvs, IpvsError, KernelError,
  mergeCheck, NativeBindingError, normaliseHealthConfig, parseHealthConfig, parseRules, PHASES, RulesSyntaxError, stateText, TimeoutError, ValidationError,
  type Destination,
} from '../src/index.js';
import { FakeKernel } from '../src/testing/index.js';

const WEB = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;

async function open(): Promise<{ kernel: FakeKernel; ipvs: Ipvs }> {
  const kernel = new FakeKernel();
  return { kernel, ipvs: await Ipvs.open({ transport: kernel.transport() }) };
}

describe('Other exports', () => {
  it('describeStep, describePlan and describeApplyResult print what the CLI prints', async () => {
    const { ipvs } = await open();
    await ipvs.addService(WEB);
    await ipvs.addDestination(WEB, { address: '192.168.1.2', weight: 1 });
    const desired = { services: [{ ...WEB, destinations: [{ address: '192.168.1.2', weight: 3 }] }] };
    const plan = await ipvs.plan(desired);
    expect(plan.steps.map(describeStep)).toEqual(['~ destination tcp 10.0.0.1:80 -> 192.168.1.2:80: weight 1 -> 3']);
    const text = describePlan(plan);
    expect(text.split('\n')[0]).toBe('~ destination tcp 10.0.0.1:80 -> 192.168.1.2:80: weight 1 -> 3');
    expect(text).toMatch(/^# .*1 to update/m);
    const result = await ipvs.apply(desired);
    const printed = describeApplyResult(result);
    expect(Object.keys(printed).sort()).toEqual(['err', 'out']);
    expect(printed.out).toMatch(/^~ destination tcp 10\.0\.0\.1:80 -> 192\.168\.1\.2:80: weight 1 -> 3\n# .*\n$/);
    expect(printed.err).toBe('');
    await ipvs.close();
  });

  it('PHASES are the four phases in the order apply runs them, and drainId a destination key in a DrainState', () => {
    expect(PHASES).toEqual(['services', 'destinations', 'destination-deletes', 'service-deletes']);
    expect(drainId('tcp 10.0.0.1:80', '10.0.0.2:80')).toBe('tcp 10.0.0.1:80 -> 10.0.0.2:80');
  });

  it("parseDesiredState's pieces: the format detected, bytes as text without a BOM, the state rules operations build", () => {
    expect(detectStateFormat('{"services": []}')).toBe('json');
    expect(detectStateFormat('-A -t 10.0.0.1:80 -s rr\n')).toBe('rules');
    expect(stateText(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toBe('{}');
    expect(stateText(new TextEncoder().encode('-A -t 10.0.0.1:80 # é'))).toBe('-A -t 10.0.0.1:80 # é');
    const text = '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.1.2:80 -m -w 2\n';
    expect(desiredStateFromRuleOperations(parseRules(text))).toEqual(desiredStateFromRules(text));
    expect(desiredStateFromRuleOperations(parseRules(text)).services).toMatchObject([
      { ...WEB, scheduler: 'rr', destinations: [{ address: '192.168.1.2', port: 80, forwarding: 'masq', weight: 2 }] },
    ]);
  });

  it('parseHealthConfig ignores a BOM and refuses a key twice in one object', () => {
    const config = '{"services": [{"protocol": "tcp", "address": "10.0.0.1", "port": 80, "destinations": [{"address": "192.168.1.2"}]}]}';
    expect(parseHealthConfig(`\ufeff${config}`)).toEqual(JSON.parse(config));
    expect(() => parseHealthConfig('{"services": [], "services": []}')).toThrow(ValidationError);
  });

  it('normaliseHealthConfig fills the documented defaults, and refuses as new HealthChecker does', () => {
    expect([DEFAULT_INTERVAL_MS, DEFAULT_TIMEOUT_MS, DEFAULT_RISE, DEFAULT_FALL]).toEqual([5000, 2000, 2, 3]);
    const [service] = normaliseHealthConfig({ services: [{ ...WEB, destinations: [{ address: '192.168.1.2' }] }] });
    expect(service?.realServers[0]?.check).toMatchObject({ intervalMs: 5000, timeoutMs: 2000, rise: 2, fall: 3 });
    expect(() => normaliseHealthConfig({ services: [{ ...WEB, destinations: [{ address: '192.168.1.2', weight: -1 }] }] })).toThrow(ValidationError);
  });

  it('mergeCheck lays a level over the one above; a change of type keeps only timing, address, port and localAddress', () => {
    const base = { type: 'http', path: '/x', host: 'a', intervalMs: 1000, timeoutMs: 500, rise: 4, fall: 5, address: '10.9.9.9', port: 81, localAddress: '10.0.0.9' } as const;
    expect(mergeCheck(base, { path: '/y' })).toEqual({ ...base, path: '/y' });
    expect(mergeCheck(base, { type: 'tcp' })).toEqual({
      type: 'tcp', intervalMs: 1000, timeoutMs: 500, rise: 4, fall: 5, address: '10.9.9.9', port: 81, localAddress: '10.0.0.9',
    });
    expect(mergeCheck(undefined, { type: 'tcp' })).toEqual({ type: 'tcp' });
    expect(mergeCheck(base, undefined)).toBe(base);
  });

  it("errnoName: a positive errno's name, E<number> for one without", () => {
    expect(errnoName(17)).toBe('EEXIST');
    expect(errnoName(3)).toBe('ESRCH');
    expect(errnoName(9999)).toBe('E9999');
  });
});

describe('the error classes', () => {
  it('each is an IpvsError with the code and the extra fields of the table', () => {
    const cases: [IpvsError, string, string[]][] = [
      [new ValidationError('port', 70000, 'must be an integer 0..65535'), 'EINVALIDARG', ['field', 'value', 'reason']],
      [new KernelError({ errno: 17, operation: 'add service', object: 'tcp 10.0.0.1:80' }), 'EEXIST', ['errno', 'operation', 'object', 'extack', 'extackOffset', 'seq']],
      [new FamilyNotFoundError('IPVS'), 'ENOFAMILY', ['family']],
      [new TimeoutError('get info', 10), 'ETIMEDOUT', ['sent']],
      [new AbortError('get info'), 'ABORT_ERR', ['sent']],
      [new ClosedError('get info'), 'ECLOSED', ['sent']],
      [new DumpInterruptedError('list services'), 'EDUMPINTR', []],
      [new DecodeError('short attribute', 4), 'EDECODE', ['offset', 'reason']],
      [new RulesSyntaxError(3, 'bad'), 'ERULES', ['line', 'reason']],
      [new CommandLineError('unknown option', 2, true), 'EUSAGE', ['detail', 'exitCode', 'tryHelp']],
      [new NativeBindingError('netlink', new Error('no binary')), 'ENATIVE', ['packageName']],
    ];
    for (const [err, code, fields] of cases) {
      expect(err, err.name).toBeInstanceOf(IpvsError);
      expect(err.code, err.name).toBe(code);
      for (const field of fields) expect(field in err, `${err.name}.${field}`).toBe(true);
    }
  });

  it('a validation message cuts the value after 200 characters, and value keeps all of it', () => {
    const long = 'x'.repeat(500);
    const err = new ValidationError('scheduler', long, 'unknown scheduler');
    expect(err.message).toBe(`invalid scheduler ${JSON.stringify(long).slice(0, 200)}...: unknown scheduler`);
    expect(err.value).toBe(long);
  });

  it('an errno met on any command gets its sentence: ENOPROTOOPT (module being unloaded), EAFNOSUPPORT, EPERM', async () => {
    const { kernel, ipvs } = await open();
    await ipvs.addService(WEB);
    const calls: [string, () => Promise<unknown>][] = [
      ['add destination 192.168.1.2:80 in service tcp 10.0.0.1:80', () => ipvs.addDestination(WEB, { address: '192.168.1.2' })],
      ['list services', () => ipvs.services()],
      ['get info', () => ipvs.info()],
      ['set timeouts tcp 60', () => ipvs.setTimeouts({ tcp: 60 })],
      ['stop sync daemon master', () => ipvs.stopDaemon('master')],
    ];
    for (const [what, call] of calls) {
      kernel.failNext(1, 'ENOPROTOOPT');
      await expect(call()).rejects.toThrow(`${what}: the ip_vs module is being unloaded [ENOPROTOOPT]`);
      kernel.failNext(1, 'EAFNOSUPPORT');
      await expect(call()).rejects.toThrow(`${what}: this kernel's IPVS has no IPv6 support`);
      kernel.failNext(1, 'EACCES');
      await expect(call()).rejects.toMatchObject({ code: 'EACCES', message: expect.stringMatching(new RegExp(`^${what.replace(/[.]/g, '\\.')}: permission denied; IPVS needs CAP_NET_ADMIN`)) });
    }
    await ipvs.close();
  });

  it('ESRCH names the service on an update or delete of a destination, and on zero', async () => {
    const { ipvs } = await open();
    const missing = { ...WEB, port: 81 };
    await expect(ipvs.updateDestination(missing, { address: '192.168.1.2' })).rejects.toThrow('no such service tcp 10.0.0.1:81 [ESRCH]');
    await expect(ipvs.deleteDestination(missing, { address: '192.168.1.2' })).rejects.toThrow('no such service tcp 10.0.0.1:81 [ESRCH]');
    await expect(ipvs.zero(missing)).rejects.toThrow('no such service tcp 10.0.0.1:81 [ESRCH]');
    await ipvs.close();
  });
});

describe('OpenOptions.timeoutMs', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('defaults to 30 000 ms per request', async () => {
    const { kernel, ipvs } = await open();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    kernel.dropReplies(1);
    const call = ipvs.info().then(() => undefined, (e: unknown) => e);
    let settled = false;
    void call.then(() => { settled = true; });
    await vi.advanceTimersByTimeAsync(29_999);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await call).toMatchObject({ name: 'TimeoutError', code: 'ETIMEDOUT', message: expect.stringContaining('30000 ms') });
    vi.useRealTimers();
    await ipvs.close();
  });
});

describe('reads without statistics', () => {
  it('are the listings; service() and hasService() take the request options alone, and refuse stats by name', async () => {
    const { ipvs } = await open();
    await ipvs.addService(WEB);
    expect((await ipvs.services({ stats: false }))[0]).not.toHaveProperty('stats');
    for (const call of [() => ipvs.service(WEB, { stats: false } as never), () => ipvs.hasService(WEB, { stats: false } as never)]) {
      await expect(call()).rejects.toMatchObject({ name: 'ValidationError', field: 'stats', value: false });
    }
    await ipvs.close();
  });
});

describe('timeouts', () => {
  it('0..2 678 400 s; a kernel with HZ=1000 refuses more than 2 147 483 s with EINVAL, naming the values given', async () => {
    const kernel = new FakeKernel({ hz: 1000 });
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    await ipvs.setTimeouts({ tcp: 2_147_483 });
    await expect(ipvs.setTimeouts({ udp: 2_147_484 })).rejects.toMatchObject({
      code: 'EINVAL', message: expect.stringMatching(/^timeouts udp 2147484: a value is larger than this kernel accepts/),
    });
    await expect(ipvs.setTimeouts({ tcp: 2_678_401 })).rejects.toMatchObject({ field: 'timeouts.tcp' });
    expect(await ipvs.timeouts()).toEqual({ tcp: 2_147_483, tcpFin: 120, udp: 300 });
    await ipvs.close();
  });
});

describe('desiredServiceOf and desiredDestinationOf', () => {
  it('state the scheduler, forwarding, port and weight, and leave other defaults out', async () => {
    const { ipvs } = await open();
    await ipvs.addService({ ...WEB, scheduler: 'rr', persistence: { timeout: 60 } });
    await ipvs.addDestination(WEB, { address: '192.168.1.2', forwarding: 'masq' });
    const [service] = await ipvs.services();
    const destinations = await ipvs.destinations(WEB);
    expect(desiredServiceOf(service!, destinations)).toEqual({
      ...WEB, scheduler: 'rr', persistence: { timeout: 60 },
      destinations: [{ address: '192.168.1.2', port: 80, forwarding: 'masq', weight: 1 }],
    });
    await ipvs.close();
  });

  it('carry a value the client does not take over, to be refused by its path when that state is planned', async () => {
    const { ipvs } = await open();
    await ipvs.addService(WEB);
    await ipvs.addDestination(WEB, { address: '192.168.1.2' });
    const [read] = await ipvs.destinations(WEB);
    const local: Destination = { ...read!, forwarding: 'local' };
    expect(desiredDestinationOf(local)).toEqual({ address: '192.168.1.2', port: 80, forwarding: 'local', weight: 1 });
    const desired = { services: [{ ...WEB, scheduler: 'wlc', destinations: [desiredDestinationOf(local)] }] } as const;
    await expect(ipvs.plan(desired)).rejects.toMatchObject({ field: 'services[0].destinations[0].forwarding', value: 'local' });
    await ipvs.close();
  });
});

describe('docs/api.md and docs/testing.md name every export', () => {
  it('of both entries, types included', () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const docs = ['docs/api.md', 'docs/testing.md'].map((f) => readFileSync(join(root, f), 'utf8')).join('\n');
    const entries = ['src/index.ts', 'src/testing/index.ts'].map((f) => join(root, f));
    const program = ts.createProgram(entries, {
      strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ['node'], skipLibCheck: true, noEmit: true,
    });
    const checker = program.getTypeChecker();
    const names = entries.flatMap((entry) => checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!).map((s) => s.name));
    expect(names.length).toBeGreaterThan(200);
    expect(names.filter((name) => !new RegExp(`\\b${name}\\b`).test(docs))).toEqual([]);
  }, 60_000);
});
