// A randomised differential of restore and save against the real ipvsadm 1.31 on a real kernel. Each seeded
// rules file (test/helpers/rules-generator.ts) goes to `ipvsadm -R` in one network namespace, to `ipvs -R`
// (runCli in-process) in a second and through the library's parseRules + execute() path in a third; the
// namespaces are made once and every file starts from an empty table with the default timeouts. Then, with
// the differences docs/cli.md names taken into account (ipvs checks the whole file first and applies nothing
// of a malformed one; it stops at the first refused line where ipvsadm goes on; ipvsadm also goes on past a
// line its option scanner refuses; a line that is no command gets ipvs's own sentence):
//   - the exit status and the sentence of the failing line must be ipvsadm's, and it must be the same line:
//     ipvsadm -R of the lines before it, in a fourth namespace, must print the sentences ipvsadm printed
//     before that one and leave the table ipvs left (or, for a malformed line, the table ipvsadm left);
//   - the library's path must stop at the same line with the same table;
//   - `-Sn` and `-S` (names through /etc/hosts and /etc/services, DNS made to fail at once) of both tables
//     by both programs must be the same bytes, and a file both take whole must give the same table;
//   - what ipvsadm -S printed must restore with ipvs -R to the table it was printed from.
// Every divergence is collected with its seed and its file, so one run shows them all.
//
// Size: IPVS_RESTORE_DIFF_FILES files (default 20, about 60 s of guest time) from seed
// IPVS_RESTORE_DIFF_SEED (default 1); file i has seed SEED + i, so a failing file is rerun alone with
// IPVS_RESTORE_DIFF_SEED=<its seed> IPVS_RESTORE_DIFF_FILES=1 (the sandbox passes IPVS_* variables in).
// IPVS_RESTORE_DIFF_LOG=<file> appends each seed to that file as its file starts, and each divergence as it is
// found (a run the sandbox's timeout kills prints nothing: the last seed there is the one it was on).
// Runs only inside the UML sandbox (IPVS_KERNEL=1), as root.

import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Ipvs } from '../../src/client.js';
import { applyOperation } from '../../src/cli/restore.js';
import { runCli } from '../../src/cli/run.js';
import { RulesSyntaxError } from '../../src/rules/errors.js';
import { isTableOperation, toClientOperation } from '../../src/rules/operations.js';
import { parseRulesResolving } from '../../src/rules/parse.js';
import { prepareRulesResolving } from '../../src/rules/prepare.js';
import { systemResolver } from '../../src/rules/resolver.js';
import { DIFF_NAMESPACE_SETUP, sh, shared, useUnreachableNameServers, type Outcome } from '../helpers/ipvsadm-diff.js';
import { generateRules, type GeneratedRules } from '../helpers/rules-generator.js';
import { createNamespaces, deleteNamespaces } from './netns.js';

const enabled = process.env.IPVS_KERNEL === '1';
const FILES = Number(process.env.IPVS_RESTORE_DIFF_FILES ?? 20);
const SEED = Number(process.env.IPVS_RESTORE_DIFF_SEED ?? 1);
const scratch = mkdtempSync(join(tmpdir(), 'ipvs-restore-diff-'));
let counter = 0;
const TRY_HELP = "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n";
/** ipvs's sentences for a line that is no command, where ipvsadm prints TRY_HELP (docs/cli.md). */
const OWN_SENTENCES = ['a rule must start with a command option', 'the restore command cannot be nested'];

function namespaces(...roles: string[]): string[] {
  const id = `${process.pid}-${++counter}`;
  const names = roles.map((r) => `ipvs-rdiff-${id}-${r}`);
  createNamespaces(names, DIFF_NAMESPACE_SETUP);
  return names;
}

