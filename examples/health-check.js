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
//   sudo node examples/health-check.js [--vip 192.168.1.110] [--protocol tcp|udp] [--port 80]
//        [--servers 192.168.1.116,192.168.1.117] [--weights 2,1] [--forwarding route|masq|tunnel]
//        [--rport PORT] [--persistent SECONDS] [--check http|https|tcp|udp] [--check-port PORT]
//        [--sorry 127.0.0.1] [--path /] [--payload TEXT | --payload-hex HEX] [--expect TEXT | --expect-hex HEX]
//        [--interval 5000] [--timeout 1000] [--keep] [--verbose]
//   sudo node examples/health-check.js --cleanup [--vip 192.168.1.110] [--protocol tcp] [--port 80] [any other option, ignored]
//
// The seed's other variables: --rport is its RPORT (the real servers' port, when it differs from the
// service's: NAT only); --persistent makes the service persistent (a failed server is then deleted, not
// quiesced: a persistence template would keep sending its clients to it); --port 0 with --check-port 80
// runs a PCC service (every port) checked over HTTP on port 80. --interval and --timeout are the check's,
// in milliseconds. --check picks another check: https, tcp (the handshake completes) or udp (a datagram
// answered). --protocol udp makes a UDP service (port 53 unless --port) checked by udp: by default a DNS query for
// the root's name servers whose reply must begin with its ID (1234), or --payload/--payload-hex with an optional
// --expect/--expect-hex; a failed server of a UDP service is deleted, not quiesced (weight 0 moves no UDP flow).
// A fwmark service, or anything else, is `ipvs health CONFIG` (docs/health.md).
//
// Ctrl-C (or SIGTERM, or SIGHUP: its config is its command line, so there is nothing to read again, and a
// closed terminal must not leave a checker-less table behind) stops it and deletes the service if this run
// created it (it was absent at start); a service that was there before (the seed's case: `ipvsadm -A` done once, the script only adds and removes real
// servers) is left as the checker last set it. --keep leaves the table as it is either way.
import { parseArgs } from 'node:util';
import { HealthChecker, ValidationError } from 'ipvs';
import { runAsProgram } from './program.js';

/** The check of a UDP service when none is given: a DNS query for the root's name servers, answered with its ID. */
export const DNS_QUERY = { payloadHex: '1234 0100 0001 0000 0000 0000 00 0002 0001', expectHex: '1234' };

const CHECK_TYPES = ['http', 'https', 'tcp', 'udp'];
const OPTIONS_OF_CHECK = { http: ['path'], https: ['path'], tcp: [], udp: ['payload', 'payload-hex', 'expect', 'expect-hex'] };

