// A seeded generator of ipvsadm command lines for the randomised differential test of the `ipvs` command line
// (test/kernel/cli-random.test.ts). The same seed gives the same lines, on any machine.
//
// Why the pools are small: a sequence only finds differences in edits, deletions and listings when its lines
// name the same few services and real servers again and again. Why some values are bad or some lines are
// mangled: refusals (bad values, missing values, conflicting or out-of-place options) must be the same too.
// What is left out, on purpose: the differences docs/cli.md lists (`-b ,`, non-contiguous IPv4 masks, fwmarks
// above 2^31, `-h`/`-v`, first words that are subcommands, -R). Sync daemons are started and stopped on the
// namespaces' dum0 and lo (-C leaves them running: the test's reset between sequences stops them).

import { seededRandom } from './seeded-random.js';


type Rand = () => number;

function pick<T>(rand: Rand, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

function chance(rand: Rand, p: number): boolean {
  return rand() < p;
}

/** A value from `good`, or now and then (`BAD` of the time) one from `bad`. */
interface Pool {
  good: readonly string[];
  bad: readonly string[];
}
const BAD = 0.07;

function value(rand: Rand, pool: Pool): string {
  return chance(rand, BAD) ? pick(rand, pool.bad) : pick(rand, pool.good);
}

const V4: Pool = { good: ['10.0.0.1', '10.0.0.2', '192.168.1.110', '10.1', 'localhost'], bad: ['300.1.1.1', '10.0.0.256', '', 'nosuchhost.invalid', '0x0a000001', '012.0.0.1', '10.0.0.1.', 'vm'] };
const V6: Pool = { good: ['[2001:db8::1]', '[2001:db8::2]', '[::1]'], bad: ['2001:db8::1', '[2001:db8::zz]', '[]', '[10.0.0.1]', '[localhost]', '[2001:db8::1', '2001:db8::1]'] };
// Names of one protocol only (ssh tcp, ntp udp, amqp sctp) and of several (domain, sip, https).
const PORTS: Pool = { good: ['80', '80', '443', '53', 'http', 'domain', '0', '5060', '5672'], bad: ['65535', '65536', '-1', 'abc', '', '0x50', 'ssh', 'ntp', 'sip', 'amqp', '22', '123'] };
const MARKS: Pool = { good: ['1', '2', '10'], bad: ['0', 'x', '0x10', '010', '', '-1'] };
const SCHEDULERS: Pool = {
  good: ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'none'],
  bad: ['bogus', 'twos', 'RR', '', 'abcdefghijklmnopq', 'abcdefghijklmno', 'abcdefghijklmnop', 'rr,wrr'],
};
const FLAGS: Pool = { good: ['sh-fallback', 'sh-port', 'mh-fallback', 'mh-port', 'flag-1', 'flag-2', 'flag-3'], bad: ['flag-4', 'bogus', ''] };
const PERSISTENCE: Pool = { good: ['1', '60', '360', '2678400'], bad: ['0', '2678401', 'abc', '-5', '1.5', '', '0x3c', '060', '+60'] };
// A number or a non-contiguous mask for an IPv4 service is a listed difference (docs/cli.md): not generated.
const MASKS_V4: Pool = { good: ['255.255.255.0', '255.255.0.0', '255.255.255.255', '0.0.0.0'], bad: ['abc', '256.0.0.0', '255.255.255.0.'] };
const MASKS_V6: Pool = { good: ['64', '128', '48', '1'], bad: ['0', '129', 'abc', '255.255.255.0', '-1', '0x40', '064', '+64'] };
const DESTS_V4: Pool = { good: ['10.0.0.2', '10.0.0.3', '192.168.1.116', '192.168.1.117', '127.0.0.1', '10.0.0.1'], bad: ['224.0.0.5', '0.0.0.0', '255.255.255.255', ''] };
const DESTS_V6: Pool = { good: ['[2001:db8::10]', '[2001:db8::11]', '[2001:db8::1]'], bad: ['2001:db8::12', '[ff02::1]', '[::]', '[::ffff:10.0.0.2]'] };
const WEIGHTS: Pool = { good: ['0', '1', '2', '5', '100', '2147483647'], bad: ['2147483648', '-1', 'abc', '1e3', '', '+5', '0x10', '010', '5abc', '-0'] };
const THRESHOLDS: Pool = { good: ['0', '1', '10', '100', '65535'], bad: ['65536', '-1', 'abc', '4294967296', '0x10', '010', '+3'] };
const TUN_TYPES: Pool = { good: ['ipip', 'gue', 'gre', 'gue'], bad: ['vxlan', '', 'GUE'] };
const TUN_PORTS: Pool = { good: ['6080', '1', '65535'], bad: ['0', '65536', 'abc', '0x17c0', '06080', '+6080'] };
const TUN_CSUMS = ['--tun-nocsum', '--tun-csum', '--tun-remcsum'];
const TIMEOUTS: Pool = { good: ['0', '1', '60', '900', '120', '300', '86400', '2678400'], bad: ['2678401', '-1', 'abc', '', '0x10', '010', '+5', '99999999'] };
// Sync daemons: dum0 and lo are in every test namespace; eth0 (ipvsadm's default interface) is not.
const DAEMON_STATES: Pool = { good: ['master', 'backup'], bad: ['both', 'Master', '', 'primary', 'master,backup'] };
const INTERFACES: Pool = { good: ['dum0', 'dum0', 'lo'], bad: ['nosuch0', '', 'eth0', 'averyveryverylongifname', 'DUM0'] };
const SYNC_IDS: Pool = { good: ['0', '1', '5', '255'], bad: ['256', '-1', 'x', '', '0x10', '010', '+5', '1.5'] };
const SYNC_MAXLENS: Pool = { good: ['1500', '512', '1472', '100', '65000'], bad: ['0', '65536', '-1', 'x', '', '0x200', '10'] };
const MCAST_GROUPS: Pool = { good: ['224.0.0.81', '239.1.2.3', 'ff02::81', 'ff05::1:3'], bad: ['10.0.0.1', 'x', '2001:db8::1', '', '[ff02::81]', '255.255.255.255', '224.0.0.256', '::', '239.1'] };
const MCAST_PORTS: Pool = { good: ['8848', '1', '65535', '8849'], bad: ['0', '65536', 'x', '', '-1', '0x2290', 'http'] };
const MCAST_TTLS: Pool = { good: ['1', '2', '255'], bad: ['0', '256', 'x', '', '-1', '0x2'] };
const STRAY = ['--syncid 5', '--mcast-interface dum0', '--start-daemon master', '--stop-daemon backup', '--mcast-ttl 2', '-n', '-s rr', '-w 2', '-m', '-p', '-o', '-6', '-c', '--stats', '--exact', '-x 5', '--tun-type gue', '-b sh-port', '-r 10.0.0.2', '-t 10.0.0.1:80', 'word', '--bogus', '-q', '--pe sip', '-M 255.255.0.0', '--tcp 10.0.0.1:80', '--sched rr', '--nosort', '--sort', '-X', '--tun-info', '--persistent-conn', '--daemon', '--timeout', '--connection'];

