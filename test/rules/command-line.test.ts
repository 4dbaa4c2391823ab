// The ipvsadm 1.31 command-line grammar: popt's scanning rules, ipvsadm's defaults, its table of legal
// command/option pairs, and the exact sentence and exit status of every refusal.

import { describe, expect, it } from 'vitest';
import { parseCommandLine, type ParsedCommand } from '../../src/rules/command-line.js';
import { CommandLineError } from '../../src/rules/errors.js';
import { parseServicesFile } from '../../src/rules/service-names.js';
import { daemonSpecOf, destinationSpecOf, serviceKeyOf, serviceSpecOf } from '../../src/rules/specs.js';

const services = parseServicesFile('http 80/tcp www\nhttp 80/udp\nhttps 443/tcp\ndomain 53/udp\nsip 5060/sctp\n');
const hosts: Record<string, number> = { web1: 0x0a000002, 'lb.example': 0xc0a8016e };
const ctx = { services, lookupHost: (name: string) => hosts[name] };

function parse(line: string): ParsedCommand {
  const out = parseCommandLine(line.split(' ').filter((w) => w !== ''), ctx);
  if (out.kind !== 'command') throw new Error(`not a command: ${out.kind}`);
  return out;
}

function refusal(line: string): { detail: string; exitCode: number; tryHelp: boolean } {
  try {
    parseCommandLine(line.split(' ').filter((w) => w !== ''), ctx);
  } catch (err) {
    expect(err).toBeInstanceOf(CommandLineError);
    const e = err as CommandLineError;
    return { detail: e.detail, exitCode: e.exitCode, tryHelp: e.tryHelp };
  }
  throw new Error(`accepted: ${line}`);
}

