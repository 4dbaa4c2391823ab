// Reading the ipvsadm rules format (what `ipvsadm -S` writes and `ipvsadm -R` reads) into typed
// operations. Like ipvsadm -R, each line is split on blanks, the word `ipvsadm` is dropped wherever it
// appears, and the rest is parsed as one command line with the shared grammar. Unlike ipvsadm (which has
// no comment syntax and stops half way through at a bad line), `#` starts a comment, blank lines are
// skipped, and every line is checked before any operation is returned, so a bad line N is reported as
// "line N: ..." and nothing needs to be undone. The lines `ipvsadm -S` writes are read by a fast path
// (fast-lines.ts) that builds the same operations; every other line, and every refusal, is the grammar's.

import { parseCommandLine, collectHostNames, type GrammarContext, type ParsedCommand } from './command-line.js';
import { onlyKnownOptions, optionKeys } from '../ipvs/option-keys.js';
import { CommandLineError, RulesSyntaxError } from './errors.js';
import { FastRuleLines } from './fast-lines.js';
import { serviceNamesOption, type ServiceNames } from './service-names.js';
import { ValidationError } from '../ipvs/errors.js';
import {
  daemonSpecOf,
  destinationKeyOf,
  destinationSpecOf,
  serviceKeyOf,
  serviceSpecOf,
} from './specs.js';
import type { RuleOperation } from './operations.js';

export interface ParseRulesOptions {
  /** Service names for `host:http` ports. Default: the system's /etc/services. */
  services?: ServiceNames;
  /**
   * IPv4 address (as text) of a host name, for rules saved without -n. Synchronous; resolve ahead of time
   * (parseRulesResolving does) or leave out to accept addresses only.
   */
  lookupHost?: (name: string) => string | undefined;
}

/**
 * The most words a rule line may hold. The longest rule ipvsadm takes has some 30; without a bound, one
 * line of 30 million words (90 MB, well inside the input limit) took 80 s and 3 GB to split and scan
 * before its refusal, and the input limit's worth of them would exhaust the memory of the host.
 */
export const MAX_RULE_WORDS = 1000;

/**
 * One line of rules text split into arguments (empty when the line holds nothing to do), or undefined
 * when it holds more than MAX_RULE_WORDS words before any comment: split no further. Internal (prepare.ts).
 */
export function lineWords(line: string): string[] | undefined {
  const words: string[] = [];
  // The limit stops the split itself: a line of MAX_RULE_WORDS words has at most that many pieces and two
  // empty ones (blanks at both ends), so one piece more means more words.
  const pieces = line.split(/[ \t\r\n]+/, MAX_RULE_WORDS + 3);
  let count = 0;
  for (const word of pieces) {
    if (word === '') continue;
    if (word.startsWith('#')) return words;
    // Every word counts, the dropped `ipvsadm` too: past the limit, the words were never looked at.
    if (++count > MAX_RULE_WORDS) return undefined;
    if (word === 'ipvsadm') continue;
    words.push(word);
  }
  return words;
}

/**
 * One line of rules text split into arguments; empty when the line holds nothing to do. A line of more
 * than MAX_RULE_WORDS words (no rule holds that many) throws a RangeError.
 */
export function ruleLineArguments(line: string): string[] {
  const words = lineWords(line);
  if (words === undefined) throw new RangeError(TOO_MANY_WORDS);
  return words;
}

const TOO_MANY_WORDS = `holds more than ${MAX_RULE_WORDS} words: not a rule`;

/** The keys of ParseRulesOptions, and of the resolving variants' options (no lookupHost: theirs is an argument). */
export const PARSE_RULES_KEYS = optionKeys<ParseRulesOptions>('', { services: true, lookupHost: true });
export const RESOLVING_KEYS = optionKeys<Omit<ParseRulesOptions, 'lookupHost'>>('', { services: true });

/** The options of the resolving parsers (parseRulesResolving, prepareRulesResolving) checked: their services. */
export function resolvingServices(lookup: unknown, options: Omit<ParseRulesOptions, 'lookupHost'>): ServiceNames {
  const services = serviceNamesOption(onlyKnownOptions(options, RESOLVING_KEYS).services);
  if (typeof lookup !== 'function') throw new ValidationError('lookup', lookup, 'must be a function from a host name to a promise of its IPv4 address (or undefined)');
  return services;
}

/** The grammar's context for these options. Internal (prepare.ts). */
export function grammarContext(options: ParseRulesOptions): GrammarContext {
  const services = serviceNamesOption(options.services);
  const lookup = options.lookupHost;
  if (lookup !== undefined && typeof lookup !== 'function') {
    throw new ValidationError('lookupHost', lookup, 'must be a function from a host name to its IPv4 address (or undefined)');
  }
  return {
    services,
    lookupHost: lookup
      ? (name) => {
          const text = lookup(name);
          if (text === undefined) return undefined;
          const parts = text.split('.').map(Number);
          if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) return undefined;
          return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
        }
      : undefined,
  };
}

function reasonOf(err: CommandLineError, argv: readonly string[]): string {
  if (err.tryHelp) {
    return `a rule must start with a command option (-A, -E, -D, -a, -e, -d, -C, -Z, --set, --start-daemon, --stop-daemon), not \`${argv[0]}'`;
  }
  return err.detail.replace(/\n+$/, '');
}