/** ipvsadm -R of `input` in `netns` (when given), then ipvsadm -Sn, -S and -L --daemon: one shell script. */
function ipvsadm(netns: string, input: string | undefined): { restore: Outcome; sn: string; s: string; d: string } {
  const dir = mkdtempSync(join(scratch, 'r-'));
  const restore = input === undefined ? ': >out; : >err; echo 0 >rc' : 'ipvsadm -R <in >out 2>err; echo $? >rc';
  if (input !== undefined) writeFileSync(join(dir, 'in'), input);
  writeFileSync(join(dir, 'run.sh'), `cd '${dir}' || exit 99\n${restore}\nipvsadm -Sn >sn 2>&1\nipvsadm -S >s 2>&1\nipvsadm -L --daemon >d 2>&1\n`);
  const r = sh('ip', ['netns', 'exec', netns, 'sh', join(dir, 'run.sh')]);
  if (r.code !== 0) throw new Error(`ipvsadm script: ${r.stderr}`);
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  const out = { restore: { code: Number(read('rc').trim()), stdout: read('out'), stderr: read('err') }, sn: read('sn'), s: read('s'), d: read('d') };
  rmSync(dir, { recursive: true, force: true });
  return out;
}

async function runIpvs(client: Ipvs, args: string[], input?: string): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    ipvs: async () => shared(client),
    stdin: input ?? '',
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    programName: 'ipvsadm',
  });
  return { code, stdout, stderr };
}

/** The library's own path: parseRulesResolving, then each operation through execute() (or its method). */
async function libraryRestore(client: Ipvs, text: string): Promise<{ line: number; error: unknown } | 'syntax' | undefined> {
  const resolver = systemResolver();
  let ops;
  try {
    ops = await parseRulesResolving(text, (name) => resolver.lookup(name));
  } catch (err) {
    if (err instanceof RulesSyntaxError) return 'syntax';
    throw err;
  }
  for (const op of ops) {
    try {
      if (isTableOperation(op)) {
        const [result] = await client.execute([toClientOperation(op)]);
        if (result && 'error' in result) return { line: op.line, error: result.error };
      } else await applyOperation(shared(client), op);
    } catch (error) {
      return { line: op.line, error };
    }
  }
  return undefined;
}

/** The 1-based lines before `line`, in the ipvsadm spelling of the file. */
function linesBefore(file: GeneratedRules, line: number): string {
  const eol = file.ipvsadmText.includes('\r\n') ? '\r\n' : '\n';
  const lines = file.ipvsadmText.split(eol).slice(0, line - 1);
  return lines.length === 0 ? '' : lines.join(eol) + eol;
}

/**
 * A save text with its services and their real servers in a canonical order, for comparing the tables of two
 * namespaces: ipvsadm's comparison of addresses more than 2^31 apart is not transitive (docs/cli.md), so its
 * order depends on the kernel's dump order, which differs between two namespaces holding the same table (the
 * service hash mixes in the namespace; real servers are listed newest first, so a table restored from a save
 * lists them in another order than the one saved). The same namespace's save is compared byte for byte.
 */
function canonical(save: string): string {
  const blocks: string[][] = [];
  for (const line of save.split('\n')) {
    if (line.startsWith('-A ') || blocks.length === 0) blocks.push([line]);
    else blocks[blocks.length - 1]!.push(line);
  }
  // a service's real servers too: their dump order is the order they were added in
  return blocks.map(([service, ...servers]) => [service, ...servers.sort()].join('\n')).sort().join('\n');
}

interface Namespaces {
  ref: string;
  ours: string;
  lib: string;
  chk: string;
  clients: Ipvs[];
}

/** The four namespaces, made once; each file starts from an empty table with the default timeouts. */
async function setUp(): Promise<Namespaces> {
  const [ref, ours, lib, chk] = namespaces('ref', 'ours', 'lib', 'chk') as [string, string, string, string];
  const clients = await Promise.all([ref, ours, lib, chk].map((netns) => Ipvs.open({ netns })));
  return { ref, ours, lib, chk, clients };
}

async function reset(ns: Namespaces): Promise<void> {
  for (const c of ns.clients) {
    await c.flush();
    await c.setTimeouts({ tcp: 900, tcpFin: 120, udp: 300 });
    for (const state of ['master', 'backup'] as const) await c.stopDaemon(state).catch(() => undefined);
  }
}

