// The seed document's ipvsadm lines on the real kernel: run with the real ipvsadm 1.31 in one network
// namespace and with `ipvs` (runCli in-process, the client opened in a second namespace) in another, the
// program name being the only change; the resulting tables must save (`ipvsadm -Sn`, read by the real
// ipvsadm on both sides) and list identically, and equal what the fake-kernel test expects. The lines are
// in test/cli/seed-lines.ts. Runs only inside the UML sandbox (IPVS_KERNEL=1), as root.

import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { runCli } from '../../src/cli/run.js';
import { SEED_SAVED, SEED_SEQUENCE } from '../cli/seed-lines.js';
import { createNamespace } from './netns.js';

const enabled = process.env.IPVS_KERNEL === '1';
const created: string[] = [];

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(cmd: string, args: string[], input?: string): Outcome {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function namespace(role: string): string {
  const name = `ipvs-seed-${process.pid}-${created.length}-${role}`;
  createNamespace(name, ['link set lo up', 'link add dum0 type dummy', 'addr add 192.168.1.1/24 dev dum0', 'link set dum0 up']);
  created.push(name);
  return name;
}

/** Lines through the real ipvsadm in one process start: the status of each, then `-Sn` and `-Ln`. */
function ipvsadm(netns: string, lines: readonly string[]): { codes: number[]; save: string; list: string } {
  const script = `${lines.map((l) => `ipvsadm ${l}; echo "status $?"`).join('\n')}\necho '--save'\nipvsadm -Sn\necho '--list'\nipvsadm -Ln\n`;
  const r = sh('ip', ['netns', 'exec', netns, 'sh', '-c', script]);
  const [statusPart, rest] = r.stdout.split('--save\n') as [string, string];
  const [save, list] = rest.split('--list\n') as [string, string];
  return { codes: [...statusPart.matchAll(/^status (\d+)$/gm)].map((m) => Number(m[1])), save, list };
}

async function ipvs(netns: string, client: Promise<Ipvs>, args: string, stdin = ''): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const opened = await client;
  const code = await runCli(args.split(' '), {
    // one client for the whole test: runCli closes what it opens, so hand it a view whose close is a no-op
    ipvs: async () => Object.assign(Object.create(opened) as Ipvs, { close: async () => {} }),
    stdin,
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  void netns;
  return { code, stdout, stderr };
}

const clients: Promise<Ipvs>[] = [];
afterAll(async () => {
  for (const c of clients) await (await c).close();
  if (created.length > 0) sh('sh', ['-c', created.map((n) => `ip netns del ${n}`).join('; ')]);
});

describe.runIf(enabled)('the seed document: ipvs and ipvsadm 1.31 make the same table', () => {
  it('line by line', async () => {
    const ref = namespace('ref');
    const ours = namespace('ours');
    const client = Ipvs.open({ netns: ours });
    clients.push(client);
    const expected = ipvsadm(ref, SEED_SEQUENCE);
    expect(expected.codes).toEqual(SEED_SEQUENCE.map(() => 0));
    expect(expected.save).toBe(SEED_SAVED);
    for (const line of SEED_SEQUENCE) expect({ line, ...(await ipvs(ours, client, line)) }).toEqual({ line, code: 0, stdout: '', stderr: '' });
    const actual = ipvsadm(ours, []);
    expect(actual.save).toBe(expected.save);
    expect(actual.list).toBe(expected.list);
    // and ipvs's own listings of that table print what ipvsadm prints
    expect((await ipvs(ours, client, '-Sn')).stdout).toBe(expected.save);
    expect((await ipvs(ours, client, '-Ln')).stdout).toBe(expected.list);
  });

  it('as a rules file for -R (program name left in)', async () => {
    const ref = namespace('ref');
    const ours = namespace('ours');
    const client = Ipvs.open({ netns: ours });
    clients.push(client);
    const rules = SEED_SEQUENCE.map((l) => `ipvsadm ${l}`).join('\n') + '\n';
    const r = sh('ip', ['netns', 'exec', ref, 'ipvsadm', '-R'], rules);
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await ipvs(ours, client, '-R', rules)).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(ipvsadm(ours, []).save).toBe(ipvsadm(ref, []).save);
  });
});
