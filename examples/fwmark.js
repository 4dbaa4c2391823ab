// Firewall-mark persistence: two ports grouped into one virtual service by a netfilter mark, so a
// client that uses both (say HTTP on 80 and HTTPS on 443) lands on the same real server for both. The
// seed: `iptables -t mangle -A PREROUTING -d VIP -p tcp --dport 80 -j MARK --set-mark 10` and
// `ipvsadm -A -f 10 -s rr -p 60`, real servers by direct routing.
//
// Why a child process: IPVS only reads the mark; setting it is netfilter's job (the mangle table runs in
// PREROUTING, before IPVS sees the packet on its way in). The library speaks IPVS only, so this example
// runs the firewall tool you have: iptables (default), iptables-legacy (e.g. kernels without nf_tables
// for IPv4, such as the UML sandbox), nft, or none (you mark the packets yourself).
//
//   sudo node examples/fwmark.js [--vip 192.168.1.110] [--ports 80,443] [--mark 10] [--timeout 60]
//                                [--servers 192.168.1.116,192.168.1.117] [--forwarding route|masq]
//                                [--marker iptables|iptables-legacy|nft|none]
//   sudo node examples/fwmark.js --cleanup
import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import { runAsProgram } from './program.js';

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
  return { ...values, ports: values.ports.split(',').map(Number), servers: values.servers.split(','), mark: Number(values.mark), timeout: Number(values.timeout) };
}

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

export async function main(ipvs, options, log = console.log, exec = run) {
  const service = { fwmark: options.mark };
  if (await ipvs.hasService(service)) await ipvs.deleteService(service);
  await ipvs.addService({ ...service, scheduler: 'rr', persistence: { timeout: options.timeout } });
  // A fwmark service has no port of its own: port 0 keeps the port each packet was sent to.
  for (const address of options.servers) await ipvs.addDestination(service, { address, port: 0, forwarding: options.forwarding, weight: 1 });
  log(`IPVS service for firewall mark ${options.mark}: round robin over ${options.servers.join(', ')}, persistence ${options.timeout} s.`);
  for (const [cmd, args] of markingCommands(options)) {
    await exec(cmd, args);
    log(`  ran: ${cmd} ${args.join(' ')}`);
  }
  if (options.marker === 'none') log(`  (not marking packets: mark tcp ${options.vip} ports ${options.ports.join(',')} with ${options.mark} yourself)`);
  else log(`Packets to ${options.vip} ports ${options.ports.join(' and ')} now carry mark ${options.mark}, so one client's connections to any of them share one server.`);
  log(`Undo with: node examples/fwmark.js --cleanup${options.marker === 'iptables' ? '' : ` --marker ${options.marker}`}`);
}

export async function cleanup(ipvs, options, log = console.log, exec = run) {
  for (const [cmd, args] of markingCommands(options, true)) {
    try {
      await exec(cmd, args);
      log(`ran: ${cmd} ${args.join(' ')}`);
    } catch (err) {
      log(`(${cmd}: ${String(err.stderr ?? err.message).trim()})`);
    }
  }
  if (await ipvs.hasService({ fwmark: options.mark })) {
    await ipvs.deleteService({ fwmark: options.mark });
    log(`Removed the service for firewall mark ${options.mark}.`);
  }
}

await runAsProgram(import.meta, parseOptions, (ipvs, options) => (options.cleanup ? cleanup(ipvs, options) : main(ipvs, options)));
