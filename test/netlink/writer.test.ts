// Golden-byte tests of MessageWriter: every expected buffer is either a hex literal worked out by hand
// from the uapi layouts or built by the independent test builder (test/helpers/netlink-bytes.ts).

import { describe, expect, it } from 'vitest';
import { MessageWriter } from '../../src/netlink/writer.js';
import * as nb from '../helpers/netlink-bytes.js';

/** One message with the given body, as the writer produces it. */
function written(body: (w: MessageWriter) => void, h: { type?: number; flags?: number; seq?: number; pid?: number } = {}): Buffer {
  const w = new MessageWriter(8); // tiny on purpose: every test also exercises growth
  w.beginMessage(h.type ?? 0x20, h.flags ?? 0x05, h.seq ?? 7, h.pid ?? 99);
  body(w);
  w.endMessage();
  return w.toBuffer();
}

const msg = (...body: nb.Part[]): Buffer => nb.nlmsg({ type: 0x20, flags: 0x05, seq: 7, pid: 99 }, nb.cat(...body));

describe('hand-derived hex fixtures (the builder is checked against these too)', () => {
  // nlctrl CTRL_CMD_GETFAMILY for "nlctrl": nlmsghdr(32, 0x10, REQUEST|ACK, seq 1, pid 0x1234),
  // genlmsghdr(cmd 3, version 2), nlattr(len 11, CTRL_ATTR_FAMILY_NAME) "nlctrl\0" + 1 pad byte.
  const getFamily = nb.hex(`
    20000000 1000 0500 01000000 34120000
    03 02 0000
    0b00 0200 6e6c6374 726c0000`);

  it('GETFAMILY request', () => {
    const built = nb.nlmsg({ type: 0x10, flags: 0x05, seq: 1, pid: 0x1234 }, nb.cat(nb.genl(3, 2), nb.str(2, 'nlctrl')));
    expect(nb.dump(built)).toBe(nb.dump(getFamily));
    const w = new MessageWriter();
    w.beginMessage(0x10, 0x05, 1, 0x1234);
    w.genlHeader(3, 2);
    w.string(2, 'nlctrl');
    w.endMessage();
    expect(nb.dump(w.toBuffer())).toBe(nb.dump(getFamily));
  });

  // A nested attribute (type 1 | NLA_F_NESTED = 0x8001) holding u16 2, u16 6 and a u16be port 80.
  const nested = nb.hex(`
    2c000000 2000 0500 07000000 63000000
    1400 0180
      0600 0100 0200 0000
      0600 0200 0600 0000
    0600 0400 0050 0000`);

  it('nested attribute with NLA_F_NESTED and a big-endian port after it', () => {
    // The port attribute sits after the nest to check that the nest's length ends where it should.
    const fixture = nested;
    const built = msg(nb.nest(1, nb.u16(1, 2), nb.u16(2, 6)), nb.u16be(4, 80));
    expect(nb.dump(built)).toBe(nb.dump(fixture));
    const out = written((w) => {
      w.nested(1, (n) => {
        n.u16(1, 2);
        n.u16(2, 6);
      });
      w.u16be(4, 80);
    });
    expect(nb.dump(out)).toBe(nb.dump(fixture));
  });

  it('u64 and a flag', () => {
    const fixture = nb.hex(`
      20000000 2000 0500 07000000 63000000
      0c00 0500 0807060504030201
      0400 0900`);
    expect(nb.dump(msg(nb.u64(5, 0x0102030405060708n), nb.flag(9)))).toBe(nb.dump(fixture));
    expect(nb.dump(written((w) => { w.u64(5, 0x0102030405060708n); w.flag(9); }))).toBe(nb.dump(fixture));
  });
});

