// What one process can do with the privileges it was started with (test/kernel/privileges.kernel.test.ts starts
// it as a service user with CAP_NET_ADMIN alone, as one without, and as root of a user namespace): the library's
// calls, the command line's (in-process, as the `ipvs` executable runs them) and, when `expect` is 'allowed', the
// `ipvs health` daemon stopped by SIGTERM. Imports the built package (dist/), as operators run it. Prints one JSON
// object; the test decides what it must hold.
//
//   node test/kernel/privileges-probe.mjs '{"expect":"allowed"|"refused","vip":..,"rs":..,"port":..,"dir":..,"netns":..}'
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Ipvs } from '../../dist/src/index.js';
import { runCli } from '../../dist/src/cli/run.js';

const p = JSON.parse(process.argv[2]);
const failure = (e) => ({ name: e?.name, code: e?.code, message: String(e?.message ?? e) });
const settle = (promise) => promise.then(() => 'ok', failure);
const out = { uid: process.getuid(), wrote: 'written', lib: {}, cli: {} };
try {
  writeFileSync(join(p.dir, 'written'), '');
} catch (e) {
  out.wrote = e.code;
}

async function cli(argv) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    ipvs: () => Ipvs.open(),
    stdout: { write: (s) => (stdout += s) },
    stderr: { write: (s) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

let ipvs;
try {
  ipvs = await Ipvs.open();
  out.open = 'ok';
  out.forcedReceiveBuffer = ipvs.socketFeatures?.forcedReceiveBuffer;
} catch (e) {
  out.open = failure(e);
}
if (ipvs) {
  const svc = { protocol: 'tcp', address: p.vip, port: 80 };
  const dest = { address: p.rs, port: 80, forwarding: 'masq' };
  const calls = {
    info: () => ipvs.info(),
    timeouts: () => ipvs.timeouts(),
    daemons: () => ipvs.daemons(),
    addService: () => ipvs.addService({ ...svc, scheduler: 'rr' }),
    addDestination: () => ipvs.addDestination(svc, dest),
    services: () => ipvs.services(),
    destinations: () => ipvs.destinations(svc),
    updateDestination: () => ipvs.updateDestination(svc, { ...dest, weight: 2 }),
    execute: async () => {
      const results = await ipvs.execute([{ op: 'delete-destination', service: svc, destination: dest }]);
      const refused = results.find((r) => 'error' in r);
      if (refused) throw refused.error;
    },
    zero: () => ipvs.zero(),
    deleteService: () => ipvs.deleteService(svc),
  };
  for (const [name, call] of Object.entries(calls)) out.lib[name] = await settle(call());
  await ipvs.close();
}
// A named namespace: entering one takes CAP_SYS_ADMIN, which none of these processes has.
out.netns = await settle(Ipvs.open({ netns: p.netns }).then((c) => c.close()));

const svc = `${p.vip}:81`;
const lines = {
  add: ['-A', '-t', svc, '-s', 'rr'],
  addServer: ['-a', '-t', svc, '-r', `${p.rs}:81`, '-m'],
  list: ['-Ln'],
  save: ['-Sn'],
  connections: ['-Lnc'],
  export: ['export'],
  apply: ['apply', join(p.dir, 'rules')],
  clear: ['-C'],
};
for (const [name, argv] of Object.entries(lines)) out.cli[name] = await cli(argv);

if (p.expect === 'refused') {
  out.cli.health = await cli(['health', join(p.dir, 'health.json')]);
} else {
  // The daemon, checking a real server that answers (a listener of this process), stopped as systemd stops it.
  const server = createServer((s) => s.end());
  await new Promise((resolve) => server.listen(p.port, p.rs, resolve));
  let log = '';
  const seen = (s) => {
    log += s;
    if (s.includes('running; stop with')) process.kill(process.pid, 'SIGTERM');
  };
  const code = await runCli(['health', '--remove-on-exit', join(p.dir, 'health.json')], {
    ipvs: () => Ipvs.open(),
    stdout: { write: seen },
    stderr: { write: seen },
  });
  out.cli.health = { code, log };
  server.close();
}
process.stdout.write(`${JSON.stringify(out)}\n`);
