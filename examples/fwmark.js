// Firewall-mark persistence: two ports grouped into one virtual service by a netfilter mark, so a
// client that uses both (say HTTP on 80 and HTTPS on 443) lands on the same real server for both. The
// seed: `iptables -t mangle -A PREROUTING -d VIP -p tcp --dport 80 -j MARK --set-mark 10` and
// `ipvsadm -A -f 10 -s rr -p 60`, real servers by direct routing.
//
// Why a child process: IPVS only reads the mark; setting it is netfilter's job (the mangle table runs in
// PREROUTING, before IPVS sees the packet on its way in). The library speaks IPVS only, so this example
// runs the firewall tool you have: iptables (default), iptables-legacy (e.g. kernels without nf_tables
// for IPv4, such as the UML sandbox), nft, or none (you mark the packets yourself). Run again, it replaces
// the service and finds its rule in place (one rule however often it runs); if the firewall command fails,
// the service it just added is deleted again, so nothing is left half set up.
//
//   sudo node examples/fwmark.js [--vip 192.168.1.110] [--ports 80,443] [--mark 10] [--timeout 60]
//                                [--servers 192.168.1.116,192.168.1.117] [--forwarding route|masq|tunnel]
//                                [--marker iptables|iptables-legacy|nft|none]
//   sudo node examples/fwmark.js --cleanup
import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import { byOption, numberOption, runAsProgram } from './program.js';

