// A small helper process run inside a network namespace (`ip netns exec NS node agent.mjs`) by the
// real-traffic tests: it serves HTTP on the ports it is told to (each answer names the server and the
// port), stops and starts serving on command (a stopped server refuses connections, as a crashed one
// would), and makes HTTP requests on a fresh TCP connection each (from a port no earlier one used), from a
// chosen source address. Commands and replies are JSON lines on stdin/stdout, so one Node start (slow under
// UML) serves the whole run.
// For the health tests a server can also be told it is sick (its /health answers 503 while everything
// else still works), and a client can hold one keep-alive connection (a session) open across requests,
// to show what happens to an open connection when its server is quiesced or deleted. For UDP services it
// also answers datagrams ("NAME PORT", dual-stack) and sends them from chosen source ports, reporting who
// answered and from which address (under NAT the answer must come from the virtual address, not the server).
import dgram from 'node:dgram';
import http from 'node:http';
import { isIPv6 } from 'node:net';
import readline from 'node:readline';

// How long a request or datagram waits for its answer unless the command says otherwise. Every answer the
// tests wait for normally comes in milliseconds; the few tests that expect none (a dropped connection) pass a
// short timeout of their own. A loaded host can hold a User-Mode Linux guest's processes off the CPU for
// seconds, and a lost SYN is sent again only 1, 3 and 7 s after the first: the default leaves room for both.
const DEFAULT_TIMEOUT_MS = 10_000;

// Every TCP connection this agent opens leaves from a port of its own, counted up from FIRST_PORT (below the
// kernel's ephemeral range, so nothing else here takes them). With ports the kernel picks at random, a new
// connection now and then got the port of an earlier one to the same virtual service while IPVS still held
// that one's entry (2 min in TIME_WAIT, FIN_WAIT for direct routing and tunnels): IPVS then sends the new SYN
// where the old entry points without asking the scheduler (round robin skips a turn), or drops it when that
// server was deleted; and a real server may still hold the old connection in TIME_WAIT.
const FIRST_PORT = 20_000;
const LAST_PORT = 32_767;
let nextPort = FIRST_PORT;
function freshPort() {
  const port = nextPort;
  nextPort = nextPort === LAST_PORT ? FIRST_PORT : nextPort + 1;
  return port;
}

let name = 'agent';
let sick = false;
const servers = new Map();
const sessions = new Map();
const udpServers = new Map();

function reply(id, body) {
  process.stdout.write(`${JSON.stringify({ id, ...body })}\n`);
}

async function serve(ports) {
  for (const port of ports) {
    if (servers.has(port)) continue;
    const server = http.createServer((req, res) => {
      if (req.url === '/health') {
        res.setHeader('connection', 'close');
        res.writeHead(sick ? 503 : 200).end(sick ? 'sick' : 'ok');
        return;
      }
      // /keep: a session's request, answered on a connection left open; everything else closes.
      if (req.url !== '/keep') res.setHeader('connection', 'close');
      res.end(`${name} ${port}`);
    });
    // A session's connection stays open until the test closes it: Node's default closes it after some 5 s
    // idle, and a test waiting longer than that on a slow machine (for a checker to quiesce the server) would
    // see its next request go out on a new connection.
    server.keepAliveTimeout = 0;
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, resolve);
    });
    servers.set(port, server);
  }
}

async function serveUdp(ports, address) {
  for (const port of ports) {
    const key = `${address ?? '*'} ${port}`;
    if (udpServers.has(key)) continue;
    // One IPv6 socket takes both families (IPv4 senders appear as ::ffff:a.b.c.d). A socket on the wildcard
    // address answers from the address the route to the sender gives; one bound to an address (a direct-routing
    // VIP held on lo) answers from it.
    const socket = address ? dgram.createSocket(isIPv6(address) ? 'udp6' : 'udp4') : dgram.createSocket({ type: 'udp6', ipv6Only: false });
    socket.on('message', (_msg, rinfo) => socket.send(`${name} ${port}`, rinfo.port, rinfo.address));
    await new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, resolve);
    });
    udpServers.set(key, socket);
  }
}

