// runCli end to end against a fake kernel: every ipvsadm command, the listing and save texts (golden,
// written by hand from ipvsadm 1.31's formats), refusals with ipvsadm's sentences and exit statuses and
// the table left unchanged, -R with line-numbered errors, and the CLI's own plumbing (lazy open, close,
// subcommand dispatch).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi, type MockInstance } from 'vitest';
import { CliHarness } from './harness.js';
import { staticResolver } from '../../src/rules/resolver.js';
import { runCli } from '../../src/cli/run.js';
import { FamilyNotFoundError } from '../../src/netlink/errors.js';
import { IPVSADM_OPTIONS } from '../../src/rules/option-scanner.js';

const SEED = [
  '-A -t 192.168.1.110:0 -s rr -p 600',
  '-A -f 10 -s rr -p 60',
  '-a -f 10 -r 192.168.1.116 -g',
  '-a -f 10 -r 192.168.1.117 -g',
  '-A -t 192.168.1.110:80',
  '-a -t 192.168.1.110:80 -r 192.168.1.116:80 -g -w 2',
  '-a -t 192.168.1.110:80 -r 192.168.1.117:80 -g',
  '-d -t 192.168.1.110:80 -r 192.168.1.116:80',
];

const TITLE = 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
const HEADER = 'IP Virtual Server version 1.2.1 (size=4096)\n';

async function seeded(): Promise<CliHarness> {
  const h = new CliHarness();
  await h.setUp(...SEED);
  return h;
}

describe('the seed document', () => {
  it('runs unchanged and lists as ipvsadm does', async () => {
    const h = await seeded();
    expect(await h.run('-Ln')).toEqual({
      code: 0,
      stderr: '',
      stdout:
        HEADER +
        TITLE +
        'TCP  192.168.1.110:0 rr persistent 600\n' +
        'TCP  192.168.1.110:80 wlc\n' +
        '  -> 192.168.1.117:80             Route   1      0          0         \n' +
        'FWM  10 rr persistent 60\n' +
        '  -> 192.168.1.116:0              Route   1      0          0         \n' +
        '  -> 192.168.1.117:0              Route   1      0          0         \n',
    });
    expect(await h.run('-Sn')).toEqual({
      code: 0,
      stderr: '',
      stdout:
        '-A -t 192.168.1.110:0 -s rr -p 600\n' +
        '-A -t 192.168.1.110:80 -s wlc\n' +
        '-a -t 192.168.1.110:80 -r 192.168.1.117:80 -g -w 1\n' +
        '-A -f 10 -s rr -p 60\n' +
        '-a -f 10 -r 192.168.1.116:0 -g -w 1\n' +
        '-a -f 10 -r 192.168.1.117:0 -g -w 1\n',
    });
  });

  it('long forms and bundles mean the same', async () => {
    const h = await seeded();
    const ln = await h.run('-Ln');
    expect(await h.run('--list --numeric')).toEqual(ln);
    expect(await h.run('-l -n')).toEqual(ln);
    expect(await h.run('-nL')).toEqual({ code: 255, stdout: '', stderr: "Try `ipvs -h' or 'ipvs --help' for more information.\n" });
    expect((await h.run('--save --numeric')).stdout).toBe((await h.run('-Sn')).stdout);
  });

  it('without -n: host names from the resolver and port names from the services database', async () => {
    const h = await seeded();
    h.resolver = staticResolver({ 'vip.example': '192.168.1.110', rs2: '192.168.1.117' }, h.resolver.services);
    const expected =
      HEADER +
      TITLE +
      'TCP  vip.example:0 rr persistent 600\n' +
      'TCP  vip.example:http wlc\n' +
      '  -> rs2:http                     Route   1      0          0         \n' +
      'FWM  10 rr persistent 60\n' +
      '  -> 192.168.1.116:0              Route   1      0          0         \n' +
      '  -> rs2:0                        Route   1      0          0         \n';
    expect((await h.run('-L')).stdout).toBe(expected);
    // no arguments at all lists the same way
    expect(await h.run([])).toEqual({ code: 0, stdout: expected, stderr: '' });
    expect((await h.run('-S')).stdout).toBe(
      '-A -t vip.example:0 -s rr -p 600\n' +
        '-A -t vip.example:http -s wlc\n' +
        '-a -t vip.example:http -r rs2:http -g -w 1\n' +
        '-A -f 10 -s rr -p 60\n' +
        '-a -f 10 -r 192.168.1.116:0 -g -w 1\n' +
        '-a -f 10 -r rs2:0 -g -w 1\n',
    );
    // and host names are accepted as input
    await h.setUp('-a -t vip.example:http -r rs2:8080 -m');
    expect((await h.run('-Ln -t 192.168.1.110:80')).stdout).toContain('  -> 192.168.1.117:8080           Masq    1 ');
  });
});

