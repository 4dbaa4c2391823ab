// The fast path of parseRules (fast-lines.ts) against the general grammar: for every line of a generated
// corpus (each shape the fast path takes, and near misses of each) parseRules must give exactly what the
// general path gives: the same operations, key order included, or the same error (class, message, reason,
// line, and the CommandLineError it wraps). A second check makes sure the fast path really takes the shapes
// it is meant to take, so the comparison is not vacuous.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CommandLineError, RulesSyntaxError } from '../../src/rules/errors.js';
import { FastRuleLines } from '../../src/rules/fast-lines.js';
import type { RuleOperation } from '../../src/rules/operations.js';
import { parseRules, parseRulesGeneral, parseRulesResolving, type ParseRulesOptions } from '../../src/rules/parse.js';
import { parseServicesFile } from '../../src/rules/service-names.js';

const options: ParseRulesOptions = {
  services: parseServicesFile('http 80/tcp\nhttp 80/udp\nhttps 443/tcp\ndomain 53/udp\n'),
  lookupHost: (name) => ({ web: '10.9.9.9', 'web.example': '10.9.9.10' })[name],
};

type Outcome =
  | { ok: string }
  | { error: string; message: string; line?: number; reason?: string; cause?: unknown };

/** What a parse gives, as comparable data: operations as JSON (so key order counts) or the error. */
function outcome(parse: (text: string, o: ParseRulesOptions) => RuleOperation[], text: string): Outcome {
  try {
    return { ok: JSON.stringify(parse(text, options)) };
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    const cause = err.cause instanceof CommandLineError ? { ...err.cause, message: err.cause.message } : err.cause;
    if (err instanceof RulesSyntaxError) {
      return { error: err.constructor.name, message: err.message, line: err.line, reason: err.reason, cause };
    }
    return { error: err.constructor.name, message: err.message, cause };
  }
}

function expectSameAsGeneral(text: string): void {
  expect({ text, ...outcome(parseRules, text) }).toEqual({ text, ...outcome(parseRulesGeneral, text) });
}

/** Whether the fast path reads the (single) line itself rather than declining it. */
function takenFast(line: string): boolean {
  return new FastRuleLines(line).operation(0, line.length, 1) !== undefined;
}

// ---- the corpus ------------------------------------------------------------------------------------

/** Service names the fast path reads, for -A/-E and -a/-e alike. */
const FAST_SERVICES = [
  '-t 10.1.0.1:80',
  '-u 10.1.0.1:53',
  '--sctp-service 10.1.0.1:9',
  '-t 0.0.0.0:1',
  '-t 255.255.255.255:65535',
  '-t 10.1.0.1:0',
  '-t 10.1.0.1:00080',
  '-t 10.1.0.1',
  '-t [2001:db8::1]:80',
  '-u [2001:DB8:0:0:0:0:0:1]:443',
  '-t [::ffff:10.0.0.1]:80',
  '-t [::]:80',
  '-t [fe80::1:2:3:4]:8080',
  '-f 1',
  '-f 4294967295',
  '-f 007',
  '-f 7 -6',
];

/** Service names it must decline (the general path takes some of them, refuses the others). */
const OTHER_SERVICES = [
  '-t 10.1.0.1:http',
  '-u 10.1.0.1:domain',
  '-t web:80',
  '-t web.example:http',
  '-t 10.1.0.256:80',
  '-t 10.1.0.01:80',
  '-t 010.1.0.1:80',
  '-t 10.1:80',
  '-t 0x0a.1.0.1:80',
  '-t 10.1.0.1:65536',
  '-t 10.1.0.1:',
  '-t 10.1.0.1:+80',
  '-t 10.1.0.1:-1',
  '-t 10.1.0.1:80:90',
  '-t 10.1.0.1.5:80',
  '-t 80',
  '-t [2001:db8::1]',
  '-t [2001:db8::1]:',
  '-t 2001:db8::1',
  '-t [10.0.0.1]:80',
  '-t [2001:db8::g]:80',
  '-t [2001:db8::1]]:80',
  '-t [1:2:3:4:5:6:7:8:9]:80',
  '-t [2001:db8::1]:http',
  '-f 0',
  '-f 4294967296',
  '-f +1',
  '-f -1',
  '-f 1x',
  '-f 7 -6 -6',
  '-6 -f 7',
  '-T 10.1.0.1:80',
  '--tcp-service 10.1.0.1:80',
  '-t10.1.0.1:80',
  '-t=10.1.0.1:80',
  '-t',
  '',
];

