// The seed's health-check script, rewritten. The shell loop curls each real server every 5 s and runs
// `ipvsadm -a` / `ipvsadm -d` when one comes or goes, with a fail-back server 127.0.0.1 in mind. Here the
// library's health checker does it without a child process, and better:
//   - a failed server is quiesced (weight 0: its open connections finish) instead of deleted, and gets
//     its configured weight (2 and 1, as the script's rw array) back when it recovers;
//   - it takes `fall` failures (or `rise` successes) in a row to change anything, so one lost check does
//     not flap the table; checks run on their own jittered timers and time out on their own;
//   - the sorry server 127.0.0.1 (a web server on this director answering for the VIP) goes in only
//     while every real server is down, and out as soon as one is back;
//   - at start it fixes whatever the table holds; it never sends the same change twice, and a failed
//     change is retried after re-reading the table.
//
//   sudo node examples/health-check.js [--vip 192.168.1.110] [--port 80]
//        [--servers 192.168.1.116,192.168.1.117] [--weights 2,1] [--forwarding route|masq|tunnel]
//        [--rport PORT] [--persistent SECONDS] [--check-port PORT]
//        [--sorry 127.0.0.1] [--path /] [--interval 5000] [--timeout 1000] [--keep] [--verbose]
//   sudo node examples/health-check.js --cleanup [--vip 192.168.1.110] [--port 80]
//
// The seed's other variables: --rport is its RPORT (the real servers' port, when it differs from the
// service's: NAT only); --persistent makes the service persistent (a failed server is then deleted, not
// quiesced: a persistence template would keep sending its clients to it); --port 0 with --check-port 80
// runs a PCC service (every port) checked over HTTP on port 80. --interval and --timeout are the check's,
// in milliseconds. A fwmark service, or anything else, is `ipvs health CONFIG` (docs/health.md).
//
// Ctrl-C (or SIGTERM, or SIGHUP: its config is its command line, so there is nothing to read again, and a
// closed terminal must not leave a checker-less table behind) stops it and deletes the service if this run
// created it (it was absent at start); a service that was there before (the seed's case: `ipvsadm -A` done once, the script only adds and removes real
// servers) is left as the checker last set it. --keep leaves the table as it is either way.
import { parseArgs } from 'node:util';
import { HealthChecker, ValidationError } from 'ipvs';
import { runAsProgram } from './program.js';

export function parseOptions(argv, env = process.env) {
  const { values } = parseArgs({
    args: argv,
    options: {
      vip: { type: 'string', default: env.VIP ?? '192.168.1.110' },
      port: { type: 'string', default: '80' },
      servers: { type: 'string', default: env.REAL_SERVERS ?? '192.168.1.116,192.168.1.117' },
      weights: { type: 'string', default: '2,1' },
      forwarding: { type: 'string', default: 'route' },
      rport: { type: 'string' },
      persistent: { type: 'string' },
      'check-port': { type: 'string' },
      sorry: { type: 'string', default: env.SORRY_SERVER ?? '127.0.0.1' },
      path: { type: 'string', default: '/' },
      interval: { type: 'string', default: '5000' },
      timeout: { type: 'string', default: '1000' },
      keep: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      cleanup: { type: 'boolean', default: false },
    },
  });
  // Range checks are the library's (see asOptionError); here only text that is no number at all.
  const number = (text, option) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (text.trim() === '' || Number.isNaN(n)) throw new Error(`invalid ${option} ${JSON.stringify(text)}: not a number`);
    return n;
  };
  const weights = values.weights.split(',').map((w) => number(w, '--weights'));
  return {
    ...values,
    port: number(values.port, '--port'),
    rport: number(values.rport, '--rport'),
    persistent: number(values.persistent, '--persistent'),
    checkPort: number(values['check-port'], '--check-port'),
    servers: values.servers.split(',').map((address, i) => ({ address, weight: weights[i] ?? 1 })),
    interval: number(values.interval, '--interval'),
    timeout: number(values.timeout, '--timeout'),
  };
}

/** The checker's config: the seed's service, servers, weights and fail-back, with an HTTP check. */
export function healthConfig(options) {
  return {
    // The check for every service below: GET / answered with 2xx or 3xx, two results in a row to change.
    check: {
      type: 'http', path: options.path, intervalMs: options.interval, timeoutMs: options.timeout, rise: 2, fall: 2,
      ...(options.checkPort !== undefined ? { port: options.checkPort } : {}), // else the real server's port
    },
    services: [
      {
        protocol: 'tcp',
        address: options.vip,
        port: options.port,
        scheduler: 'wrr', // weighted, so the seed's weights 2 and 1 mean something
        ...(options.persistent !== undefined ? { persistence: { timeout: options.persistent } } : {}),
        destinations: options.servers.map((s) => ({
          address: s.address, weight: s.weight, forwarding: options.forwarding, ...(options.rport !== undefined ? { port: options.rport } : {}),
        })),
        check: options.check, // a service may refine or replace the check (the tests put a fake one here)
        sorryServer: { address: options.sorry },
      },
    ],
  };
}

