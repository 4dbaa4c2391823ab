// Persistent port connections (PPC): one persistent service per port. A client sticks to one real
// server per port: its web connections to one server, its TLS connections to one server, possibly
// another, each for the persistence timeout. The seed: "write a few more ipvsadm lines, one per port".
//
//   sudo node examples/ppc.js [--vip 192.168.1.110] [--ports 80,443]
//                             [--servers 192.168.1.116,192.168.1.117] [--forwarding route|masq|tunnel] [--timeout 600]
//   sudo node examples/ppc.js --cleanup
import { parseArgs } from 'node:util';
import { byOption, numberOption, runAsProgram } from './program.js';

export function parseOptions(argv, env = process.env) {
  const { values } = parseArgs({
    args: argv,
    options: {
      vip: { type: 'string', default: env.VIP ?? '192.168.1.110' },
      ports: { type: 'string', default: env.PORTS ?? '80,443' },
      servers: { type: 'string', default: env.REAL_SERVERS ?? '192.168.1.116,192.168.1.117' },
      forwarding: { type: 'string', default: 'route' },
      timeout: { type: 'string', default: '600' },
      cleanup: { type: 'boolean', default: false },
    },
  });
  return {
    ...values,
    ports: values.ports.split(',').map((p) => numberOption(p, '--ports')),
    servers: values.servers.split(','),
    timeout: numberOption(values.timeout, '--timeout'),
  };
}

/** The options the fields of its operations come from, for a refused value (program.js's byOption). */
const OPTION_OF_FIELD = [
  [/service\.persistence\.timeout$/, '--timeout'],
  [/destination\.address$/, '--servers'],
  [/destination\.forwarding$/, '--forwarding'],
  [/^(operations\[\d+\]\.service\.)?address$/, '--vip'],
  [/^(operations\[\d+\]\.service\.)?port$/, '--ports'],
];

export async function main(ipvs, options, log = console.log) {
  // One service per port, added in one pipelined batch: the kernel acknowledges each operation.
  const ops = [];
  for (const port of options.ports) {
    const service = { protocol: 'tcp', address: options.vip, port };
    if (await ipvs.hasService(service).catch((err) => Promise.reject(byOption(err, OPTION_OF_FIELD)))) ops.push({ op: 'delete-service', service });
    ops.push({ op: 'add-service', service: { ...service, scheduler: 'rr', persistence: { timeout: options.timeout } } });
    for (const address of options.servers) {
      ops.push({ op: 'add-destination', service, destination: { address, forwarding: options.forwarding, weight: 1 } });
    }
  }
  const results = await ipvs.execute(ops).catch((err) => Promise.reject(byOption(err, OPTION_OF_FIELD)));
  const failed = results.filter((r) => 'error' in r);
  if (failed.length > 0) throw byOption(failed[0].error, OPTION_OF_FIELD);
  log(`Persistent port connections (PPC) on ${options.vip}: ${options.ports.length} service${options.ports.length === 1 ? '' : 's'}, one per port.`);
  for (const port of options.ports) log(`  tcp ${options.vip}:${port}  round robin over ${options.servers.join(', ')}, persistence ${options.timeout} s`);
  if (options.ports.length > 1) log(`A client keeps its server per port: its connections to port ${options.ports[0]} and to port ${options.ports[1]} may go to different servers.`);
  const vip = options.vip === '192.168.1.110' ? '' : ` --vip ${options.vip}`;
  log(`Undo with: node examples/ppc.js --cleanup${vip}${options.ports.join(',') === '80,443' ? '' : ` --ports ${options.ports.join(',')}`}`);
}

export async function cleanup(ipvs, options, log = console.log) {
  for (const port of options.ports) {
    const service = { protocol: 'tcp', address: options.vip, port };
    if (await ipvs.hasService(service)) {
      await ipvs.deleteService(service);
      log(`Removed tcp ${options.vip}:${port}.`);
    }
  }
}


/** What `--help` prints: the options and their defaults (as docs/examples.md lists them). */
export const usage = `Usage: sudo node examples/ppc.js [options]
       sudo node examples/ppc.js --cleanup [--vip ADDRESS] [--ports P,Q]

Persistent port connections: one persistent service per port, so a client's affinity is per port.

  --vip ADDRESS          the virtual IP (default: $VIP or 192.168.1.110)
  --ports P,Q,...        the ports, one service each (default: $PORTS or 80,443)
  --servers A,B,...      the real servers (default: $REAL_SERVERS or 192.168.1.116,192.168.1.117)
  --forwarding METHOD    route (direct routing, the default), masq (NAT) or tunnel
  --timeout SECONDS      persistence timeout (default 600)
  --cleanup              remove the services
  -h, --help             print this and exit
`;

await runAsProgram(import.meta, parseOptions, (ipvs, options) => (options.cleanup ? cleanup(ipvs, options) : main(ipvs, options)), { usage });