describe('services', () => {
  it('the seed lines: -A -t 192.168.1.110:0 -s rr -p 600', () => {
    expect(serviceSpecOf(parse('-A -t 192.168.1.110:0 -s rr -p 600'))).toEqual({
      protocol: 'tcp',
      address: '192.168.1.110',
      port: 0,
      scheduler: 'rr',
      persistence: { timeout: 600, netmask: '255.255.255.255' },
      flags: [],
    });
  });

  it('the seed lines: -A -f 10 -s rr -p 60', () => {
    expect(serviceSpecOf(parse('-A -f 10 -s rr -p 60'))).toEqual({
      fwmark: 10,
      family: 'ipv4',
      scheduler: 'rr',
      persistence: { timeout: 60, netmask: '255.255.255.255' },
      flags: [],
    });
  });

  it('defaults: scheduler wlc, no persistence; -p alone is 360 s (ipvsadm 1.31 does 6 minutes)', () => {
    expect(serviceSpecOf(parse('-A -t 10.0.0.1:80'))).toMatchObject({ scheduler: 'wlc', persistence: false });
    expect(serviceSpecOf(parse('-A -t 10.0.0.1:80 -p'))).toMatchObject({ persistence: { timeout: 360 } });
    expect(serviceSpecOf(parse('-A -t 10.0.0.1:80 -p -s rr'))).toMatchObject({ scheduler: 'rr', persistence: { timeout: 360 } });
    expect(serviceSpecOf(parse('-E -t 10.0.0.1:80'))).toMatchObject({ scheduler: 'wlc', persistence: false, flags: [] });
  });

  it('long forms, = values and glued short values', () => {
    const a = serviceSpecOf(parse('--add-service --tcp-service=10.0.0.1:80 --scheduler rr --persistent=60 --netmask 255.255.255.0'));
    const b = serviceSpecOf(parse('-At 10.0.0.1:80 -srr -p60 -M=255.255.255.0'));
    expect(a).toEqual(b);
    expect(a).toMatchObject({ scheduler: 'rr', persistence: { timeout: 60, netmask: '255.255.255.0' } });
  });

  it('ports by service name, per protocol; hosts by lookup', () => {
    expect(serviceKeyOf(parse('-A -t 10.0.0.1:http'))).toEqual({ protocol: 'tcp', address: '10.0.0.1', port: 80 });
    expect(serviceKeyOf(parse('-A -u 10.0.0.1:domain'))).toEqual({ protocol: 'udp', address: '10.0.0.1', port: 53 });
    expect(serviceKeyOf(parse('-A --sctp-service 10.0.0.1:sip'))).toEqual({ protocol: 'sctp', address: '10.0.0.1', port: 5060 });
    expect(serviceKeyOf(parse('-A -t lb.example:https'))).toEqual({ protocol: 'tcp', address: '192.168.1.110', port: 443 });
    expect(refusal('-A -t 10.0.0.1:domain').detail).toBe('illegal virtual server address[:port] specified');
  });

  it('inet_aton forms and IPv6 with or without brackets', () => {
    expect(serviceKeyOf(parse('-A -t 10.1:80'))).toEqual({ protocol: 'tcp', address: '10.0.0.1', port: 80 });
    expect(serviceKeyOf(parse('-A -t [2001:db8::1]:80'))).toEqual({ protocol: 'tcp', address: '2001:db8::1', port: 80 });
    // A bare IPv6 address has no port, so it needs persistence.
    expect(serviceKeyOf(parse('-A -t 2001:db8::1 -p'))).toEqual({ protocol: 'tcp', address: '2001:db8::1', port: 0 });
    expect(serviceSpecOf(parse('-A -t [2001:db8::1]:80 -p -M 64'))).toMatchObject({ persistence: { netmask: 64 } });
    expect(serviceSpecOf(parse('-A -t [2001:db8::1]:80 -p'))).toMatchObject({ persistence: { netmask: 128 } });
  });

  it('firewall marks, IPv6 marks, flags, engines', () => {
    expect(serviceKeyOf(parse('-A -f 10 -6 -p'))).toEqual({ fwmark: 10, family: 'ipv6' });
    expect(serviceSpecOf(parse('-A -u 10.0.0.1:53 -o'))).toMatchObject({ flags: ['one-packet'] });
    expect(serviceSpecOf(parse('-A -f 3 -o -s rr'))).toMatchObject({ flags: ['one-packet'] });
    expect(serviceSpecOf(parse('-A -t 10.0.0.1:80 -s sh -b sh-fallback,sh-port'))).toMatchObject({
      scheduler: 'sh',
      flags: ['sh-fallback', 'sh-port'],
    });
    expect(serviceSpecOf(parse('-A -t 10.0.0.1:80 -s mh -b mh-port'))).toMatchObject({ flags: ['mh-port'] });
    // the generic names of the same bits
    expect(serviceSpecOf(parse('-A -t 10.0.0.1:80 -s sh -b flag-1,flag-2'))).toMatchObject({ flags: ['sh-fallback', 'sh-port'] });
    expect(serviceSpecOf(parse('-A -t 10.0.0.1:80 -s mh -b flag-2'))).toMatchObject({ flags: ['mh-port'] });
    // generic bits: flag-N with any scheduler; SCHED3 has no sh or mh name
    expect(serviceSpecOf(parse('-A -t 10.0.0.1:80 -s rr -b flag-1,flag-3'))).toMatchObject({ flags: ['flag-1', 'flag-3'] });
    expect(serviceSpecOf(parse('-A -t 10.0.0.1:80 -b flag-3,flag-2'))).toMatchObject({ scheduler: 'wlc', flags: ['flag-2', 'flag-3'] });
    expect(serviceSpecOf(parse('-A -t 10.0.0.1:80 -s sh -b flag-1,flag-2,flag-3'))).toMatchObject({ flags: ['sh-fallback', 'sh-port', 'flag-3'] });
    expect(serviceSpecOf(parse('-A -f 5 -s mh -b flag-3,mh-port'))).toMatchObject({ flags: ['mh-port', 'flag-3'] });
    expect(serviceSpecOf(parse('-A -t 10.0.0.1:80 -s rr -b flag-1,,flag-1'))).toMatchObject({ flags: ['flag-1'] });
    expect(serviceSpecOf(parse('-A -u 10.0.0.1:5060 -p 60 --pe sip'))).toMatchObject({ persistenceEngine: 'sip' });
  });

  it('the -s value is cut to 15 characters, as ipvsadm copies it', () => {
    expect(parse('-A -t 10.0.0.1:80 -s abcdefghijklmnopqrst').service.scheduler).toBe('abcdefghijklmno');
  });
});

