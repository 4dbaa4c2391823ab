// Reader tests: datagram splitting, the generic-netlink header, attribute parsing and typed getters,
// and the DecodeErrors that malformed input must produce. Input bytes come from the test builder.

import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/netlink/errors.js';
import { Attributes, parseGenlHeader, parseMessages } from '../../src/netlink/reader.js';
import * as nb from '../helpers/netlink-bytes.js';

function decodeError(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    return err as DecodeError;
  }
  throw new Error('expected a DecodeError');
}

describe('parseMessages', () => {
  it('reads the header fields and gives the body as a view', () => {
    const d = nb.nlmsg({ type: 0x1c, flags: 0x0302, seq: 0xfffffffe, pid: 0x80000001 }, nb.cat(nb.genl(1, 1), nb.u32(1, 5)));
    const [m, ...rest] = parseMessages(d);
    expect(rest).toEqual([]);
    expect(m).toMatchObject({ type: 0x1c, flags: 0x0302, seq: 0xfffffffe, portId: 0x80000001 });
    expect(m!.payload.equals(nb.cat(nb.genl(1, 1), nb.u32(1, 5)))).toBe(true);
    expect(m!.payload.buffer).toBe(d.buffer); // zero-copy
  });

  it('an empty datagram holds no messages', () => {
    expect(parseMessages(Buffer.alloc(0))).toEqual([]);
  });

  it('several messages in one datagram, in order', () => {
    const d = nb.cat(
      nb.nlmsg({ type: 0x20, flags: 2, seq: 1 }, nb.cat(nb.genl(1, 1), nb.str(1, 'a'))),
      nb.nlmsg({ type: 0x20, flags: 2, seq: 1 }, nb.cat(nb.genl(1, 1), nb.str(1, 'bcdef'))),
      nb.done(1),
    );
    const ms = parseMessages(d);
    expect(ms.map((m) => m.type)).toEqual([0x20, 0x20, 3]);
    expect(Attributes.parse(parseGenlHeader(ms[1]!.payload).body).string(1)).toBe('bcdef');
    expect(ms[2]!.payload.readInt32LE(0)).toBe(0);
  });

  it('a message whose length is not a multiple of 4 is followed by padding, which is skipped', () => {
    // Body of 5 bytes: nlmsg_len = 21, three padding bytes before the next header.
    const first = nb.nlmsg({ type: 0x30, seq: 1 }, [1, 2, 3, 4, 5]);
    expect(first.readUInt32LE(0)).toBe(21);
    expect(first.length).toBe(24);
    const ms = parseMessages(nb.cat(first, nb.nlmsg({ type: 0x31, seq: 2 }, [9])));
    expect(ms.map((m) => [m.type, m.seq, [...m.payload]])).toEqual([
      [0x30, 1, [1, 2, 3, 4, 5]],
      [0x31, 2, [9]],
    ]);
  });

  it('the last message may end without its trailing padding', () => {
    const d = nb.cat(nb.nlmsg({ type: 0x30, seq: 1 }, [7, 7]), nb.nlmsg({ type: 0x31, seq: 2 }, [1, 2, 3], true));
    expect(d.length % 4).not.toBe(0);
    const ms = parseMessages(d);
    expect(ms).toHaveLength(2);
    expect([...ms[1]!.payload]).toEqual([1, 2, 3]);
  });

  it('a header-only message has an empty payload', () => {
    const [m] = parseMessages(nb.nlmsg({ type: 1 }));
    expect(m!.payload.length).toBe(0);
  });

  it('refuses a truncated header, a length below 16, and a length past the datagram', () => {
    const good = nb.nlmsg({ type: 0x20, seq: 1 }, [0, 0, 0, 0]);
    expect(decodeError(() => parseMessages(good.subarray(0, 15))).message).toMatch(/truncated message header/);
    expect(decodeError(() => parseMessages(nb.cat(good, [1, 2, 3]))).offset).toBe(20);
    const short = Buffer.from(good);
    short.writeUInt32LE(15, 0);
    expect(decodeError(() => parseMessages(short)).message).toMatch(/shorter than its header/);
    const zero = Buffer.from(good);
    zero.writeUInt32LE(0, 0); // would loop forever if accepted
    expect(decodeError(() => parseMessages(zero)).message).toMatch(/length 0/);
    const long = Buffer.from(good);
    long.writeUInt32LE(21, 0);
    expect(decodeError(() => parseMessages(long)).message).toMatch(/runs past the datagram/);
    const huge = Buffer.from(good);
    huge.writeUInt32LE(0xffffffff, 0);
    expect(decodeError(() => parseMessages(huge)).code).toBe('EDECODE');
  });
});

