// A seeded generator of ipvsadm rules files, for the differential of `ipvs -R` against `ipvsadm -R`
// (test/kernel/restore-diff.kernel.test.ts). One seed gives one file, always the same: a mix of every line
// kind -R takes (-A -E -D -a -e -d -C -Z --set), spelled with short and long options, glued and `=` values,
// in random option order, with blank lines, odd blanks, CRLF endings, the word `ipvsadm`, comments, now and then
// sync daemon lines; mostly
// valid, with subtle mistakes mixed in (values out of range, duplicate services, a real server before its
// service, addresses the kernel refuses, options a command does not take).
//
// About half the files are consistent: the generator keeps the table (and the sync daemons) those files build,
// adds only what is not there yet, edits and deletes only what is, and makes no mistake, so both programs take
// them whole and the full tables get compared; a fifth of those end with one line spoiled, so a refusal comes
// after a whole table. The other files make mistakes now and then, of form and of state, anywhere.
//
// Left out: a last line without its newline that ends in two blanks or more, which ipvsadm 1.31 drops (a
// difference docs/cli.md lists).
//
// Comments are this project's extension (ipvsadm 1.31 refuses a `#` word, docs/cli.md), so each file comes in
// two spellings: `text` for ipvs, and `ipvsadmText`, the same lines with every comment cut off, for ipvsadm.
// Line numbers are the same in both.

import { seededRandom } from './seeded-random.js';


export interface GeneratedRules {
  seed: number;
  /** The file for ipvs -R. */
  text: string;
  /** The same file for ipvsadm -R: comments removed (the line count is unchanged). */
  ipvsadmText: string;
}

interface ServiceKeyText {
  /** The option and value as words, e.g. ['-t', '10.0.0.1:80'] or ['-f', '10', '-6']. */
  kind: 'tcp' | 'udp' | 'sctp' | 'fwmark';
  value: string;
  ipv6: boolean;
  /** fwmark services: destinations have no port of their own; address services: the service port. */
  port: string;
}

const V4_VIPS = ['10.0.0.1', '10.0.0.2', '192.168.1.110', '192.168.1.1', '127.0.0.1', '10.1', '10.0.0.3'];
const V6_VIPS = ['2001:db8::1', '2001:db8::a', '2001:DB8:0::b'];
const PORTS = ['80', '0', '53', '443', '8080', '65535', '00081'];
/** Port names /etc/services gives each protocol (a name of another protocol is refused, by both). */
const PORT_NAMES: Record<string, readonly string[]> = { tcp: ['http', 'domain'], udp: ['domain'], sctp: [] };
const V4_RIPS = ['10.0.0.2', '10.0.0.9', '192.168.1.116', '192.168.1.117', '127.0.0.1', '10.0.1.5', '192.168.1.1'];
const V6_RIPS = ['2001:db8::2', '2001:db8::10', '2001:db8::1'];
const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'none'];
const SCHED_FLAGS = ['sh-fallback', 'sh-port', 'mh-fallback', 'mh-port', 'flag-1', 'flag-2', 'flag-3'];

// Values a check refuses (before or in the kernel): one picked now and then in place of a good one.
const BAD_PORTS = ['65536', '-1', '80x', '', '99999999999'];
const BAD_V4 = ['256.1.1.1', '1.2.3.4.5', '10.0.0.', 'nosuchhost.invalid', '0x0a000001', '010.0.0.1'];
const BAD_RIPS = ['0.0.0.0', '255.255.255.255', '224.0.0.1', '192.168.1.255', '10.255.255.255'];
const BAD_WEIGHTS = ['-1', '2147483648', '1x', '', '99999999999999999999', '0x10', '010'];
const BAD_THRESHOLDS = ['-1', '2147483648', 'x', '4294967296'];
const BAD_TIMEOUTS = ['0', '-5', '2678401', '99999999999', 'x'];
const BAD_FWMARKS = ['0', '-1', '4294967296', 'x', '0x10'];

interface LiveDestination {
  /** The address as written (without brackets) and the port as written ('' when none). */
  host: string;
  port: string;
  /** 'g', 'i', 'm', or '' (ipvsadm's default, gatewaying). */
  forwarding: string;
}

/** The spellings of one address in the pools, as one. */
function canonicalHost(host: string): string {
  const h = host.toLowerCase();
  if (h === '10.1') return '10.0.0.1';
  if (h === '2001:db8:0::b') return '2001:db8::b';
  return h;
}