export function parseOptions(argv, env = process.env) {
  const { values } = parseArgs({
    args: argv,
    options: {
      vip: { type: 'string', default: env.VIP ?? '192.168.1.110' },
      ports: { type: 'string', default: env.PORTS ?? '80,443' },
      mark: { type: 'string', default: '10' },
      timeout: { type: 'string', default: '60' },
      servers: { type: 'string', default: env.REAL_SERVERS ?? '192.168.1.116,192.168.1.117' },
      forwarding: { type: 'string', default: 'route' },
      marker: { type: 'string', default: env.MARKER ?? 'iptables' },
      cleanup: { type: 'boolean', default: false },
    },
  });
  if (!MARKERS.includes(values.marker)) throw new Error(`invalid --marker ${JSON.stringify(values.marker)}: give ${MARKERS.join(', ')}`);
  // The ports go only to the firewall command: checked here, as IPVS never sees them.
  const ports = values.ports.split(',').map((text) => {
    const port = numberOption(text, '--ports');
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid --ports ${port}: must be an integer 1..65535`);
    return port;
  });
  return { ...values, ports, servers: values.servers.split(','), mark: numberOption(values.mark, '--mark'), timeout: numberOption(values.timeout, '--timeout') };
}

const MARKERS = ['iptables', 'iptables-legacy', 'nft', 'none'];

/** The options the fields of its operations come from, for a refused value (program.js's byOption). */
const OPTION_OF_FIELD = [
  [/(^|service\.)fwmark$/, '--mark'],
  [/service\.persistence\.timeout$/, '--timeout'],
  [/destination\.address$/, '--servers'],
  [/destination\.forwarding$/, '--forwarding'],
];

/** The firewall commands that mark (or, with `remove`, unmark) the VIP's ports. */
export function markingCommands({ vip, ports, mark, marker }, remove = false) {
  const table = 'ipvs_example_fwmark';
  switch (marker) {
    case 'none':
      return [];
    case 'nft':
      if (remove) return [['nft', ['delete', 'table', 'ip', table]]];
      return [
        ['nft', ['add', 'table', 'ip', table]],
        ['nft', ['add', 'chain', 'ip', table, 'prerouting', '{ type filter hook prerouting priority mangle; }']],
        ['nft', ['add', 'rule', 'ip', table, 'prerouting', 'ip', 'daddr', vip, 'tcp', 'dport', `{ ${ports.join(', ')} }`, 'meta', 'mark', 'set', String(mark)]],
      ];
    default: // iptables or iptables-legacy: one rule for all the ports
      return [[marker, ['-t', 'mangle', remove ? '-D' : '-A', 'PREROUTING', '-d', vip, '-p', 'tcp', '-m', 'multiport', '--dports', ports.join(','), '-j', 'MARK', '--set-mark', String(mark)]]];
  }
}

const run = promisify(execFile);
const failure = (err) => String(err.stderr || err.message).trim();

/** Mark the packets, once: a rule already there from an earlier run is not added again. */
async function mark(options, log, exec) {
  const commands = markingCommands(options);
  if (options.marker === 'nft') {
    // `nft add rule` appends a copy each time: start from no table of ours (a missing one is no error here).
    await exec(...markingCommands(options, true)[0]).catch(() => {});
  } else if (commands.length === 1) {
    // iptables -C: exit status 0 when the very rule is there already.
    const [cmd, args] = commands[0];
    const there = await exec(cmd, args.map((a) => (a === '-A' ? '-C' : a))).then(() => true, () => false);
    if (there) return log(`  already there: ${cmd} ${args.join(' ')}`);
  }
  for (const [cmd, args] of commands) {
    await exec(cmd, args);
    log(`  ran: ${cmd} ${args.join(' ')}`);
  }
}

export async function main(ipvs, options, log = console.log, exec = run) {
  const service = { fwmark: options.mark };
  // One batch: execute() checks every operation before it sends any, so a bad option is refused with the
  // table untouched.
  const ops = (await ipvs.hasService(service).catch((err) => Promise.reject(byOption(err, OPTION_OF_FIELD)))) ? [{ op: 'delete-service', service }] : [];
  ops.push({ op: 'add-service', service: { ...service, scheduler: 'rr', persistence: { timeout: options.timeout } } });
  // A fwmark service has no port of its own: port 0 keeps the port each packet was sent to.
  for (const address of options.servers) ops.push({ op: 'add-destination', service, destination: { address, port: 0, forwarding: options.forwarding, weight: 1 } });
  const results = await ipvs.execute(ops).catch((err) => Promise.reject(byOption(err, OPTION_OF_FIELD)));
  const failed = results.find((r) => 'error' in r);
  if (failed) throw byOption(failed.error, OPTION_OF_FIELD);
  log(`IPVS service for firewall mark ${options.mark}: round robin over ${options.servers.join(', ')}, persistence ${options.timeout} s.`);
  try {
    await mark(options, log, exec);
  } catch (err) {
    // No half set-up: a service nothing marks packets for is taken out again.
    await ipvs.deleteService(service).catch(() => {});
    throw new Error(`${failure(err)} (the service for mark ${options.mark} is removed again; try another --marker)`);
  }
  if (options.marker === 'none') log(`  (not marking packets: mark tcp ${options.vip} ports ${options.ports.join(',')} with ${options.mark} yourself)`);
  else log(`Packets to ${options.vip} ports ${options.ports.join(' and ')} now carry mark ${options.mark}, so one client's connections to any of them share one server.`);
  // What --cleanup needs to find the service and the rule: the options that differ from the defaults.
  const differing = [['vip', '192.168.1.110'], ['ports', '80,443'], ['mark', '10'], ['marker', 'iptables']]
    .filter(([name, value]) => String(options[name]) !== value)
    .map(([name]) => ` --${name} ${options[name]}`);
  log(`Undo with: node examples/fwmark.js --cleanup${differing.join('')}`);
}

export async function cleanup(ipvs, options, log = console.log, exec = run) {
  for (const [cmd, args] of markingCommands(options, true)) {
    // iptables -D removes one copy: repeat until none is left (an earlier version of this example added one per run).
    let removed = 0;
    for (;;) {
      try {
        await exec(cmd, args);
        removed++;
        log(`ran: ${cmd} ${args.join(' ')}`);
      } catch (err) {
        if (removed === 0) log(`(${cmd}: ${failure(err)})`);
        break;
      }
      if (cmd === 'nft' || removed >= 100) break;
    }
  }
  if (await ipvs.hasService({ fwmark: options.mark })) {
    await ipvs.deleteService({ fwmark: options.mark });
    log(`Removed the service for firewall mark ${options.mark}.`);
  }
}


/** What `--help` prints: the options and their defaults (as docs/examples.md lists them). */
export const usage = `Usage: sudo node examples/fwmark.js [options]
       sudo node examples/fwmark.js --cleanup [options]

Ports grouped by a firewall mark: one persistent IPVS service for the mark, and the netfilter rule that marks the
VIP's ports, so every port of one client shares a real server.

  --vip ADDRESS          the virtual IP (default: $VIP or 192.168.1.110)
  --ports P,Q,...        the ports to mark (default: $PORTS or 80,443)
  --mark N               the firewall mark (default 10)
  --timeout SECONDS      persistence timeout (default 60)
  --servers A,B,...      the real servers (default: $REAL_SERVERS or 192.168.1.116,192.168.1.117)
  --forwarding METHOD    route (direct routing, the default), masq (NAT) or tunnel
  --marker TOOL          iptables (default; or $MARKER), iptables-legacy, nft, or none (mark the packets yourself)
  --cleanup              remove the service and the marking rule
  -h, --help             print this and exit
`;

await runAsProgram(import.meta, parseOptions, (ipvs, options) => (options.cleanup ? cleanup(ipvs, options) : main(ipvs, options)), { usage });