const FAST_SERVICE_OPTIONS = [
  '',
  '-s wlc',
  '-s rr',
  '-s sh',
  '-s mh',
  '-s nosuchsched',
  '-s a_b9',
  '-s wlc -p 60',
  '-s rr -p 1',
  '-s rr -p 2678400',
  '-s rr -p 0060',
  '-s rr -p',
  '-s rr -p -M 255.255.255.0',
  '-s wlc -p 300 -M 255.255.255.0',
  '-s wlc -p 300 -M 0.0.0.0',
  '-s wlc -p 300 -M 64',
  '-s wlc -p 300 -M 1',
  '-s wlc -p 300 -M 128',
  '-s wlc -M 255.255.0.0',
  '-s wlc -p 300 --pe sip',
  '-s wlc -p 300 -M 255.255.255.0 --pe sip',
  '-s rr -o',
  '-s rr -p 60 -o',
  '-p 60',
  '-p',
];

const OTHER_SERVICE_OPTIONS = [
  '-s WLC',
  '-s a-b',
  '-s -p',
  '-s',
  '-s abcdefghijklmnop',
  '-swlc',
  '--scheduler wlc',
  '--scheduler=wlc',
  '-s wlc -s rr',
  '-p 60 -s wlc',
  '-s rr -p 0',
  '-s rr -p 2678401',
  '-s rr -p +5',
  '-s rr -p 5x',
  '-s rr -p abc',
  '-s rr -p -1',
  '-s rr -p -5',
  '-s rr -p 60 -p 60',
  '-s wlc -p 300 -M 0',
  '-s wlc -p 300 -M 129',
  '-s wlc -p 300 -M 24',
  '-s wlc -p 300 -M 255.255.255.256',
  '-s wlc -p 300 -M 255.255.255.00',
  '-s wlc -p 300 -M 0xffffff00',
  '-s wlc -p 300 -M web',
  '-s wlc -p 300 -M',
  '-s wlc -M 255.255.0.0 -p 300',
  '-s wlc -p 300 --pe',
  '-s wlc -p 300 --pe SIP',
  '-s wlc -p 300 --pe=sip',
  '-s wlc -o -p 60',
  '-s rr -o -o',
  '-s sh -b sh-port',
  '-s rr -b flag-1,flag-3',
  '-s rr -w 1',
  '-s rr -r 10.0.0.2:80',
  '-s rr -m',
  '-s rr -6',
  '-s rr --',
  '-s rr -- extra',
  '-s rr extra',
  '-s rr -',
  '-s rr -n',
  '-s rr -A',
  '-s rr -h',
];

const FAST_REALS = [
  '-r 10.64.0.1:8080',
  '-r 10.64.0.1:0',
  '-r 10.64.0.1',
  '-r 10.64.0.1:08080',
  '-r [2001:db8::5]:8080',
  '-r [2001:DB8::0:5]:80',
  '-r [::ffff:10.64.0.1]:80',
];

const OTHER_REALS = [
  '-r 10.64.0.1:http',
  '-r web:80',
  '-r web',
  '-r 10.64.0.256:80',
  '-r 10.64.0.01:80',
  '-r 10.64.1:80',
  '-r 10.64.0.1:65536',
  '-r 10.64.0.1:',
  '-r [2001:db8::5]',
  '-r 2001:db8::5',
  '-r [2001:db8::5]:http',
  '-r [2001:db8::z]:80',
  '-r',
  '-r10.64.0.1:80',
  '--real-server 10.64.0.1:80',
];

const FAST_DESTINATION_OPTIONS = [
  '',
  '-m',
  '-g',
  '-i',
  '-m -w 1',
  '-g -w 0',
  '-i -w 2147483647',
  '-m -w 007',
  '-w 3',
  '-m -w 1 -x 100',
  '-m -w 1 -x 100 -y 50',
  '-m -w 1 -y 50',
  '-m -x 0 -y 0',
  '-g -w 2 -x 2147483647 -y 2147483647',
];

