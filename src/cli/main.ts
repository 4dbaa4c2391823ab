#!/usr/bin/env node
// The `ipvs` executable: an ipvsadm 1.31 drop-in built on the library (no child process). Only wiring
// lives here: the process's streams and arguments, and the client opened on the current network
// namespace. Everything else is in run.ts, where tests call it directly.

import { runCli } from './run.js';
import { Ipvs } from '../client.js';

// A reader that went away (`ipvs -Ln | head -1`) ends the program quietly, with the status a shell shows
// for ipvsadm, which SIGPIPE kills (128 + 13); any other failure to write (a full disk) is one line and
// status 1. Without a listener Node would print a stack trace for the stream's 'error'.
let outputError: NodeJS.ErrnoException | undefined;
function outputFailed(stream: NodeJS.WriteStream, err: NodeJS.ErrnoException): void {
  outputError ??= err;
  if (outputError.code === 'EPIPE') process.exit(141);
  if (stream === process.stdout) process.stderr.write(`ipvs: cannot write the output: ${outputError.message}\n`);
  process.exit(1);
}
for (const stream of [process.stdout, process.stderr]) stream.on('error', (err: NodeJS.ErrnoException) => outputFailed(stream, err));

const code = await runCli(process.argv.slice(2), {
  ipvs: () => Ipvs.open(),
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  programName: 'ipvs',
});
// Flush the streams, then leave even if a slow name lookup is still pending in the thread pool. A write
// that failed just before (its 'error' not yet emitted) is reported here.
process.stdout.write('', (err) => {
  if (err) outputFailed(process.stdout, err);
  else process.stderr.write('', () => process.exit(code));
});
