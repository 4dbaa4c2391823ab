// Destinations with a forwarding method Linux keeps but has no name for (5..7) or a tunnel type past gre,
// made raw as another tool can: every listing and the save go on past them, printing what the real
// ipvsadm 1.31 prints (test/kernel/cli-diff.test.ts compares them byte for byte): C's "(null)" for the
// method, and a tunnel of any type as a plain tunnel. They used to stop `-L`/`-S` at their service (exit 1).

import { beforeEach, describe, expect, it } from 'vitest';
import { addRawDestinations } from '../helpers/foreign-service.js';
import { CliHarness } from './harness.js';

describe('destinations with a forwarding method or tunnel type without a name', () => {
  let h: CliHarness;
  beforeEach(async () => {
    h = new CliHarness();
    await h.setUp('-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 10.0.1.1 -m', '-A -t 10.0.0.3:80 -s rr', '-a -t 10.0.0.3:80 -r 10.0.3.1 -m');
    await addRawDestinations(h.fake.transport(), { protocol: 6, address: '10.0.0.1', port: 80 }, [
      { address: '10.0.1.5', fwd: 5 },
      { address: '10.0.1.7', fwd: 7, weight: 3 },
      { address: '10.0.1.13', fwd: 2, tunnel: { type: 3 } },
      { address: '10.0.1.14', fwd: 2, tunnel: { type: 200, port: 5555, flags: 1 } },
    ]);
  });

  it('-Sn saves every line, the later service included', async () => {
    expect(await h.run('-Sn')).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        '-A -t 10.0.0.1:80 -s rr',
        '-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 1',
        '-a -t 10.0.0.1:80 -r 10.0.1.5:80 (null) -w 1',
        '-a -t 10.0.0.1:80 -r 10.0.1.7:80 (null) -w 3',
        '-a -t 10.0.0.1:80 -r 10.0.1.13:80 -i -w 1',
        '-a -t 10.0.0.1:80 -r 10.0.1.14:80 -i -w 1',
        '-A -t 10.0.0.3:80 -s rr',
        '-a -t 10.0.0.3:80 -r 10.0.3.1:80 -m -w 1',
        '',
      ].join('\n'),
    });
  });

  it('-Ln and -Ln --tun-info list them all', async () => {
    const ln = await h.run('-Ln');
    expect(ln.code).toBe(0);
    expect(ln.stdout.split('\n').slice(3)).toEqual([
      'TCP  10.0.0.1:80 rr',
      '  -> 10.0.1.1:80                  Masq    1      0          0         ',
      '  -> 10.0.1.5:80                  (null)  1      0          0         ',
      '  -> 10.0.1.7:80                  (null)  3      0          0         ',
      '  -> 10.0.1.13:80                 Tunnel  1      0          0         ',
      '  -> 10.0.1.14:80                 Tunnel  1      0          0         ',
      'TCP  10.0.0.3:80 rr',
      '  -> 10.0.3.1:80                  Masq    1      0          0         ',
      '',
    ]);
    const tun = await h.run('-Ln --tun-info');
    expect(tun.code).toBe(0);
    expect(tun.stdout.split('\n').filter((l) => l.includes('10.0.1.1'))).toEqual([
      '  -> 10.0.1.1:80                  Masq    n/a           1      0          0         ',
      '  -> 10.0.1.13:80                 Tunnel  n/a           1      0          0         ',
      '  -> 10.0.1.14:80                 Tunnel  n/a           1      0          0         ',
    ]);
  });
});