describe('each attribute kind matches the builder', () => {
  const cases: [string, (w: MessageWriter) => void, Buffer][] = [
    ['u8 (3 bytes of padding)', (w) => w.u8(1, 0xab), nb.u8(1, 0xab)],
    ['u8 zero', (w) => w.u8(1, 0), nb.u8(1, 0)],
    ['u16 (2 bytes of padding)', (w) => w.u16(2, 0xbeef), nb.u16(2, 0xbeef)],
    ['u16be', (w) => w.u16be(3, 0x1f90), nb.u16be(3, 0x1f90)],
    ['u32', (w) => w.u32(4, 0xdeadbeef), nb.u32(4, 0xdeadbeef)],
    ['u32 max', (w) => w.u32(4, 0xffffffff), nb.u32(4, 0xffffffff)],
    ['u32be netmask', (w) => w.u32be(5, 0xffffff00), nb.u32be(5, 0xffffff00)],
    ['u64 small', (w) => w.u64(6, 42n), nb.u64(6, 42n)],
    ['u64 max', (w) => w.u64(6, 0xffffffffffffffffn), nb.u64(6, 0xffffffffffffffffn)],
    ['empty string (NUL only)', (w) => w.string(7, ''), nb.str(7, '')],
    ['string of 3 (exactly 8 with NUL)', (w) => w.string(7, 'wlc'), nb.str(7, 'wlc')],
    ['string of 4 (needs padding)', (w) => w.string(7, 'rr\u00e9'), nb.str(7, 'rr\u00e9')],
    ['string, non-ASCII', (w) => w.string(7, 'ça va ✓'), nb.str(7, 'ça va ✓')],
    ['binary 0 bytes', (w) => w.bytes(8, new Uint8Array(0)), nb.bin(8, [])],
    ['binary 1 byte', (w) => w.bytes(8, Uint8Array.of(1)), nb.bin(8, [1])],
    ['binary 5 bytes', (w) => w.bytes(8, Uint8Array.of(1, 2, 3, 4, 5)), nb.bin(8, [1, 2, 3, 4, 5])],
    ['binary 16 bytes (IPv6)', (w) => w.bytes(8, Buffer.alloc(16, 0xfe)), nb.bin(8, Buffer.alloc(16, 0xfe))],
    ['flag', (w) => w.flag(9), nb.flag(9)],
    ['nested, empty', (w) => w.nested(10, () => undefined), nb.nest(10)],
    ['nested without NLA_F_NESTED', (w) => w.nested(10, (n) => n.u32(1, 1), false), nb.nestNoFlag(10, nb.u32(1, 1))],
    [
      'nested, two levels, odd-sized children',
      (w) =>
        w.nested(11, (n) => {
          n.u8(1, 1);
          n.nested(2, (m) => {
            m.string(1, 'a');
            m.u16(2, 3);
          });
          n.bytes(3, Uint8Array.of(9, 9, 9));
        }),
      nb.nest(11, nb.u8(1, 1), nb.nest(2, nb.str(1, 'a'), nb.u16(2, 3)), nb.bin(3, [9, 9, 9])),
    ],
    ['raw bytes are padded to 4', (w) => w.raw(Uint8Array.of(1, 2, 3, 4, 5)), Buffer.from([1, 2, 3, 4, 5, 0, 0, 0])],
  ];
  for (const [name, write, attr] of cases) {
    it(name, () => {
      const got = written(write);
      expect(nb.dump(got)).toBe(nb.dump(msg(attr)));
      expect(got.length % 4).toBe(0);
    });
  }

  it('the genl header carries cmd, version and a zero reserved field', () => {
    expect(nb.dump(written((w) => w.genlHeader(0xfe, 1)))).toBe(nb.dump(msg(nb.genl(0xfe, 1))));
  });

  it('seq and port id are written as unsigned 32-bit values', () => {
    const w = new MessageWriter();
    w.beginMessage(0x10, 0x0301, 0xffffffff, -1);
    w.endMessage();
    expect(nb.dump(w.toBuffer())).toBe(nb.dump(nb.nlmsg({ type: 0x10, flags: 0x0301, seq: 0xffffffff, pid: 0xffffffff })));
  });

  it('padding bytes are zero even when the buffer is reused after reset', () => {
    const w = new MessageWriter(64);
    w.beginMessage(0x20, 0, 0, 0);
    w.bytes(1, Buffer.alloc(40, 0xff));
    w.endMessage();
    w.reset();
    w.beginMessage(0x20, 0x05, 7, 99);
    w.u8(1, 1);
    w.u16(2, 2);
    w.string(3, 'x');
    w.bytes(4, Uint8Array.of(5));
    w.endMessage();
    expect(nb.dump(w.toBuffer())).toBe(nb.dump(msg(nb.u8(1, 1), nb.u16(2, 2), nb.str(3, 'x'), nb.bin(4, [5]))));
  });
});

