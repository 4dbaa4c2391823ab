// Errors of the ipvsadm command-line grammar and of the rules format. A command line that ipvsadm would
// refuse carries the exact sentence and exit status ipvsadm uses, so the CLI can print it byte for byte;
// inside a rules text the same sentence is prefixed with the line number.

import { IpvsError } from '../netlink/errors.js';

/** Exit statuses ipvsadm uses for refused input: 2 from its own checks, 255 from the option parser. */
export type UsageExitCode = 2 | 255;

/** A command line that ipvsadm would refuse before talking to the kernel. */
export class CommandLineError extends IpvsError {
  declare readonly code: 'EUSAGE';
  /** The exit status ipvsadm ends with for this refusal. */
  readonly exitCode: UsageExitCode;
  /**
   * True when ipvsadm answers only with its "Try `prog -h' ..." hint (no specific sentence); the CLI
   * formats that line with its own program name.
   */
  readonly tryHelp: boolean;
  /** The sentence as ipvsadm prints it, without the final newline (empty for tryHelp). */
  readonly detail: string;
  constructor(detail: string, exitCode: UsageExitCode, tryHelp = false) {
    super(tryHelp ? 'unrecognised command line (no command option first)' : detail.replace(/\n+$/, ''), 'EUSAGE');
    this.name = 'CommandLineError';
    this.exitCode = exitCode;
    this.tryHelp = tryHelp;
    this.detail = detail;
  }
}

/** A line of an ipvsadm rules text (the -S / -R format) that cannot be applied as written. */
export class RulesSyntaxError extends IpvsError {
  declare readonly code: 'ERULES';
  /** 1-based line number in the text. */
  readonly line: number;
  /** What is wrong, without the line prefix. */
  readonly reason: string;
  constructor(line: number, reason: string, options?: { cause?: unknown }) {
    super(`line ${line}: ${reason}`, 'ERULES', options);
    this.name = 'RulesSyntaxError';
    this.line = line;
    this.reason = reason;
  }
}
