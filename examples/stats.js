// Live traffic per real server, like `watch ipvsadm -Ln --rate` but as data you can use: every service
// and destination with its connections and the kernel's per-second rates. The kernel's estimator
// updates rates every 2 seconds, so refreshing faster shows nothing new. Read-only: nothing to clean up.
//
//   sudo node examples/stats.js [--interval 2000] [--once]
import { parseArgs } from 'node:util';
import { runAsProgram } from './program.js';

export function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: { interval: { type: 'string', default: '2000' }, once: { type: 'boolean', default: false } },
  });
  const interval = Number(values.interval);
  // A timer takes at most 2^31-1 ms (Node fires a longer one at once), and 0 would read the table without pause.
  if (!(Number.isInteger(interval) && interval >= 1 && interval <= 2147483647)) {
    throw new Error(`--interval ${values.interval}: give a whole number of milliseconds from 1 to 2147483647`);
  }
  return { interval, once: values.once };
}

const bytes = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB/s` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB/s` : `${n} B/s`);
// A protocol Linux does not balance (a service another tool made) reads back as its number.
const protocolName = (p) => (typeof p === 'number' ? `proto ${p}` : p.toUpperCase());
// A mark names two services, one per family: the IPv6 one says so, as ipvsadm's `FWM  10 IPv6`.
const name = (s) =>
  s.fwmark !== undefined
    ? `FWM ${s.fwmark}${s.family === 'ipv6' ? ' IPv6' : ''}`
    : `${protocolName(s.protocol)} ${s.family === 'ipv6' ? `[${s.address}]` : s.address}:${s.port}`;

/** One snapshot of the table as lines of text. */
export async function snapshot(ipvs) {
  const lines = [];
  const row = (label, weight, active, inactive, st) =>
    lines.push(
      `${label.padEnd(28)} ${weight.padStart(6)} ${active.padStart(7)} ${inactive.padStart(8)} ${String(st.conns).padStart(8)} ` +
        `${String(st.cps).padStart(6)} ${String(st.inPps).padStart(7)} ${String(st.outPps).padStart(8)} ${bytes(st.inBps).padStart(10)} ${bytes(st.outBps).padStart(10)}`,
    );
  lines.push(`${'service / real server'.padEnd(28)} ${'weight'.padStart(6)} ${'active'.padStart(7)} ${'inactive'.padStart(8)} ${'conns'.padStart(8)} ${'conn/s'.padStart(6)} ${'pkt/s in'.padStart(7)} ${'pkt/s out'.padStart(8)} ${'in'.padStart(10)} ${'out'.padStart(10)}`);
  for (const svc of await ipvs.services()) {
    const dests = await svc.destinations();
    const active = dests.reduce((n, d) => n + d.activeConns, 0);
    const inactive = dests.reduce((n, d) => n + d.inactiveConns, 0);
    row(name(svc), '', String(active), String(inactive), svc.stats);
    for (const d of dests) {
      const addr = d.family === 'ipv6' ? `[${d.address}]:${d.port}` : `${d.address}:${d.port}`;
      row(`  -> ${addr}`, String(d.weight), String(d.activeConns), String(d.inactiveConns), d.stats);
    }
  }
  if (lines.length === 1) lines.push('(no services)');
  return lines;
}

/** Print a snapshot every options.interval ms until `signal` aborts (or once). */
export async function main(ipvs, options, { signal, log = console.log } = {}) {
  log(
    options.once
      ? 'IPVS services and real servers: connections so far and per-second rates now.'
      : `IPVS services and real servers every ${options.interval / 1000} s: connections so far and per-second rates ` +
          `(the kernel refreshes rates every 2 s). Ctrl-C to stop.`,
  );
  for (;;) {
    log(`${new Date().toISOString()}\n${(await snapshot(ipvs)).join('\n')}\n`);
    if (options.once || signal?.aborted) return;
    // The listener goes with the wait: one left per snapshot would pile up on the signal for as long as this runs.
    await new Promise((resolve) => {
      const stop = () => (clearTimeout(t), resolve());
      const t = setTimeout(() => (signal?.removeEventListener('abort', stop), resolve()), options.interval);
      signal?.addEventListener('abort', stop, { once: true });
    });
    if (signal?.aborted) return;
  }
}


/** What `--help` prints: the options and their defaults (as docs/examples.md lists them). */
export const usage = `Usage: sudo node examples/stats.js [options]

Live counters and per-second rates per service and real server, until Ctrl-C. Changes nothing.

  --interval MS          time between two readings (default 2000; a whole number from 1 to 2147483647)
  --once                 print one snapshot and exit
  -h, --help             print this and exit
`;

await runAsProgram(import.meta, parseOptions, (ipvs, options, signal) => main(ipvs, options, { signal }), { longRunning: true, usage });
