// Fuzz-style robustness tests of every decoder (see fuzz-target.ts). The decoder fuzz runs in a child
// process with a deadline: a decoder stuck in a loop would block this test runner forever, a child
// can be killed. The engine is also fed garbage datagrams while requests and dumps are pending: the
// transport's callback must never throw, and every request must still settle with an IpvsError.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NetlinkConnection, type OutgoingRequest } from '../../src/netlink/connection.js';
import { IpvsError } from '../../src/netlink/errors.js';
import { ScriptedTransport } from '../helpers/scripted-transport.js';
import { decodeEverything, runFuzz, seeds, type FuzzOptions, type FuzzResult } from './fuzz-target.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const target = new URL('./fuzz-target.ts', import.meta.url).href;

/** Run the fuzz target in a fresh Node process (tsx loads the TypeScript), killed after `deadlineMs`. */
function fuzzInChild(options: FuzzOptions, deadlineMs: number): Promise<{ result?: FuzzResult; killed: boolean; stderr: string }> {
  const code = `Error.stackTraceLimit = 0; const m = await import(${JSON.stringify(target)}); process.stdout.write(JSON.stringify(m.runFuzz(${JSON.stringify(options)})));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      let result: FuzzResult | undefined;
      try {
        result = JSON.parse(stdout) as FuzzResult;
      } catch {
        result = undefined;
      }
      resolve({ result, killed, stderr });
    });
  });
}

describe('decoder fuzz', () => {
  it('the seeds are valid and decode cleanly', () => {
    for (const s of seeds()) expect(() => decodeEverything(s)).not.toThrow();
  });

  it('truncations, length mutations and random buffers only ever raise DecodeError, and never hang', async () => {
    const { result, killed, stderr } = await fuzzInChild({ randomRuns: 20_000 }, 90_000);
    expect(killed, 'the fuzz child did not finish in time: a decoder hangs').toBe(false);
    expect(result, stderr).toBeDefined();
    expect(result!.failure, JSON.stringify(result!.failure, null, 2)).toBeUndefined();
    expect(result!.cases).toBeGreaterThan(30_000);
  }, 120_000);

  it('the harness does report a decoder that throws something other than DecodeError', () => {
    const result = runFuzz({ randomRuns: 10, extraTarget: (b) => void b.readUInt32LE(b.length) });
    expect(result.failure?.message).toMatch(/extraTarget threw RangeError/);
    expect(typeof result.failure?.inputHex).toBe('string');
  });
});

describe('engine fed garbage', () => {
  const req = (n: number): OutgoingRequest => ({ type: 0x20, body: (w) => w.genlHeader(1, 1), label: { operation: `op${n}` } });

  it('never throws from the transport callback; every request still settles with an IpvsError', async () => {
    const all = seeds();
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.constantFrom(...all),
            fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
            fc.nat(),
          ),
          { minLength: 1, maxLength: 6 },
        ),
        async (datagrams) => {
          const t = new ScriptedTransport();
          const conn = new NetlinkConnection(t, { timeoutMs: 0 });
          const acks = conn.batch([req(1), req(2), req(3)]);
          const settled = acks.map((p) => p.then(() => 'ok', (e: unknown) => e));
          const dumped = (async () => {
            try {
              for await (const m of conn.dump(req(4))) void m;
              return 'ok';
            } catch (e) {
              return e;
            }
          })();
          await t.waitForSends(2);
          const seqs = t.requests().map((r) => r.seq);
          for (const [seed, edits, cut] of datagrams) {
            const d = Buffer.from(seed);
            // Aim the garbage at the pending requests: rewrite every header's seq where one could be.
            for (let off = 0; off + 12 <= d.length; off += 4) {
              if (d.readUInt32LE(off) >= 16 && d.readUInt32LE(off) <= d.length - off) d.writeUInt32LE(seqs[(off / 4) % seqs.length]!, off + 8);
            }
            for (const [at, v] of edits) d[at % d.length] = v;
            expect(() => t.deliver(d.subarray(0, d.length - (cut % 5)))).not.toThrow();
          }
          await conn.close();
          for (const r of [...(await Promise.all(settled)), await dumped]) {
            if (r !== 'ok') expect(r).toBeInstanceOf(IpvsError);
          }
          expect(conn.inFlight).toBe(0);
        },
      ),
      { numRuns: 300, seed: 0x5eed },
    );
  });
});