/** The operation one parsed command stands for in a rules text; a reason string when it has none. */
export function operationOf(cmd: ParsedCommand, line: number): RuleOperation | string {
  switch (cmd.command) {
    case 'add-service':
      return { op: 'addService', service: serviceSpecOf(cmd), line };
    case 'edit-service':
      return { op: 'updateService', service: serviceSpecOf(cmd), line };
    case 'delete-service':
      return { op: 'deleteService', service: serviceKeyOf(cmd)!, line };
    case 'add-server':
      return { op: 'addDestination', service: serviceKeyOf(cmd)!, destination: destinationSpecOf(cmd), line };
    case 'edit-server':
      return { op: 'updateDestination', service: serviceKeyOf(cmd)!, destination: destinationSpecOf(cmd), line };
    case 'delete-server':
      return { op: 'deleteDestination', service: serviceKeyOf(cmd)!, destination: destinationKeyOf(cmd), line };
    case 'flush':
      return { op: 'flush', line };
    case 'zero': {
      const key = serviceKeyOf(cmd);
      return key ? { op: 'zero', service: key, line } : { op: 'zero', line };
    }
    case 'set':
      return { op: 'setTimeouts', timeouts: { ...cmd.timeouts }, line };
    case 'start-daemon':
      return { op: 'startDaemon', daemon: daemonSpecOf(cmd), line };
    case 'stop-daemon':
      return { op: 'stopDaemon', state: cmd.daemon.state ?? 'master', line };
    case 'list':
    case 'save':
      return `the ${cmd.command} command only prints; it has no place in rules`;
    case 'restore':
      return 'the restore command cannot be nested in rules';
  }
}

/** The operation of one line by the shared grammar; undefined for a line with nothing to do. Internal. */
export function generalOperation(lineText: string, line: number, ctx: GrammarContext): RuleOperation | undefined {
  // A NUL (invisible in any message) means a binary or UTF-16 file; ipvsadm would read the line up to it.
  if (lineText.includes('\0')) throw new RulesSyntaxError(line, 'holds a NUL character: not rules text (a binary file, or UTF-16?)');
  const argv = lineWords(lineText);
  if (argv === undefined) throw new RulesSyntaxError(line, TOO_MANY_WORDS);
  if (argv.length === 0) return undefined;
  let outcome;
  try {
    outcome = parseCommandLine(argv, ctx);
  } catch (err) {
    if (err instanceof CommandLineError) throw new RulesSyntaxError(line, reasonOf(err, argv), { cause: err });
    throw err;
  }
  if (outcome.kind !== 'command') throw new RulesSyntaxError(line, `${outcome.kind} has no place in rules`);
  const op = operationOf(outcome, line);
  if (typeof op === 'string') throw new RulesSyntaxError(line, op);
  return op;
}

/** Operations read ahead of the grammar, by line: text[start, end) is line number `line`. */
interface LineReader {
  operation(start: number, end: number, line: number): RuleOperation | undefined;
}

/**
 * Every line of the text (split on \n, as text.split would, without making the array): the operation
 * `fast` gives for it, else the general grammar's.
 */
function parseLines(text: string, ctx: GrammarContext, fast: LineReader | undefined): RuleOperation[] {
  const operations: RuleOperation[] = [];
  forEachLine(text, (start, end, line) => {
    const op = fast?.operation(start, end, line) ?? generalOperation(text.slice(start, end), line, ctx);
    if (op !== undefined) operations.push(op);
  });
  return operations;
}

/**
 * Visit every line of the text, text[start, end) being line number `line` (split on \n as text.split
 * would, without making the array); `visit` returns false to stop. False when it was stopped.
 */
export function forEachLine(text: string, visit: (start: number, end: number, line: number) => boolean | void): boolean {
  let line = 0;
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    line++;
    if (visit(start, end, line) === false) return false;
    start = end + 1;
  }
  return true;
}

/**
 * Parse ipvsadm rules text into operations, in order, each with its 1-based line number. Throws
 * RulesSyntaxError for the first line that ipvsadm would refuse (same sentence), or that is not an
 * operation (a listing).
 */
export function parseRules(text: string, options: ParseRulesOptions = {}): RuleOperation[] {
  // The lines ipvsadm -S writes take the fast path (fast-lines.ts); it declines anything else.
  onlyKnownOptions(options, PARSE_RULES_KEYS);
  const fast = new FastRuleLines(text);
  return parseLines(text, grammarContext(options), fast);
}

/** parseRules through the general grammar only: the reference the fast path is tested against. Internal. */
export function parseRulesGeneral(text: string, options: ParseRulesOptions = {}): RuleOperation[] {
  return parseLines(text, grammarContext(options), undefined);
}

/**
 * Like parseRules, but host names in the text (rules saved without -n) are first resolved with an
 * asynchronous lookup, such as DNS. `lookup` returns an IPv4 address or undefined.
 */
export async function parseRulesResolving(
  text: string,
  lookup: (name: string) => Promise<string | undefined>,
  options: Omit<ParseRulesOptions, 'lookupHost'> = {},
): Promise<RuleOperation[]> {
  const services = resolvingServices(lookup, options);
  // Lines the fast path reads hold numeric addresses only: their operations are kept for the final pass,
  // and only the other lines are searched for host names.
  const fast = new FastRuleLines(text);
  const known: (RuleOperation | undefined)[] = [];
  const names = new Set<string>();
  forEachLine(text, (start, end, line) => {
    const op = fast.operation(start, end, line);
    if (op !== undefined) {
      known[line] = op;
    } else {
      // A line of too many words is refused by the final pass; no host name of it is looked up.
      const argv = lineWords(text.slice(start, end)) ?? [];
      if (argv.length > 0) for (const name of collectHostNames(argv, services)) names.add(name);
    }
  });
  const answers = new Map<string, string>();
  await Promise.all(
    [...names].map(async (name) => {
      if (name === '') return;
      const address = await lookup(name);
      if (address !== undefined) answers.set(name, address);
    }),
  );
  const ctx = grammarContext({ services, lookupHost: (name) => answers.get(name) });
  return parseLines(text, ctx, { operation: (_start, _end, n) => known[n] });
}