describe('several messages in one buffer', () => {
  it('back to back, each with its own length, seq and body', () => {
    const w = new MessageWriter(16);
    const expected: Buffer[] = [];
    for (let i = 0; i < 5; i++) {
      w.beginMessage(0x1a, 0x05 | 0x400, 100 + i, 4242);
      w.genlHeader(1, 1);
      w.nested(1, (n) => {
        n.u16(1, i % 2 === 0 ? 2 : 10);
        n.string(6, 'x'.repeat(i));
      });
      w.endMessage();
      expected.push(
        nb.nlmsg({ type: 0x1a, flags: 0x405, seq: 100 + i, pid: 4242 }, nb.cat(nb.genl(1, 1), nb.nest(1, nb.u16(1, i % 2 === 0 ? 2 : 10), nb.str(6, 'x'.repeat(i))))),
      );
    }
    const out = w.toBuffer();
    expect(nb.dump(out)).toBe(nb.dump(nb.cat(...expected)));
    expect(nb.splitMessages(out).map((m) => m.seq)).toEqual([100, 101, 102, 103, 104]);
  });

  it('a large batch grows the buffer without corrupting earlier messages', () => {
    const w = new MessageWriter(1);
    const expected: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      w.beginMessage(0x10, 0x05, i, 1);
      w.genlHeader(3, 2);
      w.string(2, `family-${i}`);
      w.endMessage();
      expected.push(nb.nlmsg({ type: 0x10, flags: 0x05, seq: i, pid: 1 }, nb.cat(nb.genl(3, 2), nb.str(2, `family-${i}`))));
    }
    expect(w.toBuffer().equals(nb.cat(...expected))).toBe(true);
    expect(w.length).toBe(nb.cat(...expected).length);
  });

  it('toBuffer returns a copy that later writes do not change', () => {
    const w = new MessageWriter();
    w.beginMessage(0x10, 0, 1, 1);
    w.endMessage();
    const first = w.toBuffer();
    w.reset();
    w.beginMessage(0x11, 0xff, 2, 2);
    w.endMessage();
    expect(first.equals(nb.nlmsg({ type: 0x10, seq: 1, pid: 1 }))).toBe(true);
  });
});

describe('writer misuse', () => {
  it('toBuffer with an open message throws', () => {
    const w = new MessageWriter();
    w.beginMessage(0x10, 0, 0, 0);
    expect(() => w.toBuffer()).toThrow(/unfinished/);
  });

  it('endMessage without beginMessage throws', () => {
    expect(() => new MessageWriter().endMessage()).toThrow(/without beginMessage/);
  });

  it('an attribute longer than nla_len can express is refused with a clear RangeError', () => {
    const w = new MessageWriter();
    w.beginMessage(0x10, 0, 0, 0);
    expect(() => w.bytes(3, new Uint8Array(0x10000))).toThrow(RangeError);
    expect(() => w.bytes(3, new Uint8Array(0x10000))).toThrow(/attribute 3 would be 65540 bytes/);
    expect(() => w.string(4, 'x'.repeat(0xfffb))).toThrow(/attribute 4/);
  });

  it('a nested attribute whose body outgrows nla_len is refused', () => {
    const w = new MessageWriter();
    w.beginMessage(0x10, 0, 0, 0);
    expect(() =>
      w.nested(5, (n) => {
        for (let i = 0; i < 3; i++) n.bytes(1, new Uint8Array(30000));
      }),
    ).toThrow(/attribute 5 would be/);
  });

  it('the largest legal attribute is accepted', () => {
    const w = new MessageWriter();
    w.beginMessage(0x10, 0, 0, 0);
    w.bytes(3, new Uint8Array(0xffff - 4));
    w.endMessage();
    expect(w.toBuffer().readUInt16LE(16)).toBe(0xffff);
  });
});
