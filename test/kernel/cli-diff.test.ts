// Differential tests of the `ipvs` command line against the real ipvsadm 1.31 on a real kernel. Each
// scenario gets two fresh network namespaces: command lines run with /usr/sbin/ipvsadm in one and with
// `ipvs` (in-process through runCli, the client opened in the other namespace) in the other. Then every
// listing form must print the same bytes, every refusal must give the same exit status and message, and
// the state must be the same afterwards. Runs only inside the UML sandbox (IPVS_KERNEL=1), as root.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { runCli } from '../../src/cli/run.js';

const enabled = process.env.IPVS_KERNEL === '1';
// The test namespaces route 10.0.0.0/8 to a dummy device, which swallows DNS queries to a resolver in that
// range: both sides would wait out the resolver's full timeouts for every name lookup of -L / -S / -Lc. One
// short try each (glibc reads RES_OPTIONS, for ipvsadm's gethostbyaddr and our getnameinfo alike) keeps the
// outputs identical (the numeric form) and the run short.
process.env.RES_OPTIONS = 'timeout:1 attempts:1';
const IPVSADM = '/usr/sbin/ipvsadm';
const scratch = mkdtempSync(join(tmpdir(), 'ipvs-cli-diff-'));
const created: string[] = [];
let counter = 0;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(cmd: string, args: string[], input?: string): Outcome {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function must(cmd: string, args: string[]): void {
  const r = sh(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

/** A fresh namespace with lo and a dummy interface carrying the test addresses. */
function namespace(role: string): string {
  const name = `ipvs-diff-${process.pid}-${++counter}-${role}`;
  must('ip', ['netns', 'add', name]);
  created.push(name);
  return name;
}

function setUpNamespace(name: string): void {
  const run = (args: string[]): void => must('ip', ['netns', 'exec', name, ...args]);
  run(['ip', 'link', 'set', 'lo', 'up']);
  run(['ip', 'link', 'add', 'dum0', 'type', 'dummy']);
  run(['ip', 'addr', 'add', '192.168.1.1/24', 'dev', 'dum0']);
  run(['ip', 'addr', 'add', '10.0.0.1/8', 'dev', 'dum0']);
  run(['ip', '-6', 'addr', 'add', '2001:db8::1/64', 'dev', 'dum0', 'nodad']);
  run(['ip', 'link', 'set', 'dum0', 'up']);
}

class Pair {
  readonly ref: string;
  readonly ours: string;
  constructor() {
    this.ref = namespace('ref');
    this.ours = namespace('ours');
    setUpNamespace(this.ref);
    setUpNamespace(this.ours);
  }

  ipvsadm(args: readonly string[], input?: string): Outcome {
    // `ip netns exec` runs the program by name, so its argv[0] (used in ipvsadm's hints) is "ipvsadm".
    return sh('ip', ['netns', 'exec', this.ref, 'ipvsadm', ...args], input);
  }

  async ipvs(args: readonly string[], input?: string): Promise<Outcome> {
    let stdout = '';
    let stderr = '';
    // /proc/net is per namespace and this process stays in its own: copy the table out of the target.
    const connFile = join(scratch, `conn-${this.ours}`);
    writeFileSync(connFile, sh('ip', ['netns', 'exec', this.ours, 'cat', '/proc/net/ip_vs_conn']).stdout);
    const code = await runCli(args, {
      ipvs: () => Ipvs.open({ netns: this.ours }),
      stdin: input ?? '',
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      procConnPath: connFile,
      programName: 'ipvsadm',
    });
    return { code, stdout, stderr };
  }

  /** Run a command line on both sides; both must agree on status, output and error text. */
  async both(line: string, input?: string): Promise<Outcome> {
    const args = line.split(' ').filter((w) => w !== '');
    const expected = this.ipvsadm(args, input);
    const actual = await this.ipvs(args, input);
    expect({ line, ...actual }).toEqual({ line, ...expected });
    return actual;
  }

  /** The same state: the save form, and every listing form, byte for byte. */
  async sameListings(extra: readonly string[] = [], withNames = true): Promise<void> {
    // Forms with names resolve every address (slow without a reachable resolver): once per scenario is enough.
    const named = withNames ? ['-S', '-L', '-Lc'] : [];
    for (const line of [
      '-Sn',
      ...named,
      '-Ln',
      '-l -n',
      '-Ln --stats',
      '-Ln --rate',
      '-Ln --stats --exact',
      '-Ln --rate --exact',
      '-Ln --thresholds',
      '-Ln --persistent-conn',
      '-Ln --tun-info',
      '-L --timeout',
      '-L --daemon',
      '-Lnc',
      '-Lnc --persistent-conn',
      ...extra,
    ]) {
      await this.both(line);
    }
    // Without sorting the order is the kernel's hash order, which depends on the namespace: same lines.
    const a = this.ipvsadm(['-Ln', '--nosort']);
    const b = await this.ipvs(['-Ln', '--nosort']);
    expect(b.code).toBe(a.code);
    expect(b.stdout.split('\n').sort()).toEqual(a.stdout.split('\n').sort());
  }

  async save(): Promise<string> {
    const r = this.ipvsadm(['-Sn']);
    expect(r.code).toBe(0);
    const o = sh('ip', ['netns', 'exec', this.ours, 'ipvsadm', '-Sn']);
    expect(o.stdout).toBe(r.stdout);
    return r.stdout;
  }
}

afterAll(() => {
  for (const name of created) sh('ip', ['netns', 'del', name]);
  rmSync(scratch, { recursive: true, force: true });
});

describe.runIf(enabled)('ipvs vs ipvsadm 1.31 on a real kernel', () => {
  it('the seed document, unchanged', async () => {
    const p = new Pair();
    for (const line of [
      '-A -t 192.168.1.110:0 -s rr -p 600',
      '-A -f 10 -s rr -p 60',
      '-a -f 10 -r 192.168.1.116 -g',
      '-a -f 10 -r 192.168.1.117 -g',
      '-A -t 192.168.1.110:80',
      '-a -t 192.168.1.110:80 -r 192.168.1.116:80 -g -w 2',
      '-a -t 192.168.1.110:80 -r 192.168.1.117:80 -g',
      '-d -t 192.168.1.110:80 -r 192.168.1.116:80',
    ]) {
      await p.both(line);
    }
    await p.sameListings(['-Ln -t 192.168.1.110:80', '-L -n -f 10', '-Ln -t 192.168.1.110:0 --stats']);
    await p.save();
  });

  it('a broad set of services, forwarding methods, tunnels, flags and edits', async () => {
    const p = new Pair();
    const lines = [
      '-A -t 10.0.0.1:80 -s wrr',
      '-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 3 -x 100 -y 10',
      '-a -t 10.0.0.1:80 -r 10.0.0.3 -i',
      '-a -t 10.0.0.1:80 -r 10.0.0.4 -i --tun-type gue --tun-port 6080 --tun-csum',
      '-a -t 10.0.0.1:80 -r 10.0.0.5 -i --tun-type gre --tun-nocsum',
      '-a -t 10.0.0.1:80 -r 10.0.0.6 -i --tun-type gue --tun-port 6081 --tun-remcsum',
      '-a -t 10.0.0.1:80 -r 192.168.1.1 -g',
      '-a -t 10.0.0.1:80 -r 10.0.0.8 -g -w 65536',
      '-e -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 5',
      '-A -u 10.0.0.1:53 -s rr -o',
      '-a -u 10.0.0.1:53 -r 10.0.0.2:5353 -m -w 0',
      '-A --sctp-service 10.0.0.1:9999 -s lc',
      '-a --sctp-service 10.0.0.1:9999 -r 10.0.0.7 -g',
      '-A -t [2001:db8::1]:80 -s sh -b sh-port -p 60 -M 64',
      '-a -t [2001:db8::1]:80 -r [2001:db8::2]:80 -m',
      '-a -t [2001:db8::1]:80 -r [2001:db8::3]:8080 -m -w 7',
      '-A -f 20 -6 -s mh -b mh-fallback,mh-port',
      '-a -f 20 -6 -r 2001:db8::4 -g',
      '-A -t 192.168.1.1:443 -s rr -p -M 255.255.255.0',
      '-A -t 192.168.1.1:80 -s dh',
      '-E -t 192.168.1.1:80 -s sed -p 30',
      '-A -t 10.1:8080 -s nq',
      '-A -t 192.168.1.1:http -s lblc',
      '-A -t 192.168.1.1:8443 -s lblcr',
      '-A -t 192.168.1.1:8444 -s fo',
      '-A -t 192.168.1.1:8445 -s ovf',
      '-A -f 30 -s rr',
      '-a -f 30 -r 192.168.1.20 -g -x 50',
      '-A -t 192.168.1.2:80 -s sh -b flag-1',
      '-A -u 10.0.0.1:5060 -p 120 --pe sip',
    ];
    for (const line of lines) await p.both(line);
    await p.sameListings(['-L -t 192.168.1.1:http', '-Ln -u 10.0.0.1:53 --rate', '-Ln -f 20 -6']);
    // edits replace every field, as in ipvsadm
    await p.both('-E -t 192.168.1.1:443 -s wlc');
    await p.both('-e -t 10.0.0.1:80 -r 10.0.0.2:8080 -w 1');
    await p.sameListings([], false);
    await p.both('-d -t 10.0.0.1:80 -r 10.0.0.3');
    await p.both('-D -u 10.0.0.1:53');
    await p.both('-Z');
    await p.both('-Z -t 10.0.0.1:80');
    await p.both('-Z -t 0.0.0.0:0');
    await p.sameListings([], false);
    await p.both('-C');
    await p.sameListings();
  }, 600_000);

  it('timeouts and sync daemons', async () => {
    const p = new Pair();
    await p.both('--set 900 120 300');
    await p.both('-L --timeout');
    await p.both('--set 0 60 0');
    await p.both('-L --timeout');
    await p.both('--start-daemon master --mcast-interface dum0 --syncid 5');
    await p.both('--start-daemon backup --mcast-interface dum0 --syncid 6 --sync-maxlen 1400 --mcast-group 239.1.2.3 --mcast-port 8849 --mcast-ttl 2');
    await p.both('-L --daemon');
    await p.both('--start-daemon master --mcast-interface dum0');
    await p.both('--stop-daemon master');
    await p.both('--stop-daemon master');
    await p.both('-L --daemon');
    await p.both('--stop-daemon backup');
    await p.both('--start-daemon master --mcast-interface nosuchif0');
    await p.sameListings();
  });

  it('the same refusals, and the state unchanged', async () => {
    const p = new Pair();
    for (const line of [
      '-A -t 192.168.1.110:80 -s rr',
      '-a -t 192.168.1.110:80 -r 192.168.1.117:80 -g',
      '-A -f 10 -s rr',
    ]) {
      await p.both(line);
    }
    const before = await p.save();
    for (const line of [
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
      '-a -t 192.168.1.110:80 -r 224.1.1.1 -m',
      '--stop-daemon backup',
      '-L -n -t 10.0.0.9:80',
      // refused before the kernel is asked
      '-A -t 192.168.1.110',
      '-A -t 10.0.0.1:80 -o',
      '-A -t 300.1.1.1:80',
      '-a -t 192.168.1.110:80 -r 10.0.0.2 -w 2147483648',
      '-a -t 192.168.1.110:80 -r [2001:db8::2]:80 -g',
      '-a -t 192.168.1.110:80 -r 10.0.0.2 -i --tun-type gue',
      '-A -6 -f 1',
      '-A -t',
      '-L --bogus',
      '-Lq',
      '-t 10.0.0.1:80 -A',
      '--set 1 2',
      '-L --timeout --stats',
      '-L -c -t 10.0.0.1:80',
      '-C -n',
      '-A -t 10.0.0.1:80 -D',
      '-A -t 10.0.0.1:80 unexpected',
      '-A -t 10.0.0.1:80 -s rr -s wlc',
      '-A -f 0',
      '--start-daemon primary',
    ]) {
      await p.both(line);
    }
    expect(await p.save()).toBe(before);
    await p.sameListings();
  });

  it('-R applies ipvsadm save text; the result saves the same', async () => {
    const p = new Pair();
    const rules = [
      '-A -t 192.168.1.110:80 -s rr',
      '-a -t 192.168.1.110:80 -r 192.168.1.116:80 -g -w 2',
      '-a -t 192.168.1.110:80 -r 192.168.1.117:80 -m -w 1',
      '-A -f 10 -s rr -p 60',
      '-a -f 10 -r 192.168.1.116:0 -g -w 1',
      '-A -u [2001:db8::1]:53 -s wlc -p 300 -M 64 -o',
      '-a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -m -w 5',
      '-A -t 10.0.0.1:80 -s sh -b sh-fallback,sh-port',
      '-a -t 10.0.0.1:80 -r 10.0.0.4:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum',
      '',
    ].join('\n');
    await p.both('-R', rules);
    await p.sameListings();
    // the save text of one side restores into an empty table on the other to the same state
    const saved = (await p.ipvs(['-Sn'])).stdout;
    const q = new Pair();
    await q.both('-R', saved);
    expect((await q.ipvs(['-Sn'])).stdout).toBe(saved);
  });

  it('-R with a malformed line applies nothing (ipvs) and names the line', async () => {
    const p = new Pair();
    await p.both('-A -t 192.168.1.110:80 -s rr');
    const before = (await p.ipvs(['-Sn'])).stdout;
    const r = await p.ipvs(['-R'], '-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2 -w 2147483648\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('line 2: illegal weight specified\n');
    expect((await p.ipvs(['-Sn'])).stdout).toBe(before);
    // a kernel refusal is reported with its line; earlier lines stay applied
    const k = await p.ipvs(['-R'], '-A -t 10.0.0.1:80\n-A -t 192.168.1.110:80\n-A -t 10.0.0.2:80\n');
    expect(k.code).toBe(255);
    expect(k.stderr).toBe('line 2: Service already exists\n');
    // lines 2 and 3 went in one pipelined window: the kernel refused line 2 and carried out line 3
    expect((await p.ipvs(['-Sn'])).stdout).toBe(`${before}-A -t 10.0.0.1:80 -s wlc\n-A -t 10.0.0.2:80 -s wlc\n`);
  });

  it("ipvsadm's sort order with a cycle in its comparison, on one namespace's dump order", async () => {
    const p = new Pair();
    const ns = p.ours;
    // 1.x < 97.x < 193.x < 1.x under libipvs's signed 32-bit subtraction: the result depends on the input order
    // (the kernel's hash order) and on glibc's merge sort, reproduced by ipvs.
    const lines = ['1.0.0.1', '97.0.0.1', '193.0.0.1', '2.0.0.9', '150.1.1.1', '60.0.0.1', '230.0.0.1'].flatMap((a, i) => [
      `-A -t ${a}:80 -s rr`,
      `-a -t ${a}:80 -r 192.168.1.${i + 2}:80 -m`,
      `-a -t ${a}:80 -r 10.0.0.${i + 2}:80 -m`,
      `-a -t ${a}:80 -r 100.0.0.${i + 2}:80 -m`,
    ]);
    for (const line of lines) expect(sh('ip', ['netns', 'exec', ns, 'ipvsadm', ...line.split(' ')]).code).toBe(0);
    for (const line of ['-Ln', '-Sn']) {
      const expected = sh('ip', ['netns', 'exec', ns, 'ipvsadm', ...line.split(' ')]);
      expect({ line, ...(await p.ipvs(line.split(' '))) }).toEqual({ line, ...expected });
    }
  });

  it('the connection table: real connections and templates, the same snapshot read by both', async () => {
    const p = new Pair();
    const ns = p.ours;
    for (const line of [
      '-A -t 10.0.0.1:80 -s rr -p 60',
      '-a -t 10.0.0.1:80 -r 10.0.0.1:8080 -m',
      '-A -u 10.0.0.1:53 -s rr',
      '-a -u 10.0.0.1:53 -r 10.0.0.1:5353 -m',
      '-A -t [2001:db8::1]:80 -s rr',
      '-a -t [2001:db8::1]:80 -r [2001:db8::1]:8080 -m',
    ]) {
      const r = sh('ip', ['netns', 'exec', ns, 'ipvsadm', ...line.split(' ')]);
      expect(r.code).toBe(0);
    }
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
    for (const line of ['-Lnc', '-Lc', '-Lnc --persistent-conn', '-L -c -n --persistent-conn']) {
      // ipvsadm reads a fixed path: give it the same snapshot through a private /proc in a mount namespace.
      const script = `mount -t tmpfs none /proc && mkdir /proc/net && cp ${file} /proc/net/ip_vs_conn && exec ipvsadm ${line}`;
      const expected = sh('ip', ['netns', 'exec', ns, 'unshare', '-m', 'sh', '-c', script]);
      let stdout = '';
      let stderr = '';
      const code = await runCli(line.split(' '), {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        procConnPath: file,
        programName: 'ipvsadm',
      });
      expect({ line, code, stdout, stderr }).toEqual({ line, ...expected });
    }
  }, 300_000);

  it.runIf(existsSync(new URL('../../dist/src/cli/main.js', import.meta.url)))('the built executable under ip netns exec', async () => {
    const p = new Pair();
    const main = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;
    for (const line of ['-A -t 192.168.1.110:80 -s rr', '-a -t 192.168.1.110:80 -r 192.168.1.116:80 -m']) {
      const args = line.split(' ');
      expect(p.ipvsadm(args).code).toBe(0);
      expect(sh('ip', ['netns', 'exec', p.ours, 'node', main, ...args]).code).toBe(0);
    }
    for (const line of ['-Sn', '-Ln', '-Lnc', '-L --timeout']) {
      const args = line.split(' ');
      const expected = p.ipvsadm(args);
      const actual = sh('ip', ['netns', 'exec', p.ours, 'node', main, ...args]);
      expect(actual).toEqual(expected);
    }
    const bad = sh('ip', ['netns', 'exec', p.ours, 'node', main, '-A', '-t', '192.168.1.110:80']);
    expect(bad).toEqual({ code: 255, stdout: '', stderr: 'Service already exists\n' });
  });
});