describe('real servers', () => {
  it('the seed lines', () => {
    const a = parse('-a -f 10 -r 192.168.1.116 -g');
    expect(serviceKeyOf(a)).toEqual({ fwmark: 10, family: 'ipv4' });
    expect(destinationSpecOf(a)).toEqual({
      address: '192.168.1.116',
      port: 0,
      forwarding: 'route',
      weight: 1,
      upperThreshold: 0,
      lowerThreshold: 0,
    });
    const b = parse('-a -t 192.168.1.110:80 -r 192.168.1.116:80 -g -w 2');
    expect(destinationSpecOf(b)).toMatchObject({ address: '192.168.1.116', port: 80, forwarding: 'route', weight: 2 });
    const d = parse('-d -t 192.168.1.110:80 -r 192.168.1.116:80');
    expect(d.command).toBe('delete-server');
  });

  it('direct routing and tunnels take the service port; masquerading keeps its own', () => {
    expect(destinationSpecOf(parse('-a -t 10.0.0.1:80 -r 192.168.1.2:8080 -g')).port).toBe(80);
    expect(destinationSpecOf(parse('-a -t 10.0.0.1:80 -r 192.168.1.2:8080 -i')).port).toBe(80);
    expect(destinationSpecOf(parse('-a -t 10.0.0.1:80 -r 192.168.1.2:8080 -m')).port).toBe(8080);
    expect(destinationSpecOf(parse('-a -t 10.0.0.1:80 -r 192.168.1.2 -m')).port).toBe(80);
    expect(destinationSpecOf(parse('-a -t 10.0.0.1:80 -r web1:http -m -x 100 -y 10'))).toMatchObject({
      address: '10.0.0.2',
      port: 80,
      forwarding: 'masq',
      upperThreshold: 100,
      lowerThreshold: 10,
    });
  });

  it('tunnels: ipip, gue with port and checksum, gre', () => {
    expect(destinationSpecOf(parse('-a -t 10.0.0.1:80 -r 192.168.1.2 -i'))).toMatchObject({ tunnel: { type: 'ipip' } });
    expect(destinationSpecOf(parse('-a -t 10.0.0.1:80 -r 192.168.1.2 -i --tun-type gue --tun-port 6080 --tun-csum'))).toMatchObject({
      tunnel: { type: 'gue', port: 6080, checksum: 'csum' },
    });
    expect(destinationSpecOf(parse('-a -t 10.0.0.1:80 -r 192.168.1.2 -i --tun-type gre --tun-csum'))).toMatchObject({
      tunnel: { type: 'gre', checksum: 'csum' },
    });
    expect(destinationSpecOf(parse('-a -t 10.0.0.1:80 -r 192.168.1.2 -i --tun-type gue --tun-port 6080 --tun-remcsum'))).toMatchObject({
      tunnel: { checksum: 'remcsum' },
    });
  });

  it('a tunnel may cross families', () => {
    expect(destinationSpecOf(parse('-a -t 10.0.0.1:80 -r [2001:db8::2]:80 -i'))).toMatchObject({ address: '2001:db8::2' });
  });
});