const OTHER_DESTINATION_OPTIONS = [
  '-M',
  '-m -g',
  '-m -m',
  '-w 1 -m',
  '-m -w 2147483648',
  '-m -w -1',
  '-m -w +1',
  '-m -w 1.5',
  '-m -w',
  '-m -w -x 3',
  '-m -w 1 -w 2',
  '-m -x 2147483648',
  '-m -y -1',
  '-m -y 5 -x 10',
  '-i --tun-type ipip',
  '-i --tun-type gue --tun-port 6080 --tun-csum',
  '-m --tun-type gre',
  '-m -s rr',
  '-m -p 60',
  '-m -o',
  '-m -6',
  '-m extra',
  '--masquerading',
  '-mw 1',
  '-m -w1',
  '-m -w=1',
];

function join(...parts: string[]): string {
  return parts.filter((p) => p !== '').join(' ');
}

/** Blank-related spellings of one line: what ruleLineArguments treats alike, and what it does not. */
function spellings(line: string): string[] {
  return [
    line,
    line.replaceAll(' ', '  '),
    line.replaceAll(' ', '\t'),
    line.replace(' ', ' \t '),
    `  ${line}`,
    `\t${line}`,
    `${line} `,
    `${line}\r`,
    `${line} \r`,
    `${line}\r\r`,
    `${line} # saved by ipvsadm`,
    `${line}\t#comment`,
    `${line} # comment\r`,
    `${line}#glued`,
    `ipvsadm ${line}`,
    `ipvsadm  ipvsadm ${line}`,
    `ipvsadm\t${line}`,
    `${line} ipvsadm`,
    line.replace(' ', ' ipvsadm '),
    `IPVSADM ${line}`,
    `/sbin/ipvsadm ${line}`,
    `# ${line}`,
    `#${line}`,
    line.replace(' ', '\f'),
    line.replace(' ', '\v'),
    line.replace(' ', '\u00a0'),
    `${line}\u2028`,
    `${line} # a\u2028b`,
  ];
}

const COMMANDS_SERVICE = ['-A', '-E'];
const COMMANDS_DESTINATION = ['-a', '-e'];

function serviceLines(names: readonly string[], opts: readonly string[]): string[] {
  return COMMANDS_SERVICE.flatMap((c) => names.flatMap((n) => opts.map((o) => join(c, n, o))));
}

function destinationLines(names: readonly string[], reals: readonly string[], opts: readonly string[]): string[] {
  return COMMANDS_DESTINATION.flatMap((c) => names.flatMap((n) => reals.flatMap((r) => opts.map((o) => join(c, n, r, o)))));
}

// ---- tests -----------------------------------------------------------------------------------------

