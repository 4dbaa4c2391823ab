// The reconcile scenarios (test/reconcile/scenarios.ts) against the real kernel, each test in a fresh
// network namespace with lo up and a dummy interface carrying the addresses the scenarios use, so
// direct-route destinations are routable. Plus what only the real kernel can say: the table ipvsadm
// itself reads after an apply, a large apply that pipelines many requests per socket write, the
// client's own methods (ipvs.plan / ipvs.apply / ipvs.exportState), partial failure with the kernel's
// own refusals (another writer changes the table between the read and the writes), a drain held open
// by a real TCP connection through NAT, and the command-line words apply / diff / export (in-process
// and through the `ipvs` executable).
// Runs only in the UML sandbox (IPVS_KERNEL=1): `node scripts/sandbox.mjs --kernel-suite`.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { Ipvs } from '../../src/client.js';
import { KernelError } from '../../src/netlink/errors.js';
import { apply, plan, desiredStateFromRules, type DesiredState, type ReconcileClient } from '../../src/reconcile/index.js';
import { reconcileScenarios, baseState } from '../reconcile/scenarios.js';
import { Lab, waitFor } from './traffic/net.js';
import { createNamespace } from './netns.js';

const onKernel = process.env.IPVS_KERNEL === '1';
let counter = 0;

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

function makeNamespace(): string {
  const name = `recon-${process.pid}-${counter++}`;
  createNamespace(name, [
    'link set lo up',
    'link add dum0 type dummy',
    ...['192.168.1.1/24', '10.0.0.1/8'].map((a) => `addr add ${a} dev dum0`),
    'addr add 2001:db8::1/64 dev dum0 nodad',
    'link set dum0 up',
  ]);
  return name;
}

async function openFresh(): Promise<{ ipvs: Ipvs; ns: string; cleanup: () => Promise<void> }> {
  const ns = makeNamespace();
  const ipvs = await Ipvs.open({ netns: ns });
  return {
    ipvs,
    ns,
    cleanup: async () => {
      await ipvs.close();
      sh('ip', ['netns', 'del', ns]);
    },
  };
}

