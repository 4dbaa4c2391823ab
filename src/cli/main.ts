#!/usr/bin/env node
// The `ipvs` executable: an ipvsadm 1.31 drop-in built on the library (no child process). Only wiring
// lives here: the process's streams and arguments, and the client opened on the current network
// namespace (the one --netns moved the process into). Everything else is in run.ts, where tests call it directly.

import { runCli } from './run.js';
import type { OutputFailures } from './context.js';
import { Ipvs } from '../client.js';
import { enterNamespaceForGood } from '../../native/socket.js';

// A reader that went away (`ipvs -Ln | head -1`) ends the program quietly, with the status a shell shows
// for ipvsadm, which SIGPIPE kills (128 + 13); any other failure to write (a full disk) is one line and
// status 1. Without a listener Node would print a stack trace for the stream's 'error'. A command that
// handles such failures itself (`ipvs health`: a daemon goes on checking when its log reader goes away)
// says so through `outputFailures`, and its status is then the exit status; a stream that failed is not flushed.
let outputError: NodeJS.ErrnoException | undefined;
let handledInCommand = false;
function outputFailed(stream: NodeJS.WriteStream, err: NodeJS.ErrnoException): void {
  if (handledInCommand) return;
  outputError ??= err;
  if (outputError.code === 'EPIPE') process.exit(141);
  if (stream === process.stdout) process.stderr.write(`ipvs: cannot write the output: ${outputError.message}\n`);
  process.exit(1);
}
for (const stream of [process.stdout, process.stderr]) stream.on('error', (err: NodeJS.ErrnoException) => outputFailed(stream, err));
const outputFailures: OutputFailures = {
  handleInCommand() {
    handledInCommand = true;
  },
};

const code = await runCli(process.argv.slice(2), {
  ipvs: () => Ipvs.open(),
  // --netns: this thread (the main one, where the client's socket and every check's socket are made) moves for
  // good. libuv's thread pool started while this module loaded, so name lookups stay where the process started.
  enterNetns: enterNamespaceForGood,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  programName: 'ipvs',
  outputFailures,
});
// Flush the streams, then leave even if a slow name lookup is still pending in the thread pool. A write
// that failed just before (its 'error' not yet emitted) is reported here; a stream already destroyed by a
// failure its command handled has nothing left to flush.
const flush = (stream: NodeJS.WriteStream, then: () => void): void => {
  if (stream.destroyed) then();
  else
    stream.write('', (err) => {
      if (err) outputFailed(stream, err); // does not return, unless the command handles such failures
      then();
    });
};
flush(process.stdout, () => flush(process.stderr, () => process.exit(code)));
