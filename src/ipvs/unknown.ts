// Unknown attributes are kept, not dropped: a newer kernel may report something this code does not know,
// and a caller (or a bug report) should be able to see it. They ride on the decoded object as a
// non-enumerable `unknownAttributes` property, defined only when there are any, so decoded objects stay
// plain data for JSON and deep equality and the common case costs one scan of the attribute types.

import type { AttributeReader } from '../netlink/reader.js';
import type { UnknownAttribute } from './types.js';

/** Attach the attributes of `attrs` whose types are not in `known` to `target`, copied. */
export function keepUnknown<T extends object>(target: T, attrs: AttributeReader, known: ReadonlySet<number>): T {
  const unknown = attrs.unknown(known);
  if (unknown.length === 0) return target;
  const kept: UnknownAttribute[] = unknown.map((a) => ({ type: a.type, data: new Uint8Array(a.data) }));
  Object.defineProperty(target, 'unknownAttributes', { value: Object.freeze(kept), enumerable: false, configurable: true });
  return target;
}

/** The numbers first..last as a set (attribute enums are dense). */
export function typeRange(first: number, last: number): ReadonlySet<number> {
  const out = new Set<number>();
  for (let t = first; t <= last; t++) out.add(t);
  return out;
}
