// Loading the two native packages. Each ships binaries prebuilt per platform (netlink's under its
// prebuilds/, picked by node-gyp-build as it loads; koffi's in a per-platform optional dependency), so
// on a platform without one, or after an install that left it out, the first require fails. That
// failure is a NativeLoadError naming the package, told apart from a system call's failure.

import { createRequire } from 'node:module';

export type NativePackage = 'netlink' | 'koffi';

export class NativeLoadError extends Error {
  readonly packageName: NativePackage;
  constructor(packageName: NativePackage, cause: unknown) {
    super(`cannot load the \`${packageName}\` package: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'NativeLoadError';
    this.packageName = packageName;
  }
}

/** require() for the native packages (both CommonJS); one place, so that tests can stand in for it. */
export const nativeRequire: (id: string) => unknown = createRequire(import.meta.url);