interface ServiceChoice {
  words: string[];
  family: 4 | 6;
  udp: boolean;
  fwmark: boolean;
}

function endpoint(rand: Rand, family: 4 | 6, hosts: { v4: Pool; v6: Pool }, portChance: number): string {
  const host = value(rand, family === 4 ? hosts.v4 : hosts.v6);
  return chance(rand, portChance) ? `${host}:${value(rand, PORTS)}` : host;
}

function newService(rand: Rand): ServiceChoice {
  const r = rand();
  if (r < 0.15) {
    const v6 = chance(rand, 0.3);
    const words = [pick(rand, ['-f', '--fwmark-service']), value(rand, MARKS)];
    if (v6) words.push(pick(rand, ['-6', '--ipv6']));
    return { words, family: v6 ? 6 : 4, udp: false, fwmark: true };
  }
  const family = chance(rand, 0.25) ? 6 : 4;
  const proto = pick(rand, ['-t', '-t', '-u', '--tcp-service', '--udp-service', '--sctp-service']);
  const udp = proto === '-u' || proto === '--udp-service';
  // Most services carry a port: the lines then name the same few services often.
  const where = endpoint(rand, family, { v4: V4, v6: V6 }, 0.9);
  // ipvsadm takes an IPv4 address in brackets as IPv4: its netmask is then an IPv4 one.
  return { words: [proto, where], family: /^\[[\d.]+\]/.test(where) ? 4 : family, udp, fwmark: false };
}

function serviceOptions(rand: Rand, s: ServiceChoice): string[] {
  const w: string[] = [];
  if (chance(rand, 0.7)) w.push(pick(rand, ['-s', '--scheduler']), value(rand, SCHEDULERS));
  if (chance(rand, 0.3)) {
    w.push(pick(rand, ['-p', '--persistent']));
    if (chance(rand, 0.6)) w.push(value(rand, PERSISTENCE));
  }
  if (chance(rand, 0.15)) w.push(pick(rand, ['-M', '--netmask']), s.family === 6 ? value(rand, MASKS_V6) : value(rand, MASKS_V4));
  if (chance(rand, 0.2)) {
    const n = 1 + Math.floor(rand() * 2);
    w.push(pick(rand, ['-b', '--sched-flags']), Array.from({ length: n }, () => value(rand, FLAGS)).join(','));
  }
  if (chance(rand, 0.08)) w.push('--pe', pick(rand, ['sip', 'sip', 'bogus']));
  if (chance(rand, s.udp || s.fwmark ? 0.3 : 0.05)) w.push(pick(rand, ['-o', '--ops']));
  return w;
}