describe('listing and other commands', () => {
  it('bundled short options', () => {
    expect(parse('-Ln').format.numeric).toBe(true);
    const lnc = parse('-Lnc');
    expect([...lnc.options]).toEqual(['numeric', 'connection']);
    expect(parse('-Sn').command).toBe('save');
    expect(parse('-l').command).toBe('list');
    expect(parse('--list --numeric --stats --exact').format).toMatchObject({ numeric: true, stats: true, exact: true });
    expect(parse('-L -X --rate').format).toMatchObject({ rate: true, exact: true });
    expect(parse('-L --sort --nosort').format.noSort).toBe(true);
  });

  it('--set takes three timeouts; 0 keeps one', () => {
    expect(parse('--set 900 120 300').timeouts).toEqual({ tcp: 900, tcpFin: 120, udp: 300 });
    expect(parse('--set 0 0 60').timeouts).toEqual({ tcp: 0, tcpFin: 0, udp: 60 });
  });

  it('sync daemons', () => {
    expect(daemonSpecOf(parse('--start-daemon master'))).toEqual({ state: 'master', interface: 'eth0', syncId: 0 });
    expect(
      daemonSpecOf(
        parse('--start-daemon backup --mcast-interface dum0 --syncid 7 --sync-maxlen 1400 --mcast-group 239.1.1.1 --mcast-port 8849 --mcast-ttl 2'),
      ),
    ).toEqual({ state: 'backup', interface: 'dum0', syncId: 7, syncMaxLen: 1400, mcastGroup: '239.1.1.1', mcastPort: 8849, mcastTtl: 2 });
    expect(daemonSpecOf(parse('--start-daemon master --mcast-group ff02::1:2'))).toMatchObject({ mcastGroup: 'ff02::1:2' });
    expect(parse('--stop-daemon backup').daemon.state).toBe('backup');
  });

  it('--mcast-interface keeps 15 bytes, as ipvsadm and the kernel do, not 15 characters', () => {
    const ifname = (name: string): string => daemonSpecOf(parse(`--start-daemon master --mcast-interface ${name}`)).interface;
    expect(ifname('abcdefghijklmnop')).toBe('abcdefghijklmno');
    // 'é' is two bytes: ten characters, seventeen bytes, cut to the fifteen bytes ipvsadm sends.
    expect(ifname('éééééééabc')).toBe('éééééééa');
    // A character cut in two is dropped whole.
    expect(ifname('abcdefghijklmné')).toBe('abcdefghijklmn');
    expect(ifname('ééééééééé')).toBe('ééééééé');
    expect(ifname('eth0')).toBe('eth0');
  });

  it('help and version come first', () => {
    expect(parseCommandLine(['-h'], ctx)).toEqual({ kind: 'help' });
    expect(parseCommandLine(['--help', '--bogus'], ctx)).toEqual({ kind: 'help' });
    expect(parseCommandLine(['-v'], ctx)).toEqual({ kind: 'version' });
  });

  it('-Z with and without a service, -C', () => {
    expect(serviceKeyOf(parse('-Z'))).toBeUndefined();
    expect(serviceKeyOf(parse('-Z -t 10.0.0.1:80'))).toEqual({ protocol: 'tcp', address: '10.0.0.1', port: 80 });
    expect(parse('-C').command).toBe('flush');
    expect(parse('--clear').command).toBe('flush');
  });
});