if (onKernel) {
  reconcileScenarios('real kernel (UML)', openFresh);

  describe('reconcile: real kernel only', () => {
    it('ipvsadm reads back exactly the state applied from its own save format', async () => {
      const h = await openFresh();
      try {
        await apply(h.ipvs, baseState());
        const saved = sh('ip', ['netns', 'exec', h.ns, 'ipvsadm', '-Sn']);
        const fromSave = desiredStateFromRules(saved);
        expect((await plan(h.ipvs, fromSave)).inSync).toBe(true);
        expect((await plan(h.ipvs, baseState())).inSync).toBe(true);
      } finally {
        await h.cleanup();
      }
    });

    it('applies 500 services x 4 destinations and converges to zero changes', async () => {
      const h = await openFresh();
      try {
        const big: DesiredState = {
          services: Array.from({ length: 500 }, (_, i) => ({
            protocol: 'tcp' as const,
            address: `10.1.${i >> 8}.${i & 255}`,
            port: 80,
            scheduler: 'rr' as const,
            destinations: Array.from({ length: 4 }, (_, j) => ({ address: `192.168.1.${10 + j}`, weight: 1 + ((i + j) % 5) })),
          })),
        };
        const r = await apply(h.ipvs, big);
        expect(r.failed.map((f) => f.error.message)).toEqual([]);
        expect(r.applied).toHaveLength(2500);
        expect((await plan(h.ipvs, big)).inSync).toBe(true);
        for (let i = 0; i < 500; i += 100) big.services[i]!.destinations![0]!.weight = 100;
        const changed = await apply(h.ipvs, big);
        expect(changed.plan.operations.map((o) => o.op)).toEqual(Array(5).fill('update-destination'));
        expect(changed.ok).toBe(true);
        expect(sh('ip', ['netns', 'exec', h.ns, 'ipvsadm', '-Sn']).split('\n').filter((l) => l.endsWith('-w 100'))).toHaveLength(5);
      } finally {
        await h.cleanup();
      }
    });
  });
  describe('reconcile: the client methods on the real kernel', () => {
    it('ipvs.plan / ipvs.apply: plans, dry run, idempotence, prune, export', async () => {
      const h = await openFresh();
      try {
        const { ipvs } = h;
        const p = await ipvs.plan(baseState());
        expect(p.operations.map((o) => o.op)).toEqual([...Array(4).fill('add-service'), ...Array(5).fill('add-destination')]);
        const dry = await ipvs.apply(baseState(), { dryRun: true });
        expect(dry.dryRun).toBe(true);
        expect(sh('ip', ['netns', 'exec', h.ns, 'ipvsadm', '-Sn'])).toBe('');
        const first = await ipvs.apply(baseState());
        expect(first.ok).toBe(true);
        expect(first.applied).toHaveLength(9);
        const second = await ipvs.apply(baseState());
        expect(second.plan.steps).toEqual([]);
        expect(second.applied).toEqual([]);
        expect(second.plan.inSync).toBe(true);
        const onlyWeb: DesiredState = { services: [baseState().services[0]!] };
        expect((await ipvs.apply(onlyWeb)).plan.unmanaged).toHaveLength(3);
        expect((await ipvs.services()).length).toBe(4);
        const pruned = await ipvs.apply(onlyWeb, { prune: true });
        expect(pruned.plan.operations.map((o) => o.op)).toEqual(['delete-service', 'delete-service', 'delete-service']);
        expect(pruned.ok).toBe(true);
        expect(sh('ip', ['netns', 'exec', h.ns, 'ipvsadm', '-Sn'])).toBe(
          '-A -t 192.168.1.110:80 -s rr\n-a -t 192.168.1.110:80 -r 192.168.1.116:80 -g -w 2\n-a -t 192.168.1.110:80 -r 192.168.1.117:80 -g -w 1\n',
        );
        const exported = await ipvs.exportState();
        expect((await ipvs.plan(exported, { prune: true })).inSync).toBe(true);
      } finally {
        await h.cleanup();
      }
    });

    it('partial failure: the kernel refuses steps another writer made stale; the result says what was applied, failed, not attempted; a re-run converges', async () => {
      const h = await openFresh();
      try {
        const { ipvs, ns } = h;
        await ipvs.apply(baseState());
        const WEB = { protocol: 'tcp', address: '192.168.1.110', port: 80 } as const;
        const NEW = { protocol: 'tcp', address: '192.168.1.111', port: 80 } as const;
        const desired = baseState();
        desired.services[0]!.destinations = [{ address: '192.168.1.116', weight: 5 }, { address: '192.168.1.119' }]; // 117 goes
        desired.services[1]!.scheduler = 'rr';
        desired.services.push({ ...NEW, scheduler: 'rr', destinations: [{ address: '192.168.1.120' }, { address: '192.168.1.121' }] });
        // Between apply's read of the table and its first write, ipvsadm changes the table under it.
        let raced = false;
        const racing: ReconcileClient = {
          iterateServices: (o) => ipvs.iterateServices(o),
          destinations: (k, o) => ipvs.destinations(k, o),
          execute: (ops, o) => {
            if (!raced) {
              raced = true;
              const adm = (...a: string[]): string => sh('ip', ['netns', 'exec', ns, 'ipvsadm', ...a]);
              adm('-A', '-t', '192.168.1.111:80', '-s', 'wlc');
              adm('-d', '-t', '192.168.1.110:80', '-r', '192.168.1.116');
              adm('-d', '-t', '192.168.1.110:80', '-r', '192.168.1.117');
            }
            return ipvs.execute(ops, o);
          },
        };
        const r = await apply(racing, desired);
        expect(r.ok).toBe(false);
        expect(r.applied.map((s) => `${s.operation.op} ${s.target}`)).toEqual([
          'update-service udp 192.168.1.110:53',
          'add-destination tcp 192.168.1.110:80 -> 192.168.1.119:80',
        ]);
        expect(r.failed.map((f) => [`${f.step.operation.op} ${f.step.target}`, f.error instanceof KernelError ? f.error.code : f.error.name])).toEqual([
          ['add-service tcp 192.168.1.111:80', 'EEXIST'],
          ['update-destination tcp 192.168.1.110:80 -> 192.168.1.116:80', 'ENOENT'],
          ['delete-destination tcp 192.168.1.110:80 -> 192.168.1.117:80', 'ENOENT'],
        ]);
        expect(r.failed.every((f) => f.error instanceof KernelError)).toBe(true);
        expect(r.notAttempted.map((n) => [n.step.target, n.reason])).toEqual([
          ['tcp 192.168.1.111:80 -> 192.168.1.120:80', 'depends on add-service tcp 192.168.1.111:80, which failed'],
          ['tcp 192.168.1.111:80 -> 192.168.1.121:80', 'depends on add-service tcp 192.168.1.111:80, which failed'],
        ]);
        // The next run plans from a fresh read: only what is still missing, and it converges.
        const again = await ipvs.apply(desired);
        expect(again.plan.steps.map((s) => `${s.operation.op} ${s.target}`)).toEqual([
          'update-service tcp 192.168.1.111:80',
          'add-destination tcp 192.168.1.110:80 -> 192.168.1.116:80',
          'add-destination tcp 192.168.1.111:80 -> 192.168.1.120:80',
          'add-destination tcp 192.168.1.111:80 -> 192.168.1.121:80',
        ]);
        expect(again.ok).toBe(true);
        expect((await ipvs.plan(desired)).inSync).toBe(true);
        expect((await ipvs.destinations(WEB)).map((d) => `${d.address} ${d.weight}`).sort()).toEqual(['192.168.1.116 5', '192.168.1.119 1']);
        expect((await ipvs.service(NEW)).scheduler).toBe('rr');
      } finally {
        await h.cleanup();
      }
    });
  });

  describe('reconcile: tables ipvsadm builds, every option, and the kernel refusing one step of a batch (UML)', () => {
    // Every option ipvsadm 1.31 sets: scheduler flags, persistence with a netmask (IPv4 and IPv6), the sip
    // engine, one-packet, thresholds, each tunnel type and checksum, port-0 and fwmark services of both families.
    const RICH = [
      '-A -t 192.168.1.110:80 -s sh -b sh-port,sh-fallback -p 60 -M 255.255.255.0',
      '-a -t 192.168.1.110:80 -r 192.168.1.116:8080 -m -w 3 -x 100 -y 10',
      '-a -t 192.168.1.110:80 -r 192.168.1.117 -g -w 0',
      '-a -t 192.168.1.110:80 -r 192.168.1.118 -i --tun-type gue --tun-port 6080 --tun-csum',
      '-a -t 192.168.1.110:80 -r 192.168.1.119 -i --tun-type gue --tun-port 6081 --tun-remcsum',
      '-a -t 192.168.1.110:80 -r 192.168.1.120 -i --tun-type gre --tun-csum',
      '-a -t 192.168.1.110:80 -r 192.168.1.122 -i --tun-type ipip',
      '-A -u 192.168.1.110:5060 -s rr -p 120 --pe sip -o',
      '-a -u 192.168.1.110:5060 -r 192.168.1.116 -m',
      '-A -f 10 -s mh -b mh-port,mh-fallback -p',
      '-a -f 10 -r 192.168.1.116 -g',
      '-A -f 10 -6 -s rr',
      '-A -t [2001:db8::10]:443 -s wrr -p 100 -M 64',
      '-a -t [2001:db8::10]:443 -r [2001:db8::20]:8443 -m -w 5',
      '-A --sctp-service 192.168.1.110:9 -s lc',
      '-A -t 192.168.1.110:81 -s rr -b flag-1,flag-3',
      '-A -u 192.168.1.110:53 -s wlc -o',
      '-A -t 192.168.1.110:0 -s rr -p 30',
      '-a -t 192.168.1.110:0 -r 192.168.1.116:0 -g',
    ];

    it('export -> apply round trip: the export plans no change on its own table and rebuilds it elsewhere; the -S text differs in thresholds only', async () => {
      const h = await openFresh();
      const other = await openFresh();
      try {
        const adm = (ns: string, ...a: string[]): string => sh('ip', ['netns', 'exec', ns, 'ipvsadm', ...a]);
        // One ipvsadm -R for all the lines: a process start costs about half a second under UML.
        execFileSync('ip', ['netns', 'exec', h.ns, 'ipvsadm', '-R'], { input: RICH.join('\n') + '\n' });
        const saved = adm(h.ns, '-Sn');
        const exported = await h.ipvs.exportState();
        expect(exported.services).toHaveLength(9);
        expect((await h.ipvs.plan(exported, { prune: true })).inSync).toBe(true);
        const rebuilt = await other.ipvs.apply(exported);
        expect(rebuilt.failed.map((f) => f.error.message)).toEqual([]);
        expect(rebuilt.ok).toBe(true);
        expect(adm(other.ns, '-Sn')).toBe(saved);
        expect(await other.ipvs.exportState()).toEqual(exported);
        expect((await other.ipvs.plan(exported, { prune: true })).inSync).toBe(true);
        // The save format has no thresholds: read back as desired state, it asks for 0 (docs/reconcile.md).
        const fromSave = await h.ipvs.plan(desiredStateFromRules(saved), { prune: true });
        expect(fromSave.steps.map((s) => [s.operation.op, s.target, s.detail])).toEqual([
          ['update-destination', 'tcp 192.168.1.110:80 -> 192.168.1.116:8080', 'upper threshold 100 -> 0, lower threshold 10 -> 0'],
        ]);
        // A non-contiguous netmask (ipvsadm sets it; the client refuses it as input): `ipvs export` writes it as
        // reported and says on standard error that apply will refuse it.
        adm(h.ns, '-A', '-t', '192.168.1.110:82', '-p', '60', '-M', '255.0.255.0');
        let stdout = '';
        let stderr = '';
        const code = await runCli(['export', '--compact'], {
          ipvs: () => Ipvs.open({ netns: h.ns }),
          stdout: { write: (t: string) => (stdout += t) },
          stderr: { write: (t: string) => (stderr += t) },
        });
        expect(code).toBe(0);
        expect(JSON.parse(stdout)).toEqual(await h.ipvs.exportState());
        expect(stderr).toMatch(/^ipvs export: warning: .*\n {2}invalid services\[\d\]\.persistence\.netmask "255\.0\.255\.0": .*\n$/);
      } finally {
        await other.cleanup();
        await h.cleanup();
      }
    });

    it('every option change is one update the kernel takes, and the next plan is empty', async () => {
      const h = await openFresh();
      try {
        const V6 = { protocol: 'tcp', address: '2001:db8::10', port: 443 } as const;
        const SIP = { protocol: 'udp', address: '10.0.0.1', port: 5060 } as const;
        const WEB = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
        const WEB2 = { protocol: 'tcp', address: '10.0.0.1', port: 81 } as const;
        const states: Array<[DesiredState, string[]]> = [
          [{ services: [
            { ...V6, persistence: { timeout: 60, netmask: 48 }, destinations: [{ address: '2001:db8::20' }] },
            { ...SIP, persistence: true, persistenceEngine: 'sip', destinations: [{ address: '10.0.0.2', forwarding: 'masq' }] },
            // A local address as a real server (dum0's own): the kernel keeps it as route, not as 'local'.
            { ...WEB, scheduler: 'sh', flags: ['sh-port'], destinations: [{ address: '10.0.0.3' }, { address: '2001:db8::30', forwarding: 'tunnel' }, { address: '10.0.0.1' }] },
            { fwmark: 7, destinations: [{ address: '10.0.0.4' }] },
            { fwmark: 7, family: 'ipv6', destinations: [{ address: '2001:db8::40' }] },
            { ...WEB2, destinations: [{ address: '10.0.0.5', upperThreshold: 100, lowerThreshold: 50 }] },
          ] }, Array<string>(6).fill('add-service').concat(Array<string>(8).fill('add-destination'))],
          [{ services: [
            { ...V6, destinations: [{ address: '2001:db8::20' }] },
            { ...SIP, persistence: true, destinations: [{ address: '10.0.0.2', forwarding: 'masq' }] },
            { ...WEB, scheduler: 'mh', flags: ['mh-port'], destinations: [
              { address: '10.0.0.3', forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080 } },
              { address: '2001:db8::30', forwarding: 'tunnel', tunnel: { type: 'gre', checksum: 'csum' } },
              { address: '10.0.0.1', forwarding: 'masq' },
            ] },
            { fwmark: 7, destinations: [{ address: '10.0.0.4', weight: 3 }] },
            { fwmark: 7, family: 'ipv6', destinations: [{ address: '2001:db8::40', weight: 4 }] },
            { ...WEB2, destinations: [{ address: '10.0.0.5', upperThreshold: 10, lowerThreshold: 5 }] },
          ] }, [...Array<string>(3).fill('update-service'), ...Array<string>(6).fill('update-destination')]],
          [{ services: [
            { ...V6, persistence: { timeout: 30 }, destinations: [{ address: '2001:db8::20' }] },
            { ...SIP, persistence: false, persistenceEngine: 'sip', destinations: [{ address: '10.0.0.2', forwarding: 'masq' }] },
            { ...WEB, scheduler: 'rr', destinations: [{ address: '10.0.0.3', forwarding: 'masq' }, { address: '10.0.0.1', forwarding: 'masq' }] },
            { fwmark: 7, destinations: [{ address: '10.0.0.4', forwarding: 'tunnel', tunnel: { type: 'ipip' } }] },
            { fwmark: 7, family: 'ipv6', destinations: [] },
            // A destination moves from one service to another.
            { ...WEB2, destinations: [{ address: '10.0.0.5' }, { address: '2001:db8::30', forwarding: 'tunnel' }] },
          ] }, [
            ...Array<string>(3).fill('update-service'), 'update-destination', 'update-destination', 'update-destination', 'add-destination',
            'delete-destination', 'delete-destination',
          ]],
        ];
        for (const [state, ops] of states) {
          const r = await h.ipvs.apply(state);
          expect(r.failed.map((f) => `${f.step.target}: ${f.error.message}`)).toEqual([]);
          expect(r.plan.operations.map((o) => o.op)).toEqual(ops);
          expect((await h.ipvs.plan(state)).steps).toEqual([]);
          expect(await h.ipvs.exportState()).toEqual(await h.ipvs.exportState()); // stable text
          expect((await h.ipvs.plan(await h.ipvs.exportState(), { prune: true })).inSync).toBe(true);
        }
      } finally {
        await h.cleanup();
      }
    });

    it('the kernel refuses one step in the middle of a pipelined batch: the rest is applied, the result says which; a re-run converges', async () => {
      const h = await openFresh();
      try {
        const { ipvs, ns } = h;
        const WEB = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
        await ipvs.apply({ services: [{ ...WEB, destinations: [{ address: '10.0.0.3' }] }] });
        // With a sync daemon running, Linux refuses a destination of the other address family (EINVAL); the
        // client cannot know it (a daemon of another program), so the step goes out with the others.
        sh('ip', ['-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
        sh('ip', ['-n', ns, 'addr', 'add', '10.9.0.1/24', 'dev', 'v0']);
        sh('ip', ['-n', ns, 'link', 'set', 'v0', 'up']);
        await ipvs.startDaemon({ state: 'master', interface: 'v0' });
        const desired: DesiredState = { services: [
          { ...WEB, destinations: [{ address: '10.0.0.3', weight: 2 }, { address: '10.0.0.4' }, { address: '2001:db8::30', forwarding: 'tunnel' }, { address: '10.0.0.5' }] },
          { protocol: 'udp', address: '10.0.0.1', port: 53, destinations: [{ address: '10.0.0.6', forwarding: 'masq' }] },
        ] };
        const r = await ipvs.apply(desired);
        expect(r.ok).toBe(false);
        expect(r.failed.map((f) => [f.step.target, f.error instanceof KernelError ? f.error.code : f.error.name])).toEqual([
          ['tcp 10.0.0.1:80 -> [2001:db8::30]:80', 'EINVAL'],
        ]);
        expect(r.notAttempted).toEqual([]);
        expect(r.applied.map((s) => `${s.operation.op} ${s.target}`)).toEqual([
          'add-service udp 10.0.0.1:53',
          'update-destination tcp 10.0.0.1:80 -> 10.0.0.3:80',
          'add-destination tcp 10.0.0.1:80 -> 10.0.0.4:80',
          'add-destination tcp 10.0.0.1:80 -> 10.0.0.5:80',
          'add-destination udp 10.0.0.1:53 -> 10.0.0.6:53',
        ]);
        expect(sh('ip', ['netns', 'exec', ns, 'ipvsadm', '-Sn'])).toBe(
          '-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.0.0.3:80 -g -w 2\n-a -t 10.0.0.1:80 -r 10.0.0.4:80 -g -w 1\n-a -t 10.0.0.1:80 -r 10.0.0.5:80 -g -w 1\n' +
            '-A -u 10.0.0.1:53 -s wlc\n-a -u 10.0.0.1:53 -r 10.0.0.6:53 -m -w 1\n',
        );
        await ipvs.stopDaemon('master');
        const again = await ipvs.apply(desired);
        expect(again.plan.steps.map((s) => `${s.operation.op} ${s.target}`)).toEqual(['add-destination tcp 10.0.0.1:80 -> [2001:db8::30]:80']);
        expect(again.ok).toBe(true);
        expect((await ipvs.plan(desired)).inSync).toBe(true);
      } finally {
        await h.cleanup();
      }
    });

    it('another writer deletes a service between the read and the writes: its steps fail with ESRCH, nothing else is touched, a re-run converges', async () => {
      const h = await openFresh();
      try {
        const { ipvs, ns } = h;
        const adm = (...a: string[]): string => sh('ip', ['netns', 'exec', ns, 'ipvsadm', ...a]);
        const A = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
        const B = { protocol: 'tcp', address: '10.0.0.1', port: 81 } as const;
        await ipvs.apply({ services: [{ ...A, destinations: [{ address: '10.0.0.3' }, { address: '10.0.0.4' }] }, { ...B, destinations: [{ address: '10.0.0.3' }] }] });
        adm('-A', '-u', '10.0.0.1:53'); // someone else's
        const desired: DesiredState = { services: [
          { ...A, scheduler: 'rr', destinations: [{ address: '10.0.0.3', weight: 2 }, { address: '10.0.0.5' }] },
          { ...B, destinations: [{ address: '10.0.0.3', weight: 3 }] },
        ] };
        let raced = false;
        const racing: ReconcileClient = {
          iterateServices: (o) => ipvs.iterateServices(o),
          destinations: (k, o) => ipvs.destinations(k, o),
          execute: (ops, o) => {
            if (!raced) {
              raced = true;
              adm('-D', '-t', '10.0.0.1:80');
            }
            return ipvs.execute(ops, o);
          },
        };
        const r = await apply(racing, desired);
        expect(r.applied.map((s) => `${s.operation.op} ${s.target}`)).toEqual(['update-destination tcp 10.0.0.1:81 -> 10.0.0.3:81']);
        expect(r.failed.map((f) => [`${f.step.operation.op} ${f.step.target}`, f.error instanceof KernelError ? f.error.code : f.error.name, f.error.message])).toEqual([
          ['update-service tcp 10.0.0.1:80', 'ESRCH', expect.stringContaining('10.0.0.1:80')],
          ['update-destination tcp 10.0.0.1:80 -> 10.0.0.3:80', 'ESRCH', expect.stringContaining('10.0.0.1:80')],
          ['add-destination tcp 10.0.0.1:80 -> 10.0.0.5:80', 'ESRCH', expect.stringContaining('10.0.0.1:80')],
          ['delete-destination tcp 10.0.0.1:80 -> 10.0.0.4:80', 'ESRCH', expect.stringContaining('10.0.0.1:80')],
        ]);
        expect(r.notAttempted).toEqual([]);
        const again = await ipvs.apply(desired);
        expect(again.plan.steps.map((s) => `${s.operation.op} ${s.target}`)).toEqual([
          'add-service tcp 10.0.0.1:80', 'add-destination tcp 10.0.0.1:80 -> 10.0.0.3:80', 'add-destination tcp 10.0.0.1:80 -> 10.0.0.5:80',
        ]);
        expect(again.ok).toBe(true);
        expect((await ipvs.plan(desired)).inSync).toBe(true);
        expect(adm('-Sn')).toContain('-A -u 10.0.0.1:53 -s wlc\n');
      } finally {
        await h.cleanup();
      }
    });
  });

  describe('reconcile: drain held open by a real connection (NAT, UML)', () => {
    //   cli 10.8.1.2 --- [cli0 10.8.1.1, VIP 10.8.1.100] dir [rs1 10.8.2.1] --- rs1 10.8.2.11
    //                                                      [rs2 10.8.3.1] --- rs2 10.8.3.11
    it('a destination leaving the state keeps its open connection at weight 0 and is deleted once it closes', async () => {
      const lab = new Lab('rk');
      let ipvs: Ipvs | undefined;
      try {
        const dir = lab.addNamespace('dir');
        const cli = lab.addNamespace('cli');
        const rsNs = [lab.addNamespace('rs1'), lab.addNamespace('rs2')];
        lab.sysctl(dir, 'net.ipv4.ip_forward=1');
        lab.veth({ ns: cli, ifname: 'c0', addresses: ['10.8.1.2/24'], gateway: '10.8.1.1' }, { ns: dir, ifname: 'cli0', addresses: ['10.8.1.1/24'] });
        lab.ip(dir, 'addr', 'add', '10.8.1.100/32', 'dev', 'cli0');
        rsNs.forEach((ns, i) => {
          lab.veth({ ns, ifname: 'e0', addresses: [`10.8.${2 + i}.11/24`], gateway: `10.8.${2 + i}.1` }, { ns: dir, ifname: `rs${i + 1}`, addresses: [`10.8.${2 + i}.1/24`] });
        });
        const [client, rs1, rs2] = await Promise.all([lab.agent(cli), lab.agent(rsNs[0]!), lab.agent(rsNs[1]!)]);
        await Promise.all([rs1.serve('rs1', [80]), rs2.serve('rs2', [80])]);
        ipvs = await Ipvs.open({ netns: dir });
        const VIP = { protocol: 'tcp', address: '10.8.1.100', port: 80 } as const;
        const ADDR: Record<string, string> = { rs1: '10.8.2.11', rs2: '10.8.3.11' };
        const both: DesiredState = { services: [{ ...VIP, scheduler: 'rr', destinations: [{ address: ADDR.rs1!, forwarding: 'masq' }, { address: ADDR.rs2!, forwarding: 'masq' }] }] };
        expect((await ipvs.apply(both)).ok).toBe(true);

        const url = 'http://10.8.1.100/keep';
        const opened = await client.sessionGet('held', url);
        expect(opened).toMatch(/^rs[12] 80 new-connection$/);
        const held = opened.split(' ')[0]!;
        const other = held === 'rs1' ? 'rs2' : 'rs1';
        const dest = async (name: string) => (await ipvs!.destinations(VIP)).find((d) => d.address === ADDR[name]);
        await waitFor('the held connection to count as active', async () => (await dest(held))?.activeConns === 1);

        const remaining: DesiredState = { services: [{ ...VIP, scheduler: 'rr', destinations: [{ address: ADDR[other]!, forwarding: 'masq' }] }] };
        const start = await ipvs.apply(remaining, { drain: true });
        expect(start.plan.steps.map((s) => [s.operation.op, s.drain === true, s.detail])).toEqual([
          ['update-destination', true, 'drain: weight 1 -> 0 (1 active, 0 inactive connections)'],
        ]);
        expect(start.ok).toBe(true);
        expect((await dest(held))?.weight).toBe(0);
        // The open connection still works; new ones all go to the other server.
        expect(await client.sessionGet('held', url)).toBe(`${held} 80 same-connection`);
        expect(await client.get(['http://10.8.1.100/'], { count: 4 })).toEqual(Array(4).fill(`${other} 80`));
        const waiting = await ipvs.apply(remaining, { drain: true });
        expect(waiting.plan.steps).toEqual([]);
        expect(waiting.plan.inSync).toBe(false);
        expect(waiting.plan.draining.map((d) => [d.target, d.activeConns])).toEqual([[`tcp 10.8.1.100:80 -> ${ADDR[held]}:80`, 1]]);
        expect(await dest(held)).toBeDefined();

        await client.sessionClose('held');
        await waitFor('the closed connection to stop counting as active', async () => (await dest(held))?.activeConns === 0);
        const done = await ipvs.apply(remaining, { drain: true });
        expect(done.plan.steps.map((s) => s.operation.op)).toEqual(['delete-destination']);
        expect(done.plan.steps[0]!.detail).toMatch(/^drained \(0 active, \d+ inactive connections\)$/);
        expect(done.ok).toBe(true);
        expect((await ipvs.destinations(VIP)).map((d) => d.address)).toEqual([ADDR[other]]);
        expect((await ipvs.plan(remaining, { drain: true })).inSync).toBe(true);
      } finally {
        await ipvs?.close();
        await lab.cleanup();
      }
    });
  });

  describe('reconcile: the command line on the real kernel', () => {
    const STATE = {
      services: [
        { protocol: 'tcp', address: '192.168.1.110', port: 80, scheduler: 'rr', destinations: [{ address: '192.168.1.116', weight: 2 }, { address: '192.168.1.117' }] },
        { fwmark: 10, persistence: { timeout: 60 }, destinations: [{ address: '192.168.1.118' }] },
      ],
    };
    const SAVED =
      '-A -t 192.168.1.110:80 -s rr\n-a -t 192.168.1.110:80 -r 192.168.1.116:80 -g -w 2\n-a -t 192.168.1.110:80 -r 192.168.1.117:80 -g -w 1\n' +
      '-A -f 10 -s wlc -p 60\n-a -f 10 -r 192.168.1.118:0 -g -w 1\n';

    async function cli(ns: string, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      let stdout = '';
      let stderr = '';
      const code = await runCli(argv, {
        ipvs: () => Ipvs.open({ netns: ns }),
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: (s: string) => (stderr += s) },
      });
      return { code, stdout, stderr };
    }

    it('ipvs apply / diff / export (in-process): exit statuses, output, the table ipvsadm reads, a bad file', async () => {
      const h = await openFresh();
      const dir = mkdtempSync(join(tmpdir(), 'ipvs-recon-'));
      try {
        const adm = (...a: string[]): string => sh('ip', ['netns', 'exec', h.ns, 'ipvsadm', ...a]);
        const file = join(dir, 'state.json');
        writeFileSync(file, JSON.stringify(STATE));
        const pending = await cli(h.ns, ['diff', file]);
        expect(pending.code).toBe(1);
        expect(pending.stdout).toContain('# 5 changes: 5 to add, 0 to update, 0 to delete');
        expect((await cli(h.ns, ['apply', '--dry-run', file])).code).toBe(0);
        expect(adm('-Sn')).toBe('');
        const applied = await cli(h.ns, ['apply', file]);
        expect(applied).toMatchObject({ code: 0, stderr: '' });
        expect(applied.stdout).toContain('# 5 of 5 changes applied');
        expect(adm('-Sn')).toBe(SAVED);
        expect(await cli(h.ns, ['diff', file])).toEqual({ code: 0, stdout: '# in sync: no changes\n', stderr: '' });
        expect(await cli(h.ns, ['apply', file])).toEqual({ code: 0, stdout: '# in sync: no changes\n', stderr: '' });

        const exported = await cli(h.ns, ['export']);
        expect(exported.code).toBe(0);
        const exportFile = join(dir, 'export.json');
        writeFileSync(exportFile, exported.stdout);
        expect((await cli(h.ns, ['diff', exportFile])).code).toBe(0);

        // Someone else edits the table; diff shows it, apply --prune puts it back.
        adm('-e', '-t', '192.168.1.110:80', '-r', '192.168.1.117', '-g', '-w', '9');
        adm('-A', '-u', '192.168.1.110:53');
        const drift = await cli(h.ns, ['diff', file]);
        expect(drift.code).toBe(1);
        expect(drift.stdout).toContain('~ destination tcp 192.168.1.110:80 -> 192.168.1.117:80: weight 9 -> 1');
        expect(drift.stdout).toContain('# left alone, not in the desired state (--prune deletes them): 1 service: udp 192.168.1.110:53');
        expect((await cli(h.ns, ['apply', '--prune', file])).code).toBe(0);
        expect(adm('-Sn')).toBe(SAVED);

        const bad = join(dir, 'bad.json');
        writeFileSync(bad, '{"services":[{"protocol":"tcp","address":"10.0.0.1","port":80,"destinations":[{"address":"10.0.0.2","wieght":2}]}]}');
        const refused = await cli(h.ns, ['apply', bad]);
        expect(refused.code).toBe(2);
        expect(refused.stderr).toMatch(/^ipvs apply: .*bad\.json: .*services\[0\]\.destinations\[0\]\.wieght/);
        expect((await cli(h.ns, ['diff', join(dir, 'missing.json')])).code).toBe(2);
        expect(adm('-Sn')).toBe(SAVED);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await h.cleanup();
      }
    });

    it('the `ipvs` executable: apply FILE, diff FILE, export', () => {
      // The built executable (package.json's bin), as signals.kernel.test.ts runs it: a Node start takes about a
      // second under UML, one through tsx (compiling the sources) about four.
      const main = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
      if (!existsSync(main)) throw new Error(`the test runs the built command line: run \`npm run build\` first (${main} is missing)`);
      const ns = makeNamespace();
      const dir = mkdtempSync(join(tmpdir(), 'ipvs-recon-'));
      try {
        const file = join(dir, 'state.json');
        writeFileSync(file, JSON.stringify(STATE));
        const ipvsCli = (...a: string[]): { status: number | null; stdout: string } => {
          try {
            return { status: 0, stdout: execFileSync('ip', ['netns', 'exec', ns, process.execPath, main, ...a], { encoding: 'utf8' }) };
          } catch (err) {
            const e = err as { status: number | null; stdout: string };
            return { status: e.status, stdout: e.stdout };
          }
        };
        expect(ipvsCli('diff', file).status).toBe(1);
        expect(ipvsCli('apply', '-q', file)).toEqual({ status: 0, stdout: '' });
        expect(sh('ip', ['netns', 'exec', ns, 'ipvsadm', '-Sn'])).toBe(SAVED);
        expect(ipvsCli('diff', file)).toEqual({ status: 0, stdout: '# in sync: no changes\n' });
        const exported = ipvsCli('export', '--compact');
        expect(exported.status).toBe(0);
        expect((JSON.parse(exported.stdout) as DesiredState).services).toHaveLength(2);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        sh('ip', ['netns', 'del', ns]);
      }
    });
  });
} else {
  describe('reconcile: real kernel', () => {
    it.skip('runs only inside the UML sandbox (node scripts/sandbox.mjs --kernel-suite)', () => {});
  });
}
