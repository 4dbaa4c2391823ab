// Persistent client connections (PCC): one port-0 service on the virtual IP, so every connection a
// client makes, to any port, goes to the same real server for as long as it keeps coming back within
// the persistence timeout. The seed's `ipvsadm -A -t 192.168.1.110:0 -s rr -p 600`, plus its real
// servers (direct routing, as the seed's -g).
//
//   sudo node examples/pcc.js [--vip 192.168.1.110] [--servers 192.168.1.116,192.168.1.117]
//                             [--forwarding route|masq|tunnel] [--timeout 600]
//   sudo node examples/pcc.js --cleanup
//
// VIP and REAL_SERVERS in the environment work too. Run `ipvsadm -Ln` (or `ipvs -Ln`) to see the result.
import { parseArgs } from 'node:util';
import { byOption, numberOption, runAsProgram } from './program.js';

export function parseOptions(argv, env = process.env) {
  const { values } = parseArgs({
    args: argv,
    options: {
      vip: { type: 'string', default: env.VIP ?? '192.168.1.110' },
      servers: { type: 'string', default: env.REAL_SERVERS ?? '192.168.1.116,192.168.1.117' },
      forwarding: { type: 'string', default: 'route' },
      timeout: { type: 'string', default: '600' },
      cleanup: { type: 'boolean', default: false },
    },
  });
  return { ...values, servers: values.servers.split(','), timeout: numberOption(values.timeout, '--timeout') };
}

/** The options the fields of its operations come from, for a refused value (program.js's byOption). */
const OPTION_OF_FIELD = [
  [/service\.persistence\.timeout$/, '--timeout'],
  [/destination\.address$/, '--servers'],
  [/destination\.forwarding$/, '--forwarding'],
  [/^(operations\[\d+\]\.service\.)?address$/, '--vip'],
];

const words = { route: 'direct routing', masq: 'NAT', tunnel: 'IP tunnel' };

export async function main(ipvs, options, log = console.log) {
  // Port 0 with persistence: the kernel matches the client's address on every port of the VIP.
  const service = { protocol: 'tcp', address: options.vip, port: 0 };
  const replacing = await ipvs.hasService(service).catch((err) => Promise.reject(byOption(err, OPTION_OF_FIELD)));
  // One batch: execute() checks every operation before it sends any, so a bad option (--forwarding bogus)
  // is refused with the table untouched instead of leaving a service with no real servers.
  const ops = replacing ? [{ op: 'delete-service', service }] : [];
  ops.push({ op: 'add-service', service: { ...service, scheduler: 'rr', persistence: { timeout: options.timeout } } });
  for (const address of options.servers) {
    // Port 0 again: the connection keeps the port the client asked for.
    ops.push({ op: 'add-destination', service, destination: { address, port: 0, forwarding: options.forwarding, weight: 1 } });
  }
  const results = await ipvs.execute(ops).catch((err) => Promise.reject(byOption(err, OPTION_OF_FIELD)));
  const failed = results.find((r) => 'error' in r);
  if (failed) throw byOption(failed.error, OPTION_OF_FIELD);
  if (replacing) log(`Replaced the existing service on ${options.vip}:0.`);
  log(`Persistent client connections (PCC) on ${options.vip}, every TCP port:`);
  log(`  round robin between ${options.servers.join(' and ')} (${words[options.forwarding] ?? options.forwarding})`);
  log(`  a client's connections to any port stay on the server it first got, until it has been`);
  log(`  quiet for ${options.timeout} s (\`ipvsadm -Lnc\` shows the template per client, port 0).`);
  log(`Undo with: node examples/pcc.js --cleanup${options.vip === '192.168.1.110' ? '' : ` --vip ${options.vip}`}`);
}

export async function cleanup(ipvs, options, log = console.log) {
  const service = { protocol: 'tcp', address: options.vip, port: 0 };
  if (!(await ipvs.hasService(service))) return log(`Nothing to remove: no service on ${options.vip}:0.`);
  await ipvs.deleteService(service);
  log(`Removed the PCC service on ${options.vip}:0 and its real servers.`);
}


/** What `--help` prints: the options and their defaults (as docs/examples.md lists them). */
export const usage = `Usage: sudo node examples/pcc.js [options]
       sudo node examples/pcc.js --cleanup [--vip ADDRESS]

Persistent client connections: one port-0 persistent service on the VIP, so every connection of a client, to any
port, goes to one real server.

  --vip ADDRESS          the virtual IP (default: $VIP or 192.168.1.110)
  --servers A,B,...      the real servers (default: $REAL_SERVERS or 192.168.1.116,192.168.1.117)
  --forwarding METHOD    route (direct routing, the default), masq (NAT) or tunnel
  --timeout SECONDS      persistence timeout (default 600)
  --cleanup              remove the service
  -h, --help             print this and exit
`;

await runAsProgram(import.meta, parseOptions, (ipvs, options) => (options.cleanup ? cleanup(ipvs, options) : main(ipvs, options)), { usage });
