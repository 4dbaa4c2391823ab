// A native package whose binary cannot be loaded, simulated by standing in for the one require() the
// native layer loads its packages through (native/load.ts): `netlink` as node-gyp-build fails when there
// is no prebuilt binary for the machine, `koffi` as it fails without its per-platform package. Every test
// loads the modules afresh, since both layers keep what they loaded.

import { afterEach, describe, expect, it, vi } from 'vitest';

const missing = vi.hoisted(() => ({ packages: new Set<string>() }));

/** node-gyp-build's error when netlink has no binary for this machine (no code, no errno). */
const NO_PREBUILD = 'No native build was found for platform=linux arch=x64 runtime=node abi=115 uv=1 libc=glibc node=20.20.2\n'
  + '    loaded from: /app/node_modules/netlink\n';

vi.mock('../../native/load.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../native/load.js')>();
  return {
    ...actual,
    nativeRequire: (id: string): unknown => {
      const name = id.split('/')[0]!;
      if (missing.packages.has(name)) {
        throw new Error(name === 'netlink' ? NO_PREBUILD : 'Cannot find the native Koffi module; did you bundle it correctly?');
      }
      return actual.nativeRequire(id);
    },
  };
});

async function fresh(): Promise<{ lib: typeof import('../../src/index.js'); socket: typeof import('../../native/socket.js'); cli: typeof import('../../src/cli/run.js') }> {
  vi.resetModules();
  return {
    lib: await import('../../src/index.js'),
    socket: await import('../../native/socket.js'),
    cli: await import('../../src/cli/run.js'),
  };
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => expect.unreachable('should have failed'), (err: unknown) => err);
}

afterEach(() => {
  missing.packages.clear();
});

describe('netlink without its native binary', () => {
  it('Ipvs.open() throws a NativeBindingError (ENATIVE) that says what is missing and what to do', async () => {
    missing.packages.add('netlink');
    const { lib } = await fresh();
    const err = await failure(lib.Ipvs.open());
    expect(err).toBeInstanceOf(lib.NativeBindingError);
    expect(err).toBeInstanceOf(lib.IpvsError);
    const e = err as InstanceType<typeof lib.NativeBindingError>;
    expect(e.code).toBe('ENATIVE');
    expect(e.packageName).toBe('netlink');
    expect((e.cause as Error).message).toBe(NO_PREBUILD);
    expect(e.message).toMatch(/^cannot load the native binding of the `netlink` package, which provides the kernel socket: No native build was found for platform=linux/);
    expect(e.message).toContain('loaded from: /app/node_modules/netlink\nIts binaries are prebuilt');
    expect(e.message).toContain('`npm rebuild netlink`');
    expect(e.message).not.toMatch(/EIO|Input\/output/);
  });

  it('the CLI prints that message, status 2, without ipvsadm\'s advice about the kernel', async () => {
    missing.packages.add('netlink');
    const { lib, cli } = await fresh();
    let out = '';
    let err = '';
    const code = await cli.runCli(['-Ln'], {
      ipvs: () => lib.Ipvs.open(),
      stdout: { write: (s: string) => void (out += s) },
      stderr: { write: (s: string) => void (err += s) },
    });
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(/^ipvs: cannot load the native binding of the `netlink` package, which provides the kernel socket: No native build was found/);
    expect(err).toContain('`npm rebuild netlink`');
    expect(err).not.toContain("Can't initialize ipvs");
    expect(err).not.toContain('built in the kernel');
  });
});

describe('koffi without its native binary', () => {
  it('a network namespace cannot be entered: NativeBindingError naming koffi', async () => {
    missing.packages.add('koffi');
    const { lib } = await fresh();
    const err = await failure(lib.Ipvs.open({ netns: 'blue' }));
    expect(err).toBeInstanceOf(lib.NativeBindingError);
    expect(err).toMatchObject({ code: 'ENATIVE', packageName: 'koffi' });
    expect((err as Error).message).toMatch(/^cannot load the native binding of the `koffi` package, which entering a network namespace needs: Cannot find the native Koffi module/);
  });

  it('the socket in the current namespace works without libc, and says so in its features', async (ctx) => {
    missing.packages.add('koffi');
    const { socket } = await fresh();
    let transport: InstanceType<typeof socket.KernelSocketTransport>;
    try {
      transport = new socket.KernelSocketTransport();
    } catch (err) {
      ctx.skip(`no netlink socket here: ${(err as Error).message}`);
      return;
    }
    try {
      expect(transport.features).toEqual({ libc: false, forcedReceiveBuffer: false, extendedAck: false, strictCheck: false, capAck: false, dropDetection: false });
      expect(transport.portId).toBeGreaterThan(0);
    } finally {
      await transport.close();
    }
  });
});

describe('socketFeatures', () => {
  it('is undefined on a transport other than the kernel socket', async () => {
    const { lib } = await fresh();
    const { FakeKernel } = await import('../../src/testing/index.js');
    await using ipvs = await lib.Ipvs.open({ transport: new FakeKernel().transport() });
    expect(ipvs.socketFeatures).toBeUndefined();
  });
});