describe('commands', () => {
  it('-L for one service; -L --stats/--rate/--thresholds/--persistent-conn/--tun-info titles', async () => {
    const h = await seeded();
    expect(await h.run('-Ln -t 192.168.1.110:80')).toEqual({
      code: 0,
      stderr: '',
      stdout: TITLE + 'TCP  192.168.1.110:80 wlc\n' + '  -> 192.168.1.117:80             Route   1      0          0         \n',
    });
    expect((await h.run('-L -n -f 10')).stdout.split('\n')[2]).toBe('FWM  10 rr persistent 60');
    const stats = await h.run('-Ln --stats');
    expect(stats.stdout.split('\n').slice(0, 4)).toEqual([
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes',
      '  -> RemoteAddress:Port',
      'TCP  192.168.1.110:0                     0        0        0        0        0',
    ]);
    expect((await h.run('-Ln --rate')).stdout.split('\n')[1]).toBe('Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS');
    expect((await h.run('-Ln --thresholds')).stdout.split('\n')[1]).toBe('Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn ');
    expect((await h.run('-Ln --persistent-conn')).stdout.split('\n')[1]).toBe('Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn ');
    expect((await h.run('-Ln --tun-info')).stdout.split('\n')[2]).toBe('  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn');
    expect((await h.run('-Ln --stats --exact')).code).toBe(0);
  });

  it('-E and -e replace every field, as ipvsadm sends complete objects', async () => {
    const h = new CliHarness();
    await h.setUp('-A -t 10.0.0.1:80 -s rr -p 600 -M 255.255.255.0', '-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 5 -x 10');
    await h.setUp('-E -t 10.0.0.1:80', '-e -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 3');
    expect(await h.save()).toBe('-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 3\n');
    expect((await h.run('-Ln --thresholds')).stdout).toContain('  -> 10.0.0.2:8080                0          0          0          0         \n');
  });

  it('every service and server form saves back as ipvsadm writes it', async () => {
    const h = new CliHarness();
    await h.setUp(
      '-A -u 10.0.0.1:53 -s rr -o',
      '-A --sctp-service 10.0.0.1:9999 -s lc',
      '-A -t [2001:db8::1]:80 -s sh -b sh-port -p 60 -M 64',
      '-a -t [2001:db8::1]:80 -r [2001:db8::2]:80 -m',
      '-A -f 20 -6 -s mh -b mh-fallback,mh-port',
      '-A -t 10.0.0.1:80 -s wrr',
      '-a -t 10.0.0.1:80 -r 10.0.0.3 -i',
      '-a -t 10.0.0.1:80 -r 10.0.0.4 -i --tun-type gue --tun-port 6080 --tun-csum',
      '-a -t 10.0.0.1:80 -r 10.0.0.5 -i --tun-type gre',
      '-A -u 10.0.0.1:5060 -p 120 --pe sip',
    );
    expect(await h.save()).toBe(
      [
        '-A -t 10.0.0.1:80 -s wrr',
        '-a -t 10.0.0.1:80 -r 10.0.0.3:80 -i -w 1 --tun-type ipip',
        '-a -t 10.0.0.1:80 -r 10.0.0.4:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum',
        '-a -t 10.0.0.1:80 -r 10.0.0.5:80 -i -w 1 --tun-type gre --tun-nocsum',
        '-A -u 10.0.0.1:53 -s rr -o',
        '-A -u 10.0.0.1:5060 -s wlc -p 120 --pe sip',
        '-A --sctp-service 10.0.0.1:9999 -s lc',
        '-A -t [2001:db8::1]:80 -s sh -p 60 -M 64 -b sh-port',
        '-a -t [2001:db8::1]:80 -r [2001:db8::2]:80 -m -w 1',
        '-A -f 20 -6 -s mh -b mh-fallback,mh-port',
        '',
      ].join('\n'),
    );
    expect((await h.run('-Ln --tun-info')).stdout).toContain('  -> 10.0.0.4:80                  Tunnel  gue:6080:+c   1      0          0         \n');
    expect((await h.run('-Ln')).stdout).toContain('TCP  [2001:db8::1]:80 sh (sh-port) persistent 60 mask 64\n');
    expect((await h.run('-Ln')).stdout).toContain('UDP  10.0.0.1:5060 wlc persistent 120 pe sip\n');
    expect((await h.run('-Ln')).stdout).toContain('FWM  20 IPv6 mh (mh-fallback,mh-port)\n');
  });

  it('-b: generic flag-N with any scheduler, printed by the scheduler names as ipvsadm 1.31 prints them', async () => {
    const h = new CliHarness();
    await h.setUp(
      '-A -t 10.200.0.1:80 -s rr -b flag-1,flag-3',
      '-A -t 10.200.0.1:82 -s sh -b flag-2',
      '-A -t 10.200.0.1:83 -s mh -b flag-3',
      '-A -t 10.200.0.1:84 -s sh -b flag-1,flag-2,flag-3',
      '-A -t 10.200.0.1:88 -s rr -b flag-1 -p 30',
      '-A -t 10.200.0.1:90 -s rr -b flag-1,,flag-2',
      '-A -f 5 -s mh -b flag-3,mh-port',
    );
    expect(await h.save()).toBe(
      [
        '-A -t 10.200.0.1:80 -s rr -b flag-1,flag-3',
        '-A -t 10.200.0.1:82 -s sh -b sh-port',
        '-A -t 10.200.0.1:83 -s mh -b ',
        '-A -t 10.200.0.1:84 -s sh -b sh-fallback,sh-port',
        '-A -t 10.200.0.1:88 -s rr -p 30 -b flag-1',
        '-A -t 10.200.0.1:90 -s rr -b flag-1,flag-2',
        '-A -f 5 -s mh -b mh-port',
        '',
      ].join('\n'),
    );
    const listing = (await h.run('-Ln')).stdout;
    expect(listing).toContain('TCP  10.200.0.1:80 rr (flag-1,flag-3)\n');
    expect(listing).toContain('TCP  10.200.0.1:83 mh ()\n');
    expect(listing).toContain('TCP  10.200.0.1:84 sh (sh-fallback,sh-port)\n');
    expect(listing).toContain('TCP  10.200.0.1:88 rr (flag-1) persistent 30\n');
    expect(listing).toContain('FWM  5 mh (mh-port)\n');
    // -E without -b clears the scheduler flags, as ipvsadm sends a complete service
    await h.setUp('-E -t 10.200.0.1:80 -s sh');
    expect(await h.save()).toContain('-A -t 10.200.0.1:80 -s sh\n');
    for (const [line, detail] of [
      ['-A -t 10.200.0.1:81 -s rr -b sh-port', "incompatible scheduler flag `sh-port'"],
      ['-A -t 10.200.0.1:85 -s mh -b mh-fallback,sh-port', "incompatible scheduler flag `sh-port'"],
      ['-A -t 10.200.0.1:87 -s rr -b flag-4', "invalid scheduler flag `flag-4'"],
    ] as const) {
      const r = await h.run(line);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(detail);
    }
  });

  it('-D, -d, -Z, -C', async () => {
    const h = await seeded();
    await h.setUp('-d -t 192.168.1.110:80 -r 192.168.1.117:80', '-D -t 192.168.1.110:0', '-Z', '-Z -f 10');
    expect(await h.save()).toBe('-A -t 192.168.1.110:80 -s wlc\n-A -f 10 -s rr -p 60\n-a -f 10 -r 192.168.1.116:0 -g -w 1\n-a -f 10 -r 192.168.1.117:0 -g -w 1\n');
    await h.setUp('-C');
    expect(await h.save()).toBe('');
    expect(await h.run('-Ln')).toEqual({ code: 0, stderr: '', stdout: HEADER + TITLE });
  });

  it('--set and -L --timeout', async () => {
    const h = new CliHarness();
    expect((await h.run('-L --timeout')).stdout).toBe('Timeout (tcp tcpfin udp): 900 120 300\n');
    await h.setUp('--set 600 0 60');
    expect((await h.run('-L --timeout')).stdout).toBe('Timeout (tcp tcpfin udp): 600 120 60\n');
  });

  it('sync daemons and -L --daemon', async () => {
    const h = new CliHarness();
    await h.setUp('--start-daemon master --mcast-interface dum0 --syncid 5', '--start-daemon backup');
    expect((await h.run('-L --daemon')).stdout).toBe(
      'master sync daemon (mcast=dum0, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n' +
        'backup sync daemon (mcast=eth0, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n',
    );
    expect(await h.run('--start-daemon master')).toEqual({ code: 255, stdout: '', stderr: 'Daemon has already run\n' });
    await h.setUp('--stop-daemon master', '--stop-daemon backup');
    expect(await h.run('--stop-daemon backup')).toEqual({ code: 255, stdout: '', stderr: 'No daemon is running\n' });
    expect(await h.run('--start-daemon master --mcast-interface nosuchif0')).toEqual({ code: 255, stdout: '', stderr: 'No such device\n' });
    expect((await h.run('-L --daemon')).stdout).toBe('');
  });

  it('-Lc / -Lnc / --persistent-conn read the connection table file', async () => {
    const h = new CliHarness();
    const r = await h.run('-Lnc');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').slice(0, 3)).toEqual([
      'IPVS connection entries',
      'pro expire state       source             virtual            destination',
      'TCP 14:59  ESTABLISHED 10.0.0.99:51234    192.168.1.110:80   192.168.1.116:80',
    ]);
    expect((await h.run('-Lc')).stdout.split('\n')[2]).toBe('TCP 14:59  ESTABLISHED 10.0.0.99:51234    192.168.1.110:http 192.168.1.116:http');
    expect((await h.run('-Lnc --persistent-conn')).stdout).toContain('192.168.1.2:5060 sip                abc@x\n');
    // reading connections never opens the netlink client
    expect(h.opened).toBe(0);
    h.procConnPath = '/nonexistent/ip_vs_conn';
    expect(await h.run('-Lnc')).toEqual({ code: 1, stdout: '', stderr: 'cannot open file /nonexistent/ip_vs_conn\n' });
  });

  it('-h and -v print to stdout without opening the client', async () => {
    const h = new CliHarness();
    const help = await h.run('-h');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ipvs .*\nUsage:\n  ipvs -A\|E virtual-service/);
    expect(help.stdout).toContain('--tun-type TYPE');
    // The words beyond ipvsadm are listed with where their options are told (`ipvs apply --help`).
    expect(help.stdout).toMatch(/\nOther commands:\n  ipvs apply {3}FILE .*\n[\s\S]*\nEach takes --help for its own options \(ipvs apply --help\)\.\n$/);
    const version = await h.run('--version');
    expect(version).toMatchObject({ code: 0, stderr: '' });
    expect(version.stdout).toMatch(/^ipvs \d+\.\d+\.\d+ \(ipvsadm v1\.31 compatible/);
    expect(h.opened).toBe(0);
  });

  it('-h names every option the command line takes, each with its short form when it has one', async () => {
    const help = (await new CliHarness().run('-h')).stdout;
    const missing = IPVSADM_OPTIONS.filter((o) => {
      const line = help.split('\n').find((l) => new RegExp(`(^|\\s)--${o.long}(\\s|$)`).test(l));
      return line === undefined || (o.short !== undefined && !new RegExp(`(^|[\\s,])-${o.short}[\\s,]`).test(line));
    });
    expect(missing.map((o) => (o.short ? `-${o.short} --${o.long}` : `--${o.long}`))).toEqual([]);
  });
});