describe('parseRules fast path', () => {
  it('takes the lines ipvsadm -S and -Sn write', () => {
    const saved = [
      '-A -t 10.1.0.1:80 -s wlc',
      '-A -t 10.1.0.1:80 -s rr -p 300',
      '-A -t 10.1.0.1:80 -s rr -p 300 -M 255.255.255.0',
      '-A -u 10.1.0.1:53 -s rr -o',
      '-A --sctp-service 10.1.0.1:9 -s wlc',
      '-A -t [2001:db8::1]:80 -s wlc -p 60 -M 64',
      '-A -f 10 -s rr -p 60',
      '-A -f 10 -6 -s rr',
      '-A -t 10.1.0.1:5060 -s rr -p 60 --pe sip',
      '-a -t 10.1.0.1:80 -r 10.64.0.1:8080 -m -w 1',
      '-a -t 10.1.0.1:80 -r 10.64.0.1:80 -g -w 0',
      '-a -t 10.1.0.1:80 -r 10.64.0.1:80 -i -w 2',
      '-a -t [2001:db8::1]:80 -r [2001:db8::5]:80 -m -w 1',
      '-a -t 10.1.0.1:80 -r [2001:db8::5]:80 -i -w 1',
      '-a -f 10 -r 10.64.0.1:0 -g -w 1',
      '-a -f 10 -6 -r [2001:db8::5]:0 -m -w 1',
    ];
    for (const line of saved) {
      expect(takenFast(line), line).toBe(true);
      expectSameAsGeneral(line);
    }
  });

  it('gives what the general path gives for every shape it takes', () => {
    const lines = [
      ...serviceLines(FAST_SERVICES, FAST_SERVICE_OPTIONS),
      ...destinationLines(FAST_SERVICES, FAST_REALS, FAST_DESTINATION_OPTIONS),
    ];
    let taken = 0;
    for (const line of lines) {
      if (takenFast(line)) taken++;
      expectSameAsGeneral(line);
    }
    // Most of the product is taken; the rest are lines ipvsadm refuses (zero port, -o on TCP, -M 64 on
    // IPv4, mixed families without -i), which the fast path leaves to the general one.
    expect(taken).toBeGreaterThan(lines.length / 2);
  });

  it('declines the near misses, or reads them alike', () => {
    const lines = [
      ...serviceLines(OTHER_SERVICES, ['-s wlc', '-s rr -p 60', '']),
      ...serviceLines(FAST_SERVICES.slice(0, 4).concat(['-t [2001:db8::1]:80', '-f 7', '-f 7 -6']), OTHER_SERVICE_OPTIONS),
      ...destinationLines(OTHER_SERVICES, ['-r 10.64.0.1:8080'], ['-m -w 1', '']),
      ...destinationLines(['-t 10.1.0.1:80', '-f 7', '-t [2001:db8::1]:80'], OTHER_REALS, ['-m -w 1', '-g']),
      ...destinationLines(['-t 10.1.0.1:80', '-f 7 -6', '-u [2001:db8::1]:80'], FAST_REALS.slice(0, 5), OTHER_DESTINATION_OPTIONS),
      '-a -t 10.1.0.1:80 -m -w 1',
      '-a -r 10.64.0.1:80 -t 10.1.0.1:80 -m',
      '-A',
      '-a',
      '-A -s rr -t 10.1.0.1:80',
      '-C',
      '-D -t 10.1.0.1:80',
      '-d -t 10.1.0.1:80 -r 10.64.0.1:80',
      '-Z',
      '-L -n',
      '-S',
      'A -t 10.1.0.1:80 -s rr',
      'x-A -t 10.1.0.1:80 -s rr',
      '--add-service -t 10.1.0.1:80 -s rr',
      '-A\t',
      '',
      '   ',
      '#',
      // The word ipvsadm is dropped wherever it stands (found by the random test below, seed 330138805).
      '-A --sctp-service [2001:db8::1]:80 -s ipvsadm',
      '-A -t 10.1.0.1:80 -s rr -p 60 --pe ipvsadm',
    ];
    for (const line of lines) expectSameAsGeneral(line);
  });

  it('treats blanks, comments and the ipvsadm word as the general path does', () => {
    const bases = [
      '-A -t 10.1.0.1:80 -s wlc',
      '-A -t 10.1.0.1:80 -s rr -p',
      '-A -f 7 -6 -s rr -p 60 -M 64',
      '-a -t 10.1.0.1:80 -r 10.64.0.1:8080 -m -w 1',
      '-a -t [2001:db8::1]:80 -r [2001:db8::5]:80 -g',
      '-e -f 7 -r 10.64.0.1 -g -w 2 -x 10 -y 5',
    ];
    for (const base of bases) {
      expect(takenFast(base), base).toBe(true);
      for (const line of spellings(base)) expectSameAsGeneral(line);
    }
    // Pairs where blanks decide whether -p has a value.
    for (const line of ['-A -t 10.1.0.1:80 -s rr -p # 60', '-A -t 10.1.0.1:80 -s rr -p ipvsadm 60', '-A -t 10.1.0.1:80 -s rr -p\t60']) {
      expectSameAsGeneral(line);
    }
  });

  it('matches the general path on random lines from the vocabulary of both', () => {
    const words = fc.constantFrom(
      '-A', '-E', '-a', '-e', '-t', '-u', '--sctp-service', '-f', '-6', '-s', 'wlc', 'rr', '-p', '60', '0', '-M',
      '255.255.255.0', '64', '--pe', 'sip', '-o', '-r', '10.1.0.1:80', '10.64.0.1:8080', '10.64.0.1', '[2001:db8::1]:80',
      '[2001:db8::5]:0', '10.1.0.1:http', 'web:80', '-m', '-g', '-i', '-w', '-x', '-y', '1', '2147483648', '007', '+1',
      '7', '-b', 'flag-1', 'ipvsadm', '#', '--tun-type', 'gue',
    );
    const blanks = fc.constantFrom(' ', ' ', ' ', '  ', '\t', ' \r ');
    const line = fc
      .tuple(fc.constantFrom('-A', '-a', '-E', '-e'), fc.array(fc.tuple(blanks, words), { maxLength: 9 }))
      .map(([first, rest]) => first + rest.map(([b, w]) => b + w).join(''));
    fc.assert(
      fc.property(line, (text) => {
        expectSameAsGeneral(text);
      }),
      { numRuns: Number(process.env.PARSE_FAST_RUNS ?? 3000) },
    );
  });

  it('whole documents: line numbers, blank and comment lines, CRLF, an error after fast lines', () => {
    const body = [
      '# saved',
      '-A -t 10.1.0.1:80 -s wlc',
      '-a -t 10.1.0.1:80 -r 10.64.0.1:8080 -m -w 1',
      '',
      '-a -t 10.1.0.1:80 -r 10.64.0.2:8080 -m -w 2',
      '-A -t 10.1.0.1:http -s rr',
      '-A -f 7 -6 -s rr -p 60 -M 64',
      '-a -f 7 -6 -r [2001:db8::5]:0 -m -w 1',
      '-C',
      '--set 900 120 300',
    ];
    for (const text of [body.join('\n'), body.join('\r\n'), `${body.join('\n')}\n`, `\n\n${body.join('\n')}\n\n`]) {
      expectSameAsGeneral(text);
    }
    const bad = [...body.slice(0, 3), '-a -t 10.1.0.1:80 -r 10.64.0.3:8080 -m -w 2147483648', ...body.slice(3)].join('\n');
    expectSameAsGeneral(bad);
    expect(() => parseRules(bad, options)).toThrow('line 4: illegal weight specified');
    expectSameAsGeneral('');
    expectSameAsGeneral('\n');
  });

  it('a save file of many services: every line fast, same operations', () => {
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) {
      const vip = i % 3 === 2 ? `[2001:db8::${i.toString(16)}]:443` : `10.1.${i >> 8}.${i & 255}:80`;
      lines.push(`-A -t ${vip} -s ${i % 2 ? 'rr' : 'wlc'}${i % 5 === 0 ? ' -p 120' : ''}`);
      for (let d = 0; d < 4; d++) {
        const real = i % 3 === 2 ? `[2001:db8:1::${(i * 4 + d).toString(16)}]:8443` : `10.64.${i & 255}.${d}:8080`;
        lines.push(`-a -t ${vip} -r ${real} ${['-m', '-g', '-i', '-m'][d]} -w ${d}`);
      }
    }
    expect(lines.every(takenFast)).toBe(true);
    expectSameAsGeneral(lines.join('\n'));
  });

  it('parseRulesResolving looks up only the names of lines the fast path declines', async () => {
    const text = [
      '-A -t web.example:http -s rr',
      '-a -t web.example:http -r web -m',
      '-A -t 10.1.0.1:80 -s wlc',
      '-a -t 10.1.0.1:80 -r 10.64.0.1:8080 -m -w 1',
      '-a -t 10.1.0.1:80 -r web:8080 -m -w 1',
    ].join('\n');
    const asked: string[] = [];
    const ops = await parseRulesResolving(
      text,
      async (name) => {
        asked.push(name);
        return options.lookupHost!(name);
      },
      { services: options.services! },
    );
    expect(asked).toEqual(['web.example', 'web']);
    expect(JSON.stringify(ops)).toBe(JSON.stringify(parseRulesGeneral(text, options)));
  });
});
