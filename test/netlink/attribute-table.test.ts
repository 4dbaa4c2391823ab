// AttributeTable (the reused table hot decoders read through) must answer every getter exactly as
// Attributes does on the same bytes: values, "last one wins", absent types, types above its maxType,
// nested tables, unknown attributes, and the same DecodeErrors for short values and broken nests.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/netlink/errors.js';
import { AttributeTable, Attributes, type AttributeReader } from '../../src/netlink/reader.js';
import * as nb from '../helpers/netlink-bytes.js';

type Outcome = { value: unknown } | { error: string };

function outcome(fn: () => unknown): Outcome {
  try {
    const v = fn();
    if (Buffer.isBuffer(v)) return { value: [...v] };
    return { value: v };
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    return { error: err.message };
  }
}

// The same two sets every time, alternating, as decoders pass theirs: the table remembers the last set's mask.
const KNOWN_NESTED = new Set([1]);
const KNOWN_TOP = new Set([1, 2, 3, 4]);

/** Everything a decoder can ask of a reader, for types 0..40. */
function answers(r: AttributeReader): Outcome[] {
  const out: Outcome[] = [];
  for (let t = 0; t <= 40; t++) {
    out.push(outcome(() => r.has(t)), outcome(() => r.raw(t)), outcome(() => r.u8(t)), outcome(() => r.u16(t)), outcome(() => r.u16be(t)));
    out.push(outcome(() => r.u32(t)), outcome(() => r.u32be(t)), outcome(() => r.u64(t)), outcome(() => r.string(t)));
    out.push(outcome(() => {
      const into = new Uint8Array(6);
      return [r.copy(t, into), [...into]];
    }));
    out.push(outcome(() => {
      const n = r.nested(t);
      return n === undefined ? undefined : [n.u32(1), n.u64(2), n.string(3), n.unknown(KNOWN_NESTED).map((a) => a.type)];
    }));
  }
  out.push(outcome(() => [...Array(41).keys()].map((t) => r.length(t))));
  out.push(outcome(() => r.unknown(KNOWN_TOP).map((a) => [a.type, [...a.data]])));
  return out;
}

const value = fc.uint8Array({ maxLength: 10 });
const attribute = fc.tuple(fc.integer({ min: 0, max: 40 }), fc.oneof(value, fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), value), { maxLength: 4 })));

function bytesOf(attrs: [number, Uint8Array | [number, Uint8Array][]][]): Buffer {
  return nb.cat(...attrs.map(([t, v]) => (v instanceof Uint8Array ? nb.nlattr(t, Buffer.from(v)) : nb.nlattr(t, nb.cat(...v.map(([it, iv]) => nb.nlattr(it, Buffer.from(iv))))))));
}

describe('AttributeTable', () => {
  it('unknown() asked with different sets in turn answers each by its own set', () => {
    const table = new AttributeTable(31);
    const body = nb.cat(nb.nlattr(1, Buffer.from([1])), nb.nlattr(2, Buffer.from([2])));
    const wide = new Set([1, 2]);
    const narrow = new Set([1]);
    for (let round = 0; round < 3; round++) {
      expect(table.parse(body, 0, body.length).unknown(wide)).toEqual([]);
      expect(table.parse(body, 0, body.length).unknown(narrow).map((a) => a.type)).toEqual([2]);
    }
  });

  it('answers as Attributes does on random attribute sets, repeats and large types included', () => {
    const table = new AttributeTable(31);
    fc.assert(
      fc.property(fc.array(attribute, { maxLength: 12 }), fc.integer({ min: 0, max: 8 }), (attrs, pad) => {
        const body = bytesOf(attrs);
        // Parsed from the middle of a bigger buffer, as from a datagram.
        const buf = Buffer.concat([Buffer.alloc(pad, 0xaa), body, Buffer.alloc(3, 0xbb)]);
        expect(answers(table.parse(buf, pad, pad + body.length))).toEqual(answers(Attributes.parse(body)));
      }),
      { numRuns: 400 },
    );
  });

  it('forgets the previous load, and fails on broken bytes with the same errors', () => {
    const table = new AttributeTable(31);
    table.parse(nb.cat(nb.u32(5, 7)), 0, 8);
    expect(table.u32(5)).toBe(7);
    table.parse(nb.cat(nb.u32(6, 8)), 0, 8);
    expect(table.has(5)).toBe(false);
    for (const broken of [nb.cat(nb.u32(1, 1), [0, 0]), Buffer.from([3, 0, 1, 0]), Buffer.from([12, 0, 1, 0, 0, 0])]) {
      expect(outcome(() => table.parse(broken, 0, broken.length))).toEqual(outcome(() => Attributes.parse(broken)));
    }
    const nest = nb.nlattr(4, Buffer.from([12, 0, 1, 0, 0, 0]));
    expect(outcome(() => table.parse(nest, 0, nest.length).nested(4))).toEqual(outcome(() => Attributes.parse(nest).nested(4)));
  });

  it('holds types 0..31 only', () => {
    expect(() => new AttributeTable(32)).toThrow(RangeError);
    expect(() => new AttributeTable(-1)).toThrow(RangeError);
  });
});