describe('refusals: ipvsadm sentences, exit statuses, table unchanged', () => {
  it.each([
    ['-A -t 192.168.1.110:80', 'Service already exists'],
    ['-A -t 10.0.0.9:80 -s bogus', 'Scheduler or persistence engine not found'],
    ['-A -t 10.0.0.9:80 -p --pe bogus', 'Scheduler or persistence engine not found'],
    ['-E -t 10.0.0.9:80', 'No such service'],
    ['-E -t 192.168.1.110:80 -s bogus', 'Scheduler or persistence engine not found'],
    ['-D -t 10.0.0.9:80', 'No such service'],
    ['-Z -t 10.0.0.9:80', 'No such service'],
    ['-a -t 10.0.0.9:80 -r 10.0.0.2', 'Service not defined'],
    ['-a -t 192.168.1.110:80 -r 192.168.1.117:80', 'Destination already exists'],
    ['-e -t 192.168.1.110:80 -r 10.0.0.99', 'No such destination'],
    ['-e -t 10.0.0.9:80 -r 10.0.0.99', 'Service not defined'],
    ['-d -t 192.168.1.110:80 -r 10.0.0.99', 'No such destination'],
    ['-d -f 11 -r 10.0.0.99', 'Service not defined'],
    ['-a -t 192.168.1.110:80 -r 10.0.0.2 -x 5 -y 10', 'Numerical result out of range'],
    // The kernel looks the service up before the values the client checks first: its answer is what is printed.
    ['-A -t 192.168.1.110:80 -s bogus', 'Service already exists'],
    ['-E -t 10.0.0.9:80 -s bogus', 'No such service'],
    ['-a -t 10.0.0.9:80 -r 10.0.0.2 -x 5 -y 10', 'Service not defined'],
    ['-e -t 10.0.0.9:80 -r 10.0.0.2 -x 5 -y 10', 'Service not defined'],
    ['-a -t 192.168.1.110:80 -r 224.1.1.1 -m', 'Invalid operation.  Possibly wrong module version, address not unicast, ...'],
    // Refused by the client before sending (an address no host takes), printed as the kernel's answer would be:
    // EINVAL for an add; an edit looks the destination up first, and none has such an address.
    ['-a -t 192.168.1.110:80 -r 0.0.0.0', 'Invalid operation.  Possibly wrong module version, address not unicast, ...'],
    ['-a -t 192.168.1.110:80 -r 255.255.255.255', 'Invalid operation.  Possibly wrong module version, address not unicast, ...'],
    ['-e -t 192.168.1.110:80 -r 239.1.1.1', 'No such destination'],
    ['-a -t 10.0.0.9:80 -r 224.1.1.1', 'Service not defined'],
    ['-e -t 10.0.0.9:80 -r 224.1.1.1', 'Service not defined'],
    // The kernel checks the weight and thresholds before the address's type (ip_vs_add_dest, ip_vs_edit_dest).
    ['-a -t 192.168.1.110:80 -r 224.1.1.1 -m -y 1', 'Numerical result out of range'],
    ['-e -t 192.168.1.110:80 -r 224.1.1.1 -m -y 1', 'Numerical result out of range'],
  ])('%s -> %s (255)', async (line, sentence) => {
    const h = await seeded();
    const before = await h.save();
    expect(await h.run(line)).toEqual({ code: 255, stdout: '', stderr: `${sentence}\n` });
    expect(await h.save()).toBe(before);
  });

  it.each(['-Ln', '-L', '-Sn', '-L --timeout', '-L --daemon', '-Ln -t 192.168.1.110:80', '-A -t 10.0.0.9:80', '-C', '-Z', '--set 1 2 3', '--start-daemon master'])(
    'without CAP_NET_ADMIN, %s fails before any command as ipvsadm does (status 2), in one line naming the capability',
    async (line) => {
      // ipvsadm says "(you must be root)" and asks whether IPVS is in the kernel: no help to a service user
      // short of CAP_NET_ADMIN, nor to a container's root (the library's sentence says the initial user namespace).
      const h = await seeded();
      h.fake.setUnprivileged(true);
      expect(await h.run(line)).toEqual({
        code: 2,
        stdout: '',
        stderr: "Can't initialize ipvs: get info: permission denied; IPVS needs CAP_NET_ADMIN (run as root or grant the capability) [EPERM]\n",
      });
    },
  );

  it('a listing of a missing service exits with 1', async () => {
    const h = await seeded();
    expect(await h.run('-Ln -t 10.0.0.9:80')).toEqual({ code: 1, stdout: '', stderr: 'No such service\n' });
  });

  it.each([
    ['-A -t 192.168.1.110', 2, 'Zero port specified for non-persistent service\n'],
    ['-A -t 10.0.0.1:80 -o', 2, 'One-Packet Scheduling is only for UDP virtual services\n'],
    ['-a -t 192.168.1.110:80 -r 10.0.0.2 -w 2147483648', 2, 'illegal weight specified\n'],
    ['-A -6 -f 1', 2, '-6 used before -f\n\n'],
    ['-A -t', 255, '-t: missing argument\n'],
    ['-L --bogus', 255, '--bogus: unknown option\n'],
    ['-t 10.0.0.1:80 -A', 255, "Try `ipvs -h' or 'ipvs --help' for more information.\n"],
    ['--bogus', 255, "Try `ipvs -h' or 'ipvs --help' for more information.\n"],
    ['-C -n', 2, "Illegal 'numeric' option with the 'flush' command\n"],
    ['-L --timeout --stats', 2, 'options conflicts in the list command\n'],
  ])('%s refused before the kernel (%i)', async (line, code, stderr) => {
    const h = await seeded();
    const before = await h.save();
    const opened = h.opened;
    expect(await h.run(line)).toEqual({ code, stdout: '', stderr });
    expect(h.opened).toBe(opened);
    expect(await h.save()).toBe(before);
  });
});

