// The names of `ipvsadm -S` through the public API alone: resolveEndpointNames gives formatRules (and a
// resolver gives iterateRules) the host and service names `ipvs -S` prints, so a program prints the same
// text as the CLI, whose output the differential tests compare with the real ipvsadm's.
import { describe, expect, it } from 'vitest';
import {
  Ipvs, formatRules, iterateRules, resolveEndpointNames, staticResolver, systemResolver, parseServicesFile, systemServiceNames, NO_SERVICE_NAMES,
  type EndpointNames, type Resolver, type ServiceNames, type ServiceWithDestinations,
} from '../../src/index.js';
import { CliHarness } from '../cli/harness.js';

const SETUP = [
  '-A -t 192.168.1.110:80 -s rr',
  '-a -t 192.168.1.110:80 -r 192.168.1.116:80 -m',
  '-a -t 192.168.1.110:80 -r 192.168.1.117:8080 -m -w 3',
  '-A -u 192.168.1.111:53 -s sh -b sh-port',
  '-a -u 192.168.1.111:53 -r 192.168.1.116:53 -g',
  '-A -t [2001:db8::10]:443 -s wlc -p 30',
  '-a -t [2001:db8::10]:443 -r [2001:db8::2]:443 -g',
  '-A -f 10 -s rr',
  '-a -f 10 -r 192.168.1.116:0 -g',
  '-A -u 192.168.1.113:5060 -s rr -p 120',
];

async function readTable(ipvs: Ipvs): Promise<ServiceWithDestinations[]> {
  const table: ServiceWithDestinations[] = [];
  for (const s of await ipvs.services()) table.push({ ...s, destinations: await ipvs.destinations(s) });
  return table;
}

async function joined(chunks: AsyncIterable<string>): Promise<string> {
  let text = '';
  for await (const chunk of chunks) text += chunk;
  return text;
}

describe('printing what `ipvs -S` prints from the public API', () => {
  it('with a resolver of your own: formatRules given resolveEndpointNames, and iterateRules given the resolver', async () => {
    const services: ServiceNames = parseServicesFile('http 80/tcp www\nhttps 443/tcp\ndomain 53/udp\nsip 5060/udp\n');
    const resolver: Resolver = staticResolver({ 'vip.example': '192.168.1.110', 'web1.example': '192.168.1.116', 'v6.example': '2001:db8::10' }, services);
    const h = new CliHarness();
    h.resolver = resolver;
    await h.setUp(...SETUP);
    const cli = await h.run('-S');
    expect(cli.code).toBe(0);
    // Names are in play: hosts the resolver knows, ports the services file names, numbers for the rest.
    expect(cli.stdout).toContain('-a -t vip.example:http -r web1.example:http -m -w 1\n');
    expect(cli.stdout).toContain('-a -t vip.example:http -r 192.168.1.117:8080 -m -w 3\n');
    expect(cli.stdout).toContain('-A -t [v6.example]:https -s wlc -p 30\n');

    await using ipvs = await Ipvs.open({ transport: h.fake.transport() });
    const table = await readTable(ipvs);
    const names: EndpointNames = await resolveEndpointNames(table, resolver);
    expect(formatRules(table, { names })).toBe(cli.stdout);
    expect(await joined(iterateRules(ipvs, { resolver, chunkSize: 64 }))).toBe(cli.stdout);
    expect(await joined(iterateRules(ipvs, { names }))).toBe(cli.stdout);
    const unsorted = await joined(iterateRules(ipvs, { resolver, noSort: true }));
    expect(unsorted.split('\n').sort()).toEqual(cli.stdout.split('\n').sort());
    // Without names, or with numeric, the text of `-Sn`.
    const numeric = (await h.run('-Sn')).stdout;
    expect(formatRules(table)).toBe(numeric);
    expect(formatRules(table, { numeric: true, names })).toBe(numeric);
    expect(await joined(iterateRules(ipvs))).toBe(numeric);
    expect(await joined(iterateRules(ipvs, { numeric: true, resolver }))).toBe(numeric);
  });

  it('with the system resolver, the CLI\'s default: /etc/hosts and /etc/services', async () => {
    const h = new CliHarness();
    h.resolver = systemResolver();
    // Loopback only: the names come from /etc/hosts, never from a DNS server that may not answer.
    await h.setUp('-A -t 127.0.0.1:80 -s rr', '-a -t 127.0.0.1:80 -r 127.0.0.1:8080 -m', '-A -u 127.0.0.1:53', '-a -u 127.0.0.1:53 -r 127.0.0.2:53 -m');
    const cli = await h.run('-S');
    expect(cli.code).toBe(0);
    await using ipvs = await Ipvs.open({ transport: h.fake.transport() });
    const table = await readTable(ipvs);
    expect(formatRules(table, { names: await resolveEndpointNames(table) })).toBe(cli.stdout);
    expect(await joined(iterateRules(ipvs, { resolver: systemResolver() }))).toBe(cli.stdout);
  });

  it('resolveEndpointNames takes addresses too, in any spelling, and leaves unknown ones to be printed as numbers', async () => {
    const names = await resolveEndpointNames(['2001:DB8:0::10', '10.0.0.9'], staticResolver({ 'v6.example': '2001:db8::10' }, NO_SERVICE_NAMES));
    expect(names.hostName?.('2001:db8::10')).toBe('v6.example');
    expect(names.hostName?.('10.0.0.9')).toBeUndefined();
    expect(names.services.nameOf(80, 'tcp')).toBeUndefined();
    expect(typeof systemServiceNames('/nonexistent/services').portOf).toBe('function');
  });

  it('NO_SERVICE_NAMES is frozen: it is shared (the fallback of every unreadable services file), so no caller can change it for the rest', () => {
    expect(Object.isFrozen(NO_SERVICE_NAMES)).toBe(true);
    expect(() => {
      (NO_SERVICE_NAMES as { portOf: unknown }).portOf = () => 80;
    }).toThrow(TypeError);
    expect(systemServiceNames('/nonexistent/services').portOf('http', 'tcp')).toBeUndefined();
  });
});