// The config paths healthConfig() builds, back to the options a person typed: "--weights" rather than
// "services[0].destinations[1].weight". Bare address/port come from the hasService() read of --vip/--port.
const OPTION_OF_FIELD = [
  [/^(services\[0\]\.)?address$/, '--vip'],
  [/^(services\[0\]\.)?port$/, '--port'],
  [/\.sorryServer\.address$/, '--sorry'],
  [/\.persistence\.timeout$/, '--persistent'],
  [/\.check\.intervalMs$/, '--interval'],
  [/\.check\.timeoutMs$/, '--timeout'],
  [/\.check\.port$/, '--check-port'],
  [/\.check\.path$/, '--path'],
  [/\.destinations\[\d+\]\.address$/, '--servers'],
  [/\.destinations\[\d+\]\.weight$/, '--weights'],
  [/\.destinations\[\d+\]\.forwarding$/, '--forwarding'],
  [/\.destinations\[\d+\]\.port$/, '--rport'],
];

/** A refused config value as an error naming the option it came from (others pass through unchanged). */
export function asOptionError(err, options) {
  if (!(err instanceof ValidationError)) return err;
  const option = OPTION_OF_FIELD.find(([re]) => re.test(err.field))?.[1];
  if (!option) return err;
  const value = typeof err.value === 'string' ? JSON.stringify(err.value) : String(err.value);
  const server = option === '--weights' ? options.servers[Number(/destinations\[(\d+)\]/.exec(err.field)?.[1])]?.address : undefined;
  return new Error(`invalid ${option} ${value}${server ? ` for ${server}` : ''}: ${err.reason}`, { cause: err });
}

// Transitions and changes to the console; every single check result too with --verbose.
const consoleLogger = (verbose) => ({ info: console.log, warn: console.warn, error: console.error, ...(verbose ? { debug: console.log } : {}) });

/** Run until `signal` aborts; then stop, and delete the service if this run created it (unless options.keep). */
export async function main(ipvs, options, { signal, logger = consoleLogger(options.verbose), scheduler } = {}) {
  const config = healthConfig(options);
  const name = `tcp ${options.vip}:${options.port}`;
  // Read before start(), which creates the service when it is missing: only then is it ours to delete.
  let existed, checker;
  try {
    existed = await ipvs.hasService({ protocol: 'tcp', address: options.vip, port: options.port });
    checker = new HealthChecker({ ipvs, config, logger, ...(scheduler ? { scheduler } : {}) });
  } catch (err) {
    throw asOptionError(err, options);
  }
  checker.on('sorry', (e) => logger.info(e.active ? `All real servers are down: ${e.destinationId} is answering for ${options.vip}.` : `Back to the real servers.`));
  await checker.start();
  logger.info(`Watching ${options.servers.map((s) => s.address).join(' and ')} behind ${options.vip}:${options.port}. Ctrl-C to stop.`);
  if (!signal?.aborted) await new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true }));
  const remove = !options.keep && !existed;
  await checker.stop({ removeServices: remove });
  if (remove) logger.info(`Stopped and removed ${name}.`);
  else if (options.keep) logger.info('Stopped; the table is left as it is.');
  else logger.info(`Stopped; ${name} was there before this run, so it is left as it is (--cleanup deletes it).`);
  return checker;
}

export async function cleanup(ipvs, options, log = console.log) {
  const service = { protocol: 'tcp', address: options.vip, port: options.port };
  if (!(await ipvs.hasService(service))) return log(`Nothing to remove: no service on tcp ${options.vip}:${options.port}.`);
  await ipvs.deleteService(service);
  log(`Removed tcp ${options.vip}:${options.port} and its real servers (the sorry server too, if it was in).`);
}


/** What `--help` prints: the options and their defaults (as docs/examples.md lists them). */
export const usage = `Usage: sudo node examples/health-check.js [options]
       sudo node examples/health-check.js --cleanup [--vip ADDRESS] [--port PORT]

The seed's health-check script with the health checker: HTTP checks of the real servers; a failed one is quiesced
(weight 0), its weight restored when it recovers, and a sorry server serves while every real server is down. Runs
until Ctrl-C, SIGTERM or SIGHUP; then deletes its service if this run created it.

  --vip ADDRESS          the virtual IP (default: $VIP or 192.168.1.110)
  --port PORT            the service's port (default 80; 0 with --persistent and --check-port for PCC)
  --servers A,B,...      the real servers (default: $REAL_SERVERS or 192.168.1.116,192.168.1.117)
  --weights W,W,...      their weights, in order (default 2,1; 1 for a server without one)
  --forwarding METHOD    route (direct routing, the default), masq (NAT) or tunnel
  --rport PORT           the real servers' port when it differs from the service's (NAT only)
  --persistent SECONDS   make the service persistent (a server that is down is then deleted, not quiesced)
  --check-port PORT      the port the HTTP check uses (needed with --port 0)
  --sorry ADDRESS        the sorry server (default: $SORRY_SERVER or 127.0.0.1)
  --path PATH            the HTTP check's path (default /)
  --interval MS          time between checks (default 5000)
  --timeout MS           the HTTP check's timeout, not persistence (default 1000)
  --verbose              log every check
  --keep                 leave the table as it is on exit
  --cleanup              delete the service, whoever made it
  -h, --help             print this and exit
`;

await runAsProgram(import.meta, parseOptions, (ipvs, options, signal) => (options.cleanup ? cleanup(ipvs, options) : main(ipvs, options, { signal })), { longRunning: true, usage });
