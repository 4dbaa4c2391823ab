// One contender run of the kernel benchmark (bench/kernel/run.mjs starts it as its own process inside a
// network namespace, so its whole-process time can be set beside ipvsadm's). Plain JS against the BUILT
// package (dist/): what a user of `ipvs` runs. The time of the work itself (from after the imports to
// the end, including opening the socket and resolving the IPVS family, as ipvsadm does too) is reported
// on stderr as one line `BENCH {json}`; stdout carries what the mode prints (the save text).
//
//   node worker.mjs noop                 imports only: Node's start-up plus loading the library
//   node worker.mjs restore FILE         prepareRules + execute, as `ipvs -R < FILE` does (parseMs: parsing, validating, encoding)
//   node worker.mjs save                 iterateRules(numeric) to stdout: services(), then each one's destinations() streamed
//   node worker.mjs execute FILE         the rules in FILE (changes only) through execute, no reading
//   node worker.mjs reconcile FILE       apply the desired state in FILE: read, plan, execute (inputMs: reading and
//                                        JSON.parse alone; parseMs: with the shape check)
//   node worker.mjs fill N               add N services (no destinations) through execute
//   node worker.mjs iterate              stream iterateServices(), sampling memory
//   node worker.mjs collect              services() into one array, sampling memory (for contrast)

import { readFileSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Ipvs } from '../../dist/src/client.js';
import { iterateRules, parseRules, prepareRules, PreparedRun } from '../../dist/src/rules/index.js';
import { applyPlan, checkDesiredState, plan, stateText } from '../../dist/src/reconcile/index.js';

const startupMs = performance.now();
const [mode, arg] = process.argv.slice(2);

/** The client operation a rules operation stands for; undefined for those execute() does not take. */
function operationOf(r) {
  switch (r.op) {
    case 'addService': return { op: 'add-service', service: r.service };
    case 'updateService': return { op: 'update-service', service: r.service };
    case 'deleteService': return { op: 'delete-service', service: r.service };
    case 'addDestination': return { op: 'add-destination', service: r.service, destination: r.destination };
    case 'updateDestination': return { op: 'update-destination', service: r.service, destination: r.destination };
    case 'deleteDestination': return { op: 'delete-destination', service: r.service, destination: r.destination };
    default: return undefined;
  }
}

/** Rules through execute(): runs of table operations pipelined, anything else (flush, --set) in order between them. */
async function runRules(ipvs, ruleOps) {
  let batch = [];
  let failed = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const results = await ipvs.execute(batch);
    failed += results.filter((r) => !('ok' in r) || !r.ok).length;
    batch = [];
  };
  for (const r of ruleOps) {
    const op = operationOf(r);
    if (op) {
      batch.push(op);
      continue;
    }
    await flush();
    if (r.op === 'flush') await ipvs.flush();
    else throw new Error(`line ${r.line}: ${r.op} is not part of this benchmark`);
  }
  await flush();
  return failed;
}

function memory() {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}

