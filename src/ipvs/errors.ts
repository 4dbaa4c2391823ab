// Validation errors: raised before any byte is sent, naming the field and the value that was refused.

import { IpvsError } from '../netlink/errors.js';

export class ValidationError extends IpvsError {
  readonly field: string;
  readonly value: unknown;
  constructor(field: string, value: unknown, why: string) {
    super(`invalid ${field} ${show(value)}: ${why}`, 'EINVALIDARG');
    this.name = 'ValidationError';
    this.field = field;
    this.value = value;
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
