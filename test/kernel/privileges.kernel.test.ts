// Who may do what, on the real kernel: the library, the command line and the `ipvs health` daemon run by a
// process with CAP_NET_ADMIN alone (a service user given it as an ambient capability, as systemd's
// AmbientCapabilities= does, with no_new_privs), by one without it, and by root of a user namespace (a
// container: IPVS checks CAP_NET_ADMIN in the initial user namespace). Each runs test/kernel/privileges-probe.mjs
// (the built package: `npm run build` first) in a namespace of its own under `setpriv`; a refusal must be a
// KernelError or one line naming what is missing, and must leave the table as it was.
// `node scripts/sandbox.mjs --kernel-suite -- test/kernel/privileges.kernel.test.ts` (about 20 s of tests in UML on a quiet host).

import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespaces } from './netns.js';

const onKernel = process.env.IPVS_KERNEL === '1';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PROBE = fileURLToPath(new URL('./privileges-probe.mjs', import.meta.url));
const built = existsSync(join(ROOT, 'dist/src/cli/run.js'));
const run = promisify(execFile);

const VIP = '10.61.0.1';
const RS = '10.61.0.2';
const PORT = 8081;
// A service user: nobody, no supplementary groups, no new privileges (what systemd's NoNewPrivileges= sets).
const USER = ['--reuid=65534', '--regid=65534', '--clear-groups', '--no-new-privs'];
// The unit of README's "Privileges": User=, AmbientCapabilities=CAP_NET_ADMIN, CapabilityBoundingSet=CAP_NET_ADMIN,
// NoNewPrivileges=yes, and ProtectSystem=strict's read-only file system (/ and /run remounted read-only in a mount
// namespace of its own).
const WITH_NET_ADMIN = ['setpriv', ...USER, '--bounding-set=-all,+net_admin', '--inh-caps=+net_admin', '--ambient-caps=+net_admin'];
const READ_ONLY = ['unshare', '--mount', 'sh', '-ec', 'for m in / /run; do mount -o remount,bind,ro "$m"; done; exec "$@"', 'sh'];
const WITHOUT = ['setpriv', ...USER];
// Root of a user namespace of its own, made by that same user (as rootless containers are), in the test's namespace.
const IN_USER_NAMESPACE = [...WITHOUT, 'unshare', '--user', '--map-root-user'];

interface Refusal { name: string; code: string; message: string }
type Outcome = 'ok' | Refusal;
interface CliRun { code: number; stdout: string; stderr: string }
interface Probe {
  uid: number;
  wrote: string;
  open: Outcome;
  forcedReceiveBuffer?: boolean;
  lib: Record<string, Outcome>;
  netns: Outcome;
  cli: Record<string, CliRun> & { health: CliRun | { code: number; log: string } };
}

