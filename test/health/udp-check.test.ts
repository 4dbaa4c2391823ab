// The UDP check against real sockets on 127.0.0.1 and ::1: a reply passes (and must begin with the expected
// bytes or contain the expected text when asked), an ICMP port unreachable fails at once, silence fails at the
// timeout, the source address is bound, and every check closes its socket. Then a whole checker on the fake
// kernel takes a UDP server out when it stops answering and puts it back when it answers again.

import dgram from 'node:dgram';
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { HealthChecker, normaliseHealthConfig, systemScheduler, type CheckOverride, type HealthConfig } from '../../src/health/index.js';
import { runCheck } from '../../src/health/run-check.js';
import { udpProbe } from '../../src/health/udp-check.js';
import { FakeKernel } from '../../src/testing/index.js';

// A DNS query for the root's NS records, ID 0x1234, recursion desired (docs/health.md).
const DNS_QUERY = '1234 0100 0001 0000 0000 0000 00 0002 0001';

let server: dgram.Socket;
let port = 0;
let silent: dgram.Socket;
let silentPort = 0;
const seen: { data: Buffer; from: string }[] = [];
let answering = true;

async function bound(s: dgram.Socket, address: string): Promise<number> {
  await new Promise<void>((r) => s.bind(0, address, () => r()));
  return s.address().port;
}

beforeAll(async () => {
  // Answers a DNS-looking query with its ID and the QR bit; any other datagram with 'pong ' and the datagram.
  server = dgram.createSocket('udp4');
  server.on('message', (data, rinfo) => {
    seen.push({ data, from: rinfo.address });
    if (!answering) return;
    const reply = data[0] === 0x12 && data[1] === 0x34 ? Buffer.from([0x12, 0x34, 0x81, 0x80, 0, 1]) : Buffer.concat([Buffer.from('pong '), data]);
    server.send(reply, rinfo.port, rinfo.address);
  });
  port = await bound(server, '127.0.0.1');
  silent = dgram.createSocket('udp4');
  silentPort = await bound(silent, '127.0.0.1');
});

afterAll(() => {
  server.close();
  silent.close();
});

async function closedPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  const p = await bound(s, '127.0.0.1');
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function check(spec: CheckOverride, checkPort = port, address = '127.0.0.1') {
  const [svc] = normaliseHealthConfig({
    services: [{ protocol: 'udp', address: address.includes(':') ? '2001:db8::10' : '192.168.1.110', port: 53, destinations: [{ address, port: checkPort }], check: spec }],
  });
  const rs = svc!.realServers[0]!;
  return runCheck(rs.check, { address: rs.check.address, port: rs.check.port, service: svc!.key, destination: rs.spec }, systemScheduler, new AbortController().signal);
}

