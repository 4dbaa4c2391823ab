// Rules text straight into validated, encoded batches: what a restore does with parseRules and execute(),
// without holding an object per line. Each line is parsed (the fast path of fast-lines.ts, else the
// grammar), checked as execute() checks it, and written as its request into an OperationBatch at once,
// so the objects of a line die young and what stays is the batch's bytes and two numbers per line
// (where the line starts, and its number); a refusal's sentence and a failed line's operation are
// rebuilt from the text on demand. Lines that are not changes to services and destinations (flush,
// zero, timeouts, daemons) stay operations between the runs, to be carried out in order.

import { OperationBatch } from '../ipvs/batch.js';
import { ValidationError } from '../ipvs/errors.js';
import { onlyKnownOptions } from '../ipvs/option-keys.js';
import { collectHostNames, type GrammarContext } from './command-line.js';
import { FastRuleLines } from './fast-lines.js';
import { isTableOperation, toClientOperation, type RuleOperation, type TableRuleOperation } from './operations.js';
import { forEachLine, generalOperation, grammarContext, lineWords, parseRulesResolving, resolvingServices, PARSE_RULES_KEYS, type ParseRulesOptions } from './parse.js';
import type { ServiceNames } from './service-names.js';

/** A rules line that is not a table change: carried out on its own, between the runs. */
export type OtherRuleOperation = Exclude<RuleOperation, TableRuleOperation>;

/** A run of consecutive service and destination changes, validated and encoded for execute(). */
export class PreparedRun {
  /**
   * The run's changes in line order, for `ipvs.execute()`. When `invalid` is set, only the lines before
   * the refused one are here (`ipvs -R` applies them, as ipvsadm would, then reports the refused line).
   */
  readonly operations: OperationBatch;
  /** Set by add(): see `invalid`. */
  private refused: { rule: TableRuleOperation; error: ValidationError } | undefined = undefined;
  /** Per operation: its line number, where the rule can be found again (`at`), whether it adds. */
  private lines = new Uint32Array(256);
  private places = new Uint32Array(256);
  private additions = new Uint8Array(256);
  private readonly ruleAt: (at: number, line: number) => TableRuleOperation;

  /**
   * `ruleAt(at, line)` gives again the rule added with `at` (e.g. where its line starts in the text). Private:
   * runs come from prepareRules() (PreparedRun.empty inside the library).
   */
  private constructor(ruleAt: (at: number, line: number) => TableRuleOperation) {
    this.ruleAt = ruleAt;
    this.operations = new OperationBatch({ source: (i) => toClientOperation(this.rule(i)) });
  }

  /**
   * An empty run, to be filled by add().
   * @internal Left out of the shipped declarations (stripInternal): runs come from prepareRules().
   */
  static empty(ruleAt: (at: number, line: number) => TableRuleOperation): PreparedRun {
    return new PreparedRun(ruleAt);
  }

  /**
   * The first line of the run that execute() would refuse before sending anything (a value the client
   * does not accept), with its ValidationError (whose field names `operations[i]`, i counted in the run).
   * Read-only: the run sets it as it is prepared.
   */
  get invalid(): { readonly rule: TableRuleOperation; readonly error: ValidationError } | undefined {
    return this.refused;
  }

  /** Number of changes in the batch. */
  get length(): number {
    return this.operations.length;
  }

  /** The 1-based line of operation `index`. */
  line(index: number): number {
    return this.lines[index] as number;
  }

  /** Whether operation `index` adds a service or destination (a delete undoes it exactly). */
  isAddition(index: number): boolean {
    return this.additions[index] === 1;
  }

  /** The rules operation `index` stands for, built again from where it came. */
  rule(index: number): TableRuleOperation {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) throw new RangeError(`rule ${index} of a run of ${this.length}`);
    return this.ruleAt(this.places[index] as number, this.lines[index] as number);
  }

  /**
   * Validate and add one rule; false, with `invalid` set, when execute() would refuse it.
   * @internal Left out of the shipped declarations (stripInternal): a run is prepareRules()'s to fill.
   */
  add(rule: TableRuleOperation, at: number): boolean {
    if (this.refused !== undefined) return false;
    const index = this.operations.length;
    try {
      this.operations.add(toClientOperation(rule));
    } catch (error) {
      // A refused value; anything else would be a bug here, not a rule execute() refuses.
      if (!(error instanceof ValidationError)) throw error;
      this.refused = { rule, error };
      return false;
    }
    if (index >= this.lines.length) {
      this.lines = grown(this.lines, new Uint32Array(this.lines.length * 2));
      this.places = grown(this.places, new Uint32Array(this.places.length * 2));
      this.additions = grown(this.additions, new Uint8Array(this.additions.length * 2));
    }
    this.lines[index] = rule.line;
    this.places[index] = at;
    this.additions[index] = rule.op === 'addService' || rule.op === 'addDestination' ? 1 : 0;
    return true;
  }
}