function userNamespaceUnavailable(): boolean {
  try {
    execFileSync(IN_USER_NAMESPACE[0]!, [...IN_USER_NAMESPACE.slice(1), 'true'], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
}

describe.skipIf(!onKernel || !built)('privileges on the real kernel (service user, no capability, user namespace)', () => {
  let dir: string;
  const names: string[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ipvs-privileges-'));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'rules'), `-A -t ${VIP}:443 -s rr\n`, { mode: 0o644 });
    const check = { type: 'tcp', intervalMs: 200, timeoutMs: 5000 };
    const service = { protocol: 'tcp', address: VIP, port: 82, scheduler: 'rr', destinations: [{ address: RS, port: PORT, forwarding: 'masq' }], check };
    writeFileSync(join(dir, 'health.json'), JSON.stringify({ services: [service] }), { mode: 0o644 });
  });
  afterAll(() => {
    deleteNamespaces(names);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A namespace with the VIP and the real server's address, `seed` (ipvsadm -R lines) in its table. */
  function namespace(seed: string): string {
    const ns = `priv-${process.pid}-${names.length}`;
    names.push(ns);
    createNamespace(ns, ['link set lo up', 'link add dum0 type dummy', `addr add ${VIP}/24 dev dum0`, `addr add ${RS}/24 dev dum0`, 'link set dum0 up']);
    if (seed) execFileSync('ip', ['netns', 'exec', ns, 'ipvsadm', '-R'], { input: seed });
    return ns;
  }
  const saved = (ns: string): string => execFileSync('ip', ['netns', 'exec', ns, 'ipvsadm', '-Sn'], { encoding: 'utf8' });

  async function probe(ns: string, wrapper: readonly string[], expect: 'allowed' | 'refused'): Promise<Probe> {
    const args = JSON.stringify({ expect, vip: VIP, rs: RS, port: PORT, dir, netns: ns });
    const { stdout } = await run('ip', ['netns', 'exec', ns, ...wrapper, process.execPath, PROBE, args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    return JSON.parse(stdout) as Probe;
  }

  it('CAP_NET_ADMIN alone (a service user, as systemd gives it; read-only file system) does everything but enter another namespace', async () => {
    const ns = namespace('');
    const p = await probe(ns, [...READ_ONLY, ...WITH_NET_ADMIN], 'allowed');
    expect(p.uid).toBe(65534);
    expect(p.wrote).toBe('EROFS'); // nothing below needs to write a file
    expect(p.open).toBe('ok');
    expect(p.forcedReceiveBuffer).toBe(true); // SO_RCVBUFFORCE takes CAP_NET_ADMIN too
    for (const [call, outcome] of Object.entries(p.lib)) expect([call, outcome]).toEqual([call, 'ok']);
    // Entering a named namespace takes CAP_SYS_ADMIN: a refusal that names it, before the thread moves.
    expect(p.netns).toEqual({ name: 'IpvsError', code: 'EPERM', message: `cannot enter network namespace "${ns}" (/var/run/netns/${ns}): entering a network namespace needs CAP_SYS_ADMIN` });
    const { health, ...lines } = p.cli;
    for (const [line, r] of Object.entries(lines)) expect([line, r.code, r.stderr]).toEqual([line, 0, '']);
    expect(lines.list!.stdout).toContain(`TCP  ${VIP}:81 rr\n  -> ${RS}:81`);
    expect(lines.save!.stdout).toBe(`-A -t ${VIP}:81 -s rr\n-a -t ${VIP}:81 -r ${RS}:81 -m -w 1\n`);
    expect(JSON.parse(lines.export!.stdout)).toMatchObject({ services: [{ address: VIP, port: 81 }] });
    expect(lines.apply!.stdout).toContain(`+ service tcp ${VIP}:443`);
    expect(lines.connections!.stdout).toMatch(/^IPVS connection entries\n/);
    // The daemon: set up, the real server (a plain TCP connect, no raw socket) found up, SIGTERM ends it with 0.
    expect(health.code).toBe(0);
    const log = 'log' in health ? health.log : '';
    expect(log).toContain(`real server ${RS}:${PORT} is up`);
    expect(log).toContain('stopped; the services were deleted');
    expect(saved(ns)).toBe(''); // -C, then --remove-on-exit
  });

  const refusedEverywhere = (p: Probe, advice: string): void => {
    expect(p.open).toBe('ok'); // the family lookup needs no privilege
    expect(p.forcedReceiveBuffer).toBe(false);
    for (const [call, outcome] of Object.entries(p.lib)) {
      expect([call, outcome]).toEqual([call, { name: 'KernelError', code: 'EPERM', message: expect.stringContaining(`: permission denied; ${advice} [EPERM]`) }]);
    }
    const { connections, health, ...lines } = p.cli;
    // /proc/net/ip_vs_conn is readable by anyone: -Lnc needs no privilege.
    expect(connections).toMatchObject({ code: 0, stderr: '' });
    for (const [line, r] of Object.entries(lines)) {
      // ipvsadm's commands fail at start-up (status 2, as ipvsadm's); export says it could not read (1), apply
      // that it changed nothing (2).
      const startUp = line !== 'export' && line !== 'apply';
      const first = startUp ? "Can't initialize ipvs: get info" : `ipvs ${line}: list services`;
      expect([line, r]).toEqual([line, { code: line === 'export' ? 1 : 2, stdout: '', stderr: `${first}: permission denied; ${advice} [EPERM]\n` }]);
    }
    expect(health).toMatchObject({ code: 1, stdout: '' });
    expect((health as CliRun).stderr).toMatch(new RegExp(`^\\S+ error: cannot start: list services: permission denied; ${advice.replace(/[()]/g, '\\$&')} \\[EPERM\\]\\n$`));
  };

  it('without CAP_NET_ADMIN: every call a KernelError naming it, every command one line, the table untouched', async () => {
    const seed = `-A -t ${VIP}:80 -s wlc\n-a -t ${VIP}:80 -r ${RS}:80 -m -w 1\n`;
    const ns = namespace(seed);
    const p = await probe(ns, WITHOUT, 'refused');
    refusedEverywhere(p, 'IPVS needs CAP_NET_ADMIN (run as root or grant the capability)');
    expect(p.netns).toMatchObject({ code: 'EPERM', message: expect.stringMatching(/: entering a network namespace needs CAP_SYS_ADMIN$/) });
    expect(saved(ns)).toBe(seed);
  });

  it.skipIf(userNamespaceUnavailable())('root of a user namespace: refused whatever its capabilities, and told it must be the initial user namespace', async () => {
    const seed = `-A -t ${VIP}:80 -s wlc\n`;
    const ns = namespace(seed);
    const p = await probe(ns, IN_USER_NAMESPACE, 'refused');
    expect(p.uid).toBe(0);
    refusedEverywhere(p, 'IPVS needs CAP_NET_ADMIN in the initial user namespace, and this process runs in another user namespace (a container), where no capability counts');
    expect(p.netns).toMatchObject({ code: 'EPERM', message: expect.stringContaining('a process inside a user namespace lacks it') });
    expect(saved(ns)).toBe(seed);
  });
});
