// Validation errors: raised before any byte is sent, naming the field and the value that was refused, so a
// refused call never leaves anything half done. `field` is a dotted path into the input
// ('destination.weight', 'persistence.timeout', 'operations[3].service.scheduler'); `reason` is the sentence
// without the field, so an outer layer (execute(), the CLI) can re-word or re-prefix it.

import { IpvsError } from '../netlink/errors.js';

export class ValidationError extends IpvsError {
  declare readonly code: 'EINVALIDARG';
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

/** How much of a value a message shows: a refused input may be a whole file's worth of JSON. */
const SHOWN_LENGTH = 200;

/**
 * A value as it appears in messages: strings quoted, bigints with n, numbers as written (NaN and Infinity
 * too, which JSON would show as null), functions by name, objects as JSON, an instance of a class with its class's name; cut
 * after SHOWN_LENGTH characters. A value JSON cannot write (a cycle, nesting deeper than the stack) is named
 * by its kind: String() of it could throw as well.
 */
function show(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number') return String(value);
  if (value === undefined) return '(missing)';
  // Its source text would fill the message: a function is named (a client's service's destinations method).
  if (typeof value === 'function') return `function ${value.name === '' ? '(anonymous)' : value.name}`;
  let text: string;
  try {
    text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
  } catch {
    text = Array.isArray(value) ? `(an array of ${value.length})` : typeof value === 'object' && value !== null ? '(an object)' : `(a ${typeof value})`;
  }
  if (text.length > SHOWN_LENGTH) text = `${text.slice(0, SHOWN_LENGTH)}...`;
  const name = typeof value === 'string' ? undefined : className(value);
  return name === undefined ? text : `${name} ${text}`;
}

/** The class of an object that is not a plain object or array (an AbortController given for a signal). */
function className(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null;
  if (proto === null || proto === Object.prototype) return undefined;
  const name = proto.constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? name : undefined;
}
