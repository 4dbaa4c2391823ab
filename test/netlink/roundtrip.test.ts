// Property tests: random attribute trees and random batches of messages are encoded by MessageWriter,
// checked byte for byte against the independent test builder, decoded by the reader, and compared
// with the tree they came from. Unknown attributes re-encoded from what the reader kept give the
// same bytes back, which is what "carry unknown attributes along" relies on.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Attributes, parseGenlHeader, parseMessages, type Attribute } from '../../src/netlink/reader.js';
import { MessageWriter } from '../../src/netlink/writer.js';
import * as nb from '../helpers/netlink-bytes.js';

type Leaf =
  | { kind: 'u8'; type: number; v: number }
  | { kind: 'u16'; type: number; v: number }
  | { kind: 'u16be'; type: number; v: number }
  | { kind: 'u32'; type: number; v: number }
  | { kind: 'u32be'; type: number; v: number }
  | { kind: 'u64'; type: number; v: bigint }
  | { kind: 'string'; type: number; v: string }
  | { kind: 'bytes'; type: number; v: Uint8Array }
  | { kind: 'flag'; type: number };
type Nest = { kind: 'nested'; type: number; mark: boolean; children: Node[] };
type Node = Leaf | Nest;

// Types use the full 14 bits the kernel leaves for them; small ones are common, so repeats (last wins) happen.
const attrType = fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 0x3fff }));

const leaf: fc.Arbitrary<Node> = fc.oneof(
  fc.record({ kind: fc.constant('u8' as const), type: attrType, v: fc.integer({ min: 0, max: 0xff }) }),
  fc.record({ kind: fc.constant('u16' as const), type: attrType, v: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ kind: fc.constant('u16be' as const), type: attrType, v: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ kind: fc.constant('u32' as const), type: attrType, v: fc.nat({ max: 0xffffffff }) }),
  fc.record({ kind: fc.constant('u32be' as const), type: attrType, v: fc.nat({ max: 0xffffffff }) }),
  fc.record({ kind: fc.constant('u64' as const), type: attrType, v: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
  fc.record({ kind: fc.constant('string' as const), type: attrType, v: fc.string({ unit: 'grapheme', maxLength: 24 }).filter((s) => !s.includes('\0')) }),
  fc.record({ kind: fc.constant('bytes' as const), type: attrType, v: fc.uint8Array({ maxLength: 40 }) }),
  fc.record({ kind: fc.constant('flag' as const), type: attrType }),
);

const tree = fc.letrec<{ node: Node; nodes: Node[] }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({ kind: fc.constant('nested' as const), type: attrType, mark: fc.boolean(), children: tie('nodes') }),
  ),
  nodes: fc.array(tie('node'), { maxLength: 6 }),
})).nodes;

function write(w: MessageWriter, nodes: readonly Node[]): void {
  for (const n of nodes) {
    switch (n.kind) {
      case 'u8': w.u8(n.type, n.v); break;
      case 'u16': w.u16(n.type, n.v); break;
      case 'u16be': w.u16be(n.type, n.v); break;
      case 'u32': w.u32(n.type, n.v); break;
      case 'u32be': w.u32be(n.type, n.v); break;
      case 'u64': w.u64(n.type, n.v); break;
      case 'string': w.string(n.type, n.v); break;
      case 'bytes': w.bytes(n.type, n.v); break;
      case 'flag': w.flag(n.type); break;
      case 'nested': w.nested(n.type, (inner) => write(inner, n.children), n.mark); break;
    }
  }
}

function build(nodes: readonly Node[]): Buffer {
  return nb.cat(
    ...nodes.map((n): Buffer => {
      switch (n.kind) {
        case 'u8': return nb.u8(n.type, n.v);
        case 'u16': return nb.u16(n.type, n.v);
        case 'u16be': return nb.u16be(n.type, n.v);
        case 'u32': return nb.u32(n.type, n.v);
        case 'u32be': return nb.u32be(n.type, n.v);
        case 'u64': return nb.u64(n.type, n.v);
        case 'string': return nb.str(n.type, n.v);
        case 'bytes': return nb.bin(n.type, n.v);
        case 'flag': return nb.flag(n.type);
        case 'nested': return n.mark ? nb.nest(n.type, build(n.children)) : nb.nestNoFlag(n.type, build(n.children));
      }
    }),
  );
}

/** Decode one attribute the way the model says it was written. */
function decodeAs(n: Node, a: Attribute): unknown {
  const one = new Attributes([a]);
  switch (n.kind) {
    case 'u8': return one.u8(n.type);
    case 'u16': return one.u16(n.type);
    case 'u16be': return one.u16be(n.type);
    case 'u32': return one.u32(n.type);
    case 'u32be': return one.u32be(n.type);
    case 'u64': return one.u64(n.type);
    case 'string': return one.string(n.type);
    case 'bytes': return [...(one.raw(n.type) ?? [])];
    case 'flag': return one.has(n.type) && a.data.length === 0;
    case 'nested': return compare(n.children, one.nested(n.type) as Attributes);
  }
}

