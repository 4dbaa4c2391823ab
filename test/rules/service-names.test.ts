// The services database read as the C library reads it (nss_files): ports through strtoul base 0, kept to
// 16 bits, the protocol compared as written; the first entry of a name or port wins.

import { describe, expect, it } from 'vitest';
import { parseServicesFile } from '../../src/rules/service-names.js';

describe('parseServicesFile', () => {
  it('reads names, aliases and ports per protocol; the first entry wins; comments and junk are skipped', () => {
    const s = parseServicesFile('http 80/tcp www # web\nhttp 80/udp\nwww2 80/tcp\n# only a comment\nbroken\nnoport /tcp\n');
    expect(s.portOf('http', 'tcp')).toBe(80);
    expect(s.portOf('www', 'tcp')).toBe(80);
    expect(s.portOf('http', 'udp')).toBe(80);
    expect(s.portOf('www', 'udp')).toBeUndefined();
    expect(s.nameOf(80, 'tcp')).toBe('http');
    expect(s.portOf('noport', 'tcp')).toBeUndefined();
  });

  it('ports as strtoul with base 0 reads them, kept to 16 bits; the protocol as written', () => {
    const s = parseServicesFile('hex 0x50/tcp\noctal 010/tcp\nbadoctal 08082/tcp\nwrap 65617/tcp\nupper 8081/TCP\n');
    expect(s.portOf('hex', 'tcp')).toBe(80);
    expect(s.portOf('octal', 'tcp')).toBe(8);
    expect(s.portOf('badoctal', 'tcp')).toBeUndefined();
    expect(s.portOf('wrap', 'tcp')).toBe(81);
    expect(s.nameOf(81, 'tcp')).toBe('wrap');
    expect(s.portOf('upper', 'tcp')).toBeUndefined();
  });
});
