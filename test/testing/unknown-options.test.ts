// The fake kernel's options objects refuse keys they do not have, as the library's do: a test that
// misspells `hz` or an interface's `mtu` would otherwise run against a kernel other than the one it meant.
// unloadIpvs/loadIpvs/reloadIpvs and setStats refuse before changing anything.

import { describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { FakeKernel } from '../../src/testing/index.js';
import { refusedSync as refused } from '../helpers/refused.js';

const WEB = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;

describe('FakeKernel options refuse unknown keys', () => {
  it('new FakeKernel(options) and its interfaces', () => {
    expect(refused(() => new FakeKernel({ hZ: 100 } as never)).message).toMatch(/^invalid FakeKernelOptions\.hZ 100: unknown option \(did you mean hz\?\); expected one of familyId, /);
    expect(refused(() => new FakeKernel({ interfaces: [{ name: 'lo' }, { name: 'eth0', mtU: 9000 }] } as never)).message).toMatch(
      /^invalid FakeKernelOptions\.interfaces\[1\]\.mtU 9000: unknown option \(did you mean mtu\?\); expected one of name, mtu, addresses, up, linkLocal$/,
    );
  });

  it('transport, unloadIpvs, loadIpvs, reloadIpvs, setStats: nothing changes', async () => {
    const kernel = new FakeKernel();
    const ipvs = await Ipvs.open({ transport: kernel.transport() });
    await ipvs.addService(WEB);
    await ipvs.addDestination(WEB, { address: '10.0.1.1' });
    const table = kernel.state();
    const requests = kernel.requests.length;
    expect(refused(() => kernel.transport({ capack: false } as never)).field).toBe('FakeTransportOptions.capack');
    expect(kernel.openTransports).toBe(1);
    expect(refused(() => kernel.unloadIpvs({ autoLoad: true } as never)).reason).toMatch(/^unknown option \(did you mean autoload\?\)/);
    expect(refused(() => kernel.reloadIpvs({ familyid: 0x30 } as never)).field).toBe('LoadIpvsOptions.familyid');
    // A misspelt destination would have set the service's counters instead.
    expect(refused(() => kernel.setStats({ ...WEB, destinaton: '10.0.1.1' } as never, { conns: 5 })).field).toBe('FakeStatsTarget.destinaton');
    expect(kernel.state()).toEqual(table);
    expect(kernel.requests.length).toBe(requests);
    expect((await ipvs.services())[0]?.stats.conns).toBe(0n);
    kernel.unloadIpvs();
    expect(refused(() => kernel.loadIpvs({ familyID: 0x30 } as never)).reason).toMatch(/did you mean familyId\?/);
    kernel.loadIpvs();
    await ipvs.close();
  });
});