describe('-R', () => {
  it('applies ipvsadm save text (what -S printed restores to the same table)', async () => {
    const h = await seeded();
    const saved = await h.save();
    const g = new CliHarness();
    expect(await g.run('-R', saved)).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await g.save()).toBe(saved);
    // the seed document as a script, with its `ipvsadm` words and a comment
    const k = new CliHarness();
    expect(await k.run('--restore', `# seed\n${SEED.map((l) => `ipvsadm ${l}`).join('\n')}\n`)).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await k.save()).toBe(saved);
  });

  it('a malformed line N: "line N: ...", status 2, nothing applied', async () => {
    const h = await seeded();
    const before = await h.save();
    expect(await h.run('-R', '-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2\n-a -t 10.0.0.1:80 -r 10.0.0.3 -w 2147483648\n')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'line 3: illegal weight specified\n',
    });
    expect(await h.save()).toBe(before);
    expect(await h.run('-R', '-A -t 10.0.0.1:80\n-A -t 10.0.0.2:80 --bogus\n')).toEqual({ code: 255, stdout: '', stderr: 'line 2: --bogus: unknown option\n' });
    expect(await h.run('-R', '-A -t 10.0.0.1:80\n-Ln\n')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'line 2: the list command only prints; it has no place in rules\n',
    });
    expect(await h.save()).toBe(before);
  });

  it('a kernel refusal at line N is named; the lines before it are applied, none after it', async () => {
    const h = await seeded();
    const r = await h.run('-R', '-A -t 10.0.0.1:80\n\n-A -t 192.168.1.110:80\n-A -t 10.0.0.2:80\n');
    expect(r).toEqual({ code: 255, stdout: '', stderr: 'line 3: Service already exists\n' });
    const saved = await h.save();
    expect(saved).toContain('-A -t 10.0.0.1:80 -s wlc\n');
    // line 4 went in the same datagram and the kernel carried it out; restore took it back
    expect(saved).not.toContain('10.0.0.2');
  });

  it('values the client refuses before sending: the line and ipvsadm sentence; the lines before it applied, as by ipvsadm', async () => {
    const h = await seeded();
    const before = await h.save();
    expect(await h.run('-R', '-A -t 10.0.0.1:80\n-A -t 10.0.0.2:80 -s bogus\n-A -t 10.0.0.3:80\n')).toEqual({
      code: 255,
      stdout: '',
      stderr: 'line 2: Scheduler or persistence engine not found\n',
    });
    const after = await h.save();
    expect(after.split('\n').sort()).toEqual(`${before}-A -t 10.0.0.1:80 -s wlc\n`.split('\n').sort());
  });

  // Found by the random differential (test/kernel/restore-diff.kernel.test.ts, seeds 35, 43 and 51 of the first run).
  it('a kernel refusal before the value the client refuses is the one reported, as by ipvsadm', async () => {
    const h = new CliHarness();
    // line 2 deletes a real server that is not there; line 3's lower threshold is above the upper one
    const text = '-A -t 192.168.1.110:53 -s dh\n-d -t 192.168.1.110:53 -r 127.0.0.1:53\n-a -y 50 -r 192.168.1.1:53 -t 192.168.1.110:53\n';
    expect(await h.run('-R', text)).toEqual({ code: 255, stdout: '', stderr: 'line 2: No such destination\n' });
    expect(await h.save()).toBe('-A -t 192.168.1.110:53 -s dh\n');
  });

  it("a value the client refuses, for a service that is not there: the kernel's earlier answer, as by ipvsadm", async () => {
    const h = new CliHarness();
    const text = '-A -t 10.1:8080 -s wlc\n--clear\n-a -t 10.1:8080 -r 192.168.1.117:5353 -m -y 50\n';
    expect(await h.run('-R', text)).toEqual({ code: 255, stdout: '', stderr: 'line 3: Service not defined\n' });
    expect(await h.run('-R', '-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.1:80 -s bogus\n')).toEqual({ code: 255, stdout: '', stderr: 'line 2: Service already exists\n' });
    expect(await h.run('-R', '-e -t 10.0.0.9:80 -r 10.0.0.2 -x 1 -y 2\n')).toEqual({ code: 255, stdout: '', stderr: 'line 1: Service not defined\n' });
  });

  it('flush, zero, timeouts and daemons in rules run in order with the table changes', async () => {
    const h = await seeded();
    expect(await h.run('-R', '-C\n-A -t 10.0.0.1:80\n--set 100 0 0\n-Z\n--start-daemon master\n-a -t 10.0.0.1:80 -r 10.0.0.2 -m\n')).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
    expect(await h.save()).toBe('-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1\n');
    expect((await h.run('-L --timeout')).stdout).toBe('Timeout (tcp tcpfin udp): 100 120 300\n');
    expect(await h.run('-R', '--start-daemon master\n-A -t 10.0.0.3:80\n')).toEqual({ code: 255, stdout: '', stderr: 'line 1: Daemon has already run\n' });
    expect(await h.save()).not.toContain('10.0.0.3');
  });

  it('-R takes no other option, and nested -R is refused', async () => {
    const h = new CliHarness();
    expect((await h.run('-R -n')).stderr).toBe("Illegal 'numeric' option with the 'restore' command\n");
    expect((await h.run('-R', '-R\n')).stderr).toBe('line 1: the restore command cannot be nested in rules\n');
  });
});

