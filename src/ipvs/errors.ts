// Validation errors: raised before any byte is sent, naming the field and the value that was refused, so a
// refused call never leaves anything half done. `field` is a dotted path into the input
// ('destination.weight', 'persistence.timeout', 'operations[3].scheduler'); `reason` is the sentence
// without the field, so an outer layer (execute(), the CLI) can re-word or re-prefix it.

import { IpvsError } from '../netlink/errors.js';

export class ValidationError extends IpvsError {
  readonly field: string;
  readonly value: unknown;
  /** Why the value was refused, e.g. 'must be an integer 0..65535'. */
  readonly reason: string;
  constructor(field: string, value: unknown, reason: string, options?: { cause?: unknown }) {
    super(`invalid ${field} ${show(value)}: ${reason}`, 'EINVALIDARG', options);
    this.name = 'ValidationError';
    this.field = field;
    this.value = value;
    this.reason = reason;
  }

  /** The same refusal with `prefix` put in front of the field, e.g. 'operations[3]'. */
  withFieldPrefix(prefix: string): ValidationError {
    return new ValidationError(`${prefix}.${this.field}`, this.value, this.reason, { cause: this });
  }
}

/** A value as it appears in messages: strings quoted, bigints with n, objects as JSON. */
function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === undefined) return '(missing)';
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
  } catch {
    return String(value);
  }
}
