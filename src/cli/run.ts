// The `ipvs` command line, runnable in-process: runCli(argv, io) returns the exit status. With no
// arguments it lists the table (as ipvsadm does); a first argument that is a word goes to the subcommand
// table; anything else is an ipvsadm 1.31 command line, parsed by the shared grammar (host names resolved
// first, asynchronously) and carried out against the client, which is opened only when needed and always
// closed before returning.

import { readAll, type CliContext, type CliIpvs, type CliOptions } from './context.js';
import { executeCommand, listAll } from './execute.js';
import { openFailure, OpenFailure } from './failures.js';
import { printable } from './printable.js';
import { NETNS_OPTION, netnsAfterWord, netnsFailureLine, takeLeadingNetns } from './netns-option.js';
import { systemResolver } from '../rules/resolver.js';
import { SUBCOMMANDS, type Subcommand } from './subcommands.js';
import { tryHelpText, usageText, versionText } from './usage.js';
import { collectHostNames, parseCommandLine, plainListFormat, type ListFormat } from '../rules/command-line.js';
import { parseIPv4Strict } from '../rules/addresses.js';
import { CommandLineError } from '../rules/errors.js';

export { readAll };
export type { CliOptions, CliContext, CliIpvs };

const PLAIN_LISTING: ListFormat = plainListFormat();

export interface RunCliOptions extends CliOptions {
  /** Words accepted as a first argument. Default: SUBCOMMANDS. */
  subcommands?: Readonly<Record<string, Subcommand>>;
}

/** The help's list of this project's own words, and where their options are told. */
function otherCommandsText(program: string, words: readonly (readonly [string, Subcommand])[]): string {
  const lines = words.map(([w, s]) => `  ${program} ${w}  ${s.summary}\n`).join('');
  return `\nOther commands:\n${lines}Each takes --help for its own options (${program} ${words[0]![0]} --help).\n`;
}

/** Run the command line; resolves to the process exit status. Never throws for user errors. */
export async function runCli(fullArgv: readonly string[], options: RunCliOptions): Promise<number> {
  let opened: Promise<CliIpvs> | undefined;
  const programName = options.programName ?? 'ipvs';
  const subcommands = options.subcommands ?? SUBCOMMANDS;
  const leading = takeLeadingNetns(fullArgv);
  if ('error' in leading) {
    options.stderr.write(`${programName}: ${leading.error}\n`);
    return 2;
  }
  const { netns, rest: argv } = leading;
  if (netns !== undefined && !options.enterNetns) {
    options.stderr.write(`${programName}: ${NETNS_OPTION} is not available here\n`);
    return 2;
  }
  let entered: OpenFailure | true | undefined;
  const enterNamespace = (): void => {
    if (netns === undefined || entered === true) return;
    if (entered === undefined) {
      try {
        options.enterNetns!(netns);
        entered = true;
        return;
      } catch (err) {
        const line = netnsFailureLine(netns, err);
        entered = new OpenFailure(`${programName}: ${line}`, { cause: new Error(line, { cause: err }), message: line });
      }
    }
    throw entered;
  };
  // ipvsadm's commands start as ipvsadm does (below); this project's own subcommands report in their own words.
  const likeIpvsadm = subcommandOf(argv, subcommands) === undefined;
  const ctx: CliContext = {
    stdout: options.stdout,
    stderr: options.stderr,
    stdin: options.stdin,
    resolver: options.resolver ?? systemResolver(),
    procConnPath: options.procConnPath ?? '/proc/net/ip_vs_conn',
    programName,
    ...(options.outputFailures ? { outputFailures: options.outputFailures } : {}),
    enterNamespace,
    ipvs() {
      if (!opened) {
        const open = options.ipvs;
        opened = open
          ? Promise.resolve()
              .then(enterNamespace)
              .then(open)
              .then(async (ipvs) => {
                // As ipvsadm's ipvs_init: one GET_INFO before any command, so a missing permission (or any
                // first failure) is reported once, the way ipvsadm reports it, whatever the command.
                if (!likeIpvsadm) return ipvs;
                try {
                  await ipvs.info();
                } catch (err) {
                  await ipvs.close().catch(() => undefined);
                  throw err;
                }
                return ipvs;
              })
              .catch((err: unknown) => {
                if (err instanceof OpenFailure) throw err;
                throw openFailure(err, programName);
              })
          : Promise.reject(new OpenFailure("Can't initialize ipvs: no IPVS client configured"));
      }
      return opened;
    },
  };
  try {
    return await dispatch(argv, ctx, subcommands);
  } catch (err) {
    if (err instanceof OpenFailure) {
      ctx.stderr.write(err.text + '\n');
      return err.exitCode;
    }
    ctx.stderr.write(`${programName}: ${printable(err instanceof Error ? err.message : String(err))}\n`);
    return 1;
  } finally {
    if (opened) {
      try {
        const ipvs = await opened;
        await ipvs.close();
      } catch {
        // opening failed (already reported) or closing failed after the work was done
      }
    }
  }
}

/** The subcommand the first argument names, if it names one. */
function subcommandOf(argv: readonly string[], subcommands: Readonly<Record<string, Subcommand>>): Subcommand | undefined {
  const first = argv[0];
  return first !== undefined && !first.startsWith('-') && Object.prototype.hasOwnProperty.call(subcommands, first) ? subcommands[first] : undefined;
}

async function dispatch(
  argv: readonly string[],
  ctx: CliContext,
  subcommands: Readonly<Record<string, Subcommand>>,
): Promise<number> {
  if (argv.length === 0) return listAll(ctx, PLAIN_LISTING, false);
  const first = argv[0]!;
  if (!first.startsWith('-')) {
    const sub = subcommandOf(argv, subcommands);
    if (sub) {
      const misplaced = netnsAfterWord(argv.slice(1));
      if (misplaced) {
        ctx.stderr.write(`${ctx.programName} ${first}: ${NETNS_OPTION} goes before the command: ${ctx.programName} ${NETNS_OPTION} NAME ${first} ...\n`);
        return 2;
      }
      return sub.run(argv.slice(1), ctx);
    }
    ctx.stderr.write(`${ctx.programName}: unknown command '${first}'\n\n${usageText(ctx.programName)}`);
    const words = Object.entries(subcommands);
    if (words.length > 0) {
      ctx.stderr.write(otherCommandsText(ctx.programName, words));
    }
    return 2;
  }

  // Host names in the arguments are looked up before parsing, so the grammar stays synchronous.
  const services = ctx.resolver.services;
  const answers = new Map<string, number>();
  await Promise.all(
    collectHostNames(argv, services).map(async (name) => {
      if (name === '') return;
      const address = await ctx.resolver.lookup(name);
      const value = address === undefined ? undefined : parseIPv4Strict(address);
      if (value !== undefined) answers.set(name, value);
    }),
  );

  let outcome;
  try {
    outcome = parseCommandLine(argv, { services, lookupHost: (name) => answers.get(name) });
  } catch (err) {
    if (err instanceof CommandLineError) {
      ctx.stderr.write(err.tryHelp ? tryHelpText(ctx.programName) : `${err.detail}\n`);
      return err.exitCode;
    }
    throw err;
  }
  if (outcome.kind === 'help') {
    ctx.stdout.write(usageText(ctx.programName));
    const words = Object.entries(subcommands);
    if (words.length > 0) {
      ctx.stdout.write(otherCommandsText(ctx.programName, words));
    }
    return 0;
  }
  if (outcome.kind === 'version') {
    ctx.stdout.write(versionText());
    return 0;
  }
  return executeCommand(outcome, ctx);
}