describe('refusals, with ipvsadm sentences and exit statuses', () => {
  it.each([
    // The first option must be a command; otherwise only the "Try ..." hint, status 255.
    ['-t 10.0.0.1:80 -A', '', 255, true],
    ['--bogus', '', 255, true],
    ['word', '', 255, true],
    ['', '', 255, true],
    // popt errors after the command: "<argument>: <reason>", status 255.
    ['-A -t', '-t: missing argument', 255, false],
    ['-L --bogus', '--bogus: unknown option', 255, false],
    ['-Lq', '-Lq: unknown option', 255, false],
    // A value given with `=` to an option that takes none: refused, never read as more letters.
    ['-C=', '', 255, true],
    ['--clear=1', '', 255, true],
    ['--set=1 2 3', '', 255, true],
    ['-L --numeric=1', '--numeric=1: option does not take an argument', 255, false],
    ['-L -cn=', '-cn=: option does not take an argument', 255, false],
    ['-Ln=1', '-Ln=1: option does not take an argument', 255, false],
    ['-A -u 10.0.0.1:53 -o=', '-o=: option does not take an argument', 255, false],
    // ipvsadm's own checks, status 2.
    ['-A -t 10.0.0.1:80 -D', "invalid option `-D'", 2, false],
    ['-L -h', "invalid option `-h'", 2, false],
    ['-L --start-daemon master', "invalid option `master'", 2, false],
    ['-A -t 10.0.0.1:80 extra', 'unexpected argument extra', 2, false],
    ['-A -t 10.0.0.1:80 -t 10.0.0.2:80', "multiple 'service-address' options specified", 2, false],
    ['-A -t 10.0.0.1:80 -f 1', "multiple 'service-address' options specified", 2, false],
    ['-a -t 10.0.0.1:80 -r 10.0.0.2 -g -m', "multiple 'forwarding-method' options specified", 2, false],
    ['-A -t 10.0.0.1', 'Zero port specified for non-persistent service', 2, false],
    ['-A -t 10.0.0.1:0', 'Zero port specified for non-persistent service', 2, false],
    ['-A -t 10.0.0.1:80 -o', 'One-Packet Scheduling is only for UDP virtual services', 2, false],
    ['-A -t 300.0.0.1:80', 'illegal virtual server address[:port] specified', 2, false],
    ['-A -t 10.0.0.1:99999', 'illegal virtual server address[:port] specified', 2, false],
    ['-A -t 80', 'illegal virtual server address[:port] specified', 2, false],
    ['-A -t [2001:db8::1]80', 'illegal virtual server address[:port] specified', 2, false],
    ['-A -t nosuchhost:80', 'illegal virtual server address[:port] specified', 2, false],
    ['-A -f 0', "invalid fwmark value `0' specified", 2, false],
    ['-A -f 4294967296', "invalid fwmark value `4294967296' specified", 2, false],
    ['-A -f x1', "invalid fwmark value `x1' specified", 2, false],
    ['-A -6 -f 1', '-6 used before -f\n', 2, false],
    ['-A -t 10.0.0.1:80 -p 0', "invalid timeout value `0' specified", 2, false],
    ['-A -t 10.0.0.1:80 -p 2678401', "invalid timeout value `2678401' specified", 2, false],
    ['-A -t 10.0.0.1:80 -p abc', "invalid timeout value `abc' specified", 2, false],
    ['-A -t 10.0.0.1:80 -p -M 300.1.1.1', 'illegal virtual server persistent mask specified', 2, false],
    ['-A -t [2001:db8::1]:80 -p -M 129', 'illegal ipv6 netmask specified', 2, false],
    ['-A -t 10.0.0.1:80 -b sh-port', "incompatible scheduler flag `sh-port'", 2, false],
    ['-A -t 10.0.0.1:80 -s sh -b mh-port', "incompatible scheduler flag `mh-port'", 2, false],
    ['-A -t 10.0.0.1:80 -b bogus', "invalid scheduler flag `bogus'", 2, false],
    ['-A -t 10.0.0.1:80 -s rr -b sh-port', "incompatible scheduler flag `sh-port'", 2, false],
    ['-A -t 10.0.0.1:80 -s mh -b mh-fallback,sh-port', "incompatible scheduler flag `sh-port'", 2, false],
    ['-A -t 10.0.0.1:80 -s wlc -b flag-2,mh-fallback', "incompatible scheduler flag `mh-fallback'", 2, false],
    ['-A -t 10.0.0.1:80 -s rr -b flag-4', "invalid scheduler flag `flag-4'", 2, false],
    ['-A -t 10.0.0.1:80 -s rr -b FLAG-1', "invalid scheduler flag `FLAG-1'", 2, false],
    ['-A -t 10.0.0.1:80 -r 10.0.0.2', "Illegal 'real-server' option with the 'add-service' command", 2, false],
    ['-D -t 10.0.0.1:80 -s rr', "Illegal 'scheduler' option with the 'delete-service' command", 2, false],
    ['-A -s rr', "You need to supply the 'service-address' option for the 'add-service' command", 2, false],
    ['-a -t 10.0.0.1:80', "You need to supply the 'real-server' option for the 'add-server' command", 2, false],
    ['-a -r 10.0.0.2', "You need to supply the 'service-address' option for the 'add-server' command", 2, false],
    ['-C -n', "Illegal 'numeric' option with the 'flush' command", 2, false],
    ['-S --stats', "Illegal 'stats' option with the 'save' command", 2, false],
    ['-L -c --timeout', "The option 'timeout' conflicts with the 'connection' option in the 'list' command", 2, false],
    ['-L --timeout --stats', 'options conflicts in the list command', 2, false],
    ['-L --daemon --persistent-conn', 'options conflicts in the list command', 2, false],
    ['-a -t 10.0.0.1:80 -r 10.0.0.2 -w 2147483648', 'illegal weight specified', 2, false],
    ['-a -t 10.0.0.1:80 -r 10.0.0.2 -w -1', 'illegal weight specified', 2, false],
    ['-a -t 10.0.0.1:80 -r 10.0.0.2 -x x', 'illegal u_threshold specified', 2, false],
    ['-a -t 10.0.0.1:80 -r 10.0.0.2 -y -5', 'illegal l_threshold specified', 2, false],
    ['-a -t 10.0.0.1:80 -r 80', 'illegal real server address[:port] specified', 2, false],
    ['-a -t 10.0.0.1:80 -r [2001:db8::2]:80 -g', 'Different address family is allowed only for tunneling servers', 2, false],
    ['-a -f 1 -r 2001:db8::2 -m', 'Different address family is allowed only for tunneling servers', 2, false],
    ['-a -t 10.0.0.1:80 -r 10.0.0.2 --tun-type gre', 'Tunnel options conflict with forward method', 2, false],
    ['-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type vxlan', 'illegal tunnel type specified', 2, false],
    ['-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue', "You need to supply the 'tun-port' option for the 'gue' tunnel type", 2, false],
    ['-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-port 5', "Illegal 'tun-port' option with the 'ipip' tunnel type", 2, false],
    ['-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gre --tun-remcsum', "Illegal 'tun-remcsum' option with the 'gre' tunnel type", 2, false],
    [
      '-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue --tun-port 5 --tun-csum --tun-nocsum',
      "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gue' tunnel type",
      2,
      false,
    ],
    ['-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue --tun-port 0', 'illegal tunnel port specified', 2, false],
    ['--set 1 2', '--set option requires 3 timeout values', 2, false],
    ['--set 1 2 x', "invalid timeout value `x' specified", 2, false],
    ['--set 1 2 3 4', 'unexpected argument 4', 2, false],
    ['--start-daemon primary', 'illegal start-daemon parameter specified', 2, false],
    ['--stop-daemon primary', 'illegal start_daemon specified', 2, false],
    ['--start-daemon master --syncid 256', 'illegal syncid specified', 2, false],
    ['--start-daemon master --mcast-group 10.0.0.1', "invalid IPv4 mcast-group `10.0.0.1'", 2, false],
    ['--start-daemon master --mcast-group 2001:db8::1', "invalid IPv6 mcast-group `2001:db8::1'", 2, false],
    ['--start-daemon master --mcast-port 0', 'illegal mcast-port specified', 2, false],
    ['--start-daemon master --mcast-ttl 256', 'illegal mcast-ttl specified', 2, false],
    ['--start-daemon master --sync-maxlen 65508', 'illegal sync-maxlen specified', 2, false],
    ['--stop-daemon master --mcast-interface eth0', "Illegal 'mcast-interface' option with the 'stop-daemon' command", 2, false],
    ['-R -n', "Illegal 'numeric' option with the 'restore' command", 2, false],
  ])('%j', (line, detail, exitCode, tryHelp) => {
    expect(refusal(line)).toEqual({ detail, exitCode, tryHelp });
  });
});
