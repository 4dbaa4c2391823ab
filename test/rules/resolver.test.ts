// Name resolution for the CLI: the system resolver answers quickly (numbers when there is no name) and
// caches; the static resolver is what tests inject.

import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { staticResolver, systemResolver } from '../../src/rules/resolver.js';

describe('systemResolver', () => {
  it('falls back to the number promptly for an address without a name', async () => {
    const r = systemResolver({ timeoutMs: 3000 });
    const started = Date.now();
    const name = await r.reverse('192.0.2.123');
    expect(name === undefined || typeof name === 'string').toBe(true);
    expect(Date.now() - started).toBeLessThan(3500);
    // cached: the same answer without a second lookup
    expect(await r.reverse('192.0.2.123')).toBe(name);
  });

  it('reads the services database it is given', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipvs-services-'));
    try {
      const path = join(dir, 'services');
      writeFileSync(path, 'http\t\t80/tcp\t\twww\t# web\nhttp 80/udp\nsip 5060/udp\n');
      const r = systemResolver({ servicesPath: path });
      expect(r.services.nameOf(80, 'tcp')).toBe('http');
      expect(r.services.portOf('www', 'tcp')).toBe(80);
      expect(r.services.portOf('sip', 'tcp')).toBeUndefined();
      expect(systemResolver({ servicesPath: join(dir, 'missing') }).services.nameOf(80, 'tcp')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a name that does not resolve gives undefined', async () => {
    expect(await systemResolver({ timeoutMs: 3000 }).lookup('no-such-host.invalid')).toBeUndefined();
  });
});

describe('staticResolver', () => {
  it('maps both ways, first name per address', async () => {
    const r = staticResolver({ a: '10.0.0.1', b: '10.0.0.1', c: '10.0.0.3' });
    expect(await r.reverse('10.0.0.1')).toBe('a');
    expect(await r.lookup('c')).toBe('10.0.0.3');
    expect(await r.lookup('d')).toBeUndefined();
  });
});
