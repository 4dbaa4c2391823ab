// The built command line's --netns on a real kernel (`node dist/src/cli/main.js --netns NS ...`): the table it writes
// and lists is the namespace's, as ipvsadm reads it there through `ip netns exec`; -Lnc shows the namespace's
// connections; `health` reaches a server only that namespace can reach; a namespace that cannot be entered is one
// line naming it and why. Real-kernel sandbox only (IPVS_KERNEL=1):
// `node scripts/sandbox.mjs --kernel-suite -- test/kernel/cli-netns.kernel.test.ts`.

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/index.js';
import { createNamespace, deleteNamespaces } from './netns.js';
import { LAB_SETUP_MS, waitFor } from './traffic/net.js';

const onKernel = process.env.IPVS_KERNEL === '1';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli/main.js');
const SERVER_ADDRESS = '10.77.0.2';
const VIP = '10.77.0.100';

/**
 * Inside the namespace: a TCP server on SERVER_ADDRESS:8080 (no other namespace has that address), and, on a line on
 * standard input, a datagram to the VIP's UDP service, for which IPVS makes a connection entry.
 */
const SERVER = `
  const net = require('node:net');
  const dgram = require('node:dgram');
  net.createServer((s) => s.on('error', () => {})).listen(8080, '${SERVER_ADDRESS}', () => console.log('ready'));
  const u = dgram.createSocket('udp4');
  process.stdin.on('data', () => u.send('x', 53, '${VIP}'));
`;
/** The VIP as /proc/net/ip_vs_conn writes it (hex). */
const VIP_HEX = '0A4D0064';

const sh = (cmd: string, args: readonly string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });

/** `ipvs ARGS` (the built CLI), run to its end; `prefix` runs it under another program (`unshare --user`). */
function ipvs(args: readonly string[], { input = '', prefix = [] as string[], node = [] as string[] } = {}) {
  const [cmd, ...rest] = [...prefix, process.execPath, ...node, CLI, ...args];
  const r = spawnSync(cmd!, rest, { cwd: ROOT, input, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!onKernel)('ipvs --netns, the built command line (real kernel)', () => {
  const ns = `cli-netns-${process.pid}`;
  const scratch = mkdtempSync(join(tmpdir(), 'cli-netns-'));
  let server: ChildProcess;
  let said = '';

  beforeAll(async () => {
    createNamespace(ns, ['link set lo up', 'link add dum0 type dummy', `addr add ${SERVER_ADDRESS}/24 dev dum0`, 'link set dum0 up']);
    server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
    server.stdout!.setEncoding('utf8').on('data', (d: string) => (said += d));
    await waitFor('the server in the namespace to listen', () => said.includes('ready'), LAB_SETUP_MS);
  }, LAB_SETUP_MS + 10_000);

  afterAll(() => {
    server?.kill();
    deleteNamespaces([ns]);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('writes and lists the namespace table ipvsadm reads there, by name or /proc path; -Lnc its connections', async () => {
    const rootTable = sh('ipvsadm', ['-Sn']);
    const rules = `-A -t ${VIP}:80 -s rr\n-a -t ${VIP}:80 -r ${SERVER_ADDRESS}:8080 -m -w 2\n-A -u ${VIP}:53 -s rr\n-a -u ${VIP}:53 -r ${SERVER_ADDRESS}:53 -m -w 1\n`;
    expect(ipvs(['--netns', ns, '-R'], { input: rules })).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(sh('ip', ['netns', 'exec', ns, 'ipvsadm', '-Sn'])).toBe(rules);
    expect(sh('ipvsadm', ['-Sn'])).toBe(rootTable);
    // `ip netns exec` execs the program in place: the server's pid is a process inside the namespace.
    const byPath = ipvs([`--netns=/proc/${server.pid}/ns/net`, '-Ln']);
    expect(byPath).toEqual({ code: 0, stdout: sh('ip', ['netns', 'exec', ns, 'ipvsadm', '-Ln']), stderr: '' });

    // A client inside the namespace sends to the VIP's UDP service: IPVS makes an entry, in that namespace only.
    server.stdin!.write('send\n');
    await waitFor('the entry of the datagram to the VIP', () => readFileSync(`/proc/${server.pid}/net/ip_vs_conn`, 'utf8').includes(VIP_HEX), 20_000);
    const conns = ipvs(['--netns', ns, '-Lnc']);
    expect(conns.code).toBe(0);
    expect(conns.stderr).toBe('');
    // The expiry counts down between the two reads.
    const row = (text: string): string[] => text.split('\n').filter((l) => l.includes(`${VIP}:53`)).map((l) => l.replace(/\d\d:\d\d /, 'MM:SS '));
    expect(row(conns.stdout)).toHaveLength(1);
    expect(row(conns.stdout)[0]).toMatch(new RegExp(`^UDP +MM:SS +UDP +\\S+ +${VIP.replaceAll('.', '\\.')}:53 +${SERVER_ADDRESS.replaceAll('.', '\\.')}:53`));
    expect(row(conns.stdout)).toEqual(row(sh('ip', ['netns', 'exec', ns, 'ipvsadm', '-Lnc'])));
    // The process's own namespace has no such entry.
    expect(readFileSync('/proc/net/ip_vs_conn', 'utf8')).not.toContain(VIP_HEX);
  });

  it('health checks a server only the namespace reaches, and sets its weight in the namespace table', async () => {
    // From here (the test's namespace) the server cannot be reached at all.
    const fromHere = await new Promise<string>((resolve) => {
      const c = connect(8080, SERVER_ADDRESS, () => resolve('connected'));
      c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      c.setTimeout(3000, () => resolve('timeout'));
    });
    expect(fromHere).not.toBe('connected');
    const config = join(scratch, 'health.json');
    const service = { protocol: 'tcp', address: '10.77.0.101', port: 80, scheduler: 'rr' } as const;
    writeFileSync(config, JSON.stringify({
      services: [{ ...service, destinations: [{ address: SERVER_ADDRESS, port: 8080, forwarding: 'masq', weight: 3 }], check: { type: 'tcp', intervalMs: 200, timeoutMs: 5000 } }],
    }));
    const rootTable = sh('ipvsadm', ['-Sn']);
    const health = spawn(process.execPath, [CLI, '--netns', ns, 'health', '-v', config], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    health.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    health.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => health.once('close', (code) => resolve(code)));
    const table = await Ipvs.open({ netns: ns });
    try {
      const weight = async (): Promise<number | undefined> =>
        (await table.destinations(service).catch(() => [])).find((d) => d.address === SERVER_ADDRESS)?.weight;
      await waitFor('the server up at weight 3 in the namespace table', async () => (await weight()) === 3, 30_000);
      // Checks passed, none failed: the checks' sockets are made in the namespace.
      await waitFor('two passing checks', () => (out.match(/: ok, /g) ?? []).length >= 2, 30_000);
      expect(out).not.toMatch(/FAILED|error|warning/);
      expect(sh('ipvsadm', ['-Sn'])).toBe(rootTable);
    } finally {
      health.kill('SIGTERM');
      await table.close();
    }
    expect(await exited).toBe(0);
  });

  it('a namespace that cannot be entered: one line naming it and why, status 2', () => {
    expect(ipvs(['--netns', 'no-such-ns', '-Ln'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'ipvs: cannot open network namespace "no-such-ns" at /var/run/netns/no-such-ns: it does not exist (create it with `ip netns add`, or pass a /proc/PID/ns/net path)\n',
    });
    // Root of a user namespace of its own: CAP_SYS_ADMIN there, none over the target's (the initial one's).
    expect(ipvs(['--netns', ns, '-Ln'], { prefix: ['unshare', '--user', '--map-root-user'] })).toEqual({
      code: 2,
      stdout: '',
      stderr: `ipvs: cannot enter network namespace "${ns}" (/var/run/netns/${ns}): entering a network namespace needs CAP_SYS_ADMIN over the user namespace that owns it, and this process runs in another user namespace (a container), whose capabilities count only over the namespaces it owns\n`,
    });
    // koffi's binding stood in for as missing.
    const withoutKoffi = 'data:text/javascript,' + encodeURIComponent(
      "import Module from 'node:module'; const load = Module._load; Module._load = function (r, ...rest) { if (r === 'koffi' || r.startsWith('koffi/')) throw new Error('Cannot find the native Koffi module (stood in for)\\nmore'); return load.call(this, r, ...rest); };",
    );
    expect(ipvs(['--netns', ns, '-Ln'], { node: ['--import', withoutKoffi] })).toEqual({
      code: 2,
      stdout: '',
      stderr: `ipvs: cannot enter network namespace "${ns}": the \`koffi\` package, which entering one needs, cannot be loaded (Cannot find the native Koffi module (stood in for)); \`ip netns exec\` needs no such package\n`,
    });
  });
});
