// The desired state as data: strict JSON reading (unknown fields and bad shapes refused with their
// path), value validation with paths, duplicates, ipvsadm rules text read as the table it builds,
// format detection, and export (every option, ipvsadm's order, and apply(export) changing nothing).

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { ValidationError } from '../../src/ipvs/errors.js';
import {
  apply,
  checkDesiredState,
  desiredStateFromRules,
  detectStateFormat,
  stateText,
  exportState,
  normaliseDesiredState,
  parseDesiredState,
  parseDesiredStateJson,
  plan,
  type DesiredState,
} from '../../src/reconcile/index.js';
import { RulesSyntaxError } from '../../src/rules/errors.js';
import { FakeKernel } from '../../src/testing/index.js';
import { parseServicesFile } from '../../src/rules/service-names.js';

const NO_NAMES = { services: parseServicesFile('') };

function refusal(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('reading JSON', () => {
  it('accepts the documented shape', () => {
    const s = parseDesiredStateJson('{"services":[{"protocol":"tcp","address":"10.0.0.1","port":80,"destinations":[{"address":"10.0.0.2","tunnel":{"type":"ipip"},"forwarding":"tunnel"}]},{"fwmark":1,"persistence":{"timeout":5}}]}');
    expect(s.services).toHaveLength(2);
  });

  it.each([
    ['[]', 'state'],
    ['{"service":[]}', 'service'],
    ['{"services":{}}', 'services'],
    ['{"services":[1]}', 'services[0]'],
    ['{"services":[{"protocol":"tcp","address":"10.0.0.1","port":80,"sheduler":"rr"}]}', 'services[0].sheduler'],
    ['{"services":[{"fwmark":1,"persistence":{"timout":1}}]}', 'services[0].persistence.timout'],
    ['{"services":[{"fwmark":1,"destinations":{}}]}', 'services[0].destinations'],
    ['{"services":[{"fwmark":1,"destinations":[{"address":"10.0.0.2","wieght":2}]}]}', 'services[0].destinations[0].wieght'],
    ['{"services":[{"fwmark":1,"destinations":[{"address":"10.0.0.2","forwarding":"tunnel","tunnel":{"typ":"gre"}}]}]}', 'services[0].destinations[0].tunnel.typ'],
  ])('refuses %s at %s', (text, field) => {
    expect(refusal(() => parseDesiredStateJson(text)).field).toBe(field);
  });

  it.each([
    ['{"service":[]}', 'service []: unknown field (did you mean services?); expected one of services'],
    ['{"services":[{"fwmark":1,"destination":[]}]}', 'services[0].destination []: unknown field (did you mean destinations?); expected one of protocol, address, port, fwmark, family, scheduler, persistence, flags, persistenceEngine, destinations'],
    ['{"services":[{"fwmark":1,"persistence":{"Timeout":5}}]}', 'services[0].persistence.Timeout 5: unknown field (did you mean timeout?); expected one of timeout, netmask'],
    ['{"services":[{"fwmark":1,"destinations":[{"address":"10.0.0.2","wieght":2}]}]}', 'services[0].destinations[0].wieght 2: unknown field (did you mean weight?); expected one of address, port, forwarding, weight, upperThreshold, lowerThreshold, tunnel'],
    ['{"services":[{"fwmark":1,"destinations":[{"address":"10.0.0.2","tunnel":{"typ":"gre"}}]}]}', 'services[0].destinations[0].tunnel.typ "gre": unknown field (did you mean type?); expected one of type, port, checksum'],
    // No field within two edits: no suggestion.
    ['{"services":[{"fwmark":1,"colour":"red"}]}', 'services[0].colour "red": unknown field; expected one of protocol, address, port, fwmark, family, scheduler, persistence, flags, persistenceEngine, destinations'],
  ])('refuses %s suggesting the closest field', (text, message) => {
    expect(refusal(() => parseDesiredStateJson(text)).message).toBe(`invalid ${message}`);
  });

  it('refuses text that is not JSON, showing what was read (not "(missing)")', () => {
    expect(refusal(() => parseDesiredStateJson('{"services": [')).message).toBe(
      'invalid state "{\\"services\\": [": not valid JSON: Unexpected end of JSON input',
    );
    const long = refusal(() => parseDesiredState(`{"services": [${' '.repeat(60)}`, { format: 'json' }));
    expect(long.value).toBe(`{"services": [${' '.repeat(26)}...`);
  });

  it('passes over leading # comment lines, as the format detection does (blanked, so any position JSON.parse reports still holds)', () => {
    const text = '# my state\n  # written by hand\n{"services": [{"protocol": "tcp", "address": "10.0.0.1", "port": 80}]}\n';
    const want = { services: [{ protocol: 'tcp', address: '10.0.0.1', port: 80 }] };
    expect(parseDesiredState(text)).toEqual(want);
    expect(parseDesiredState(text, { format: 'json' })).toEqual(want);
    expect(parseDesiredStateJson(text)).toEqual(want);
    const bad = '# x\n{"services": ]';
    expect(refusal(() => parseDesiredStateJson(bad)).reason).toBe(refusal(() => parseDesiredStateJson('   \n{"services": ]')).reason);
  });

  it('refuses a format or requireRules it does not know instead of guessing', () => {
    expect(refusal(() => parseDesiredState('{"services": []}', { format: 'JSON' as never }))).toMatchObject({ field: 'format', value: 'JSON' });
    expect(refusal(() => parseDesiredState('{"services": []}', { format: 'yaml' as never }))).toMatchObject({ field: 'format' });
    expect(refusal(() => parseDesiredState('', { requireRules: 'yes' as never }))).toMatchObject({ field: 'requireRules', value: 'yes' });
  });
});

describe('validating values', () => {
  it.each<[DesiredState, string]>([
    [{ services: [{ protocol: 'tcp', address: '10.0.0', port: 80 }] }, 'services[0].address'],
    [{ services: [{ protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'fast' as never }] }, 'services[0].scheduler'],
    [{ services: [{ fwmark: 1 }, { fwmark: 2, destinations: [{ address: '10.0.0.2', weight: 1.5 }] }] }, 'services[1].destinations[0].weight'],
    [{ services: [{ fwmark: 1, destinations: [{ address: '10.0.0.2', tunnel: { type: 'gre' } }] }] }, 'services[0].destinations[0].tunnel'],
    [{ services: [{ protocol: 'tcp', address: '10.0.0.1', port: 80, destinations: [{ address: '2001:db8::1' }] }] }, 'services[0].destinations[0].address'],
  ])('refuses a bad value with its path (%#)', (state, field) => {
    expect(refusal(() => normaliseDesiredState(state)).field).toBe(field);
  });

  it('refuses an array for persistence: [] read from JSON is no "persistent 300 s"', () => {
    const state = parseDesiredStateJson('{"services":[{"protocol":"tcp","address":"10.0.0.1","port":80,"persistence":[]}]}');
    expect(refusal(() => normaliseDesiredState(state)).field).toBe('services[0].persistence');
  });

  it('refuses a service or destination listed twice, even spelled differently', () => {
    const twice: DesiredState = { services: [{ protocol: 'tcp', address: '2001:db8::1', port: 80 }, { protocol: 'tcp', address: '2001:DB8:0::1', port: 80 }] };
    expect(refusal(() => normaliseDesiredState(twice)).message).toMatch(/tcp \[2001:db8::1\]:80 is also services\[0\]/);
    const dests: DesiredState = { services: [{ protocol: 'tcp', address: '10.0.0.1', port: 80, destinations: [{ address: '10.0.0.2' }, { address: '10.0.0.2', port: 80 }] }] };
    expect(refusal(() => normaliseDesiredState(dests)).field).toBe('services[0].destinations[1]');
  });

  it('tells IPv4 and IPv6 firewall-mark services apart', () => {
    const s: DesiredState = { services: [{ fwmark: 1 }, { fwmark: 1, family: 'ipv6' }] };
    expect([...normaliseDesiredState(s).keys()]).toEqual(['fwmark 1', 'fwmark 1 (IPv6)']);
  });
});

describe('reading ipvsadm rules text', () => {
  it('reads a save file as its table', () => {
    const s = desiredStateFromRules('-A -t 10.0.0.1:80 -s rr -p 600 -M 255.255.255.0\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 3 -x 10 -y 5\n-A -f 7 -6 -s sh -b sh-port\n', NO_NAMES);
    expect(s).toEqual({
      services: [
        {
          protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr', persistence: { timeout: 600, netmask: '255.255.255.0' }, flags: [],
          destinations: [{ address: '10.0.0.2', port: 80, forwarding: 'masq', weight: 3, upperThreshold: 10, lowerThreshold: 5 }],
        },
        { fwmark: 7, family: 'ipv6', scheduler: 'sh', persistence: false, flags: ['sh-port'], destinations: [] },
      ],
    });
  });

  it('follows edits and deletions in order', () => {
    const s = desiredStateFromRules(
      [
        '-A -t 10.0.0.1:80', '-a -t 10.0.0.1:80 -r 10.0.0.2', '-a -t 10.0.0.1:80 -r 10.0.0.3', '-e -t 10.0.0.1:80 -r 10.0.0.2 -w 7',
        '-d -t 10.0.0.1:80 -r 10.0.0.3', '-E -t 10.0.0.1:80 -s lc', '-A -u 10.0.0.1:53', '-D -u 10.0.0.1:53',
      ].join('\n'),
      NO_NAMES,
    );
    expect(s.services).toHaveLength(1);
    expect(s.services[0]).toMatchObject({ scheduler: 'lc', destinations: [{ address: '10.0.0.2', weight: 7 }] });
    expect(desiredStateFromRules('-A -t 10.0.0.1:80\n-C\n-A -f 1\n', NO_NAMES).services.map((x) => ('fwmark' in x ? x.fwmark : undefined))).toEqual([1]);
  });

  it.each([
    ['-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80', 2, 'service tcp 10.0.0.1:80 is added twice'],
    ['-a -t 10.0.0.1:80 -r 10.0.0.2', 1, 'service tcp 10.0.0.1:80 is not defined by an earlier line'],
    ['-A -t 10.0.0.1:80\n-e -t 10.0.0.1:80 -r 10.0.0.2', 2, 'destination 10.0.0.2:80 of service tcp 10.0.0.1:80 is not defined by an earlier line'],
    ['-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2\n-a -t 10.0.0.1:80 -r 10.0.0.2 -w 2', 3, 'destination 10.0.0.2:80 of service tcp 10.0.0.1:80 is added twice'],
    ['--set 10 10 10', 1, 'setTimeouts does not describe the table; a desired state holds services and destinations only'],
    ['-Z', 1, 'zero does not describe the table; a desired state holds services and destinations only'],
  ])('refuses %j at line %i', (text, line, reason) => {
    let caught: unknown;
    try {
      desiredStateFromRules(text, NO_NAMES);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RulesSyntaxError);
    expect((caught as RulesSyntaxError).line).toBe(line);
    expect((caught as RulesSyntaxError).reason).toBe(reason);
  });

  it('detects the format from the content', () => {
    expect(detectStateFormat('  \n{"services": []}')).toBe('json');
    expect(detectStateFormat('-A -t 10.0.0.1:80\n')).toBe('rules');
    expect(detectStateFormat('# saved\nipvsadm -A -t 10.0.0.1:80\n')).toBe('rules');
    expect(detectStateFormat('')).toBe('rules');
    expect(parseDesiredState('{"services":[{"fwmark":3}]}').services[0]).toEqual({ fwmark: 3 });
    expect(parseDesiredState('-A -f 3\n', NO_NAMES).services[0]).toMatchObject({ fwmark: 3, destinations: [] });
    expect(parseDesiredState('', NO_NAMES)).toEqual({ services: [] });
  });

  it('detects the format past blank lines, any white space trim() removes, and leading comment lines', () => {
    expect(detectStateFormat('\r\n\t \u00a0\u2003{"services": []}')).toBe('json');
    expect(detectStateFormat('# a comment { not json\n  # another\n\n{"services": []}')).toBe('json');
    expect(detectStateFormat('# only a comment')).toBe('rules');
    expect(detectStateFormat('# comment\n-A -t 10.0.0.1:80 {')).toBe('rules');
    expect(detectStateFormat('x{')).toBe('rules');
  });

  it("reads a state file's bytes as UTF-8, and ignores a leading byte-order mark in bytes or text", () => {
    const json = '{"services":[{"protocol":"tcp","address":"10.0.0.1","port":80,"scheduler":"rr"}]}';
    const want = { services: [{ protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr' }] };
    expect(parseDesiredState(Buffer.from(json))).toEqual(want);
    expect(parseDesiredState(new TextEncoder().encode(`\ufeff${json}`))).toEqual(want);
    expect(parseDesiredState(`\ufeff${json}`)).toEqual(want);
    // A view into a larger buffer is read from its own offset and length only.
    const big = Buffer.from(`xx${json}yy`);
    expect(parseDesiredState(new Uint8Array(big.buffer, big.byteOffset + 2, json.length))).toEqual(want);
    expect(parseDesiredState(Buffer.from('\ufeff-A -f 3\n'), NO_NAMES).services[0]).toMatchObject({ fwmark: 3 });
    expect(stateText(Buffer.from('ünï'))).toBe('ünï');
  });

  it('requireRules: text with no rules is refused (a truncated file), not read as an empty table; JSON may be empty', () => {
    for (const text of ['', ' \n', '# cut short\n']) {
      expect(parseDesiredState(text, NO_NAMES)).toEqual({ services: [] });
      const err = (() => {
        try {
          parseDesiredState(text, { ...NO_NAMES, requireRules: true });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(ValidationError);
      expect(err).toMatchObject({ field: 'state', reason: 'holds no rules and no JSON state (for an empty table, write {"services": []})' });
    }
    expect(parseDesiredState('{"services": []}', { requireRules: true })).toEqual({ services: [] });
    expect(parseDesiredState('-A -t 10.0.0.1:80\n', { ...NO_NAMES, requireRules: true }).services).toHaveLength(1);
  });
});

describe('export', () => {
  it('writes every option, in ipvsadm order, and applying it changes nothing', async () => {
    const kernel = new FakeKernel({ shuffleDumps: true });
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    const state: DesiredState = {
      services: [
        { protocol: 'udp', address: '10.0.0.9', port: 53, scheduler: 'sh', flags: ['sh-port', 'one-packet'], destinations: [] },
        {
          protocol: 'tcp', address: '10.0.0.1', port: 5060, scheduler: 'rr', persistence: { timeout: 600, netmask: '255.255.255.0' }, persistenceEngine: 'sip',
          destinations: [
            { address: '10.0.0.3', port: 5060, forwarding: 'masq', weight: 0, upperThreshold: 100, lowerThreshold: 10 },
            { address: '10.0.0.2', port: 5060, forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'remcsum' } },
            { address: '2001:db8::2', port: 5060, forwarding: 'tunnel', tunnel: { type: 'gre' } },
          ],
        },
        { fwmark: 4, family: 'ipv6', persistence: { timeout: 30, netmask: 64 }, destinations: [{ address: '2001:db8::3' }] },
      ],
    };
    expect((await apply(ipvs, state)).ok).toBe(true);
    const exported = await exportState(ipvs);
    expect(exported).toEqual({
      services: [
        {
          protocol: 'tcp', address: '10.0.0.1', port: 5060, scheduler: 'rr', persistence: { timeout: 600, netmask: '255.255.255.0' }, persistenceEngine: 'sip',
          destinations: [
            { address: '10.0.0.2', port: 5060, forwarding: 'tunnel', weight: 1, tunnel: { type: 'gue', port: 6080, checksum: 'remcsum' } },
            { address: '10.0.0.3', port: 5060, forwarding: 'masq', weight: 0, upperThreshold: 100, lowerThreshold: 10 },
            { address: '2001:db8::2', port: 5060, forwarding: 'tunnel', weight: 1, tunnel: { type: 'gre' } },
          ],
        },
        { protocol: 'udp', address: '10.0.0.9', port: 53, scheduler: 'sh', flags: ['one-packet', 'sh-port'], destinations: [] },
        { fwmark: 4, family: 'ipv6', scheduler: 'wlc', persistence: { timeout: 30, netmask: 64 }, destinations: [{ address: '2001:db8::3', port: 0, forwarding: 'route', weight: 1 }] },
      ],
    });
    // Through JSON text and back: still in sync.
    expect((await plan(ipvs, checkDesiredState(JSON.parse(JSON.stringify(exported))))).inSync).toBe(true);
    expect((await plan(ipvs, state)).inSync).toBe(true);
    await ipvs.close();
  });
});