function destinationOptions(rand: Rand, s: ServiceChoice, full: boolean): string[] {
  const family = chance(rand, 0.1) ? (s.family === 4 ? 6 : 4) : s.family;
  const w = [pick(rand, ['-r', '--real-server']), endpoint(rand, family, { v4: DESTS_V4, v6: DESTS_V6 }, 0.6)];
  if (!full) return w;
  const method = rand();
  if (method < 0.3) w.push(pick(rand, ['-m', '--masquerading']));
  else if (method < 0.45) w.push(pick(rand, ['-g', '--gatewaying']));
  else if (method < 0.7) {
    w.push(pick(rand, ['-i', '--ipip']));
    if (chance(rand, 0.7)) w.push('--tun-type', value(rand, TUN_TYPES));
    if (chance(rand, 0.5)) w.push('--tun-port', value(rand, TUN_PORTS));
    if (chance(rand, 0.4)) w.push(pick(rand, TUN_CSUMS));
  } else if (method < 0.75) w.push('--tun-type', 'gue', '--tun-port', '6080');
  if (chance(rand, 0.5)) w.push(pick(rand, ['-w', '--weight']), value(rand, WEIGHTS));
  if (chance(rand, 0.2)) w.push(pick(rand, ['-x', '--u-threshold']), value(rand, THRESHOLDS));
  if (chance(rand, 0.2)) w.push(pick(rand, ['-y', '--l-threshold']), value(rand, THRESHOLDS));
  return w;
}

function listing(rand: Rand, serviceChoice: (r: Rand) => ServiceChoice): string[] {
  const r = rand();
  if (r < 0.12) return [pick(rand, ['-S', '--save']), ...(chance(rand, 0.8) ? ['-n'] : [])];
  if (r < 0.17) return [pick(rand, ['-L', '-l']), '--timeout'];
  if (r < 0.2) return [pick(rand, ['-L', '-l', '--list', '-Ln']), ...(chance(rand, 0.3) ? [pick(rand, ['-n', '--numeric'])] : []), '--daemon'];
  const w = [pick(rand, ['-L', '-l', '--list'])];
  if (chance(rand, 0.7)) w.push(pick(rand, ['-n', '--numeric']));
  const detail = rand();
  if (detail < 0.15) w.push('--stats');
  else if (detail < 0.3) w.push('--rate');
  else if (detail < 0.4) w.push('--thresholds');
  else if (detail < 0.5) w.push('--persistent-conn');
  else if (detail < 0.55) w.push('--tun-info');
  if (chance(rand, 0.2)) w.push(pick(rand, ['--exact', '-X']));
  if (chance(rand, 0.1)) w.push('--sort');
  if (chance(rand, 0.3)) w.push(...serviceChoice(rand).words);
  return w;
}

/** Start or stop a sync daemon, mostly with values both programs and the kernel take. */
function daemonLine(rand: Rand): string[] {
  const state = value(rand, DAEMON_STATES);
  if (chance(rand, 0.4)) {
    const w = ['--stop-daemon', state];
    if (chance(rand, 0.1)) w.push('--syncid', value(rand, SYNC_IDS));
    return w;
  }
  const w = ['--start-daemon', state];
  if (chance(rand, 0.85)) w.push('--mcast-interface', value(rand, INTERFACES));
  if (chance(rand, 0.4)) w.push('--syncid', value(rand, SYNC_IDS));
  if (chance(rand, 0.2)) w.push('--sync-maxlen', value(rand, SYNC_MAXLENS));
  if (chance(rand, 0.25)) w.push('--mcast-group', value(rand, MCAST_GROUPS));
  if (chance(rand, 0.2)) w.push('--mcast-port', value(rand, MCAST_PORTS));
  if (chance(rand, 0.2)) w.push('--mcast-ttl', value(rand, MCAST_TTLS));
  return w;
}

