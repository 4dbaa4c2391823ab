// The real-traffic tests' agent (test/kernel/traffic/agent.mjs), run here on loopback without a namespace,
// for two things those tests rely on to be repeatable: no connection reuses an earlier one's source port (IPVS
// would send it where the earlier entry points, without asking its scheduler), and a session's keep-alive
// connection stays open however long the test waits between two requests.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from './kernel/traffic/net.js';

const AGENT = fileURLToPath(new URL('./kernel/traffic/agent.mjs', import.meta.url));

describe('the traffic agent', () => {
  let child: ChildProcess;
  let agent: Agent;
  /** Answers every request with the port it came from. */
  let echo: http.Server;
  let echoPort = 0;

  beforeAll(async () => {
    child = spawn(process.execPath, [AGENT], { stdio: ['pipe', 'pipe', 'inherit'] });
    const first = readline.createInterface({ input: child.stdout! });
    const [line] = (await once(first, 'line')) as [string];
    first.close();
    expect(JSON.parse(line)).toEqual({ ready: true });
    agent = new Agent('host', child);
    echo = http.createServer((req, res) => res.setHeader('connection', 'close').end(String(req.socket.remotePort)));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    echoPort = (echo.address() as AddressInfo).port;
  });

  afterAll(async () => {
    child?.kill();
    await new Promise((resolve) => echo?.close(resolve));
  });

  it('opens every connection from a port of its own, below the ephemeral range', async () => {
    const ports = (await agent.get([`http://127.0.0.1:${echoPort}/`], { count: 6, localAddress: '127.0.0.1' })).map(Number);
    expect(new Set(ports).size).toBe(6);
    for (const p of ports) expect(p >= 20_000 && p < 32_768, String(p)).toBe(true);
    // Counted up, so the next requests take the next ports.
    const next = (await agent.get([`http://127.0.0.1:${echoPort}/`], { count: 2 })).map(Number);
    expect(next).toEqual([ports[5]! + 1, ports[5]! + 2]);
  });

  it("keeps a session's connection open across a pause of 8 s (Node's keep-alive default closes it after 5)", async () => {
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    await agent.serve('a', [port]);
    const url = `http://127.0.0.1:${port}/keep`;
    try {
      expect(await agent.sessionGet('s', url)).toBe(`a ${port} new-connection`);
      await new Promise((resolve) => setTimeout(resolve, 8000));
      expect(await agent.sessionGet('s', url)).toBe(`a ${port} same-connection`);
    } finally {
      await agent.sessionClose('s');
      await agent.stopServing();
    }
  }, 20_000);
});