function grown<T extends Uint8Array | Uint32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** The steps of a rules text, in order: runs of table changes, and the other operations between them. */
export type PreparedStep = PreparedRun | OtherRuleOperation;

/** Steps of operations already parsed (kept, since they exist anyway). */
export function stepsOf(ops: readonly RuleOperation[]): PreparedStep[] {
  const steps = new StepList((at) => ops[at] as TableRuleOperation);
  for (let i = 0; i < ops.length; i++) steps.push(ops[i] as RuleOperation, i);
  return steps.list;
}

/** Steps being gathered in order: consecutive table changes into one run, anything else on its own. */
class StepList {
  readonly list: PreparedStep[] = [];
  private run: PreparedRun | undefined;

  constructor(private readonly ruleAt: (at: number, line: number) => TableRuleOperation) {}

  /** Add `op`, found at `at` (what ruleAt takes to build it again). */
  push(op: RuleOperation, at: number): void {
    if (isTableOperation(op)) {
      if (this.run === undefined) this.list.push((this.run = PreparedRun.empty(this.ruleAt)));
      this.run.add(op, at);
    } else {
      this.run = undefined;
      this.list.push(op);
    }
  }
}

/**
 * The text line by line into steps; undefined when `hostNames` is given and a line (one the fast path
 * declines) names a host, which needs the asynchronous lookup first.
 */
function prepareLines(text: string, ctx: GrammarContext, hostNames: ServiceNames | undefined): PreparedStep[] | undefined {
  const fast = new FastRuleLines(text);
  // A run's rule, again: its line parsed anew from where it starts.
  const ruleAt = (start: number, line: number): TableRuleOperation => {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const op = fast.operation(start, end, line) ?? generalOperation(text.slice(start, end), line, ctx);
    if (op === undefined || !isTableOperation(op)) throw new Error(`line ${line} no longer reads as the change it was`);
    return op;
  };
  const steps = new StepList(ruleAt);
  const read = forEachLine(text, (start, end, line) => {
    let op = fast.operation(start, end, line);
    if (op === undefined) {
      const lineText = text.slice(start, end);
      if (hostNames !== undefined) {
        const argv = lineWords(lineText) ?? []; // too many words: refused by generalOperation below
        if (argv.length > 0 && collectHostNames(argv, hostNames).length > 0) return false;
      }
      op = generalOperation(lineText, line, ctx);
    }
    if (op !== undefined) steps.push(op, start);
    return true;
  });
  return read ? steps.list : undefined;
}

/**
 * Parse rules text into steps ready to apply: runs of service and destination changes as validated,
 * encoded batches for `ipvs.execute()`, other operations (flush, zero, --set, daemons) between them.
 * What parseRules then execute() would do, without keeping an object per line. Throws RulesSyntaxError
 * for the first line parseRules refuses; a value execute() would refuse is recorded on its run
 * (`invalid`), as execute() would refuse that run only when it is reached.
 */
export function prepareRules(text: string, options: ParseRulesOptions = {}): PreparedStep[] {
  return prepareLines(text, grammarContext(onlyKnownOptions(options, PARSE_RULES_KEYS)), undefined) as PreparedStep[];
}

/**
 * prepareRules for text that may name hosts (rules saved without -n): when a line does, the names are
 * looked up first, as parseRulesResolving does.
 */
export async function prepareRulesResolving(
  text: string,
  lookup: (name: string) => Promise<string | undefined>,
  options: Omit<ParseRulesOptions, 'lookupHost'> = {},
): Promise<PreparedStep[]> {
  const services = resolvingServices(lookup, options);
  const steps = prepareLines(text, grammarContext({ services }), services);
  if (steps !== undefined) return steps;
  return stepsOf(await parseRulesResolving(text, lookup, { services }));
}
