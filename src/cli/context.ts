// What the command line needs from its surroundings, passed in so tests can run it in-process: a way to
// open the IPVS client (lazily: help, usage errors and the connection table never touch the kernel),
// the three standard streams, the path of the connection table, a name resolver and the program name
// used in messages. src/cli/main.ts fills these from the process.

import type { Resolver } from '../rules/resolver.js';
import { INPUT_LIMIT, inputTooLarge } from './read-input.js';
import type { Ipvs } from '../client.js';

/** Anything that takes text: process.stdout, a test buffer. */
export interface TextSink {
  write(text: string): unknown;
}

/**
 * After a write to `sink` that it could not take at once (a stream past its buffer: a pipe whose reader is
 * slow, or gone): a promise that settles once it drains, or fails, or closes, telling whether output can go
 * on (false: the stream failed or is gone). Undefined when there is no need to wait (a plain sink, or a
 * stream with room). A listing that writes as it reads waits on it: without, a slow reader made the process
 * hold the whole output, and a reader gone (`ipvs -Sn | head -1`) was noticed only once the event loop
 * turned, after reading most of a big table.
 */
export function outputRoom(sink: TextSink): Promise<boolean> | undefined {
  const s = sink as Partial<Pick<NodeJS.WritableStream, 'once' | 'off'>> & { writableNeedDrain?: boolean; destroyed?: boolean; errored?: unknown };
  if (s.destroyed === true || (s.errored !== undefined && s.errored !== null)) return Promise.resolve(false);
  if (s.writableNeedDrain !== true || typeof s.once !== 'function' || typeof s.off !== 'function') return undefined;
  const once = s.once.bind(s);
  const off = s.off.bind(s);
  return new Promise((resolve) => {
    const settle = (ok: boolean) => (): void => {
      off('drain', drained);
      off('error', failed);
      off('close', failed);
      resolve(ok);
    };
    const drained = settle(true);
    const failed = settle(false);
    once('drain', drained);
    once('error', failed);
    once('close', failed);
  });
}

/** Where -R reads its rules: a readable stream (process.stdin) or, in tests, the text itself. */
export type TextSource = string | AsyncIterable<string | Uint8Array>;

/** The parts of the client the command line uses. */
export type CliIpvs = Pick<
  Ipvs,
  | 'info'
  | 'services'
  | 'service'
  | 'destinations'
  | 'addService'
  | 'updateService'
  | 'deleteService'
  | 'addDestination'
  | 'updateDestination'
  | 'deleteDestination'
  | 'zero'
  | 'flush'
  | 'timeouts'
  | 'setTimeouts'
  | 'daemons'
  | 'startDaemon'
  | 'stopDaemon'
  | 'execute'
  | 'close'
> &
  // Reads a listing's destinations in runs when there (the client has it); test doubles may leave it out.
  Partial<Pick<Ipvs, 'destinationsOfEach'>>;

export interface CliOptions {
  /** Opens the client; called at most once per run, only when a command needs the kernel. */
  ipvs?: () => Promise<CliIpvs>;
  stdin?: TextSource;
  stdout: TextSink;
  stderr: TextSink;
  /** The connection table file. Default /proc/net/ip_vs_conn. */
  procConnPath?: string;
  /** Host and service names. Default: the system resolver. */
  resolver?: Resolver;
  /** Used in "Try `ipvs -h'" and the usage text. Default 'ipvs'. */
  programName?: string;
  /** How a failed write to stdout or stderr ends the run (main.ts); a long-running command may take it over. */
  outputFailures?: OutputFailures;
  /**
   * Moves the process into a network namespace for good, for a leading `--netns` (main.ts: the main thread, by
   * setns, before the client is opened there). Without it `--netns` is refused.
   */
  enterNetns?: (netns: string) => void;
}

/**
 * What happens when writing to standard output or error fails (a reader gone: EPIPE). main.ts ends the process
 * (141, as a shell shows ipvsadm killed by SIGPIPE) unless a command says it handles such failures itself: `ipvs
 * health`, a daemon, must not die because its log reader went away (it listens to the streams' 'error' events).
 */
export interface OutputFailures {
  /** From now on a failed write does not end the process: the command's status is the exit status. */
  handleInCommand(): void;
}

/** The context handed to every command, including subcommands added beside the ipvsadm ones. */
export interface CliContext {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly stdin: TextSource | undefined;
  readonly resolver: Resolver;
  readonly procConnPath: string;
  readonly programName: string;
  readonly outputFailures?: OutputFailures;
  /** The client, opened on first use and closed when the run ends. */
  ipvs(): Promise<CliIpvs>;
  /**
   * Enters the `--netns` namespace when one was given (once; an OpenFailure when it cannot be), before anything
   * that reads the namespace other than through the client (the connection table); ipvs() does it first itself.
   */
  enterNamespace?(): void;
}

/**
 * Read a whole TextSource; a stream longer than `limit` (bytes, or characters of string chunks) is an
 * error: standard input may be /dev/zero or a pipe that never ends.
 */
export async function readAll(source: TextSource | undefined, limit = INPUT_LIMIT): Promise<string> {
  if (source === undefined) return '';
  if (typeof source === 'string') return source;
  let text = '';
  let size = 0;
  const decoder = new TextDecoder();
  for await (const chunk of source) {
    size += chunk.length;
    if (size > limit) throw inputTooLarge('standard input', limit);
    text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}
