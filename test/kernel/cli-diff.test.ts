// Differential tests of the `ipvs` command line against the real ipvsadm 1.31 on a real kernel. Each
// scenario gets two fresh network namespaces: command lines run with ipvsadm in one and with `ipvs` in the
// other. Then every listing form must print the same bytes, every refusal must give the same exit status
// and message, and the state must be the same afterwards. Runs only inside the UML sandbox (IPVS_KERNEL=1),
// as root. The harness (and why it is batched) is test/helpers/cli-diff-pair.ts.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KernelSocketTransport } from '../../native/socket.js';
import { Ipvs } from '../../src/client.js';
import { addForeignServices, addRawDestinations, GRE_AND_ESP, type ForeignService } from '../helpers/foreign-service.js';
import { enabled, ipvsadmBatch, must, type Outcome, pair, quote, runIpvs, scratch, sh, useCliDiffHooks, words } from '../helpers/cli-diff-pair.js';

useCliDiffHooks();

describe.runIf(enabled)('ipvs vs ipvsadm 1.31 on a real kernel', () => {
  it('services, forwarding methods, tunnels, flags and edits; every listing form', async () => {
    const p = pair();
    await p.both(
      '-A -t 10.0.0.1:80 -s wrr',
      '-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 3 -x 100 -y 10',
      // tunnels: every type, every checksum choice, and none given (flags 0 saves as --tun-nocsum)
      '-a -t 10.0.0.1:80 -r 10.0.0.3 -i',
      '-a -t 10.0.0.1:80 -r 10.0.0.9 -i --tun-type ipip',
      '-a -t 10.0.0.1:80 -r 10.0.0.4 -i --tun-type gue --tun-port 6080 --tun-csum',
      '-a -t 10.0.0.1:80 -r 10.0.0.10 -i --tun-type gue --tun-port 6082',
      '-a -t 10.0.0.1:80 -r 10.0.0.11 -i --tun-type gue --tun-port 6083 --tun-nocsum',
      '-a -t 10.0.0.1:80 -r 10.0.0.6 -i --tun-type gue --tun-port 6081 --tun-remcsum',
      '-a -t 10.0.0.1:80 -r 10.0.0.5 -i --tun-type gre --tun-nocsum',
      '-a -t 10.0.0.1:80 -r 10.0.0.12 -i --tun-type gre',
      '-a -t 10.0.0.1:80 -r 10.0.0.13 -i --tun-type gre --tun-csum',
      '-a -t 10.0.0.1:80 -r 192.168.1.1 -g',
      '-a -t 10.0.0.1:80 -r 10.0.0.8 -g -w 65536',
      '-e -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 5',
      '-e -t 10.0.0.1:80 -r 10.0.0.12 -i --tun-type gue --tun-port 7000 --tun-remcsum',
      // one-packet scheduling, alone and with persistence and a persistence engine
      '-A -u 10.0.0.1:53 -s rr -o',
      '-a -u 10.0.0.1:53 -r 10.0.0.2:5353 -m -w 0',
      '-A -u 192.168.1.113:5060 -s rr -p 120 --pe sip -o',
      '-a -u 192.168.1.113:5060 -r 192.168.1.20:5060 -m',
      '-A -u 10.0.0.1:5060 -p 120 --pe sip',
      // scheduler flags with and without persistence, sh and mh names, the generic names
      '-A -u 192.168.1.111:53 -s mh -p 30 -b mh-fallback',
      '-A -u 192.168.1.111:54 -s mh -b mh-port,mh-fallback',
      '-A -t 192.168.1.2:80 -s sh -b flag-1',
      '-A -t 192.168.1.2:81 -s mh -b flag-1,flag-2 -p 10',
      // accepted by both: -M without -p is ignored, one-packet on a firewall mark
      '-A -t 10.0.0.9:80 -M 255.255.255.0',
      '-A -f 12 -s rr -o',
      '-A -t 192.168.1.2:82 -s sh -b sh-fallback -p 15 -M 255.255.0.0',
      '-A --sctp-service 10.0.0.1:9999 -s lc',
      '-a --sctp-service 10.0.0.1:9999 -r 10.0.0.7 -g -y 3',
      // IPv6: addresses, masks, fwmark -6, tunnels
      '-A -t [2001:db8::1]:80 -s sh -b sh-port -p 60 -M 64',
      '-a -t [2001:db8::1]:80 -r [2001:db8::2]:80 -m',
      '-a -t [2001:db8::1]:80 -r [2001:db8::3]:8080 -m -w 7 -x 9',
      '-a -t [2001:db8::1]:80 -r [2001:db8::5]:80 -i --tun-type gue --tun-port 6080 --tun-csum',
      '-A -u [2001:db8::1]:53 -s rr -o -p 5',
      '-A -f 20 -6 -s mh -b mh-fallback,mh-port',
      '-a -f 20 -6 -r 2001:db8::4 -g',
      '-a -f 20 -6 -r [2001:db8::6]:0 -i --tun-type gre --tun-csum',
      '-A -f 21 -6 -s rr -p 100 -M 48',
      '-A -f 22 -6 -p',
      '-A -t 192.168.1.1:443 -s rr -p -M 255.255.255.0',
      '-A -t 192.168.1.1:80 -s dh',
      '-E -t 192.168.1.1:80 -s sed -p 30',
      '-A -t 10.1:8080 -s nq',
      '-A -t 192.168.1.1:http -s lblc',
      '-A -u 192.168.1.1:domain -s lblcr',
      '-A -t 192.168.1.1:8444 -s fo',
      '-A -t 192.168.1.1:8445 -s ovf',
      '-A -f 30 -s rr',
      '-a -f 30 -r 192.168.1.20 -g -x 50',
      '-A -f 31 -s wlc -p 3600 -M 255.255.255.0',
      '-a -f 31 -r 192.168.1.21 -m -w 2',
    );
    await p.sameListings([
      '-L -t 192.168.1.1:http',
      '-Ln -u 10.0.0.1:53 --rate',
      '-Ln -f 20 -6',
      '-Ln -t 10.0.0.1:80 --stats',
      '-Ln -t 10.0.0.1:80 --stats --exact',
      '-Ln -t 10.0.0.1:80 --thresholds',
      '-Ln -t 10.0.0.1:80 --persistent-conn',
      '-Ln -t 10.0.0.1:80 --tun-info',
      '-Ln --sctp-service 10.0.0.1:9999',
      '-Ln -t [2001:db8::1]:80 --tun-info',
      '-L -n -f 31',
    ]);
    // edits replace every field, as in ipvsadm
    await p.both(
      '-E -t 192.168.1.1:443 -s wlc',
      '-E -u 192.168.1.113:5060 -s wrr -p 200',
      '-E -f 21 -6 -s sh -b sh-port',
      '-e -t 10.0.0.1:80 -r 10.0.0.2:8080 -w 1',
      '-e -f 20 -6 -r 2001:db8::4 -m -w 9 -x 4 -y 2',
    );
    await p.both('-Sn', '-Ln', '-Ln --thresholds', '-Ln --tun-info');
    await p.both(
      '-d -t 10.0.0.1:80 -r 10.0.0.3',
      '-D -u 10.0.0.1:53',
      '-Z',
      '-Z -t 10.0.0.1:80',
      '-Z -t 0.0.0.0:0',
      '-Z -f 20 -6',
      '-Sn',
      '-Ln --stats',
      '-C',
    );
    await p.sameListings();
  });

  it('long option names, bundled short options and their values', async () => {
    const p = pair();
    await p.both(
      '--add-service --tcp-service 10.0.0.1:81 --scheduler wrr --persistent 50 --netmask 255.255.0.0',
      '--add-server --tcp-service 10.0.0.1:81 --real-server 10.0.0.2:81 --masquerading --weight 4 --u-threshold 10 --l-threshold 5',
      '--add-server -t 10.0.0.1:81 --real-server 10.0.0.3 --ipip --tun-type gue --tun-port 5555 --tun-remcsum',
      '--add-server -t 10.0.0.1:81 --real-server 10.0.0.4 --gatewaying',
      '--add-service --udp-service 10.0.0.1:99 --ops --scheduler=rr',
      '--add-service --fwmark-service 40 --ipv6 --scheduler mh --sched-flags flag-2',
      '--add-service --udp-service 10.0.0.1:5060 --persistent=30 --pe=sip',
      '--edit-service -t 10.0.0.1:81 -s lc',
      '--edit-server -t 10.0.0.1:81 -r 10.0.0.2:81 -m --weight=2',
      '-A -t10.0.0.1:90 -srr -p20',
      '-a -t 10.0.0.1:90 -r10.0.0.5 -mw3',
      '-Ln',
      '--list --numeric --tcp-service 10.0.0.1:81',
      '--list --numeric --stats --exact',
      '--list --numeric --rate',
      '-lnc',
      '--save -n',
      '--delete-server -t 10.0.0.1:81 -r 10.0.0.4',
      '--delete-service --udp-service 10.0.0.1:99',
      '--zero --tcp-service 10.0.0.1:81',
      '-Sn',
      '--clear',
      '-Sn',
    );
    // -h and -v: the same exit status; the texts are this project's own wording (ipvsadm's are not copied).
    const expected = ipvsadmBatch(p.ref, ['-h', '-v', '--help', '--version']);
    const actual = await p.ipvsLines(['-h', '-v', '--help', '--version']);
    expect(actual.map((o) => o.code)).toEqual(expected.map((o) => o.code));
    for (const o of actual) expect(o.stdout).not.toBe('');
  });

  it('timeouts and sync daemons', async () => {
    const p = pair();
    await p.both(
      '--set 900 120 300',
      '-L --timeout',
      '--set 0 60 0',
      '-L --timeout',
      '--start-daemon master --mcast-interface dum0 --syncid 5',
      '--start-daemon backup --mcast-interface dum0 --syncid 6 --sync-maxlen 1400 --mcast-group 239.1.2.3 --mcast-port 8849 --mcast-ttl 2',
      '-L --daemon',
      '-Ln --daemon',
      '--start-daemon master --mcast-interface dum0',
      '--stop-daemon master',
      '--stop-daemon master',
      '-L --daemon',
      '--stop-daemon backup',
      '--start-daemon master --mcast-interface nosuchif0',
      '--start-daemon master --mcast-interface dum0 --mcast-group ff02::1:8 --mcast-port 8850',
      '-L --daemon',
      '--stop-daemon master',
      '--start-daemon backup --mcast-interface dum0 --mcast-ttl 0',
      '--start-daemon backup --mcast-interface dum0 --sync-maxlen 10',
      '-L --daemon',
    );
    await p.sameListings();
  });

  it('a sync daemon interface named in multibyte characters: both keep its first 15 bytes', async () => {
    const p = pair();
    // 'é' is two bytes: 'éééééééa' is the 15-byte start of 'éééééééabc'.
    for (const ns of [p.ref, p.ours]) must('ip', ['-n', ns, 'link', 'add', 'éééééééa', 'type', 'dummy']);
    const out = await p.both(
      '--start-daemon backup --mcast-interface éééééééabc --syncid 3',
      '-L --daemon',
      '--stop-daemon backup',
      '--start-daemon backup --mcast-interface abcdefghijklmné',
    );
    expect(out[1]!.stdout).toBe('backup sync daemon (mcast=éééééééa, syncid=3, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n');
    expect(out[3]).toEqual({ code: 255, stdout: '', stderr: 'No such device\n' });
  });

  it('the same refusals, and the state unchanged', async () => {
    const p = pair();
    await p.both('-A -t 192.168.1.110:80 -s rr', '-a -t 192.168.1.110:80 -r 192.168.1.117:80 -g', '-A -f 10 -s rr');
    const before = p.save();
    const refused = await p.both(
      // refused by the kernel
      '-A -t 192.168.1.110:80',
      '-A -t 10.0.0.9:80 -s bogus',
      '-A -t 10.0.0.9:80 --pe bogus -p',
      '-E -t 10.0.0.9:80',
      '-E -t 192.168.1.110:80 -s bogus',
      '-D -t 10.0.0.9:80',
      '-a -t 10.0.0.9:80 -r 10.0.0.2',
      '-a -t 192.168.1.110:80 -r 192.168.1.117:80',
      '-e -t 192.168.1.110:80 -r 10.0.0.99',
      '-d -t 192.168.1.110:80 -r 10.0.0.99',
      '-d -f 11 -r 10.0.0.99',
      '-Z -t 10.0.0.9:80',
      '-Z -f 99',
      '-a -t 192.168.1.110:80 -r 10.0.0.2 -g -x 5 -y 10',
      // the service's lookup fails first, before the values the client checks itself
      '-A -t 192.168.1.110:80 -s bogus',
      '-E -t 10.0.0.9:80 -s bogus',
      '-a -t 10.0.0.9:80 -r 10.0.0.2 -g -x 5 -y 10',
      '-e -t 10.0.0.9:80 -r 10.0.0.2 -g -x 5 -y 10',
      '-a -t 192.168.1.110:80 -r 224.1.1.1 -m',
      // the kernel checks the thresholds before the address's type
      '-a -t 192.168.1.110:80 -r 224.1.1.1 -m -y 1',
      '-e -t 192.168.1.110:80 -r 224.1.1.1 -m -y 1',
      // addresses no host takes: the client refuses them itself, and prints the kernel's answer
      '-a -t 192.168.1.110:80 -r 0.0.0.0',
      '-a -t 192.168.1.110:80 -r 255.255.255.255 -m',
      '-e -t 192.168.1.110:80 -r 239.1.1.1',
      '-a -t 10.0.0.9:80 -r 224.1.1.1',
      '-A -t 10.0.0.9:81 -s rr -o',
      '--stop-daemon backup',
      '-L -n -t 10.0.0.9:80',
      '-L -n -f 99 -6',
      // refused before the kernel is asked
      '-C=',
      '-L --numeric=1',
      '-Ln=1',
      '-A -u 10.0.0.9:53 -o=',
      '-A -t 192.168.1.110',
      '-A -t 10.0.0.1:80 -o',
      '-A -t 300.1.1.1:80',
      '-A -t 10.0.0.9:80 -b bogus',
      '-A -t 10.0.0.9:80 -p 0',
      '-A -t 10.0.0.9:80 -p 2678401',
      '-A -t 10.0.0.9:80 -p abc',
      '-A -t [2001:db8::9]:80 -p 10 -M 129',
      '-a -t 192.168.1.110:80 -r 10.0.0.2 -w 2147483648',
      '-a -t 192.168.1.110:80 -r 10.0.0.2 -w -1',
      '-a -t 192.168.1.110:80 -r 10.0.0.2 -x -1',
      '-a -t 192.168.1.110:80 -r [2001:db8::2]:80 -g',
      '-a -t 192.168.1.110:80 -r 10.0.0.2 -i --tun-type gue',
      '-a -t 192.168.1.110:80 -r 10.0.0.2 -i --tun-type gre --tun-port 5',
      '-a -t 192.168.1.110:80 -r 10.0.0.2 -i --tun-type gre --tun-remcsum',
      '-a -t 192.168.1.110:80 -r 10.0.0.2 -i --tun-type ipip --tun-csum',
      '-a -t 192.168.1.110:80 -r 10.0.0.2 -i --tun-type vxlan',
      '-a -t 192.168.1.110:80 -r 10.0.0.2 -i --tun-type gue --tun-port 0',
      '-a -t 192.168.1.110:80 -r 10.0.0.2 -i --tun-type gue --tun-port 1 --tun-csum --tun-nocsum',
      '-a -t 192.168.1.110:80 -r 10.0.0.2 -m -g',
      '-a -t 192.168.1.110:80 -r 10.0.0.2 -s rr',
      '-A -6 -f 1',
      '-A -t',
      '-A',
      '-L --bogus',
      '-Lq',
      '-t 10.0.0.1:80 -A',
      '--set 1 2',
      '--set a b c',
      '-L --timeout --stats',
      '-L -c -t 10.0.0.1:80',
      '-Lc --stats',
      '-S -t 192.168.1.110:80',
      '-C -n',
      '-R -n',
      '-A -t 10.0.0.1:80 -D',
      '-A -t 10.0.0.1:80 unexpected',
      '-A -t 10.0.0.1:80 -s rr -s wlc',
      '-A -f 0',
      '-A -f 4294967296',
      '--start-daemon primary',
      '--start-daemon master --syncid 256',
      '--start-daemon master --mcast-port 0',
      '--start-daemon master --mcast-group 10.0.0.1',
      '--stop-daemon',
    );
    expect(refused.filter((o) => o.code === 0)).toEqual([]);
    expect(p.save()).toBe(before);
    await p.sameListings();
  });

  it('scheduler flags: generic flag-N with every scheduler, printed by the scheduler names', async () => {
    const p = pair();
    const steps = [
      '-A -t 10.200.0.1:80 -s rr -b flag-1,flag-3',
      '-A -t 10.200.0.1:81 -s rr -b sh-port',
      '-A -t 10.200.0.1:82 -s sh -b flag-2',
      '-A -t 10.200.0.1:83 -s mh -b flag-3',
      '-A -t 10.200.0.1:84 -s sh -b flag-1,flag-2,flag-3',
      '-A -t 10.200.0.1:85 -s mh -b mh-fallback,sh-port',
      '-A -t 10.200.0.1:86 -s wlc -b flag-2,mh-fallback',
      '-A -t 10.200.0.1:87 -s rr -b flag-4',
      '-A -t 10.200.0.1:88 -s rr -b flag-1 -p 30',
      '-A -t 10.200.0.1:90 -s rr -b flag-1,,flag-2',
      '-A -t 10.200.0.1:91 -s rr -b FLAG-1',
      '-A -t 10.200.0.1:92 -s rr -b flag-1,flag-1',
      '-A -t 10.200.0.1:93 -b flag-3,flag-2',
      '-A -u 10.200.0.1:53 -s sh -o -b flag-3',
      '-A -f 5 -s mh -b flag-3,mh-port',
      '-A -f 6 -6 -s wrr -p -b flag-2',
      '-A -t 10.200.0.2:80 -s lc -b flag-1,flag-2,flag-3',
      '-A -t 10.200.0.2:81 -s wlc -b flag-1,flag-2,flag-3',
      '-A -t 10.200.0.2:82 -s lblc -b flag-1',
      '-A -t 10.200.0.2:83 -s lblcr -b flag-2',
      '-A -t 10.200.0.2:84 -s dh -b flag-3',
      '-A -t 10.200.0.2:85 -s sed -b flag-1,flag-3',
      '-A -t 10.200.0.2:86 -s nq -b flag-2,flag-3',
      '-A -t 10.200.0.2:87 -s fo -b flag-1',
      '-A -t 10.200.0.2:88 -s ovf -b flag-3',
      '-A -t 10.200.0.2:89 -s wrr -b flag-1,flag-2',
      '-A -t 10.200.0.2:90 -s mh -b flag-1,flag-2,flag-3',
      '-A -t 10.200.0.2:91 -s sh -b flag-3',
      // none: no scheduler, as Linux takes it
      '-A -t 10.200.0.2:92 -s none -b flag-1,flag-3',
      '-A -t 10.200.0.2:93 -s none -b sh-port',
      '-a -t 10.200.0.2:92 -r 10.200.0.9 -m -w 3',
      '-Sn',
      '-Ln',
      // edits: -E without -b clears the scheduler flags; a scheduler change renames the same bits
      '-E -t 10.200.0.1:80 -s sh',
      '-E -t 10.200.0.1:82 -s rr -b flag-2',
      '-E -t 10.200.0.1:84 -s mh -b flag-1,flag-3',
      '-E -f 5 -s wlc -b flag-1,flag-2',
      '-E -t 10.200.0.2:91 -s none -p 60',
      '-E -t 10.200.0.2:92 -s rr',
      '-Sn',
      '-Ln -t 10.200.0.1:84',
      '-Ln -f 5',
    ];
    const outcomes = await p.both(...steps);
    expect(steps.filter((_, i) => outcomes[i]!.code !== 0)).toEqual([
      '-A -t 10.200.0.1:81 -s rr -b sh-port',
      '-A -t 10.200.0.1:85 -s mh -b mh-fallback,sh-port',
      '-A -t 10.200.0.1:86 -s wlc -b flag-2,mh-fallback',
      '-A -t 10.200.0.1:87 -s rr -b flag-4',
      '-A -t 10.200.0.1:91 -s rr -b FLAG-1',
      '-A -t 10.200.0.2:93 -s none -b sh-port',
    ]);
    await p.sameListings();
  });

  it('-R applies ipvsadm save text; the result saves the same', async () => {
    const p = pair();
    const rules = [
      '-A -t 192.168.1.110:80 -s rr',
      'ipvsadm -a -t 192.168.1.110:80 -r 192.168.1.116:80 -g -w 2',
      '-a -t 192.168.1.110:80 -r 192.168.1.117:80 -m -w 1',
      '-A -f 10 -s rr -p 60',
      '-a -f 10 -r 192.168.1.116:0 -g -w 1',
      '',
      '-A -u [2001:db8::1]:53 -s wlc -p 300 -M 64 -o',
      '-a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -m -w 5',
      '-A -t 10.0.0.1:80 -s sh -b sh-fallback,sh-port',
      '-a -t 10.0.0.1:80 -r 10.0.0.4:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum',
      '-a -t 10.0.0.1:80 -r 10.0.0.5:80 -i -w 1 --tun-type gre --tun-nocsum',
      '-A -u 192.168.1.113:5060 -s rr -p 120 --pe sip -o',
      '-A -u 192.168.1.111:53 -s mh -p 30 -b mh-fallback',
      '-A -f 20 -6 -s rr -p 60 -M 64',
      '-a -f 20 -6 -r [2001:db8::4]:0 -g -w 1 -x 10 -y 5',
      '',
    ].join('\n');
    await p.both({ line: '-R', input: rules });
    await p.sameListings();
    // the save text of one side restores into an empty table on the other to the same state
    const saved = (await p.ipvs('-Sn')).stdout;
    const q = pair();
    await q.both({ line: '-R', input: saved }, '-Sn');
    expect((await q.ipvs('-Sn')).stdout).toBe(saved);
  });

  it('-R and a line the kernel refuses: ipvsadm goes on, ipvs stops there with the line number', async () => {
    const p = pair();
    await p.both('-A -t 192.168.1.110:80 -s rr');
    const rules = '-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2 -m\n-A -t 192.168.1.110:80\n-A -t 10.0.0.2:80\n-a -t 10.0.0.1:80 -r 10.0.0.3 -m\n';
    // ipvsadm 1.31 prints the kernel's refusal, carries on with the next lines and exits 0 ...
    const [expected] = ipvsadmBatch(p.ref, [{ line: '-R', input: rules }, '-Sn']);
    expect(expected).toEqual({ code: 0, stdout: '', stderr: 'Service already exists\n' });
    // ... ipvs reports the first refused line and applies nothing after it (issue 5's -R contract).
    expect(await p.ipvs('-R', rules)).toEqual({ code: 255, stdout: '', stderr: 'line 3: Service already exists\n' });
    const [ours] = ipvsadmBatch(p.ours, ['-Sn']);
    expect(ours!.stdout.split('\n').sort()).toEqual(
      ['', '-A -t 10.0.0.1:80 -s wlc', '-A -t 192.168.1.110:80 -s rr', '-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1'].sort(),
    );
    // the lines before the refused one are the same on both sides
    const [ref] = ipvsadmBatch(p.ref, ['-Sn']);
    expect(ref!.stdout).toContain('-A -t 10.0.0.2:80 -s wlc\n');
  });

  it('-R with a malformed line applies nothing (ipvs) and names the line', async () => {
    const p = pair();
    await p.both('-A -t 192.168.1.110:80 -s rr');
    const before = (await p.ipvs('-Sn')).stdout;
    const r = await p.ipvs('-R', '-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2 -w 2147483648\n');
    expect(r).toEqual({ code: 2, stdout: '', stderr: 'line 2: illegal weight specified\n' });
    expect((await p.ipvs('-Sn')).stdout).toBe(before);
    // a kernel refusal is reported with its line; the lines before it are applied, none after it
    const k = await p.ipvs('-R', '-A -t 10.0.0.1:80\n-A -t 192.168.1.110:80\n-A -t 10.0.0.2:80\n');
    expect(k).toEqual({ code: 255, stdout: '', stderr: 'line 2: Service already exists\n' });
    expect((await p.ipvs('-Sn')).stdout).toBe(`${before}-A -t 10.0.0.1:80 -s wlc\n`);
  });

  it('-R and a last line without its newline: ipvsadm drops it when two blanks follow its last word, ipvs applies it', async () => {
    const p = pair();
    // ipvsadm 1.31's reader returns no line when it meets the end of the input while skipping blanks after a
    // word (docs/cli.md): one blank is read with the word, a second one loses the line, silently.
    const endings = [['', false], [' ', false], ['  ', true], [' \t', true], ['\t\r', true]] as const;
    const steps = endings.flatMap(([ending]) => [{ line: '-R', input: `-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.2:80 -s rr${ending}` }, '-Sn', '-C']);
    const expected = ipvsadmBatch(p.ref, steps);
    const actual = await p.ipvsLines(steps);
    endings.forEach(([ending, dropped], i) => {
      expect({ ending, ref: expected[3 * i], ours: actual[3 * i] }).toEqual({ ending, ref: { code: 0, stdout: '', stderr: '' }, ours: { code: 0, stdout: '', stderr: '' } });
      const kept = (o: Outcome | undefined): boolean => o!.stdout.includes('10.0.0.2:80');
      expect({ ending, ref: kept(expected[3 * i + 1]), ours: kept(actual[3 * i + 1]) }).toEqual({ ending, ref: !dropped, ours: true });
    });
  });

  it('services of protocols ipvsadm has no option for (made raw, as another tool can): listed, saved and flushed alike', async () => {
    const p = pair();
    // The report's table (GRE on port 80, ESP on port 0) and more: protocol 0, 255, 300 (the kernel keeps 16
    // bits), an IPv6 one, a tunnel destination, beside services of every protocol ipvsadm names.
    const foreign: ForeignService[] = [
      ...GRE_AND_ESP,
      { protocol: 0, address: '10.9.9.8', port: 22 },
      { protocol: 1, address: '200.1.1.1', port: 80 },
      { protocol: 255, address: '10.9.9.1', port: 443, destination: { address: '10.9.9.11', forwarding: 'tunnel' } },
      { protocol: 300, address: '10.9.9.1', port: 80 },
      { protocol: 47, address: '2001:db8::1', port: 80, destination: { address: '2001:db8::10' } },
    ];
    for (const ns of [p.ref, p.ours]) await addForeignServices(new KernelSocketTransport({ netns: ns }), foreign);
    await p.both(
      '-A -t 10.9.9.9:80 -s rr',
      '-A -u 10.9.9.9:53 -s rr',
      '-A --sctp-service 10.9.9.9:80 -s rr',
      '-A -t 200.1.1.1:80 -s rr',
      '-A -t [2001:db8::1]:80 -s rr',
      '-A -f 5 -s rr',
      '-A --xxx-service 10.9.9.7:80 -s rr',
    );
    await p.sameListings(['-Ln --exact', '-L --thresholds', '-L --tun-info']);
    const [saved] = await p.both('-Sn');
    expect(saved!.stdout).toContain('-A --xxx-service 10.9.9.9:80 -s rr\n-a --xxx-service 10.9.9.9:80 -r 10.9.9.10:80 -m -w 1\n');
    await p.both('-C', '-Sn', '-Ln');
  });

  it('destinations with a forwarding method or tunnel type without a name (made raw, as another tool can): listed, saved, edited and deleted alike', async () => {
    const p = pair();
    await p.both('-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 10.0.1.1 -m', '-A -t 10.0.0.3:80 -s rr', '-a -t 10.0.0.3:80 -r 10.0.3.1 -m');
    for (const ns of [p.ref, p.ours]) {
      await addRawDestinations(new KernelSocketTransport({ netns: ns }), { protocol: 6, address: '10.0.0.1', port: 80 }, [
        { address: '10.0.1.5', fwd: 5 },
        { address: '10.0.1.7', fwd: 7, weight: 3 },
        { address: '10.0.1.13', fwd: 2, tunnel: { type: 3 } },
        { address: '10.0.1.14', fwd: 2, tunnel: { type: 200, port: 5555, flags: 1 } },
      ]);
    }
    await p.sameListings(['-L --tun-info']);
    await p.both('-e -t 10.0.0.1:80 -r 10.0.1.13 -i -w 0', '-d -t 10.0.0.1:80 -r 10.0.1.5', '-Sn', '-Ln --tun-info', '-C', '-Sn');
  });

  it('a port-0 service without persistence: refused by both programs and the client; made raw, Linux refuses connections to its address', async () => {
    const p = pair();
    await p.both('-A -t 10.0.0.1:0 -s rr', '-A -u 10.0.0.1:0', '-A -t 10.0.0.1:0 -s rr -p 10', '-E -t 10.0.0.1:0 -s rr', '-Sn');
    const ipvs = await Ipvs.open({ netns: p.ours });
    try {
      await expect(ipvs.updateService({ protocol: 'tcp', address: '10.0.0.1', port: 0 })).rejects.toMatchObject({ field: 'port', value: 0 });
      const connect = `
        const net = require('node:net');
        net.createServer((c) => c.end('up')).listen(80, '10.0.0.1', () => {
          const a = net.connect(80, '10.0.0.1'); let got = '';
          a.on('data', (d) => (got += d)).on('error', (e) => { console.log(e.code); process.exit(0); });
          a.on('close', () => { console.log(got); process.exit(0); });
        });`;
      const run = (): string => sh('ip', ['netns', 'exec', p.ours, process.execPath, '-e', connect]).stdout.trim();
      // The same service and real server (this host, routed: delivered as it came), persistent or not. Persistent,
      // port 80's connection goes through it to the local server; made non-persistent by another tool, Linux finds it
      // for port 80, schedules nothing and refuses the connection.
      const zero = { protocol: 'tcp', address: '10.0.0.1', port: 0 } as const;
      await ipvs.addDestination(zero, { address: '10.0.0.1', forwarding: 'route' });
      expect(run()).toBe('up');
      // Through IPVS: its connection to 10.0.0.1:80 is in the table (the counters show it only once the estimator ran).
      expect(sh('ip', ['netns', 'exec', p.ours, 'cat', '/proc/net/ip_vs_conn']).stdout).toMatch(/^TCP [0-9A-F]{8} [0-9A-F]{4} 0A000001 0050 0A000001 0050 /m);
      await ipvs.deleteService(zero);
      await addForeignServices(new KernelSocketTransport({ netns: p.ours }), [{ protocol: 6, address: '10.0.0.1', port: 0, destination: { address: '10.0.0.1', forwarding: 'route' } }]);
      expect(await ipvs.service(zero)).not.toHaveProperty('persistence');
      expect(await ipvs.destinations(zero)).toMatchObject([{ address: '10.0.0.1', port: 0, forwarding: 'route' }]);
      expect(run()).toBe('ECONNREFUSED');
    } finally {
      await ipvs.close();
    }
  });

  it("ipvsadm's sort order with a cycle in its comparison, on one namespace's dump order", async () => {
    const p = pair();
    // 1.x < 97.x < 193.x < 1.x under libipvs's signed 32-bit subtraction: the result depends on the input order
    // (the kernel's hash order) and on glibc's merge sort, reproduced by ipvs.
    const lines = ['1.0.0.1', '97.0.0.1', '193.0.0.1', '2.0.0.9', '150.1.1.1', '60.0.0.1', '230.0.0.1'].flatMap((a, i) => [
      `-A -t ${a}:80 -s rr`,
      `-a -t ${a}:80 -r 192.168.1.${i + 2}:80 -m`,
      `-a -t ${a}:80 -r 10.0.0.${i + 2}:80 -m`,
      `-a -t ${a}:80 -r 100.0.0.${i + 2}:80 -m`,
    ]);
    // Both read the same namespace (ours): the same dump order.
    expect(ipvsadmBatch(p.ours, lines).every((o) => o.code === 0)).toBe(true);
    const expected = ipvsadmBatch(p.ours, ['-Ln', '-Sn', '-L', '-Ln --stats']);
    const actual = await p.ipvsLines(['-Ln', '-Sn', '-L', '-Ln --stats']);
    expect(actual).toEqual(expected);
  });

  it('the connection table: real connections and templates, the same snapshot read by both', async () => {
    const p = pair();
    const ns = p.ours;
    const setup = ipvsadmBatch(ns, [
      '-A -t 10.0.0.1:80 -s rr -p 60',
      '-a -t 10.0.0.1:80 -r 10.0.0.1:8080 -m',
      '-A -u 10.0.0.1:53 -s rr',
      '-a -u 10.0.0.1:53 -r 10.0.0.1:5353 -m',
      '-A -t [2001:db8::1]:80 -s rr',
      '-a -t [2001:db8::1]:80 -r [2001:db8::1]:8080 -m',
    ]);
    expect(setup.map((o) => o.code)).toEqual([0, 0, 0, 0, 0, 0]);
    // Local clients go through IPVS too: a listener on the real port, then TCP (v4, v6) and UDP traffic.
    const traffic = `
      const net = require('node:net'); const dgram = require('node:dgram');
      const srv = net.createServer((c) => c.end()).listen(8080, '::');
      srv.on('listening', () => {
        const a = net.connect(80, '10.0.0.1'); a.on('error', () => {});
        const b = net.connect(80, '2001:db8::1'); b.on('error', () => {});
        const u = dgram.createSocket('udp4'); u.send('x', 53, '10.0.0.1', () => u.close());
        setTimeout(() => process.exit(0), 700);
      });`;
    expect(sh('ip', ['netns', 'exec', ns, process.execPath, '-e', traffic]).code).toBe(0);
    const snapshot = sh('ip', ['netns', 'exec', ns, 'cat', '/proc/net/ip_vs_conn']).stdout;
    expect(snapshot).toMatch(/^UDP /m);
    expect(snapshot).toMatch(/^TCP [0-9A-F]{8} 0000 /m); // a persistence template (client port 0)
    expect(snapshot).toMatch(/^TCP [0-9a-f]{4}:/m); // an IPv6 connection
    const file = join(scratch, `snapshot-${ns}`);
    writeFileSync(file, snapshot);
    const forms = ['-Lnc', '-Lc', '-Lnc --persistent-conn', '-L -c -n --persistent-conn', '-L --connection'];
    // ipvsadm reads a fixed path: give it the same snapshot through a private /proc in a mount namespace.
    const script = [
      'mount -t tmpfs none /proc && mkdir /proc/net',
      `cp ${quote(file)} /proc/net/ip_vs_conn`,
      ...forms.map((f, i) => `ipvsadm ${f} >${quote(`${file}.${i}.out`)} 2>${quote(`${file}.${i}.err`)}; echo $? >${quote(`${file}.${i}.rc`)}`),
    ].join('\n');
    expect(sh('ip', ['netns', 'exec', ns, 'unshare', '-m', 'sh', '-c', script]).code).toBe(0);
    for (const [i, line] of forms.entries()) {
      const expected = {
        code: Number(readFileSync(`${file}.${i}.rc`, 'utf8').trim()),
        stdout: readFileSync(`${file}.${i}.out`, 'utf8'),
        stderr: readFileSync(`${file}.${i}.err`, 'utf8'),
      };
      const actual = await runIpvs(words(line), undefined, file);
      expect({ line, ...actual }).toEqual({ line, ...expected });
    }
  });

  it.runIf(existsSync(new URL('../../dist/src/cli/main.js', import.meta.url)))('the built executable under ip netns exec', async () => {
    const p = pair();
    const main = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;
    // One node start for the whole sequence (node's start-up is the slow part under UML).
    const lines = ['-A -t 192.168.1.110:80 -s rr', '-a -t 192.168.1.110:80 -r 192.168.1.116:80 -m', '-Sn', '-Ln', '-Lnc', '-L --timeout', '-A -t 192.168.1.110:80'];
    const expected = ipvsadmBatch(p.ref, lines);
    const script = lines
      .map((l, i) => `node ${quote(main)} ${l} >${quote(`${scratch}/exe.${i}.out`)} 2>${quote(`${scratch}/exe.${i}.err`)}; echo $? >${quote(`${scratch}/exe.${i}.rc`)}`)
      .join('\n');
    must('ip', ['netns', 'exec', p.ours, 'sh', '-c', script]);
    const actual = lines.map((_, i) => ({
      code: Number(readFileSync(`${scratch}/exe.${i}.rc`, 'utf8').trim()),
      stdout: readFileSync(`${scratch}/exe.${i}.out`, 'utf8'),
      stderr: readFileSync(`${scratch}/exe.${i}.err`, 'utf8'),
    }));
    expect(actual).toEqual(expected);
    expect(actual.at(-1)).toEqual({ code: 255, stdout: '', stderr: 'Service already exists\n' });
  });
});
