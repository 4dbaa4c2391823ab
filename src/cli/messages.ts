// What ipvsadm prints when the kernel refuses a command: a sentence chosen by the operation and the errno
// (libipvs's ipvs_strerror table), falling back to the C library's strerror text. The sentences and the
// strerror texts are facts of ipvsadm's and glibc's output that scripts match on, so they are kept exact.

/** The kernel operations ipvsadm distinguishes when it explains an errno. */
export type KernelAction =
  | 'add-service'
  | 'edit-service'
  | 'delete-service'
  | 'zero'
  | 'add-server'
  | 'edit-server'
  | 'delete-server'
  | 'start-daemon'
  | 'stop-daemon'
  | 'get-services'
  | 'get-destinations'
  | 'get-service'
  | 'other';

const BY_ACTION: Partial<Record<KernelAction, Partial<Record<string, string>>>> = {
  'add-service': { EEXIST: 'Service already exists', ENOENT: 'Scheduler or persistence engine not found' },
  'edit-service': { ESRCH: 'No such service', ENOENT: 'Scheduler or persistence engine not found' },
  'delete-service': { ESRCH: 'No such service' },
  zero: { ESRCH: 'No such service' },
  'add-server': { ESRCH: 'Service not defined', EEXIST: 'Destination already exists' },
  'edit-server': { ESRCH: 'Service not defined', ENOENT: 'No such destination' },
  'delete-server': { ESRCH: 'Service not defined', ENOENT: 'No such destination' },
  'start-daemon': { EEXIST: 'Daemon has already run' },
  'stop-daemon': { ESRCH: 'No daemon is running' },
  'get-services': { ESRCH: 'No such service' },
  'get-destinations': { ESRCH: 'No such service' },
  'get-service': { ESRCH: 'No such service' },
};

const ANY_ACTION: Record<string, string> = {
  EPERM: 'Permission denied (you must be root)',
  EINVAL: 'Invalid operation.  Possibly wrong module version, address not unicast, ...',
  ENOPROTOOPT: 'Protocol not available',
  ENOMEM: 'Memory allocation problem',
  EOPNOTSUPP: 'Operation not supported with IPv6',
  EAFNOSUPPORT: 'Operation not supported with specified address family',
  EMSGSIZE: 'Module is wrong version',
};

// glibc's strerror texts for the errnos the IPVS code paths can return.
const STRERROR: Record<number, string> = {
  1: 'Operation not permitted',
  2: 'No such file or directory',
  3: 'No such process',
  4: 'Interrupted system call',
  5: 'Input/output error',
  6: 'No such device or address',
  7: 'Argument list too long',
  9: 'Bad file descriptor',
  11: 'Resource temporarily unavailable',
  12: 'Cannot allocate memory',
  13: 'Permission denied',
  14: 'Bad address',
  16: 'Device or resource busy',
  17: 'File exists',
  19: 'No such device',
  22: 'Invalid argument',
  24: 'Too many open files',
  28: 'No space left on device',
  34: 'Numerical result out of range',
  61: 'No data available',
  71: 'Protocol error',
  74: 'Bad message',
  75: 'Value too large for defined data type',
  90: 'Message too long',
  92: 'Protocol not available',
  93: 'Protocol not supported',
  95: 'Operation not supported',
  97: 'Address family not supported by protocol',
  98: 'Address already in use',
  99: 'Cannot assign requested address',
  100: 'Network is down',
  101: 'Network is unreachable',
  105: 'No buffer space available',
  110: 'Connection timed out',
  111: 'Connection refused',
};

/** glibc's strerror(errno). */
export function strerror(errno: number): string {
  return STRERROR[errno] ?? `Unknown error ${errno}`;
}

/** The line ipvsadm prints when `action` failed with `errno` (name such as 'EEXIST' and its number). */
export function refusalMessage(action: KernelAction, code: string, errno: number): string {
  return BY_ACTION[action]?.[code] ?? ANY_ACTION[code] ?? strerror(errno);
}
