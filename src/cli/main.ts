#!/usr/bin/env node
// The `ipvs` executable: an ipvsadm 1.31 drop-in built on the library (no child process). Only wiring
// lives here: the process's streams and arguments, and the client opened on the current network
// namespace. Everything else is in run.ts, where tests call it directly.

import { runCli } from './run.js';
import { Ipvs } from '../client.js';

const code = await runCli(process.argv.slice(2), {
  ipvs: () => Ipvs.open(),
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  programName: 'ipvs',
});
// Flush the streams, then leave even if a slow name lookup is still pending in the thread pool.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
