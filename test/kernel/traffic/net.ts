// Network plumbing for the real-traffic tests: network namespaces, bridges and veth pairs made with
// iproute2, helper processes (agent.mjs) started inside namespaces, and cleanup that always happens.
// Every name carries a per-run prefix, every address lives inside a namespace made here, and `cleanup()`
// (also run on process exit, should a test runner die mid-way) kills the children it started, by pid,
// and deletes the namespaces, which takes their interfaces, addresses, routes and firewall rules along.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';

const AGENT = fileURLToPath(new URL('./agent.mjs', import.meta.url));

/**
 * The timeout of a beforeAll that builds a lab: one `ip` process per step (some seventy for the traffic
 * topology) and a Node start per agent. With the lab's cleanup that took about 12 s in User-Mode Linux on a
 * quiet host, some 45 s with busy processes beside the tests in the guest, and once more than the 60 s
 * these hooks had.
 */
export const LAB_SETUP_MS = 180_000;

export function run(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** Poll until `check` returns a value other than undefined/false, or fail after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface AgentReply {
  ok: boolean;
  error?: string;
  bodies?: string[];
  /** send-udp: who each answer came from, "ADDRESS PORT" ("" when none came). */
  from?: string[];
}

/** A helper process in a namespace (agent.mjs): serves HTTP and makes requests on command. */
export class Agent {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: AgentReply) => void>();

  constructor(readonly ns: string, readonly child: ChildProcess) {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as AgentReply & { id?: number };
      if (msg.id !== undefined) this.waiting.get(msg.id)?.(msg);
    });
  }

  async send(cmd: Record<string, unknown>): Promise<AgentReply> {
    const id = this.nextId++;
    const reply = new Promise<AgentReply>((resolve) => this.waiting.set(id, resolve));
    this.child.stdin!.write(`${JSON.stringify({ id, ...cmd })}\n`);
    const r = await reply;
    this.waiting.delete(id);
    if (!r.ok) throw new Error(`agent in ${this.ns}: ${r.error}`);
    return r;
  }

  /** Answer HTTP on these ports with "NAME PORT". */
  serve(name: string, ports: number[]): Promise<AgentReply> {
    return this.send({ cmd: 'serve', name, ports });
  }

  /** Close every listener: new connections are refused. */
  stopServing(): Promise<AgentReply> {
    return this.send({ cmd: 'stop' });
  }

  /** Make /health answer 503 (sick) or 200, while everything else is served as before. */
  setSick(on: boolean): Promise<AgentReply> {
    return this.send({ cmd: 'sick', on });
  }

  /**
   * GET `url` (path /keep) over the session's one keep-alive connection: "NAME PORT same-connection" when
   * the open connection carried it, "... new-connection" when one had to be opened, "error: CODE" on failure.
   */
  async sessionGet(session: string, url: string, options: { localAddress?: string; timeoutMs?: number } = {}): Promise<string> {
    return (await this.send({ cmd: 'session-get', session, url, ...options })).bodies?.[0] ?? '';
  }

  sessionClose(session: string): Promise<AgentReply> {
    return this.send({ cmd: 'session-close', session });
  }

  /** Answer UDP datagrams on these ports (IPv4 and IPv6) with "NAME PORT". */
  serveUdp(name: string, ports: number[]): Promise<AgentReply> {
    return this.send({ cmd: 'serve-udp', name, ports });
  }

  /**
   * One datagram to address:port from each source port in turn (0: ephemeral), each from a fresh socket:
   * the answers ("NAME PORT" or "error: TIMEOUT") and where each came from ("ADDRESS PORT").
   */
  async sendUdp(
    address: string,
    port: number,
    sourcePorts: number[],
    options: { localAddress?: string; payload?: string; timeoutMs?: number } = {},
  ): Promise<{ bodies: string[]; from: string[] }> {
    const r = await this.send({ cmd: 'send-udp', address, port, sourcePorts, ...options });
    return { bodies: r.bodies ?? [], from: r.from ?? [] };
  }

  /**
   * GET each URL (`count` rounds), each on a new connection from a source port this agent never used before
   * (see agent.mjs); the bodies (or "error: CODE") in order.
   */
  async get(urls: string[], options: { localAddress?: string; count?: number; timeoutMs?: number } = {}): Promise<string[]> {
    return (await this.send({ cmd: 'get', urls, ...options })).bodies ?? [];
  }
}

/** One run's namespaces and processes. */
export class Lab {
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly onExit = (): void => this.cleanupSync();

  constructor(tag: string) {
    this.prefix = `${tag}${process.pid % 100000}`;
    process.once('exit', this.onExit);
  }

  /** The full name of a namespace of this lab. */
  name(short: string): string {
    return `${this.prefix}-${short}`;
  }

  addNamespace(short: string): string {
    const ns = this.name(short);
    run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    this.ip(ns, 'link', 'set', 'lo', 'up');
    return ns;
  }

  ip(ns: string, ...args: string[]): string {
    return run('ip', ['-n', ns, ...args]);
  }

  exec(ns: string, cmd: string, ...args: string[]): string {
    return run('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  sysctl(ns: string, ...settings: string[]): void {
    this.exec(ns, 'sysctl', '-q', '-w', ...settings);
  }

  /** A bridge in `ns`, up, with an address (CIDR) if given. */
  bridge(ns: string, ifname: string, cidr?: string): void {
    this.ip(ns, 'link', 'add', ifname, 'type', 'bridge');
    this.ip(ns, 'link', 'set', ifname, 'up');
    if (cidr) this.ip(ns, 'addr', 'add', cidr, 'dev', ifname);
  }

  /**
   * A veth pair from `a` to `b`. Each side gets its addresses; `b` may instead be enslaved to a bridge
   * in its namespace; `a` may get a default route.
   */
  veth(
    a: { ns: string; ifname: string; addresses?: string[]; gateway?: string },
    b: { ns: string; ifname: string; addresses?: string[]; bridge?: string },
  ): void {
    run('ip', ['link', 'add', a.ifname, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', b.ns]);
    for (const side of [a, b]) for (const cidr of side.addresses ?? []) this.ip(side.ns, 'addr', 'add', cidr, 'dev', side.ifname);
    if (b.bridge) this.ip(b.ns, 'link', 'set', b.ifname, 'master', b.bridge);
    this.ip(a.ns, 'link', 'set', a.ifname, 'up');
    this.ip(b.ns, 'link', 'set', b.ifname, 'up');
    if (a.gateway) this.ip(a.ns, 'route', 'add', 'default', 'via', a.gateway);
  }

  /** Start agent.mjs inside `ns`. */
  async agent(ns: string): Promise<Agent> {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, AGENT], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.children.push(child);
    const first = readline.createInterface({ input: child.stdout! });
    const [line] = (await Promise.race([once(first, 'line'), once(child, 'exit').then(() => [undefined])])) as [string | undefined];
    first.close();
    if (!line || !(JSON.parse(line) as { ready?: boolean }).ready) throw new Error(`agent in ${ns} did not start`);
    return new Agent(ns, child);
  }

  /** Start any command inside `ns` (tracked: killed at cleanup). */
  spawn(ns: string, cmd: string, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    return child;
  }

  async cleanup(): Promise<void> {
    const exits = this.children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => once(c, 'exit').catch(() => undefined));
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) c.kill('SIGKILL');
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 3000))]);
    this.cleanupSync();
    process.off('exit', this.onExit);
  }

  private cleanupSync(): void {
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    for (const ns of this.namespaces.splice(0)) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    }
  }
}