/** Compare one file; returns the divergences found (empty when none) and what became of the file. */
async function compareFile(ns: Namespaces, file: GeneratedRules): Promise<{ found: string[]; outcome: string }> {
  const found: string[] = [];
  const diverge = (what: string, ours: unknown, theirs: unknown): void => {
    if (JSON.stringify(ours) !== JSON.stringify(theirs)) found.push(`${what}:\n    ipvs:    ${JSON.stringify(ours)}\n    ipvsadm: ${JSON.stringify(theirs)}`);
  };
  await reset(ns);
  const [ref, ours, lib] = ns.clients as [Ipvs, Ipvs, Ipvs, Ipvs];
  const { ref: refNs, ours: oursNs, lib: libNs, chk: chkNs } = ns;
  let outcome = 'accepted';
  const theirs = ipvsadm(refNs, file.ipvsadmText);
  const mine = await runIpvs(ours, ['-R'], file.text);
  const libFailure = await libraryRestore(lib, file.text);
  const oursTable = ipvsadm(oursNs, undefined);
  const libTable = ipvsadm(libNs, undefined);
  diverge('stdout of -R', mine.stdout, theirs.restore.stdout);
  const m = /^line (\d+): ([^]*)$/.exec(mine.stderr);
  let syntax = false;
  try {
    const resolver = systemResolver();
    await prepareRulesResolving(file.text, (name) => resolver.lookup(name));
  } catch (err) {
    if (!(err instanceof RulesSyntaxError)) throw err;
    syntax = true;
  }
  if (mine.code === 0) {
    diverge('-R accepted by ipvs: status and stderr', [mine.code, mine.stderr], [theirs.restore.code, theirs.restore.stderr]);
    diverge('-R accepted by ipvs: the table (ipvsadm -Sn)', canonical(oursTable.sn), canonical(theirs.sn));
  } else if (!m) {
    found.push(`ipvs -R failed without a line number: ${JSON.stringify(mine)}`);
  } else {
    const line = Number(m[1]);
    const sentence = m[2]!;
    outcome = `${syntax ? 'malformed' : 'refused'} line ${line}`;
    if (syntax) {
      diverge(`malformed line ${line}: ipvs applied nothing`, oursTable.sn, '');
      // (ipvs drops the blank line ipvsadm prints after some sentences: compared without trailing newlines)
      const theirStderr = theirs.restore.stderr.replace(/\n+$/, '\n');
      const before = ipvsadm(chkNs, linesBefore(file, line));
      if (theirStderr.startsWith(before.restore.stderr) && theirStderr.slice(before.restore.stderr.length).startsWith(TRY_HELP)) {
        // A line that is no command: ipvsadm's hint and 255, ipvs's own sentence (docs/cli.md).
        diverge(`line ${line} is no command: ipvs's own sentence`, OWN_SENTENCES.some((s) => sentence.startsWith(s)), true);
        diverge(`line ${line} is no command: ipvsadm stopped there`, canonical(before.sn), canonical(theirs.sn));
      } else if (mine.code === 255) {
        // What ipvsadm's option scanner refuses it reports and goes on (docs/cli.md): the same sentence, then more.
        diverge(`malformed line ${line} (option scanner): ipvsadm's sentence, after those of the lines before it`, before.restore.stderr + sentence, theirStderr.slice(0, before.restore.stderr.length + sentence.length));
      } else {
        // ipvsadm stops at the malformed line with that line's sentence and status, after the lines before it.
        diverge(`malformed line ${line}: status`, mine.code, theirs.restore.code);
        diverge(`malformed line ${line}: ipvsadm's sentences, the last one this line's`, before.restore.stderr + sentence, theirStderr);
        diverge(`malformed line ${line}: ipvsadm stopped there (its table = ipvsadm -R of lines 1..${line - 1})`, canonical(before.sn), canonical(theirs.sn));
      }
    } else {
      // ipvs stops at the first refused line; ipvsadm prints the same sentence first and goes on.
      diverge(`refused line ${line}: status`, mine.code, 255);
      diverge(`refused line ${line}: ipvsadm's first sentence`, sentence, theirs.restore.stderr.slice(0, sentence.length));
      const before = ipvsadm(chkNs, linesBefore(file, line));
      diverge(`refused line ${line}: ipvs's table = ipvsadm -R of lines 1..${line - 1}`, canonical(oursTable.sn), canonical(before.sn));
      diverge(`refused line ${line}: ipvs's sync daemons = those of ipvsadm -R of lines 1..${line - 1}`, oursTable.d, before.d);
      diverge(`refused line ${line}: ipvsadm refused nothing before it`, before.restore, { code: 0, stdout: '', stderr: '' });
    }
  }
  // the library's path ends where ipvs -R ends, with the same table
  const libLine = libFailure === undefined ? 0 : libFailure === 'syntax' ? 'syntax' : libFailure.line;
  const cliLine = mine.code === 0 ? 0 : syntax ? 'syntax' : m ? Number(m[1]) : -1;
  diverge('parseRules + execute(): where it stops', libLine, cliLine);
  diverge('parseRules + execute(): the table', canonical(libTable.sn), canonical(oursTable.sn));
  diverge('parseRules + execute(): the sync daemons', libTable.d, oursTable.d);
  // save forms: both programs, both tables, with and without names
  for (const [name, client, table] of [['ipvsadm -R', ref, theirs], ['ipvs -R', ours, oursTable]] as const) {
    const sn = await runIpvs(client, ['-Sn']);
    const s = await runIpvs(client, ['-S']);
    diverge(`-Sn of the table ${name} made`, sn.stdout, table.sn);
    diverge(`-S of the table ${name} made`, s.stdout, table.s);
  }
  // what ipvsadm -S printed (names and all) restores with ipvs -R to the same table
  if (theirs.sn !== '') {
    const chk = ns.clients[3]!;
    await chk.flush();
    const again = await runIpvs(chk, ['-R'], theirs.s);
    diverge('ipvs -R of ipvsadm -S', again, { code: 0, stdout: '', stderr: '' });
    diverge('ipvs -R of ipvsadm -S: the table', canonical(ipvsadm(chkNs, undefined).sn), canonical(theirs.sn));
  }
  return { found, outcome };
}

