// Running the CLI in-process against a fake kernel: captured stdout/stderr, stdin text, the connection
// table from a fixture file, a resolver that knows only what the test gives it.

import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli/run.js';
import { staticResolver, type Resolver } from '../../src/rules/resolver.js';
import type { CliIpvs } from '../../src/cli/context.js';
import { parseServicesFile } from '../../src/rules/service-names.js';
import { Ipvs } from '../../src/client.js';
import { FakeKernel } from '../../src/testing/index.js';

export const CONN_FIXTURE = fileURLToPath(new URL('./fixtures/ip_vs_conn.txt', import.meta.url));

export const TEST_SERVICES = parseServicesFile('http 80/tcp www\nhttps 443/tcp\ndomain 53/tcp\ndomain 53/udp\nsip 5060/udp\n');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export class CliHarness {
  readonly fake = new FakeKernel();
  resolver: Resolver = staticResolver({}, TEST_SERVICES);
  procConnPath = CONN_FIXTURE;
  opened = 0;
  closed = 0;

  async openIpvs(): Promise<CliIpvs> {
    this.opened++;
    const handle: CliIpvs = await Ipvs.open({ transport: this.fake.transport() });
    const close = handle.close.bind(handle);
    handle.close = async () => {
      this.closed++;
      await close();
    };
    return handle;
  }

  async run(line: string | readonly string[], stdin = ''): Promise<Run> {
    const argv = typeof line === 'string' ? line.split(' ').filter((w) => w !== '') : line;
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, {
      ipvs: () => this.openIpvs(),
      stdin,
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      procConnPath: this.procConnPath,
      resolver: this.resolver,
    });
    return { code, stdout, stderr };
  }

  /** Run lines that must all succeed silently. */
  async setUp(...lines: string[]): Promise<void> {
    for (const line of lines) {
      const r = await this.run(line);
      if (r.code !== 0 || r.stderr !== '' || r.stdout !== '') throw new Error(`setUp ${line}: ${JSON.stringify(r)}`);
    }
  }

  async save(): Promise<string> {
    return (await this.run('-Sn')).stdout;
  }
}
