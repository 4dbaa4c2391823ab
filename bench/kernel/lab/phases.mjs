// One cold reconcile plan of a desired-state file, timed by phase (wall ms and minor page faults): open the
// client, read and check the state (readFileSync, stateText, JSON.parse, checkDesiredState), plan(). Nothing is
// applied, so the table stays as it was and runs can alternate. LAB_BUILD names the build to load (a copy of
// dist/; default the repo's own). Prints one line `PHASES {json}` on stderr, e.g. {"open":"190/384",...}.
//   node bench/kernel/lab/phases.mjs STATE.json      (as root, in a namespace holding the table)

import { readFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const build = resolve(process.env.LAB_BUILD ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist'));
const { Ipvs } = await import(pathToFileURL(join(build, 'src', 'client.js')).href);
const R = await import(pathToFileURL(join(build, 'src', 'reconcile', 'index.js')).href);

const out = {};
const faults = () => process.resourceUsage().minorPageFault;
let t = performance.now();
let f = faults();
const t0 = t;
const mark = (name) => {
  const now = performance.now();
  const g = faults();
  out[name] = `${Math.round(now - t)}/${g - f}`;
  t = now;
  f = g;
};
const ipvs = await Ipvs.open();
mark('open');
const desired = R.checkDesiredState(JSON.parse(R.stateText(readFileSync(process.argv[2]))));
mark('input');
const p = await R.plan(ipvs, desired);
mark('plan');
out.total = Math.round(performance.now() - t0);
out.steps = p.steps.length;
await ipvs.close();
process.stderr.write(`PHASES ${JSON.stringify(out)}\n`);
