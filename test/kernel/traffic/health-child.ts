// `ipvs health CONFIG` as the CLI will run it, started by the traffic test inside the director's
// namespace (`ip netns exec DIR node --import tsx health-child.ts CONFIG`): the health checks must
// reach the real servers from the director, as a real deployment's do. Stops on SIGTERM.
import { runHealth } from '../../../src/cli/health.js';
import { Ipvs } from '../../../src/client.js';

let ipvs: Ipvs | undefined;
const code = await runHealth(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  ipvs: async () => (ipvs = await Ipvs.open()),
});
await ipvs?.close();
process.exit(code);