describe('plumbing', () => {
  it('opens the client once per run and always closes it', async () => {
    const h = await seeded();
    const opened = h.opened;
    await h.run('-Ln');
    await h.run('-A -t 192.168.1.110:80');
    expect(h.opened - opened).toBe(2);
    expect(h.closed).toBe(h.opened);
  });

  it('a word as first argument goes to the subcommand table; unknown words print the usage', async () => {
    const h = new CliHarness();
    const r = await h.run('frobnicate x');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ipvs: unknown command 'frobnicate'\n\nipvs .*\nUsage:/);
    let seen: readonly string[] = [];
    let out = '';
    const code = await runCli(['export', '--json'], {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: () => undefined },
      subcommands: {
        export: {
          summary: 'print the table as JSON',
          run: async (args, ctx) => {
            seen = args;
            ctx.stdout.write('{}\n');
            return 0;
          },
        },
      },
    });
    expect(code).toBe(0);
    expect(seen).toEqual(['--json']);
    expect(out).toBe('{}\n');
  });

  it('a kernel without IPVS: ipvsadm\'s initialisation message, status 2', async () => {
    let err = '';
    const code = await runCli(['-Ln'], {
      ipvs: async () => {
        throw new FamilyNotFoundError('IPVS', 'load the ip_vs module');
      },
      stdout: { write: () => undefined },
      stderr: { write: (s: string) => (err += s) },
    });
    expect(code).toBe(2);
    expect(err).toBe("Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n");
  });

  it("ipvs health on a kernel without IPVS: one log line with the library's reason (modprobe ip_vs), not ipvsadm's two lines folded into one", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipvs-health-'));
    try {
      const file = join(dir, 'h.json');
      writeFileSync(file, '{"services":[{"protocol":"tcp","address":"192.168.1.110","port":80,"destinations":[{"address":"192.168.1.116"}]}]}');
      let err = '';
      const code = await runCli(['health', file], {
        ipvs: async () => {
          throw new FamilyNotFoundError('IPVS', 'the ip_vs kernel module is not loaded: run `modprobe ip_vs`');
        },
        stdout: { write: () => undefined },
        stderr: { write: (s: string) => (err += s) },
      });
      expect(code).toBe(1);
      expect(err).toMatch(/^\S+Z error: cannot open IPVS: generic netlink family "IPVS" not found: the ip_vs kernel module is not loaded: run `modprobe ip_vs`\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('statistics in listings', () => {
  it('are read only for --stats and --rate', async () => {
    const h = new CliHarness();
    await h.setUp('-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 10.0.1.1 -m');
    const open = h.openIpvs.bind(h);
    const spies: MockInstance[] = [];
    h.openIpvs = async () => {
      const ipvs = await open();
      spies.push(vi.spyOn(ipvs, 'services'), vi.spyOn(ipvs, 'destinationsOfEach'));
      return ipvs;
    };
    const cases: Array<[string, boolean | undefined]> = [['-Ln', false], ['-L', false], ['-Sn', false], ['-Ln --thresholds', false], ['-Ln --stats', undefined], ['-L -n --rate', undefined]];
    for (const [line, stats] of cases) {
      const r = await h.run(line);
      expect(r.code, line).toBe(0);
      expect(r.stdout, line).toContain('10.0.1.1');
      const [services, runs] = spies.slice(-2) as [MockInstance, MockInstance];
      expect([services.mock.calls[0]?.[0]?.stats, runs.mock.calls[0]?.[1]?.stats], line).toEqual([stats, stats]);
    }
  });
});