describe('UDP check', () => {
  it('passes on a reply, and sends the payload as text or as hex bytes', async () => {
    seen.length = 0;
    expect(await check({ type: 'udp', payload: 'ping' })).toMatchObject({ ok: true, detail: 'UDP reply of 9 bytes' });
    expect(await check({ type: 'udp', payloadHex: DNS_QUERY })).toMatchObject({ ok: true, detail: 'UDP reply of 6 bytes' });
    expect(seen.map((s) => s.data.toString('hex'))).toEqual([Buffer.from('ping').toString('hex'), '1234010000010000000000000000020001']);
  });

  it('matches the reply: its first bytes (expectHex), or text it contains or an expression it matches (expect)', async () => {
    expect(await check({ type: 'udp', payloadHex: DNS_QUERY, expectHex: '1234 81' })).toMatchObject({ ok: true, detail: 'UDP reply of 6 bytes, begins with 123481' });
    expect(await check({ type: 'udp', payloadHex: DNS_QUERY, expectHex: '1235' })).toMatchObject({
      ok: false,
      detail: 'UDP reply of 6 bytes that does not begin with 1235 (it begins 123481800001)',
    });
    expect(await check({ type: 'udp', payloadHex: DNS_QUERY, expectHex: '1234818000010000' })).toMatchObject({ ok: false });
    expect(await check({ type: 'udp', payload: 'ping', expect: 'pong' })).toMatchObject({ ok: true, detail: 'UDP reply of 9 bytes, matches' });
    expect(await check({ type: 'udp', payload: 'ping', expect: /^pong p/ })).toMatchObject({ ok: true });
    expect(await check({ type: 'udp', payload: 'ping', expect: 'ok' })).toMatchObject({ ok: false, detail: 'UDP reply of 9 bytes that does not contain "ok"' });
  });

  it('fails at once on an ICMP port unreachable, and at the timeout on silence', async () => {
    const refused = await check({ type: 'udp', payload: 'ping', timeoutMs: 5000 }, await closedPort());
    expect(refused).toMatchObject({ ok: false, detail: expect.stringMatching(/^port unreachable \(ICMP\): nothing listens on UDP port \d+ there$/) });
    expect(refused.durationMs).toBeLessThan(1000);
    const r = await check({ type: 'udp', payload: 'ping', timeoutMs: 150 }, silentPort);
    expect(r).toMatchObject({ ok: false, detail: 'no answer within 150 ms' });
    expect(r.durationMs).toBeGreaterThanOrEqual(140);
  });

  it('sends from check.localAddress', async () => {
    seen.length = 0;
    expect(await check({ type: 'udp', payload: 'ping', localAddress: '127.0.0.2' })).toMatchObject({ ok: true });
    expect(seen.map((s) => s.from)).toEqual(['127.0.0.2']);
  });

  it('works over IPv6', async () => {
    const s6 = dgram.createSocket('udp6');
    s6.on('message', (data, rinfo) => s6.send(data, rinfo.port, rinfo.address));
    try {
      const p6 = await bound(s6, '::1');
      expect(await check({ type: 'udp', payload: 'echo', expect: 'echo' }, p6, '::1')).toMatchObject({ ok: true, detail: 'UDP reply of 4 bytes, matches' });
    } finally {
      s6.close();
    }
  });

  it('an abort while the socket binds or connects ends the check, and nothing throws later', async () => {
    for (const localAddress of ['127.0.0.2', undefined]) {
      for (const wait of [0, 1]) {
        const stop = new AbortController();
        const running = udpProbe({ type: 'udp', payload: 'ping' }, '127.0.0.1', silentPort, localAddress, stop.signal);
        if (wait) await new Promise((r) => setImmediate(r));
        stop.abort();
        expect(await running).toEqual({ ok: false, detail: 'aborted' });
      }
    }
    await new Promise((r) => setTimeout(r, 50)); // a late callback on the closed socket would throw here
  });

  it('closes its socket whatever the outcome', async () => {
    const openFds = (): number => readdirSync('/proc/self/fd').length;
    const closed = await closedPort();
    await check({ type: 'udp', payload: 'warm-up' });
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      await check({ type: 'udp', payload: 'ping' });
      await check({ type: 'udp', payload: 'ping', timeoutMs: 20 }, silentPort);
      await check({ type: 'udp', payload: 'ping' }, closed);
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(openFds()).toBeLessThanOrEqual(before);
  });

  it('a source address not on this host is the checker\'s own problem (EADDRNOTAVAIL), no verdict on the server', async () => {
    const r = await check({ type: 'udp', payload: 'ping', localAddress: '192.0.2.77' });
    expect(r).toMatchObject({ ok: false, local: 'EADDRNOTAVAIL' });
  });
});

describe('a checker with UDP checks on the fake kernel', () => {
  it('removes a server that stops answering and adds it back when it answers again', async () => {
    const ipvs = await Ipvs.open({ transport: new FakeKernel().transport() });
    const config: HealthConfig = {
      services: [{ protocol: 'udp', address: '192.168.1.110', port: 53, destinations: [{ address: '127.0.0.1', port }], check: { type: 'udp', payloadHex: DNS_QUERY, expectHex: '1234', intervalMs: 20, timeoutMs: 100, jitterMs: 0, rise: 1, fall: 1 } }],
    };
    const checker = new HealthChecker({ ipvs, config, resyncIntervalMs: 0 });
    const inTable = async (): Promise<number> => (await ipvs.destinations({ protocol: 'udp', address: '192.168.1.110', port: 53 })).length;
    const until = async (want: number): Promise<void> => {
      for (let i = 0; i < 200 && (await inTable()) !== want; i++) await new Promise((r) => setTimeout(r, 10));
      expect(await inTable()).toBe(want);
    };
    try {
      await checker.start();
      await until(1);
      answering = false;
      await until(0); // a UDP service's failed server is removed by default
      expect(checker.status()[0]!.destinations[0]!.lastResult?.detail).toBe('no answer within 100 ms');
      answering = true;
      await until(1);
      expect(checker.status()[0]!.destinations[0]!.lastResult).toMatchObject({ ok: true, detail: 'UDP reply of 6 bytes, begins with 1234' });
    } finally {
      answering = true;
      await checker.stop();
      await ipvs.close();
    }
  });
});