const result = { mode, startupMs: Math.round(startupMs) };
const t0 = performance.now();
const ipvs = await Ipvs.open();
result.openMs = Math.round(performance.now() - t0);
try {
  switch (mode) {
    case 'noop':
      break;
    case 'restore': {
      // As `ipvs -R` does: each line parsed, checked and encoded at once (prepareRules), then the runs of
      // changes sent through execute(), flushes between them in order.
      const tp = performance.now();
      const steps = prepareRules(readFileSync(arg, 'utf8'));
      result.parseMs = Math.round(performance.now() - tp);
      result.operations = 0;
      result.failed = 0;
      for (const step of steps) {
        if (step instanceof PreparedRun) {
          if (step.invalid !== undefined) throw step.invalid.error;
          result.operations += step.length;
          const results = await ipvs.execute(step.operations);
          result.failed += results.filter((r) => !('ok' in r) || !r.ok).length;
        } else {
          result.operations++;
          if (step.op === 'flush') await ipvs.flush();
          else throw new Error(`line ${step.line}: ${step.op} is not part of this benchmark`);
        }
      }
      break;
    }
    case 'execute': {
      const tp = performance.now();
      const ops = parseRules(readFileSync(arg, 'utf8'));
      result.parseMs = Math.round(performance.now() - tp);
      result.operations = ops.length;
      result.failed = await runRules(ipvs, ops);
      break;
    }
    case 'save': {
      // As `ipvs -Sn` does: services sorted, then each one's destinations read and written before the
      // next (iterateRules), so the table is never held whole.
      let services = 0;
      for await (const chunk of iterateRules(ipvs, { numeric: true })) {
        writeSync(1, chunk);
        // Counted with indexOf, not a regular expression: the count is not part of the work being timed.
        for (let at = chunk.startsWith('-A ') ? 0 : chunk.indexOf('\n-A '); at !== -1; at = chunk.indexOf('\n-A ', at + 1)) services++;
      }
      result.services = services;
      break;
    }
    case 'reconcile': {
      // parseDesiredState(bytes) for a JSON state, in two timed parts: the input (reading the file, decoding
      // it, JSON.parse: what a balancer that holds its state in memory never pays) and the shape check.
      // Bytes decoded at once: the cheaper read parseDesiredState documents (readFileSync(path, 'utf8') took
      // 0.1 s more in the sandbox for this 1.7 MB state).
      const tp = performance.now();
      const value = JSON.parse(stateText(readFileSync(arg)));
      const ti = performance.now();
      const desired = checkDesiredState(value);
      const t1 = performance.now();
      result.inputMs = Math.round(ti - tp);
      result.parseMs = Math.round(t1 - tp);
      // apply() is plan() then applyPlan(); called apart here only to time the two halves.
      const p = await plan(ipvs, desired);
      const t2 = performance.now();
      result.readAndPlanMs = Math.round(t2 - t1);
      const r = await applyPlan(ipvs, p);
      result.operations = p.steps.length;
      result.failed = r.failed.length + r.notAttempted.length;
      result.executeMs = Math.round(performance.now() - t2);
      break;
    }
    case 'fill': {
      const n = Number(arg);
      const ops = [];
      for (let i = 0; i < n; i++) {
        ops.push({ op: 'add-service', service: { protocol: 'tcp', address: `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, port: 80 } });
      }
      const results = await ipvs.execute(ops);
      result.failed = results.filter((r) => !('ok' in r) || !r.ok).length;
      break;
    }
    case 'iterate':
    case 'collect': {
      // Peak RSS and heap as a user sees them (garbage included), and the live heap after a forced GC
      // every 2 500 services: what the iteration actually retains. Needs node --expose-gc.
      const gc = globalThis.gc ?? (() => {});
      gc();
      const before = memory();
      let peakRss = before.rss;
      let peakHeap = before.heapUsed;
      let peakLive = before.heapUsed;
      let count = 0;
      const sample = (collect) => {
        const m = memory();
        if (m.rss > peakRss) peakRss = m.rss;
        if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
        if (collect) {
          gc();
          const live = process.memoryUsage().heapUsed;
          if (live > peakLive) peakLive = live;
        }
      };
      if (mode === 'iterate') {
        for await (const s of ipvs.iterateServices()) {
          if (s.port === undefined && s.fwmark === undefined) throw new Error('bad service');
          if (++count % 500 === 0) sample(count % 2500 === 0);
        }
        sample(true);
      } else {
        const all = await ipvs.services();
        count = all.length;
        sample(true);
      }
      result.services = count;
      result.rssBefore = before.rss;
      result.heapBefore = before.heapUsed;
      result.peakRss = peakRss;
      result.peakHeap = peakHeap;
      result.peakLiveHeap = peakLive;
      break;
    }
    default:
      throw new Error(`unknown mode ${mode}`);
  }
} finally {
  await ipvs.close();
}
result.workMs = Math.round(performance.now() - t0);
const usage = process.resourceUsage();
result.maxRssKiB = usage.maxRSS;
// Where the time goes under UML: every page fault and system call is a round trip through the host.
result.minorPageFaults = usage.minorPageFault;
result.cpuUserMs = Math.round(usage.userCPUTime / 1000);
result.cpuSystemMs = Math.round(usage.systemCPUTime / 1000);
process.stderr.write(`BENCH ${JSON.stringify(result)}\n`);
