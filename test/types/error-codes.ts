// Compiled by the project's typecheck and, under exactOptionalPropertyTypes, by test/types/exact-optional.test.ts:
// an error's `code` names the errno and library codes (autocompletion, misspellings caught where the class fixes
// its code), while every comparison and construction that compiled with `code: string` still compiles.
import {
  AbortError, ClosedError, DecodeError, DumpInterruptedError, FamilyNotFoundError, IpvsError, KernelError, NativeBindingError,
  RulesSyntaxError, TimeoutError, ValidationError, errnoName,
  type ErrnoName, type IpvsErrorCode, type KnownErrnoName, type LibraryErrorCode,
} from '../../src/index.js';

// The names the docs' sentences table lists are known.
export const known: readonly KnownErrnoName[] = ['EEXIST', 'ESRCH', 'ENOENT', 'EINVAL', 'ERANGE', 'EPERM', 'EACCES', 'EBUSY', 'ENODEV'];
// @ts-expect-error a misspelt errno name is not a known one
export const misspelt: KnownErrnoName = 'EEXISTS';
// @ts-expect-error the library codes are the library's
export const notLibrary: LibraryErrorCode = 'EEXIST';
export const library: readonly LibraryErrorCode[] = ['EINVALIDARG', 'ENOFAMILY', 'ETIMEDOUT', 'ABORT_ERR', 'ECLOSED', 'EDUMPINTR', 'EDECODE', 'ENATIVE', 'EUSAGE', 'ERULES', 'EINVALIDSTATE', 'ENOTSENT'];

// Backward compatible: any string is still a code, a code is still a string, comparisons with any string compile.
export const anyErrno: ErrnoName = 'E1234';
export const anyCode: IpvsErrorCode = 'MY_OWN_CODE';
export const asString = (e: IpvsError): string => e.code;
export const kernelAsString = (e: KernelError): string => e.code;
export const fromString = (message: string, code: string): IpvsError => new IpvsError(message, code);
export const compare = (e: IpvsError): boolean => e.code === 'EEXIST' || e.code === 'EWHATEVER';
export const checked = (e: KernelError): boolean => e.code === ('EEXIST' satisfies KnownErrnoName);
// @ts-expect-error satisfies catches a misspelt name where the code is open
export const checkedTypo = (e: KernelError): boolean => e.code === ('EEXISTS' satisfies KnownErrnoName);
export const compareKernel = (e: KernelError): boolean => e.code === 'ESRCH' || e.code === 'E9999';
export function onCode(e: IpvsError): string {
  switch (e.code) {
    case 'EEXIST': return 'exists';
    case 'EINVALIDARG': return 'invalid';
    case 'SOMETHING_ELSE': return 'other';
    default: return e.code;
  }
}
class MyError extends IpvsError {
  constructor() { super('mine', 'EMINE'); }
}
export const mine = new MyError();

// errnoName() gives an ErrnoName (it gave a `string`): exactly the type of a KernelError's code.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
export const errnoNameType: Equal<ReturnType<typeof errnoName>, ErrnoName> = true;
export const sameAsKernelCode: Equal<ReturnType<typeof errnoName>, KernelError['code']> = true;
// Still a string wherever one was taken.
export const named: string = errnoName(17);
export const isExists = (errno: number): boolean => errnoName(errno) === 'EEXIST';

// Each library class fixes its code.
export const validation = (e: ValidationError): 'EINVALIDARG' => e.code;
export const decode = (e: DecodeError): 'EDECODE' => e.code;
export const family = (e: FamilyNotFoundError): 'ENOFAMILY' => e.code;
export const timeout = (e: TimeoutError): 'ETIMEDOUT' => e.code;
export const abort = (e: AbortError): 'ABORT_ERR' => e.code;
export const closed = (e: ClosedError): 'ECLOSED' => e.code;
export const interrupted = (e: DumpInterruptedError): 'EDUMPINTR' => e.code;
export const native = (e: NativeBindingError): 'ENATIVE' => e.code;
export const rules = (e: RulesSyntaxError): 'ERULES' => e.code;
// @ts-expect-error a ValidationError is never EEXIST: an always-false test is caught
export const never = (e: ValidationError): boolean => e.code === 'EEXIST';

/** The code tells the library's classes apart. */
export function where(e: ValidationError | RulesSyntaxError | FamilyNotFoundError): string {
  if (e.code === 'ERULES') return `line ${e.line}`;
  if (e.code === 'EINVALIDARG') return e.field;
  return e.family;
}