function oneLine(rand: Rand, known: ServiceChoice[]): string[] {
  // Lines about a service named before in the sequence, most of the time: edits and real servers then meet it.
  const serviceChoice = (r: Rand): ServiceChoice => (known.length > 0 && chance(r, 0.7) ? pick(r, known) : newService(r));
  const r = rand();
  if (r < 0.22) {
    const s = newService(rand);
    known.push(s);
    return [pick(rand, ['-A', '-A', '--add-service']), ...s.words, ...serviceOptions(rand, s)];
  }
  if (r < 0.3) {
    const s = serviceChoice(rand);
    return [pick(rand, ['-E', '--edit-service']), ...s.words, ...serviceOptions(rand, s)];
  }
  if (r < 0.35) return [pick(rand, ['-D', '--delete-service']), ...serviceChoice(rand).words];
  if (r < 0.55) {
    const s = serviceChoice(rand);
    return [pick(rand, ['-a', '--add-server']), ...s.words, ...destinationOptions(rand, s, true)];
  }
  if (r < 0.63) {
    const s = serviceChoice(rand);
    return [pick(rand, ['-e', '--edit-server']), ...s.words, ...destinationOptions(rand, s, true)];
  }
  if (r < 0.68) {
    const s = serviceChoice(rand);
    return [pick(rand, ['-d', '--delete-server']), ...s.words, ...destinationOptions(rand, s, false)];
  }
  if (r < 0.72) return [pick(rand, ['-Z', '--zero']), ...(chance(rand, 0.5) ? serviceChoice(rand).words : [])];
  if (r < 0.74) return [pick(rand, ['-C', '--clear'])];
  if (r < 0.77) {
    const n = chance(rand, 0.9) ? 3 : pick(rand, [2, 4]);
    return ['--set', ...Array.from({ length: n }, () => value(rand, TIMEOUTS))];
  }
  if (r < 0.83) return daemonLine(rand);
  return listing(rand, serviceChoice);
}

/** Spoil a line now and then: a word dropped, a stray option added, a value glued with `=`. */
function mangle(rand: Rand, w: string[]): string[] {
  const r = rand();
  if (r < 0.04 && w.length > 1) return w.slice(0, -1);
  if (r < 0.07 && w.length > 2) {
    const i = 1 + Math.floor(rand() * (w.length - 1));
    return [...w.slice(0, i), ...w.slice(i + 1)];
  }
  if (r < 0.12) {
    const i = 1 + Math.floor(rand() * w.length);
    return [...w.slice(0, i), ...pick(rand, STRAY).split(' '), ...w.slice(i)];
  }
  if (r < 0.15) {
    const i = w.findIndex((x, k) => k > 0 && x.startsWith('--') && k + 1 < w.length && !w[k + 1]!.startsWith('-'));
    if (i > 0) return [...w.slice(0, i), `${w[i]}=${w[i + 1]}`, ...w.slice(i + 2)];
  }
  if (r < 0.2) {
    // A value glued to its short option: -srr, -s=rr.
    const i = w.findIndex((x, k) => /^-[a-zA-Z]$/.test(x) && k + 1 < w.length && !w[k + 1]!.startsWith('-'));
    if (i >= 0) return [...w.slice(0, i), `${w[i]}${chance(rand, 0.7) ? '' : '='}${w[i + 1]}`, ...w.slice(i + 2)];
  }
  if (r < 0.25) {
    // Short options bundled: -At, -mw 3, -Ln.
    const i = w.findIndex((x, k) => /^-[a-zA-Z]$/.test(x) && k + 1 < w.length && /^-[a-zA-Z]/.test(w[k + 1]!));
    if (i >= 0) return [...w.slice(0, i), `${w[i]}${w[i + 1]!.slice(1)}`, ...w.slice(i + 2)];
  }
  if (r < 0.27) return [...w, pick(rand, ['--', '-', '---', '-L', '-A', '-n'])];
  if (r < 0.29 && w.length > 1) {
    // An option given twice (with its value), or with an empty value after '='.
    const i = 1 + Math.floor(rand() * (w.length - 1));
    if (!w[i]!.startsWith('-')) return [...w, w[i - 1]!, w[i]!];
    return chance(rand, 0.5) ? [...w, w[i]!] : [...w.slice(0, i), `${w[i]}=`, ...w.slice(i + 1)];
  }
  if (r < 0.35) {
    // The options after the command in another order (an option and the words after it stay together), which
    // matters to options with an optional value such as -p.
    const groups: string[][] = [];
    for (const x of w.slice(1)) {
      if (x.startsWith('-') || groups.length === 0) groups.push([x]);
      else groups.at(-1)!.push(x);
    }
    for (let i = groups.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [groups[i], groups[j]] = [groups[j]!, groups[i]!];
    }
    return [w[0]!, ...groups.flat()];
  }
  return w;
}

/**
 * `count` command lines. Empty words (a missing host or port) stay in the line as nothing: `-t 10.0.0.1:`.
 * Lines are joined with single spaces, the form the harness splits.
 */
export function randomLines(rand: Rand, count: number): string[] {
  const out: string[] = [];
  const known: ServiceChoice[] = [];
  for (let i = 0; i < count; i++) {
    const w = mangle(rand, oneLine(rand, known)).filter((x) => x !== '');
    out.push(w.join(' '));
  }
  return out;
}