// Names without -n come from /etc/hosts and /etc/services; DNS fails at once (ipvsadm-diff.ts).
useUnreachableNameServers(enabled);

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe.runIf(enabled)('ipvs -R / -S against ipvsadm 1.31 on random rules files', () => {
  it(`${FILES} files from seed ${SEED}`, { timeout: Math.max(120_000, FILES * 20_000) }, async () => {
    console.log(`restore-diff: seeds ${SEED}..${SEED + FILES - 1} (IPVS_RESTORE_DIFF_SEED, IPVS_RESTORE_DIFF_FILES)`);
    const report: string[] = [];
    const outcomes = new Map<string, number>();
    let failedFiles = 0;
    const ns = await setUp();
    try {
      for (let i = 0; i < FILES; i++) {
        const file = generateRules(SEED + i);
        if (process.env.IPVS_RESTORE_DIFF_LOG) appendFileSync(process.env.IPVS_RESTORE_DIFF_LOG, `${file.seed}\n`);
        const { found, outcome } = await compareFile(ns, file);
        const kind = outcome.replace(/ \d+$/, '');
        outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
        if (found.length === 0) continue;
        failedFiles++;
        report.push(`seed ${file.seed} (${outcome}), file ${JSON.stringify(file.text)}\n  ${found.join('\n  ')}`);
        if (process.env.IPVS_RESTORE_DIFF_LOG) appendFileSync(process.env.IPVS_RESTORE_DIFF_LOG, `${report.at(-1)}\n`);
      }
    } finally {
      for (const c of ns.clients) await c.close();
      deleteNamespaces([ns.ref, ns.ours, ns.lib, ns.chk]);
    }
    console.log(`restore-diff: outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`);
    if (report.length > 0) console.log(`restore-diff: ${failedFiles} of ${FILES} files diverge\n${report.join('\n\n')}`);
    expect(report).toEqual([]);
  });
});
