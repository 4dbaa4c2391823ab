// A program run through examples/program.js's runAsProgram, for test/examples/examples.test.ts to start as a real
// process and send real signals to. Its kernel client is a stand-in whose opening ends only when a line comes on
// standard input, so a signal can be sent while it opens. argv: `stop` or `reload` (the example's hangup), and
// `wait` (run waits for its signal) or `slow-read` (run also starts a read that never ends, as of a file on a hung
// network file system, and gives it up at its signal). Each step is a line on standard output.
import { open as openFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { once } from 'node:events';
import readline from 'node:readline';
import { runAsProgram } from '../../examples/program.js';

const [hangup, mode, fifo] = process.argv.slice(2);
const lines = readline.createInterface({ input: process.stdin });
const open = async () => {
  // A signal program.js listens to already is told, so that the test lets the opening end only once it was handled.
  const seen = ['SIGINT', 'SIGTERM', 'SIGHUP'].filter((name) => process.listenerCount(name) > 0).map((name) => [name, () => console.log(`seen ${name}`)]);
  for (const [name, listener] of seen) process.on(name, listener);
  console.log('opening');
  await once(lines, 'line');
  lines.close();
  for (const [name, listener] of seen) process.off(name, listener);
  return { close: async () => console.log('closed') };
};
const run = async (_ipvs, _options, signal, hangups) => {
  hangups?.(() => console.log('hangup'));
  if (mode === 'slow-read') {
    // Opened read-write, a FIFO never blocks the open; no one writes, so the read waits in a libuv thread for ever.
    const handle = await openFile(fifo, constants.O_RDWR);
    void handle.read(Buffer.alloc(16), 0, 16, null).catch(() => {});
  }
  console.log('running');
  const alive = setInterval(() => {}, 60_000); // as a kernel client's socket does: signal listeners hold nothing
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  clearInterval(alive);
  console.log('stopping');
};
await runAsProgram(import.meta, () => ({}), run, { longRunning: true, hangup, open });
