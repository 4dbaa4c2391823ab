// Turning a failure from the client into ipvsadm's output: a kernel refusal becomes the sentence ipvsadm
// prints for that command and errno; a client that cannot be opened for an errno becomes ipvsadm's "Can't
// initialize ipvs" paragraph (exit status 2).

import type { CliIpvs } from './context.js';
import { refusalMessage, type KernelAction } from './messages.js';
import { errnoName, FamilyNotFoundError, KernelError } from '../netlink/errors.js';
import { constants as osConstants } from 'node:os';
import { ValidationError } from '../ipvs/errors.js';
import type { ServiceKey } from '../ipvs/types.js';

/**
 * The client could not be opened; carries the text to print and ipvsadm's exit status. Its message is
 * the text unless given apart (the reason alone, for those who print it after words of their own).
 */
export class OpenFailure extends Error {
  readonly exitCode = 2;
  constructor(readonly text: string, options?: { cause?: unknown; message?: string }) {
    super(options?.message ?? text, options);
    this.name = 'OpenFailure';
  }
}

/**
 * The client refuses some values before sending them that ipvsadm leaves to the kernel; to print what
 * ipvsadm prints, such refusals are reported as the errno the kernel would have answered.
 */
const KERNEL_ERRNO_OF_FIELD: Readonly<Record<string, string>> = {
  scheduler: 'ENOENT',
  persistenceEngine: 'ENOENT',
  'destination.lowerThreshold': 'ERANGE',
  'destination.weight': 'ERANGE',
  // An address no host takes (multicast, 0.0.0.0, ...): the command line refuses every other fault of it first.
  'destination.address': 'EINVAL',
};

/** The kernel errno a client refusal stands for (above), if it stands for one. */
function kernelErrnoOf(err: ValidationError, action?: KernelAction): string | undefined {
  // execute() names the operation: `operations[3].service.scheduler`, `operations[3].destination.weight`.
  const field = err.field.replace(/^operations\[\d+\]\.(service\.)?/, '');
  // Linux checks the address only when adding; an edit looks the destination up, which such an address never names.
  if (field === 'destination.address' && action === 'edit-server') return 'ENOENT';
  return KERNEL_ERRNO_OF_FIELD[field];
}

/** Whether `err` is one of the client's early refusals that stand for a kernel answer (above). */
export function standsForKernelCheck(err: unknown): boolean {
  return err instanceof ValidationError && kernelErrnoOf(err) !== undefined;
}

/**
 * The kernel looks the service up (ESRCH when missing, EEXIST for -A when present) before the scheduler or
 * the thresholds the client checks first; ipvsadm prints the answer to that lookup, so this does too.
 */
export async function earlierRefusal(ipvs: CliIpvs, action: KernelAction, service: ServiceKey, err: unknown): Promise<{ code: string } | undefined> {
  if (!standsForKernelCheck(err)) return undefined;
  // Anything but a clear answer leaves the client's own refusal to be reported.
  const exists = await ipvs.service(service).then(
    () => true,
    (e: unknown) => ((e as { code?: unknown }).code === 'ESRCH' ? false : undefined),
  );
  if (action === 'add-service') return exists === true ? { code: 'EEXIST' } : undefined;
  return exists === false ? { code: 'ESRCH' } : undefined;
}

function errnoOf(err: unknown, action?: KernelAction): { code: string; errno: number } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  if (err instanceof ValidationError) {
    const code = kernelErrnoOf(err, action);
    const value = code === undefined ? undefined : (osConstants.errno as Record<string, number>)[code];
    return code !== undefined && value !== undefined ? { code, errno: value } : undefined;
  }
  const e = err as { errno?: unknown; code?: unknown };
  if (typeof e.errno === 'number' && e.errno !== 0) {
    const errno = Math.abs(e.errno);
    return { code: errnoName(errno), errno };
  }
  if (typeof e.code === 'string') {
    const value = (osConstants.errno as Record<string, number>)[e.code];
    if (value !== undefined) return { code: e.code, errno: value };
  }
  return undefined;
}

/** The line ipvsadm prints when `action` failed with this error (without newline). */
export function describeFailure(err: unknown, action: KernelAction): string {
  const e = errnoOf(err, action);
  if (e) return refusalMessage(action, e.code, e.errno);
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * The OpenFailure for an error raised while opening the client. A system call's failure (an errno) is
 * ipvsadm's paragraph, except the kernel's permission refusal: one line naming the privilege. Anything
 * else (a native package that cannot be loaded, say) is not the kernel's doing, so its own message is
 * printed, without ipvsadm's advice about the kernel.
 */
export function openFailure(err: unknown, programName = 'ipvs'): OpenFailure {
  const advice = 'Are you sure that IP Virtual Server is built in the kernel or as module?';
  if (err instanceof FamilyNotFoundError) {
    return new OpenFailure(`Can't initialize ipvs: Protocol not available\n${advice}`, { cause: err });
  }
  // The kernel's EPERM: the library's sentence names what is missing (CAP_NET_ADMIN, or the initial user
  // namespace for a container's root) where ipvsadm's says "you must be root" and then asks about the module.
  if (err instanceof KernelError && (err.code === 'EPERM' || err.code === 'EACCES')) {
    return new OpenFailure(`Can't initialize ipvs: ${err.message}`, { cause: err });
  }
  if (errnoOf(err)) return new OpenFailure(`Can't initialize ipvs: ${describeFailure(err, 'other')}\n${advice}`, { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new OpenFailure(`${programName}: ${message}`, { cause: err, message });
}
