// Health configs: defaults, the three check levels, and refusals that name the field.

import { describe, expect, it } from 'vitest';
import { normaliseHealthConfig, parseHealthConfig, type HealthConfig } from '../../src/health/index.js';

const base = (svc: Record<string, unknown> = {}, top: Record<string, unknown> = {}): HealthConfig =>
  ({
    services: [{ protocol: 'tcp', address: '192.168.1.110', port: 80, destinations: [{ address: '192.168.1.116' }], ...svc }],
    ...top,
  }) as unknown as HealthConfig;

describe('normaliseHealthConfig', () => {
  it('fills the defaults: TCP check every 5 s, rise 2, fall 3, quiesce, route, weight 1', () => {
    const [svc] = normaliseHealthConfig(base());
    expect(svc!.id).toBe('tcp 192.168.1.110:80');
    expect(svc!.onFailure).toBe('quiesce');
    const rs = svc!.realServers[0]!;
    expect(rs.spec).toEqual({ address: '192.168.1.116', port: 80, forwarding: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0 });
    expect(rs.check).toMatchObject({ intervalMs: 5000, timeoutMs: 2000, rise: 2, fall: 3, jitterMs: 500, address: '192.168.1.116', port: 80, label: 'TCP connect 192.168.1.116:80' });
  });

  it('a persistent service removes a failed server by default (weight 0 would not move its clients); an explicit choice wins', () => {
    const pcc = { port: 0, persistence: { timeout: 600 }, check: { port: 80 } };
    expect(normaliseHealthConfig(base(pcc))[0]!.onFailure).toBe('remove');
    const fwmark = { fwmark: 1, protocol: undefined, address: undefined, port: undefined, persistence: true, check: { port: 80 } };
    expect(normaliseHealthConfig(base(fwmark))[0]!.onFailure).toBe('remove');
    expect(normaliseHealthConfig(base({ ...pcc, onFailure: 'quiesce' }))[0]!.onFailure).toBe('quiesce');
    expect(normaliseHealthConfig(base(pcc, { onFailure: 'quiesce' }))[0]!.onFailure).toBe('quiesce');
    expect(normaliseHealthConfig(base({ persistence: false }))[0]!.onFailure).toBe('quiesce');
  });

  it('merges checks from config to service to destination, and a new type replaces', () => {
    const cfg = base(
      {
        check: { type: 'http', path: '/health', host: 'www.example.com' },
        destinations: [{ address: '192.168.1.116', check: { port: 8080 } }, { address: '192.168.1.117', check: { type: 'tcp' } }],
      },
      { check: { intervalMs: 1000, fall: 1 } },
    );
    const [svc] = normaliseHealthConfig(cfg);
    const [a, b] = svc!.realServers;
    expect(a!.check).toMatchObject({ intervalMs: 1000, fall: 1, port: 8080, label: 'HTTP GET http://192.168.1.116:8080/health' });
    expect(a!.check.spec).toMatchObject({ host: 'www.example.com' });
    expect(b!.check).toMatchObject({ intervalMs: 1000, fall: 1, label: 'TCP connect 192.168.1.117:80' });
    expect(b!.check.spec).not.toHaveProperty('host');
  });

  it('gives a loopback sorry server route forwarding, another one the real servers\' forwarding', () => {
    const [svc] = normaliseHealthConfig(base({ destinations: [{ address: '10.0.0.2', forwarding: 'masq' }], sorryServer: { address: '127.0.0.1' } }));
    expect(svc!.sorry!.spec.forwarding).toBe('route');
    const [svc2] = normaliseHealthConfig(base({ destinations: [{ address: '10.0.0.2', forwarding: 'masq' }], sorryServer: { address: '10.0.0.99' } }));
    expect(svc2!.sorry!.spec.forwarding).toBe('masq');
  });

  it('normalises IPv6 addresses and names them in brackets', () => {
    const [svc] = normaliseHealthConfig({
      services: [{ protocol: 'tcp', address: '2001:db8::10', port: 443, destinations: [{ address: '2001:DB8:0::2', forwarding: 'masq' }], check: { type: 'https' } }],
    });
    expect(svc!.realServers[0]!.id).toBe('[2001:db8::2]:443');
    expect(svc!.realServers[0]!.check.label).toBe('HTTPS GET https://[2001:db8::2]:443/');
  });

  const refusals: [string, HealthConfig, RegExp][] = [
    ['an unknown service field', base({ sheduler: 'rr' }), /services\[0\]\.sheduler.*unknown field/],
    ['an unknown check field', base({ check: { type: 'tcp', path: '/' } }), /services\[0\]\.check\.path.*unknown field/],
    ['an unknown check type', base({ check: { type: 'ping' } }), /services\[0\]\.check\.type/],
    ['a bad weight', base({ destinations: [{ address: '192.168.1.116', weight: -1 }] }), /services\[0\]\.destinations\[0\]\.weight/],
    ['a bad address', base({ destinations: [{ address: 'server-1' }] }), /services\[0\]\.destinations\[0\]\.address/],
    ['a bad service', base({ protocol: 'icmp' }), /services\[0\]\.protocol/],
    ['a check without a port on a port-0 service', base({ port: 0, persistence: { timeout: 600 } }), /destinations\[0\]\.check\.port.*port is 0/],
    ['a fwmark service without a check port', { services: [{ fwmark: 10, destinations: [{ address: '10.0.0.2' }] }] }, /check\.port/],
    ['rise 0', base({ check: { rise: 0 } }), /check\.rise.*1\.\.1000/],
    ['a path without a slash', base({ check: { type: 'http', path: 'health' } }), /check\.path/],
    ['a bad status', base({ check: { type: 'http', expectStatus: [200, 999] } }), /check\.expectStatus\[1\]/],
    ['a custom check without a function', base({ check: { type: 'custom' } }), /check\.run/],
    ['a duplicate destination', base({ destinations: [{ address: '192.168.1.116' }, { address: '192.168.1.116', port: 80 }] }), /destinations\[1\].*also services\[0\]\.destinations\[0\]/],
    ['a duplicate service', { services: [base().services[0]!, base().services[0]!] }, /services\[1\].*also services\[0\]/],
    ['a sorry server that is a real server', base({ sorryServer: { address: '192.168.1.116' } }), /sorryServer.*also a real server/],
    ['a bad onFailure', base({ onFailure: 'drain' }), /onFailure.*'quiesce' or 'remove'/],
    ['services missing', {} as HealthConfig, /services.*array/],
  ];
  it.each(refusals)('refuses %s', (_name, cfg, message) => {
    expect(() => normaliseHealthConfig(cfg)).toThrow(message);
  });
});

describe('parseHealthConfig', () => {
  it('reads JSON and checks it', () => {
    const text = JSON.stringify(base({ check: { type: 'http', body: 'ok' } }));
    expect(parseHealthConfig(text).services).toHaveLength(1);
    expect(() => parseHealthConfig('{')).toThrow(/not valid JSON/);
    expect(() => parseHealthConfig('{"services":[{"protocol":"tcp"}]}')).toThrow(/services\[0\]\.address/);
  });
});