function expected(n: Node): unknown {
  switch (n.kind) {
    case 'bytes': return [...n.v];
    case 'flag': return true;
    case 'nested': return 'ok';
    default: return n.v;
  }
}

/** Check a decoded level against the model; returns 'ok' so nested checks compose. */
function compare(nodes: readonly Node[], attrs: Attributes): 'ok' {
  expect(attrs.list).toHaveLength(nodes.length);
  nodes.forEach((n, i) => {
    const a = attrs.list[i] as Attribute;
    expect(a.type).toBe(n.type);
    expect(a.nestedFlag).toBe(n.kind === 'nested' && n.mark);
    expect(a.netByteOrder).toBe(false);
    expect(decodeAs(n, a)).toEqual(expected(n));
  });
  // The typed getters on the whole level see the last attribute of each type.
  const last = new Map<number, Node>();
  for (const n of nodes) last.set(n.type, n);
  for (const [type, n] of last) {
    if (n.kind === 'u32') expect(attrs.u32(type)).toBe(n.v);
    if (n.kind === 'string') expect(attrs.string(type)).toBe(n.v);
    if (n.kind === 'u64') expect(attrs.u64(type)).toBe(n.v);
    expect(attrs.has(type)).toBe(true);
  }
  return 'ok';
}

/** Re-encode what the reader kept, generically (no schema): must give the original bytes back. */
function reencode(w: MessageWriter, list: readonly Attribute[]): void {
  for (const a of list) {
    const type = a.type | (a.nestedFlag ? nb.F_NESTED : 0) | (a.netByteOrder ? nb.F_NET_BYTEORDER : 0);
    w.bytes(type, a.data);
  }
}

describe('attribute trees', () => {
  it('writer bytes equal the builder bytes', () => {
    fc.assert(
      fc.property(tree, (nodes) => {
        const w = new MessageWriter(4);
        write(w, nodes);
        expect(nb.dump(w.toBuffer())).toBe(nb.dump(build(nodes)));
      }),
      { numRuns: 500 },
    );
  });

  it('encode -> decode gives the tree back', () => {
    fc.assert(
      fc.property(tree, (nodes) => {
        const w = new MessageWriter();
        write(w, nodes);
        compare(nodes, Attributes.parse(w.toBuffer()));
      }),
      { numRuns: 500 },
    );
  });

  it('decode -> generic re-encode -> identical bytes (unknown attributes survive untouched)', () => {
    fc.assert(
      fc.property(tree, (nodes) => {
        const bytes = build(nodes);
        const attrs = Attributes.parse(bytes);
        const w = new MessageWriter();
        reencode(w, attrs.unknown(new Set()));
        expect(w.toBuffer().equals(bytes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

const message = fc.record({
  type: fc.integer({ min: 0x10, max: 0xffff }),
  flags: fc.integer({ min: 0, max: 0xffff }),
  seq: fc.nat({ max: 0xffffffff }),
  portId: fc.nat({ max: 0xffffffff }),
  cmd: fc.integer({ min: 0, max: 0xff }),
  version: fc.integer({ min: 0, max: 0xff }),
  attrs: tree,
});

describe('random messages', () => {
  it('a batch of messages in one buffer: builder bytes, and every header and body back', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 8 }), (msgs) => {
        const w = new MessageWriter(16);
        for (const m of msgs) {
          w.beginMessage(m.type, m.flags, m.seq, m.portId);
          w.genlHeader(m.cmd, m.version);
          write(w, m.attrs);
          w.endMessage();
        }
        const out = w.toBuffer();
        const built = nb.cat(
          ...msgs.map((m) => nb.nlmsg({ type: m.type, flags: m.flags, seq: m.seq, pid: m.portId }, nb.cat(nb.genl(m.cmd, m.version), build(m.attrs)))),
        );
        expect(out.equals(built)).toBe(true);
        const parsed = parseMessages(out);
        expect(parsed).toHaveLength(msgs.length);
        parsed.forEach((p, i) => {
          const m = msgs[i]!;
          expect([p.type, p.flags, p.seq, p.portId]).toEqual([m.type, m.flags, m.seq, m.portId]);
          const g = parseGenlHeader(p.payload);
          expect([g.cmd, g.version]).toEqual([m.cmd, m.version]);
          compare(m.attrs, Attributes.parse(g.body));
        });
      }),
      { numRuns: 200 },
    );
  });
});