function portNumber(port: string): number {
  if (port === 'http') return 80;
  if (port === 'domain') return 53;
  return port === '' ? 0 : Number(port);
}

export function generateRules(seed: number): GeneratedRules {
  const random = seededRandom(seed);
  const chance = (p: number): boolean => random() < p;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  // Consistent files (see the top) are made while `clean` holds; `spoilEnd` spoils their last line. Of the
  // others, some make no mistake of form (but refer to what is not there, or add what is), the rest one now and
  // then. A line with a mistake has one (where the line's first chance to make one falls, else none).
  const consistent = chance(0.55);
  const spoilEnd = consistent && chance(0.2);
  let clean = consistent;
  const badRate = consistent ? 0 : chance(0.4) ? 0 : pick([0.05, 0.1, 0.2]);
  let mistakes = 0;
  let badChance = 0.25;
  const bad = (): boolean => {
    if (mistakes === 0 || !chance(badChance)) return false;
    mistakes--;
    return true;
  };

  const services: ServiceKeyText[] = [];
  const destinations: { service: ServiceKeyText; address: string }[] = [];
  /** What a consistent file has built so far: services by identity, each with its real servers by identity. */
  const live = new Map<string, { key: ServiceKeyText; dests: Map<string, LiveDestination> }>();
  const daemons = new Set<string>();

  function newServiceKey(): ServiceKeyText {
    const r = random();
    if (r < 0.18) {
      const mark = bad() ? pick(BAD_FWMARKS) : String(pick([1, 2, 10, 100, 2147483647, int(1, 60000)]));
      return { kind: 'fwmark', value: mark, ipv6: chance(0.3), port: '0' };
    }
    const kind = r < 0.6 ? 'tcp' : r < 0.88 ? 'udp' : 'sctp';
    const ipv6 = chance(0.2);
    let host = ipv6 ? `[${pick(V6_VIPS)}]` : pick(V4_VIPS);
    if (bad()) host = ipv6 ? pick(['[2001:db8::1', '[::zz]', '2001:db8::1', '[ff02::1]']) : pick(BAD_V4);
    const names = PORT_NAMES[kind]!;
    // (an IPv6 address needs its port: `[2001:db8::1]` alone is refused)
    let port = chance(0.1) && !ipv6 ? '' : names.length > 0 && chance(0.15) ? pick(names) : pick(PORTS);
    if (bad()) port = pick(BAD_PORTS);
    // `host:` with nothing after the colon is refused: a mistake, now and then
    return { kind, value: port === '' && !bad() ? host : `${host}:${port}`, ipv6, port: port === '' ? '0' : port };
  }

  /** A service already made (mostly), or a new one. */
  function someService(existing: number): ServiceKeyText {
    if (services.length > 0 && chance(existing)) return pick(services);
    return newServiceKey();
  }

  /** The service's identity in the kernel: `10.1` is 10.0.0.1, `http` 80, a missing port 0. */
  function serviceId(key: ServiceKeyText): string {
    if (key.kind === 'fwmark') return `fwmark|${key.value}|${key.ipv6}`;
    const host = key.value.replace(/:[^:\]]*$/, '').replace(/^\[|\]$/g, '');
    return `${key.kind}|${canonicalHost(host)}|${portNumber(key.port)}`;
  }

  /** A service the consistent table does not hold yet (undefined when a few tries find none). */
  function freshService(): ServiceKeyText | undefined {
    for (let i = 0; i < 10; i++) {
      const key = newServiceKey();
      if (!live.has(serviceId(key))) return key;
    }
    return undefined;
  }

  function serviceWords(key: ServiceKeyText): string[][] {
    const long = chance(0.35);
    const name = {
      tcp: long ? '--tcp-service' : '-t',
      udp: long ? '--udp-service' : '-u',
      sctp: '--sctp-service',
      fwmark: long ? '--fwmark-service' : '-f',
    }[key.kind];
    // -6 must follow -f (ipvsadm: "-6 used before -f"), so the two stay one group
    if (key.kind === 'fwmark' && key.ipv6) return [[...valueWords(name, key.value), pick(['-6', '--ipv6'])]];
    return [valueWords(name, key.value)];
  }

  /** An option and its value: apart, glued (`-w2`), or with `=`. */
  function valueWords(option: string, value: string): string[] {
    const r = random();
    if (value === '') return [option];
    if (r < 0.12) return [`${option}=${value}`];
    if (r < 0.2 && !option.startsWith('--')) return [`${option}${value}`];
    return [option, value];
  }

  function schedulerGroups(key: ServiceKeyText): string[][] {
    const groups: string[][] = [];
    let scheduler = '';
    if (chance(0.8)) {
      scheduler = bad() ? pick(['bogus', 'twos', 'RR', 'averyveryverylongschedulername']) : pick(SCHEDULERS);
      groups.push(valueWords(chance(0.3) ? '--scheduler' : '-s', scheduler));
    }
    // a service on port 0 must be persistent
    const zeroPort = key.kind !== 'fwmark' && Number(key.port) === 0 && !bad();
    if (chance(0.3) || zeroPort) {
      const timeout = bad() ? pick(BAD_TIMEOUTS) : chance(0.3) ? '' : String(pick([1, 60, 360, 2678400, int(1, 9999)]));
      groups.push(valueWords(chance(0.3) ? '--persistent' : '-p', timeout));
      if (chance(0.4)) {
        const mask = key.ipv6 ? String(bad() ? pick([0, 129, -1]) : pick([64, 128, 48, 1])) : bad() ? pick(['255.0.255.0', '255.255.255.256', '24', 'x']) : pick(['255.255.255.0', '255.255.0.0', '255.255.255.255', '0.0.0.0']);
        groups.push(valueWords(chance(0.3) ? '--netmask' : '-M', mask));
      }
      if (chance(0.15)) groups.push(valueWords('--pe', bad() ? 'nope' : 'sip'));
    } else if (chance(0.05)) {
      groups.push(valueWords('-M', key.ipv6 ? '64' : '255.255.255.0'));
    }
    if (chance(0.15) && (key.kind === 'udp' || key.kind === 'fwmark' || bad())) groups.push([chance(0.5) ? '-o' : '--ops']);
    if (chance(0.2) || scheduler === 'sh' || scheduler === 'mh') {
      if (chance(0.6)) {
        // sh-* and mh-* only with their scheduler, the generic flag-N with any
        const generic = SCHED_FLAGS.filter((f) => f.startsWith('flag-'));
        const flags = scheduler === 'mh' ? ['mh-fallback', 'mh-port'] : scheduler === 'sh' ? ['sh-fallback', 'sh-port'] : bad() ? SCHED_FLAGS : generic;
        const chosen = [...new Set(Array.from({ length: int(1, 2) }, () => pick(flags)))];
        if (bad()) chosen.push(pick(['bogus', 'flag-4', '']));
        groups.push(valueWords(chance(0.3) ? '--sched-flags' : '-b', chosen.join(',')));
      }
    }
    return groups;
  }

  /**
   * A real server's option groups. `same`: the real server of a consistent table to edit or delete (its
   * address and port as first written, and a forwarding method that keeps its identity).
   */
  function destinationGroups(key: ServiceKeyText, same?: LiveDestination): { groups: string[][]; address: string; live: LiveDestination } {
    const v6 = key.ipv6;
    let host = same?.host ?? (v6 ? pick(V6_RIPS) : pick(V4_RIPS));
    if (bad()) host = v6 ? pick(['::', 'ff02::1', '2001:db8::zz']) : pick([...BAD_RIPS, ...BAD_V4]);
    let forwarding = chance(0.75) ? pick(['g', 'i', 'm']) : '';
    // (ipvsadm gives a gatewaying or tunnelled real server of an address service the service's port)
    if (same && key.kind !== 'fwmark' && portNumber(same.port) !== portNumber(key.port)) forwarding = 'm';
    let port = same?.port ?? (clean && /^[a-z]/.test(key.port) ? String(portNumber(key.port)) : key.port);
    // (a port name of a real server is read with the protocol of the service option before it, if any: not
    // in a consistent file)
    const names = clean ? [] : PORT_NAMES[key.kind === 'fwmark' ? 'tcp' : key.kind]!;
    if (!same && forwarding === 'm' && chance(0.4)) port = pick(['8080', '80', '5353', ...names]);
    if (!same && key.kind === 'fwmark' && chance(0.5)) port = '';
    if (bad()) port = pick([...BAD_PORTS, '9090']);
    const text = v6 ? (port === '' ? host : `[${host}]:${port}`) : port === '' ? host : `${host}:${port}`;
    const groups = [valueWords(chance(0.3) ? '--real-server' : '-r', text)];
    const methods: Record<string, [string, string]> = { g: ['-g', '--gatewaying'], i: ['-i', '--ipip'], m: ['-m', '--masquerading'] };
    if (forwarding !== '') groups.push([pick(methods[forwarding]!)]);
    if (chance(0.6)) groups.push(valueWords(chance(0.3) ? '--weight' : '-w', bad() ? pick(BAD_WEIGHTS) : String(pick([0, 1, 2, 5, 100, 65536, 2147483647]))));
    let upper = 0;
    if (chance(0.2)) {
      upper = pick([0, 10, 100, 65535]);
      groups.push(valueWords(chance(0.3) ? '--u-threshold' : '-x', bad() ? pick(BAD_THRESHOLDS) : String(upper)));
    }
    // (a lower threshold above the upper one, 0 when not given, is refused: not in a consistent file)
    const lowers = clean ? [0, 5, 50].filter((l) => l <= upper) : [0, 5, 50];
    if (chance(0.2)) groups.push(valueWords(chance(0.3) ? '--l-threshold' : '-y', bad() ? pick(BAD_THRESHOLDS) : String(pick(lowers))));
    if (forwarding === 'i' || bad()) {
      if (chance(0.5)) {
        const type = bad() ? pick(['bogus', 'GUE']) : pick(['ipip', 'gue', 'gre']);
        groups.push(valueWords('--tun-type', type));
        if (type === 'gue' || bad()) groups.push(valueWords('--tun-port', bad() ? pick(['0', '65536', 'x']) : String(pick([6080, 5555, 1]))));
        // checksum options: gue takes three, gre two, ipip none
        const csums = type === 'gue' ? ['--tun-csum', '--tun-nocsum', '--tun-remcsum'] : type === 'gre' ? ['--tun-csum', '--tun-nocsum'] : bad() ? ['--tun-csum'] : [];
        if (csums.length > 0 && chance(0.5)) groups.push([pick(csums)]);
      }
    }
    return { groups, address: `${host}|${port}`, live: { host, port, forwarding } };
  }

  /** The real server's identity within its service: its address, and the port ipvsadm gives it. */
  function destinationId(key: ServiceKeyText, d: LiveDestination): string {
    const port = key.kind !== 'fwmark' && d.forwarding !== 'm' ? key.port : d.port;
    return `${canonicalHost(d.host)}|${portNumber(port)}`;
  }

  /** A real server of the consistent table, with its service. */
  function someDestination(): { key: ServiceKeyText; d: LiveDestination } | undefined {
    const all = [...live.values()].flatMap((s) => [...s.dests.values()].map((d) => ({ key: s.key, d })));
    return all.length === 0 ? undefined : pick(all);
  }

  /** Shuffle the option groups after the command (ipvsadm takes options in any order). */
  function shuffled(groups: string[][]): string[][] {
    if (!chance(0.5)) return groups;
    const out = [...groups];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** A line of a consistent file: it changes only what the table holds, and adds only what it does not. */
  function cleanCommandLine(): string[] {
    const r = random();
    const cmd = (short: string, long: string): string => (chance(0.3) ? long : short);
    const liveServices = [...live.values()];
    if (r < 0.3 || liveServices.length === 0) {
      const key = freshService();
      if (key) {
        live.set(serviceId(key), { key, dests: new Map() });
        services.push(key);
        return [cmd('-A', '--add-service'), ...shuffled([...serviceWords(key), ...schedulerGroups(key)]).flat()];
      }
    }
    if (r < 0.65 && liveServices.length > 0) {
      const s = pick(liveServices);
      for (let i = 0; i < 10; i++) {
        const d = destinationGroups(s.key);
        const id = destinationId(s.key, d.live);
        if (s.dests.has(id)) continue;
        s.dests.set(id, d.live);
        return [cmd('-a', '--add-server'), ...shuffled([...serviceWords(s.key), ...d.groups]).flat()];
      }
    }
    if (r < 0.72 && liveServices.length > 0) {
      const { key } = pick(liveServices);
      return [cmd('-E', '--edit-service'), ...shuffled([...serviceWords(key), ...schedulerGroups(key)]).flat()];
    }
    const some = someDestination();
    if (r < 0.8 && some) {
      const d = destinationGroups(some.key, some.d);
      return [cmd('-e', '--edit-server'), ...shuffled([...serviceWords(some.key), ...d.groups]).flat()];
    }
    if (r < 0.86 && some) {
      const d = destinationGroups(some.key, some.d);
      live.get(serviceId(some.key))!.dests.delete(destinationId(some.key, some.d));
      return [cmd('-d', '--delete-server'), ...shuffled([...serviceWords(some.key), d.groups[0]!]).flat()];
    }
    if (r < 0.91 && liveServices.length > 0) {
      const { key } = pick(liveServices);
      live.delete(serviceId(key));
      return [cmd('-D', '--delete-service'), ...serviceWords(key).flat()];
    }
    if (r < 0.93) {
      live.clear();
      return [cmd('-C', '--clear')];
    }
    if (r < 0.97) {
      const state = pick(['master', 'backup']);
      if (daemons.has(state)) {
        daemons.delete(state);
        return ['--stop-daemon', state];
      }
      daemons.add(state);
      return daemonLine(state);
    }
    if (r < 0.985 || liveServices.length === 0) return [cmd('-Z', '--zero')];
    if (r < 0.99) return [cmd('-Z', '--zero'), ...serviceWords(pick(liveServices).key).flat()];
    return ['--set', ...Array.from({ length: 3 }, () => String(pick([0, 0, 10, 120, 900, 3600])))];
  }

  function commandLine(): string[] {
    if (clean) return cleanCommandLine();
    const r = random();
    const cmd = (short: string, long: string): string => (chance(0.3) ? long : short);
    if (r < 0.3 || services.length === 0) {
      const key = chance(0.07) && services.length > 0 ? pick(services) : newServiceKey();
      services.push(key);
      return [cmd('-A', '--add-service'), ...shuffled([...serviceWords(key), ...schedulerGroups(key)]).flat()];
    }
    if (r < 0.65) {
      const key = someService(0.93);
      const d = destinationGroups(key);
      if (chance(0.1) && destinations.length > 0) {
        const again = pick(destinations);
        destinations.push(again);
      } else destinations.push({ service: key, address: d.address });
      return [cmd('-a', '--add-server'), ...shuffled([...serviceWords(key), ...d.groups]).flat()];
    }
    if (r < 0.72) {
      const key = someService(0.9);
      return [cmd('-E', '--edit-service'), ...shuffled([...serviceWords(key), ...schedulerGroups(key)]).flat()];
    }
    if (r < 0.8) {
      const key = someService(0.9);
      const d = destinationGroups(key);
      return [cmd('-e', '--edit-server'), ...shuffled([...serviceWords(key), ...d.groups]).flat()];
    }
    if (r < 0.86) {
      const key = someService(0.85);
      const d = destinationGroups(key);
      return [cmd('-d', '--delete-server'), ...shuffled([...serviceWords(key), d.groups[0]!]).flat()];
    }
    if (r < 0.91) {
      const key = someService(0.85);
      return [cmd('-D', '--delete-service'), ...serviceWords(key).flat()];
    }
    if (r < 0.93) return [cmd('-C', '--clear')];
    if (r < 0.95) return chance(0.5) ? [cmd('-Z', '--zero')] : [cmd('-Z', '--zero'), ...serviceWords(someService(0.9)).flat()];
    if (r < 0.97) return daemonLine();
    const timeouts = Array.from({ length: 3 }, () => String(bad() ? pick(['-1', 'x', '2147483647', '99999999999']) : pick([0, 0, 10, 120, 900, 3600])));
    if (bad()) timeouts.pop();
    return ['--set', ...timeouts];
  }

  /**
   * Start or stop a sync daemon (on dum0 or lo: the namespaces have no eth0, ipvsadm's default). `start`: a
   * consistent file's start of that daemon, on an interface it can use.
   */
  function daemonLine(start?: string): string[] {
    const state = start ?? (bad() ? pick(['both', 'Master']) : pick(['master', 'backup']));
    if (!start && chance(0.35)) return ['--stop-daemon', state];
    const groups: string[][] = [];
    if (start) {
      // (an IPv6 group needs an interface with IPv6, which a master does not find on lo)
      const group = chance(0.2) ? pick(['224.0.0.81', '239.1.2.3', 'ff02::81']) : '';
      const ifname = group.includes(':') && start === 'master' ? 'dum0' : pick(['dum0', 'lo']);
      groups.push(valueWords('--mcast-interface', ifname));
      if (group !== '') groups.push(valueWords('--mcast-group', group));
      if (chance(0.4)) groups.push(valueWords('--syncid', String(pick([0, 1, 255]))));
      if (chance(0.2)) groups.push(valueWords('--sync-maxlen', String(pick([1500, 512]))));
      if (chance(0.2)) groups.push(valueWords('--mcast-port', String(pick([8848, 1]))));
      if (chance(0.2)) groups.push(valueWords('--mcast-ttl', String(pick([1, 255]))));
      return ['--start-daemon', state, ...shuffled(groups).flat()];
    }
    if (chance(0.85)) groups.push(valueWords('--mcast-interface', bad() ? pick(['nosuch0', 'averyveryverylongifname']) : pick(['dum0', 'lo'])));
    if (chance(0.4)) groups.push(valueWords('--syncid', bad() ? pick(['256', '-1', 'x']) : String(pick([0, 1, 255]))));
    if (chance(0.2)) groups.push(valueWords('--sync-maxlen', bad() ? pick(['0', '65536']) : String(pick([1500, 512]))));
    if (chance(0.2)) groups.push(valueWords('--mcast-group', bad() ? pick(['10.0.0.1', 'x']) : pick(['224.0.0.81', '239.1.2.3', 'ff02::81'])));
    if (chance(0.2)) groups.push(valueWords('--mcast-port', bad() ? pick(['0', '65536']) : String(pick([8848, 1]))));
    if (chance(0.2)) groups.push(valueWords('--mcast-ttl', bad() ? pick(['0', '256']) : String(pick([1, 255]))));
    return ['--start-daemon', state, ...shuffled(groups).flat()];
  }

  /** A mistake of form: an option the command does not take, one it needs left out, an unknown one. */
  function misspell(words: string[]): string[] {
    const r = random();
    if (r < 0.25 && words.length > 2) return words.slice(0, -1);
    if (r < 0.5) return [...words, pick(['-n', '--bogus', '-c', 'extra', '-w', '-6', '-p'])];
    if (r < 0.75) return [words[0]!, ...words.slice(2)];
    // (-L and -S lines are left out: ipvs refuses them, ipvsadm prints the table, docs/cli.md)
    return [pick(['-R', '--foo', 'word']), ...words.slice(1)];
  }

  const blank = (): string => pick([' ', ' ', ' ', '  ', '\t', ' \t ']);
  const lines: string[] = [];
  const plain: string[] = [];
  const n = int(2, 24);
  const last = n - 1;
  for (let i = 0; i < n; i++) {
    if (spoilEnd && i === last) {
      // the last line of a consistent file: a mistake of form or of state, most of the time
      clean = false;
      badChance = 0.5;
    }
    const r = random();
    if (r < 0.06) {
      lines.push(pick(['', '', ' ', '\t', '  \t']));
      plain.push(lines.at(-1)!);
      continue;
    }
    if (r < 0.1) {
      const comment = pick(['# saved by hand', '#', '#-A -t 10.0.0.1:80', '  # indented comment']);
      lines.push(comment);
      plain.push('');
      continue;
    }
    mistakes = spoilEnd && i === last ? 1 : chance(badRate) ? 1 : 0;
    let words = chance(mistakes * 0.2) ? misspell(commandLine()) : commandLine();
    // quotes are no syntax of ipvsadm's (a quoted word keeps its quotes); \v and \f are no blanks to it
    if (chance(mistakes * 0.1) && words.length > 2) {
      const j = int(1, words.length - 1);
      words[j] = pick([`"${words[j]}"`, `'${words[j]}'`, `${words[j]}\v`, `\f${words[j]}`]);
    }
    if (chance(0.08)) words = ['ipvsadm', ...words];
    const body = (chance(0.1) ? blank() : '') + words.map((w, j) => (j === 0 ? w : blank() + w)).join('') + (chance(0.1) ? blank() : '');
    const comment = chance(0.05) ? ` # ${pick(['web', 'note', '-A'])}` : '';
    lines.push(body + comment);
    plain.push(body);
  }
  const crlf = chance(0.1);
  const end = crlf ? '\r\n' : '\n';
  const tail = chance(0.85) ? end : '';
  if (tail === '') {
    // ipvsadm 1.31 drops a last line without its newline when two blanks follow its last word (docs/cli.md,
    // a listed difference; cli-diff.test.ts shows it): such a line keeps one blank at most.
    for (const l of [lines, plain]) l[l.length - 1] = l.at(-1)!.replace(/([ \t])[ \t]+$/, '$1');
  }
  return { seed, text: lines.join(end) + tail, ipvsadmText: plain.join(end) + tail };
}
