// The rules format and services of protocols other than TCP, UDP and SCTP (Linux keeps them, another tool
// makes them): saved as ipvsadm 1.31 saves them (`--xxx-service`, sorted by protocol number, ports never
// named), and refused when read back, as ipvsadm refuses that option.

import { describe, expect, it } from 'vitest';
import { Ipvs, formatRules, iterateRules, parseRules, prepareRules, RulesSyntaxError } from '../../src/index.js';
import { parseServicesFile } from '../../src/rules/service-names.js';
import { FakeKernel } from '../../src/testing/index.js';
import { addForeignServices, GRE_AND_ESP } from '../helpers/foreign-service.js';
import { destination, service, withDestinations } from './fixtures.js';

const services = parseServicesFile('http 80/tcp www\nssh 22/tcp\nssh 22/udp\n');

describe('saving services of other protocols', () => {
  it('formatRules: --xxx-service, sorted by protocol number after the family, ports never named', () => {
    const table = [
      withDestinations(service({ protocol: 'sctp', address: '10.9.9.9', port: 80 }), []),
      withDestinations(service({ protocol: 47, address: '10.9.9.9', port: 80 }), [destination({ address: '10.9.9.10', port: 80, forwarding: 'masq' })]),
      withDestinations(service({ protocol: 0, address: '10.9.9.8', port: 22 }), []),
      withDestinations(service({ protocol: 'tcp', address: '10.9.9.9', port: 80 }), []),
      withDestinations(service({ protocol: 50, address: '10.9.9.9', port: 0 }), [destination({ address: '10.9.9.10', port: 0, forwarding: 'masq' })]),
      withDestinations(service({ protocol: 47, address: '2001:db8::1', port: 80 }), [destination({ address: '2001:db8::10', port: 80, forwarding: 'masq' })]),
      withDestinations(service({ protocol: 255, address: '10.9.9.1', port: 443 }), []),
    ];
    const numeric = [
      '-A --xxx-service 10.9.9.8:22 -s wlc',
      '-A -t 10.9.9.9:80 -s wlc',
      '-A --xxx-service 10.9.9.9:80 -s wlc',
      '-a --xxx-service 10.9.9.9:80 -r 10.9.9.10:80 -m -w 1',
      '-A --xxx-service 10.9.9.9:0 -s wlc',
      '-a --xxx-service 10.9.9.9:0 -r 10.9.9.10:0 -m -w 1',
      '-A --sctp-service 10.9.9.9:80 -s wlc',
      '-A --xxx-service 10.9.9.1:443 -s wlc',
      '-A --xxx-service [2001:db8::1]:80 -s wlc',
      '-a --xxx-service [2001:db8::1]:80 -r [2001:db8::10]:80 -m -w 1',
      '',
    ].join('\n');
    expect(formatRules(table, { numeric: true })).toBe(numeric);
    // Names: only the TCP service's port has one.
    expect(formatRules(table, { names: { services } })).toBe(numeric.replace('-A -t 10.9.9.9:80 ', '-A -t 10.9.9.9:http '));
  });

  it('iterateRules reads them from a live table with the rest', async () => {
    const kernel = new FakeKernel();
    await addForeignServices(kernel.transport(), GRE_AND_ESP);
    await using ipvs = await Ipvs.open({ transport: kernel.transport() });
    await ipvs.addService({ protocol: 'tcp', address: '10.9.9.9', port: 80, scheduler: 'rr' });
    let text = '';
    for await (const chunk of iterateRules(ipvs, { numeric: true })) text += chunk;
    // ipvsadm -Sn of the same table (the report that found the problem).
    expect(text).toBe(
      [
        '-A -t 10.9.9.9:80 -s rr',
        '-A --xxx-service 10.9.9.9:80 -s rr',
        '-a --xxx-service 10.9.9.9:80 -r 10.9.9.10:80 -m -w 1',
        '-A --xxx-service 10.9.9.9:0 -s rr',
        '-a --xxx-service 10.9.9.9:0 -r 10.9.9.10:0 -m -w 1',
        '',
      ].join('\n'),
    );
  });

  it('reading a --xxx-service line back is a RulesSyntaxError naming the line, as ipvsadm -R refuses it', () => {
    const text = '-A -t 10.9.9.9:80 -s rr\n-A --xxx-service 10.9.9.9:80 -s rr\n-a --xxx-service 10.9.9.9:80 -r 10.9.9.10:80 -m -w 1\n';
    for (const read of [() => parseRules(text), () => prepareRules(text)]) {
      let err: unknown;
      try {
        read();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RulesSyntaxError);
      expect(err).toMatchObject({ line: 2, message: 'line 2: --xxx-service: unknown option' });
    }
  });
});