/**
 * One datagram `payload` to address:port from each of `sourcePorts` in turn (0: an ephemeral port), each from
 * a fresh socket, waiting for its answer: "BODY" and "FROM-ADDRESS FROM-PORT", or "error: TIMEOUT" and "".
 */
async function sendUdp(address, port, sourcePorts, payload, localAddress, timeoutMs) {
  const bodies = [];
  const from = [];
  for (const sourcePort of sourcePorts) {
    const socket = dgram.createSocket(isIPv6(address) ? 'udp6' : 'udp4');
    try {
      await new Promise((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ port: sourcePort, ...(localAddress ? { address: localAddress } : {}) }, resolve);
      });
      const answer = await new Promise((resolve) => {
        const timer = setTimeout(() => resolve(undefined), timeoutMs);
        socket.once('message', (msg, rinfo) => {
          clearTimeout(timer);
          resolve({ body: msg.toString('utf8'), from: `${rinfo.address} ${rinfo.port}` });
        });
        socket.send(payload, port, address);
      });
      bodies.push(answer ? answer.body : 'error: TIMEOUT');
      from.push(answer ? answer.from : '');
    } finally {
      socket.close();
    }
  }
  return { bodies, from };
}

function stopServing() {
  for (const server of servers.values()) {
    server.close();
    server.closeAllConnections();
  }
  servers.clear();
}

function get(url, localAddress, timeoutMs, agent = false) {
  return new Promise((resolve) => {
    // A new connection (always, but for a session whose connection is still open) leaves from a fresh port.
    const req = http.get(url, { agent, timeout: timeoutMs, localPort: freshPort(), ...(localAddress ? { localAddress } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      // A session's answer also tells whether it came over the connection already open.
      res.on('end', () => resolve(agent ? `${body} ${req.reusedSocket ? 'same-connection' : 'new-connection'}` : body));
      res.on('error', (err) => resolve(`error: ${err.code ?? err.message}`));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (err) => resolve(`error: ${err.code ?? err.message}`));
  });
}

async function handle(msg) {
  switch (msg.cmd) {
    case 'serve':
      name = msg.name ?? name;
      await serve(msg.ports);
      return {};
    case 'serve-udp':
      name = msg.name ?? name;
      await serveUdp(msg.ports, msg.address);
      return {};
    case 'send-udp':
      return sendUdp(msg.address, msg.port, msg.sourcePorts, msg.payload ?? 'ping', msg.localAddress, msg.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    case 'stop':
      stopServing();
      return {};
    case 'sick':
      sick = msg.on;
      return {};
    case 'session-get': {
      // One keep-alive connection per session name, reused by every request of the session.
      let agent = sessions.get(msg.session);
      if (!agent) sessions.set(msg.session, (agent = new http.Agent({ keepAlive: true, maxSockets: 1 })));
      return { bodies: [await get(msg.url, msg.localAddress, msg.timeoutMs ?? DEFAULT_TIMEOUT_MS, agent)] };
    }
    case 'session-close':
      sessions.get(msg.session)?.destroy();
      sessions.delete(msg.session);
      return {};
    case 'get': {
      const bodies = [];
      for (let i = 0; i < (msg.count ?? 1); i++) {
        for (const url of msg.urls) bodies.push(await get(url, msg.localAddress, msg.timeoutMs ?? DEFAULT_TIMEOUT_MS));
      }
      return { bodies };
    }
    default:
      throw new Error(`unknown command ${msg.cmd}`);
  }
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const msg = JSON.parse(line);
  handle(msg).then(
    (body) => reply(msg.id, { ok: true, ...body }),
    (err) => reply(msg.id, { ok: false, error: err.message }),
  );
});
lines.on('close', () => process.exit(0));
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
