// Services of protocols other than TCP, UDP and SCTP, which Linux keeps (made over raw netlink by another
// tool) but never balances: every listing and save form prints them as the real ipvsadm 1.31 printed the same
// table (fixtures/foreign-protocols.txt), instead of one such service failing the whole listing.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { addForeignServices } from '../helpers/foreign-service.js';
import { CliHarness } from './harness.js';

/** The fixture's sections: command line -> the real ipvsadm's stdout. */
const EXPECTED = new Map<string, string>();
{
  const text = readFileSync(fileURLToPath(new URL('./fixtures/foreign-protocols.txt', import.meta.url)), 'utf8');
  for (const section of text.split(/^### ipvsadm /m).slice(1)) {
    const newline = section.indexOf('\n');
    EXPECTED.set(section.slice(0, newline), section.slice(newline + 1));
  }
}

describe('services of other protocols, as ipvsadm 1.31 lists and saves them', () => {
  let h: CliHarness;
  beforeEach(async () => {
    h = new CliHarness();
    await addForeignServices(h.fake.transport(), [
      { protocol: 0, address: '10.9.9.8', port: 22 },
      { protocol: 1, address: '200.1.1.1', port: 80 },
      { protocol: 47, address: '10.9.9.9', port: 80, destination: { address: '10.9.9.10' } },
      { protocol: 50, address: '10.9.9.9', port: 0, destination: { address: '10.9.9.10' } },
      { protocol: 255, address: '10.9.9.1', port: 443, destination: { address: '10.9.9.11', forwarding: 'tunnel' } },
      { protocol: 47, address: '10.9.9.1', port: 80 },
      { protocol: 47, address: '2001:db8::1', port: 80, destination: { address: '2001:db8::10' } },
    ]);
    await h.setUp(
      '-A -t 10.9.9.9:80 -s rr',
      '-A -u 10.9.9.9:53 -s rr',
      '-A --sctp-service 10.9.9.9:80 -s rr',
      '-A -t 200.1.1.1:80 -s rr',
      '-A -t [2001:db8::1]:80 -s rr',
      '-A -f 5 -s rr',
    );
  });

  it.each([...EXPECTED.keys()])('ipvs %s', async (line) => {
    expect(await h.run(line)).toEqual({ code: 0, stdout: EXPECTED.get(line), stderr: '' });
  });

  it('-Ln --nosort lists them all, in the kernel order', async () => {
    const r = await h.run('-Ln --nosort');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').sort()).toEqual(EXPECTED.get('-Ln')!.split('\n').sort());
  });

  it('-C removes them with the rest; a line naming one is refused, as by ipvsadm', async () => {
    expect(await h.run('-A --xxx-service 10.9.9.7:80 -s rr')).toEqual({ code: 255, stdout: '', stderr: '--xxx-service: unknown option\n' });
    expect(await h.run('-C')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await h.save()).toBe('');
    expect(h.fake.state().services).toEqual([]);
  });

  it('-R refuses a saved --xxx-service line, naming it, and applies nothing', async () => {
    await h.run('-C');
    const saved = EXPECTED.get('-Sn')!;
    expect(await h.run('-R', saved)).toEqual({ code: 255, stdout: '', stderr: 'line 1: --xxx-service: unknown option\n' });
    expect(await h.save()).toBe('');
  });
});