describe('parseGenlHeader', () => {
  it('reads cmd and version and returns the attributes after the 4-byte header', () => {
    const h = parseGenlHeader(nb.cat(nb.genl(0x0b, 0x02), nb.u8(1, 1)));
    expect(h.cmd).toBe(0x0b);
    expect(h.version).toBe(2);
    expect(h.body.equals(nb.u8(1, 1))).toBe(true);
  });

  it('a bare header has an empty body; anything shorter is a DecodeError', () => {
    expect(parseGenlHeader(Buffer.from(nb.genl(1, 1))).body.length).toBe(0);
    for (let n = 0; n < 4; n++) decodeError(() => parseGenlHeader(Buffer.alloc(n)));
  });
});

describe('Attributes', () => {
  const all = nb.cat(
    nb.u8(1, 0xfe),
    nb.u16(2, 0xabcd),
    nb.u16be(3, 8080),
    nb.u32(4, 0xfffffff0),
    nb.u32be(5, 0xffffff00),
    nb.u64(6, 0xfedcba9876543210n),
    nb.str(7, 'sh'),
    nb.bin(8, [1, 2, 3]),
    nb.flag(9),
  );

  it('typed getters read each kind', () => {
    const a = Attributes.parse(all);
    expect(a.u8(1)).toBe(0xfe);
    expect(a.u16(2)).toBe(0xabcd);
    expect(a.u16be(3)).toBe(8080);
    expect(a.u32(4)).toBe(0xfffffff0);
    expect(a.u32be(5)).toBe(0xffffff00);
    expect(a.u64(6)).toBe(0xfedcba9876543210n);
    expect(a.string(7)).toBe('sh');
    expect([...a.raw(8)!]).toEqual([1, 2, 3]);
    expect(a.has(9)).toBe(true);
    expect(a.raw(9)!.length).toBe(0);
    expect(a.list.map((x) => x.type)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('missing attributes are undefined, never an error', () => {
    const a = Attributes.parse(all);
    expect(a.has(10)).toBe(false);
    expect(a.u8(10)).toBeUndefined();
    expect(a.u16(10)).toBeUndefined();
    expect(a.u16be(10)).toBeUndefined();
    expect(a.u32(10)).toBeUndefined();
    expect(a.u32be(10)).toBeUndefined();
    expect(a.u64(10)).toBeUndefined();
    expect(a.string(10)).toBeUndefined();
    expect(a.raw(10)).toBeUndefined();
    expect(a.nested(10)).toBeUndefined();
    expect(Attributes.parse(Buffer.alloc(0)).list).toEqual([]);
  });

  it('the last of repeated attributes wins (as nla_parse), while list keeps them all', () => {
    const a = Attributes.parse(nb.cat(nb.u32(1, 1), nb.u32(2, 2), nb.u32(1, 3)));
    expect(a.u32(1)).toBe(3);
    expect(a.list.filter((x) => x.type === 1)).toHaveLength(2);
  });

  it('NLA_F_NESTED and NLA_F_NET_BYTEORDER are masked off the type and reported separately', () => {
    const a = Attributes.parse(
      nb.cat(nb.nlattr(3 | nb.F_NESTED, nb.u8(1, 1)), nb.nlattr(4 | nb.F_NET_BYTEORDER, nb.be16(80)), nb.nlattr(5 | nb.F_NESTED | nb.F_NET_BYTEORDER, [])),
    );
    expect(a.list.map((x) => [x.type, x.nestedFlag, x.netByteOrder])).toEqual([
      [3, true, false],
      [4, false, true],
      [5, true, true],
    ]);
    expect(a.nested(3)!.u8(1)).toBe(1);
    expect(a.u16be(4)).toBe(80);
    expect(a.has(5)).toBe(true);
  });

  it('nested attributes decode with or without NLA_F_NESTED, to any depth', () => {
    const inner = nb.cat(nb.u16(1, 10), nb.nest(2, nb.nestNoFlag(1, nb.str(1, 'deep'))));
    for (const outer of [nb.nest(7, inner), nb.nestNoFlag(7, inner)]) {
      const a = Attributes.parse(nb.cat(nb.u8(1, 0), outer));
      const n = a.nested(7)!;
      expect(n.u16(1)).toBe(10);
      expect(n.nested(2)!.nested(1)!.string(1)).toBe('deep');
    }
  });

  it('unknown(known) keeps the rest in order, with their flags and bytes', () => {
    const a = Attributes.parse(nb.cat(nb.u32(1, 1), nb.bin(40, [1, 2]), nb.u8(2, 2), nb.nest(41, nb.u8(1, 5)), nb.bin(40, [3])));
    const rest = a.unknown(new Set([1, 2]));
    expect(rest.map((x) => [x.type, x.nestedFlag, [...x.data]])).toEqual([
      [40, false, [1, 2]],
      [41, true, [...nb.u8(1, 5)]],
      [40, false, [3]],
    ]);
    expect(a.unknown(new Set([1, 2, 40, 41]))).toEqual([]);
  });

  it('strings end at the first NUL; a missing NUL is tolerated; an empty payload is the empty string', () => {
    const a = Attributes.parse(nb.cat(nb.bin(1, Buffer.from('abc\0def\0')), nb.bin(2, Buffer.from('nonul')), nb.bin(3, []), nb.str(4, 'ünï')));
    expect(a.string(1)).toBe('abc');
    expect(a.string(2)).toBe('nonul');
    expect(a.string(3)).toBe('');
    expect(a.string(4)).toBe('ünï');
  });

  it('a string decoded again from the same bytes is the same; other bytes of its length are not mistaken for it', () => {
    // stringAt returns the last short ASCII string again for equal bytes; these check what that must not change.
    const a = Attributes.parse(nb.cat(nb.str(1, 'wlc'), nb.str(2, 'wlc'), nb.str(3, 'wrr'), nb.bin(4, [0xe9]), nb.bin(5, [0xe9]), nb.str(6, 'é'), nb.bin(7, [0xfd]), nb.str(8, '')));
    expect([a.string(1), a.string(2), a.string(3), a.string(1)]).toEqual(['wlc', 'wlc', 'wrr', 'wlc']);
    // An invalid byte decodes to U+FFFD each time; 'é' (two bytes) decodes as itself after it.
    expect([a.string(4), a.string(5), a.string(6), a.string(7)]).toEqual(['\ufffd', '\ufffd', 'é', '\ufffd']);
    // 'é' is one character from two bytes: not kept, so the one byte 0xe9 (its code) is not taken for it.
    expect([a.string(6), a.string(4)]).toEqual(['é', '\ufffd']);
    expect([a.string(8), a.string(1), a.string(8)]).toEqual(['', 'wlc', '']);
  });

  it('a getter on an attribute too short for its type is a DecodeError naming the attribute', () => {
    const a = Attributes.parse(nb.cat(nb.bin(1, []), nb.bin(2, [1]), nb.bin(3, [1, 2, 3]), nb.bin(4, [1, 2, 3, 4, 5, 6, 7])));
    expect(decodeError(() => a.u8(1)).message).toMatch(/attribute 1 holds 0 bytes/);
    expect(decodeError(() => a.u16(2)).message).toMatch(/attribute 2/);
    expect(decodeError(() => a.u16be(2)).message).toMatch(/attribute 2/);
    expect(decodeError(() => a.u32(3)).message).toMatch(/attribute 3 holds 3 bytes, a u32 needs 4/);
    expect(decodeError(() => a.u32be(3)).message).toMatch(/attribute 3/);
    expect(decodeError(() => a.u64(4)).message).toMatch(/attribute 4 holds 7 bytes, a u64 needs 8/);
    // Longer than needed is read from the front, as nla_get_u8 and friends do.
    expect(a.u8(3)).toBe(1);
    expect(a.u16(4)).toBe(0x0201);
  });

  it('the last attribute may omit its padding', () => {
    const d = nb.cat(nb.u32(1, 7), nb.u8(2, 9).subarray(0, 5));
    expect(d.length).toBe(13);
    const a = Attributes.parse(d);
    expect(a.u8(2)).toBe(9);
  });

  it('refuses stray bytes, a length below the header, and a length past the container', () => {
    expect(decodeError(() => Attributes.parse(nb.cat(nb.u32(1, 1), [0, 0]))).message).toMatch(/2 stray bytes/);
    expect(decodeError(() => Attributes.parse(Buffer.from([3, 0, 1, 0]))).message).toMatch(/shorter than its header/);
    expect(decodeError(() => Attributes.parse(Buffer.from([0, 0, 1, 0]))).message).toMatch(/length 0/);
    const e = decodeError(() => Attributes.parse(nb.cat(nb.u32(1, 1), nb.u32(2, 2).subarray(0, 6))));
    expect(e.message).toMatch(/attribute 2 of length 8 runs past its container/);
    expect(e.offset).toBe(8);
  });

  it('a malformed nested body is a DecodeError that says which nest, without repeating the prefix', () => {
    const a = Attributes.parse(nb.nest(6, nb.u32(1, 1), [9, 9]));
    const e = decodeError(() => a.nested(6));
    expect(e.message).toBe('malformed netlink data at byte 8: inside nested attribute 6: 2 stray bytes where an attribute header was expected');
    expect(e.reason).toMatch(/^inside nested attribute 6/);
  });

  it('values are views into the datagram, not copies', () => {
    const d = nb.cat(nb.bin(1, [1, 2, 3, 4]));
    const a = Attributes.parse(d);
    expect(a.raw(1)!.buffer).toBe(d.buffer);
  });
});
