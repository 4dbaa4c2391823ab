// Network plumbing for the real-traffic tests: network namespaces, bridges and veth pairs made with
// iproute2 (recorded with Lab.setup() and carried out by one script of `ip -batch` runs), helper processes
// (agent.mjs) started inside namespaces, and cleanup that always happens.
// Every name carries a per-run prefix, every address lives inside a namespace made here, and `cleanup()`
// (also run on process exit, should a test runner die mid-way) kills the children it started, by pid,
// and deletes the namespaces, which takes their interfaces, addresses, routes and firewall rules along.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';
import { batchScript, deleteNamespaces, runScript } from '../netns.js';

const AGENT = fileURLToPath(new URL('./agent.mjs', import.meta.url));

/**
 * The timeout of a beforeAll that builds a lab: a Node start per agent, and the namespaces, links and
 * addresses. With one `ip` process per step (some seventy for the traffic topology) and the lab's cleanup
 * that took about 12 s in User-Mode Linux on a quiet host, some 45 s with busy processes beside the tests in
 * the guest, and once more than the 60 s these hooks had. Lab.setup() now runs them as one script.
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

  /**
   * Answer UDP datagrams on these ports with "NAME PORT": on every address (IPv4 and IPv6), or only on `address`,
   * answering from it (a server behind direct routing binds the VIP so).
   */
  serveUdp(name: string, ports: number[], address?: string): Promise<AgentReply> {
    return this.send({ cmd: 'serve-udp', name, ports, ...(address ? { address } : {}) });
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

/** One end of a veth pair: its namespace, its name and its addresses (CIDR). */
export interface VethEnd {
  ns: string;
  ifname: string;
  addresses?: string[];
}

/**
 * Set-up steps recorded for Lab.setup(), then carried out by one shell script (one process start from Node, see
 * ../netns.ts): one `ip -batch` in the root namespace (new namespaces, veth pairs), and per namespace, in the
 * order recorded, one `ip -n NS -batch` per run of `ip` lines and one `sysctl` per run of settings. Steps in one
 * namespace keep their order; no step may depend on another namespace's steps (none does: each end of a veth is
 * configured in its own namespace).
 */
export class LabSetup {
  /** Lines for `ip -batch` in the root namespace: the new namespaces, then the veth pairs. */
  readonly root: string[] = [];
  private namespaces = 0;
  /** Per namespace, its steps: runs of ip batch lines and of sysctl settings. */
  readonly steps = new Map<string, { kind: 'ip' | 'sysctl'; items: string[] }[]>();

  constructor(private readonly lab: Lab) {}

  private add(ns: string, kind: 'ip' | 'sysctl', items: string[]): void {
    const list = this.steps.get(ns) ?? [];
    this.steps.set(ns, list);
    const last = list.at(-1);
    if (last?.kind === kind) last.items.push(...items);
    else list.push({ kind, items: [...items] });
  }

  /** A new namespace of the lab with lo up; its full name. */
  namespace(short: string): string {
    const ns = this.lab.name(short);
    this.root.splice(this.namespaces++, 0, `netns add ${ns}`);
    this.lab.track(ns);
    this.ip(ns, 'link set lo up');
    return ns;
  }

  /** `ip` lines (no options: `addr add 10.0.0.1/8 dev dum0`) inside `ns`. */
  ip(ns: string, ...lines: string[]): void {
    this.add(ns, 'ip', lines);
  }

  sysctl(ns: string, ...settings: string[]): void {
    this.add(ns, 'sysctl', settings);
  }

  /** A bridge in `ns`, up, with an address (CIDR) if given. */
  bridge(ns: string, ifname: string, cidr?: string): void {
    this.ip(ns, `link add ${ifname} type bridge`, `link set ${ifname} up`, ...(cidr ? [`addr add ${cidr} dev ${ifname}`] : []));
  }

  /**
   * A veth pair from `a` to `b`. Each side gets its addresses; `b` may instead be enslaved to a bridge
   * in its namespace; `a` may get a default route.
   */
  veth(a: VethEnd & { gateway?: string }, b: VethEnd & { bridge?: string }): void {
    this.root.push(`link add ${a.ifname} netns ${a.ns} type veth peer name ${b.ifname} netns ${b.ns}`);
    const addresses = (side: VethEnd): string[] => (side.addresses ?? []).map((cidr) => `addr add ${cidr} dev ${side.ifname}`);
    this.ip(a.ns, ...addresses(a), `link set ${a.ifname} up`, ...(a.gateway ? [`route add default via ${a.gateway}`] : []));
    this.ip(b.ns, ...addresses(b), ...(b.bridge ? [`link set ${b.ifname} master ${b.bridge}`] : []), `link set ${b.ifname} up`);
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

  /** Count `ns` as the lab's, for cleanup (LabSetup calls this before the namespace is made). */
  track(ns: string): void {
    this.namespaces.push(ns);
  }

  /** Record set-up steps in `build`, then carry them out (see LabSetup); returns what `build` returned. */
  setup<T>(build: (s: LabSetup) => T): T {
    const s = new LabSetup(this);
    const result = build(s);
    let script = batchScript(s.root);
    for (const [ns, steps] of s.steps) {
      for (const step of steps) script += step.kind === 'ip' ? batchScript(step.items, ns) : `ip netns exec ${ns} sysctl -q -w ${step.items.join(' ')}\n`;
    }
    runScript(script);
    return result;
  }

  addNamespace(short: string): string {
    return this.setup((s) => s.namespace(short));
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
    this.setup((s) => s.bridge(ns, ifname, cidr));
  }

  /** A veth pair (LabSetup.veth), made at once. */
  veth(a: VethEnd & { gateway?: string }, b: VethEnd & { bridge?: string }): void {
    this.setup((s) => s.veth(a, b));
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
    deleteNamespaces(this.namespaces.splice(0));
  }
}