export function parseOptions(argv, env = process.env) {
  const { values } = parseArgs({
    args: argv,
    options: {
      vip: { type: 'string', default: env.VIP ?? '192.168.1.110' },
      protocol: { type: 'string', default: 'tcp' },
      port: { type: 'string' },
      servers: { type: 'string', default: env.REAL_SERVERS ?? '192.168.1.116,192.168.1.117' },
      weights: { type: 'string' }, // 2,1 below, unless given
      forwarding: { type: 'string', default: 'route' },
      rport: { type: 'string' },
      persistent: { type: 'string' },
      check: { type: 'string' },
      'check-port': { type: 'string' },
      sorry: { type: 'string', default: env.SORRY_SERVER ?? '127.0.0.1' },
      path: { type: 'string' },
      payload: { type: 'string' },
      'payload-hex': { type: 'string' },
      expect: { type: 'string' },
      'expect-hex': { type: 'string' },
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
  if (values.protocol !== 'tcp' && values.protocol !== 'udp') throw new Error(`invalid --protocol ${JSON.stringify(values.protocol)}: give tcp or udp`);
  const port = number(values.port ?? (values.protocol === 'udp' ? '53' : '80'), '--port');
  // --cleanup finds the service by --vip, --protocol and --port alone: the rest of the command line that set it
  // up (check options, weights...) is taken and ignored, so that line with --cleanup added undoes it.
  if (values.cleanup) return { cleanup: true, vip: values.vip, protocol: values.protocol, port };
  const { check: named, ...rest } = values;
  const check = named ?? (values.protocol === 'udp' ? 'udp' : 'http');
  if (!CHECK_TYPES.includes(check)) throw new Error(`invalid --check ${JSON.stringify(check)}: give ${CHECK_TYPES.join(', ')}`);
  // An option of another check type would be dropped without a word: refused, naming the check it belongs to.
  for (const [type, names] of Object.entries(OPTIONS_OF_CHECK)) {
    if (type === check || (type.startsWith('http') && check.startsWith('http'))) continue;
    const given = names.find((n) => values[n] !== undefined);
    if (given) throw new Error(`--${given} is for ${type === 'udp' ? 'a udp check' : 'an http(s) check'}, not the ${check} check${named ? '' : ` (the default for a ${values.protocol} service; --check ${type === 'udp' ? 'udp' : 'http'})`}`);
  }
  // Fewer weights than servers is documented (1 for the rest); more would be dropped, so a miscount is refused.
  // The default 2,1 is the seed's, for any number of servers.
  const weights = (values.weights ?? '2,1').split(',').map((w) => number(w, '--weights'));
  const addresses = values.servers.split(',');
  if (values.weights !== undefined && weights.length > addresses.length) {
    const count = (n, what) => `${n} ${what}${n === 1 ? '' : 's'}`;
    throw new Error(`invalid --weights ${JSON.stringify(values.weights)}: ${count(weights.length, 'weight')} for ${count(addresses.length, 'server')} (--servers): give at most one per server, in order`);
  }
  return {
    ...rest,
    checkType: check,
    port,
    rport: number(values.rport, '--rport'),
    persistent: number(values.persistent, '--persistent'),
    checkPort: number(values['check-port'], '--check-port'),
    payloadHex: values['payload-hex'],
    expectHex: values['expect-hex'],
    servers: addresses.map((address, i) => ({ address, weight: weights[i] ?? 1 })),
    interval: number(values.interval, '--interval'),
    timeout: number(values.timeout, '--timeout'),
  };
}

/** The check's own fields: the path of an HTTP(S) one; the datagram of a UDP one (a DNS query unless given). */
function checkFields(options) {
  if (options.checkType === 'http' || options.checkType === 'https') return { path: options.path ?? '/' };
  if (options.checkType !== 'udp') return {};
  const given = (fields) => Object.fromEntries(fields.filter((f) => options[f] !== undefined).map((f) => [f, options[f]]));
  const payload = given(['payload', 'payloadHex']);
  const expect = given(['expect', 'expectHex']);
  if (Object.keys(payload).length > 0) return { ...payload, ...expect };
  return { payloadHex: DNS_QUERY.payloadHex, ...(Object.keys(expect).length > 0 ? expect : { expectHex: DNS_QUERY.expectHex }) };
}

/** The checker's config: the seed's service, servers, weights and fail-back, with an HTTP check (or --check's). */
export function healthConfig(options) {
  return {
    // The check for every service below: by default GET / answered with 2xx or 3xx (a UDP service: a DNS query
    // answered), two results in a row to change.
    check: {
      type: options.checkType, intervalMs: options.interval, timeoutMs: options.timeout, rise: 2, fall: 2,
      ...checkFields(options),
      ...(options.checkPort !== undefined ? { port: options.checkPort } : {}), // else the real server's port
    },
    services: [
      {
        protocol: options.protocol ?? 'tcp',
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
  [/\.check\.payload$/, '--payload'],
  [/\.check\.payloadHex$/, '--payload-hex'],
  [/\.check\.expect$/, '--expect'],
  [/\.check\.expectHex$/, '--expect-hex'],
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
  const protocol = options.protocol ?? 'tcp';
  const name = `${protocol} ${options.vip}:${options.port}`;
  // Read before start(), which creates the service when it is missing: only then is it ours to delete.
  let existed, checker;
  try {
    existed = await ipvs.hasService({ protocol, address: options.vip, port: options.port });
    checker = new HealthChecker({ ipvs, config, logger, ...(scheduler ? { scheduler } : {}) });
  } catch (err) {
    throw asOptionError(err, options);
  }
  checker.on('sorry', (e) => logger.info(e.active ? `All real servers are down: ${e.destinationId} is answering for ${options.vip}.` : `Back to the real servers.`));
  await checker.start();
  logger.info(`Watching ${options.servers.map((s) => s.address).join(' and ')} behind ${protocol === 'tcp' ? '' : `${protocol} `}${options.vip}:${options.port}. Ctrl-C to stop.`);
  if (!signal?.aborted) await new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true }));
  const remove = !options.keep && !existed;
  await checker.stop({ removeServices: remove });
  if (remove) logger.info(`Stopped and removed ${name}.`);
  else if (options.keep) logger.info('Stopped; the table is left as it is.');
  else logger.info(`Stopped; ${name} was there before this run, so it is left as it is (--cleanup deletes it).`);
  return checker;
}

export async function cleanup(ipvs, options, log = console.log) {
  const name = `${options.protocol} ${options.vip}:${options.port}`;
  const service = { protocol: options.protocol, address: options.vip, port: options.port };
  if (!(await ipvs.hasService(service))) return log(`Nothing to remove: no service on ${name}.`);
  await ipvs.deleteService(service);
  log(`Removed ${name} and its real servers (the sorry server too, if it was in).`);
}


/** What `--help` prints: the options and their defaults (as docs/examples.md lists them). */
export const usage = `Usage: sudo node examples/health-check.js [options]
       sudo node examples/health-check.js --cleanup [--vip ADDRESS] [--protocol tcp|udp] [--port PORT]

The seed's health-check script with the health checker: HTTP checks (or --check's) of the real servers; a failed
one is quiesced (weight 0; deleted for a persistent or UDP service), its weight restored when it recovers, and a sorry
server serves while every real server is down. Runs until Ctrl-C, SIGTERM or SIGHUP; then deletes its service if this
run created it.

  --vip ADDRESS          the virtual IP (default: $VIP or 192.168.1.110)
  --protocol tcp|udp     the service's protocol (default tcp; udp is checked by udp, a DNS query by default)
  --port PORT            the service's port (default 80, 53 for udp; 0 with --persistent and --check-port for PCC)
  --servers A,B,...      the real servers (default: $REAL_SERVERS or 192.168.1.116,192.168.1.117)
  --weights W,W,...      their weights, in order (default 2,1; 1 for a server without one; more than servers: refused)
  --forwarding METHOD    route (direct routing, the default), masq (NAT) or tunnel
  --rport PORT           the real servers' port when it differs from the service's (NAT only)
  --persistent SECONDS   make the service persistent (a server that is down is then deleted, not quiesced)
  --check TYPE           http (default for tcp), https, tcp (the handshake completes) or udp (default for udp)
  --check-port PORT      the port the check uses (needed with --port 0)
  --sorry ADDRESS        the sorry server (default: $SORRY_SERVER or 127.0.0.1)
  --path PATH            the http(s) check's path (default /)
  --payload TEXT         the udp check's datagram, as text (default: a DNS query for the root's name servers)
  --payload-hex HEX      or as hexadecimal bytes ('1234 0100 ...')
  --expect TEXT          the udp check's reply must contain this text (default: any reply)
  --expect-hex HEX       or begin with these bytes (default with the DNS query: 1234, its ID)
  --interval MS          time between checks (default 5000)
  --timeout MS           a check's timeout, not persistence (default 1000)
  --verbose              log every check
  --keep                 leave the table as it is on exit
  --cleanup              delete the service, whoever made it (found by --vip, --protocol, --port; the rest ignored)
  -h, --help             print this and exit
`;

await runAsProgram(import.meta, parseOptions, (ipvs, options, signal) => (options.cleanup ? cleanup(ipvs, options) : main(ipvs, options, { signal })), { longRunning: true, usage });
