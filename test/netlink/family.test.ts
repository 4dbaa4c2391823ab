// nlctrl family resolution: decoding a kernel-shaped CTRL_CMD_NEWFAMILY reply, the exact request
// bytes, the per-connection cache, and how failures surface (ENOENT -> FamilyNotFoundError).

import { describe, expect, it } from 'vitest';
import { NetlinkConnection } from '../../src/netlink/connection.js';
import { DecodeError, FamilyNotFoundError, IpvsError, KernelError } from '../../src/netlink/errors.js';
import { decodeFamily, FamilyResolver } from '../../src/netlink/family.js';
import { parseGenlHeader, parseMessages } from '../../src/netlink/reader.js';
import * as nb from '../helpers/netlink-bytes.js';
import { ScriptedTransport, type Script } from '../helpers/scripted-transport.js';

const PORT = 777;

/** The body of a family reply after the genl header. */
function replyBody(reply: Buffer): Buffer {
  return parseGenlHeader(parseMessages(reply)[0]!.payload).body;
}

/** Answers GETFAMILY for the names in `families` and ENOENT for the rest, like the kernel. */
function nlctrl(families: Record<string, number>): Script {
  return (r) => {
    const name = r.bytes.subarray(16 + 4 + 4, r.len).toString('utf8').replace(/\0.*$/s, '');
    const id = families[name];
    if (id === undefined) return nb.nlmsgerr({ seq: r.seq, pid: PORT, errno: 2, extack: { msg: 'Unknown family' } });
    return [nb.familyReply({ seq: r.seq, pid: PORT, name, id, version: 1, maxattr: 4, ops: [[1, 0x0c]] }), nb.ack(r.seq, PORT)];
  };
}

function setup(script: Script): { t: ScriptedTransport; resolver: FamilyResolver; conn: NetlinkConnection } {
  const t = new ScriptedTransport({ portId: PORT, respond: script });
  const conn = new NetlinkConnection(t, { timeoutMs: 0 });
  return { t, conn, resolver: new FamilyResolver(conn) };
}

describe('decodeFamily', () => {
  it('decodes a kernel-shaped reply, with the CTRL_ATTR_OPS nested list', () => {
    const reply = nb.familyReply({
      seq: 1,
      name: 'IPVS',
      id: 0x1b,
      version: 1,
      hdrsize: 0,
      maxattr: 9,
      ops: [[1, 0x0b], [2, 0x0b], [4, 0x0d], [8, 0x0b]],
      groups: [[3, 'events']],
    });
    expect(decodeFamily(replyBody(reply))).toEqual({
      name: 'IPVS',
      id: 0x1b,
      version: 1,
      headerSize: 0,
      maxAttr: 9,
      ops: [
        { id: 1, flags: 0x0b },
        { id: 2, flags: 0x0b },
        { id: 4, flags: 0x0d },
        { id: 8, flags: 0x0b },
      ],
    });
  });

  it('optional attributes default to 0 and an absent op list to []', () => {
    const body = nb.cat(nb.str(2, 'tiny'), nb.u16(1, 0x30));
    expect(decodeFamily(body)).toEqual({ name: 'tiny', id: 0x30, version: 0, headerSize: 0, maxAttr: 0, ops: [] });
  });

  it('a reply without id or name is a DecodeError', () => {
    expect(() => decodeFamily(nb.str(2, 'x'))).toThrow(DecodeError);
    expect(() => decodeFamily(nb.u16(1, 5))).toThrow(DecodeError);
    expect(() => decodeFamily(Buffer.alloc(0))).toThrow(DecodeError);
  });

  it('a malformed op entry is a DecodeError', () => {
    const body = nb.cat(nb.str(2, 'x'), nb.u16(1, 5), nb.nestNoFlag(6, nb.nestNoFlag(1, [1, 2, 3, 4, 5, 6])));
    expect(() => decodeFamily(body)).toThrow(DecodeError);
  });
});

describe('FamilyResolver', () => {
  it('sends CTRL_CMD_GETFAMILY by name, exactly as the kernel expects it', async () => {
    const { t, resolver } = setup(nlctrl({ IPVS: 0x1b }));
    const family = await resolver.resolve('IPVS');
    expect(family).toMatchObject({ name: 'IPVS', id: 0x1b, version: 1, maxAttr: 4, ops: [{ id: 1, flags: 0x0c }] });
    const r = t.last();
    expect(nb.dump(r.bytes)).toBe(nb.dump(nb.nlmsg({ type: 0x10, flags: 0x05, seq: r.seq, pid: PORT }, nb.cat(nb.genl(3, 2), nb.str(2, 'IPVS')))));
  });

  it('caches per connection: two resolves (concurrent or later) make one request', async () => {
    const { t, resolver } = setup(nlctrl({ IPVS: 0x1b }));
    const [a, b] = await Promise.all([resolver.resolve('IPVS'), resolver.resolve('IPVS')]);
    expect(a).toBe(b);
    expect(await resolver.resolve('IPVS')).toBe(a);
    expect(t.requests()).toHaveLength(1);
    // Another connection (another namespace, say) asks again.
    const other = setup(nlctrl({ IPVS: 0x2c }));
    expect((await other.resolver.resolve('IPVS')).id).toBe(0x2c);
    expect(other.t.requests()).toHaveLength(1);
  });

  it('ENOENT becomes FamilyNotFoundError with the hint', async () => {
    const { resolver } = setup(nlctrl({}));
    const err = await resolver.resolve('IPVS', 'load the ip_vs module (modprobe ip_vs)').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FamilyNotFoundError);
    expect(err).toBeInstanceOf(IpvsError);
    const f = err as FamilyNotFoundError;
    expect(f.family).toBe('IPVS');
    expect(f.code).toBe('ENOFAMILY');
    expect(f.message).toBe('generic netlink family "IPVS" not found: load the ip_vs module (modprobe ip_vs)');
    const bare = await resolver.resolve('nope').catch((e: unknown) => e);
    expect((bare as Error).message).toBe('generic netlink family "nope" not found');
  });

  it('a failure is not cached: the module loaded later is found on retry', async () => {
    const families: Record<string, number> = {};
    const { t, resolver } = setup(nlctrl(families));
    await expect(resolver.resolve('IPVS')).rejects.toBeInstanceOf(FamilyNotFoundError);
    families.IPVS = 0x1b;
    expect((await resolver.resolve('IPVS')).id).toBe(0x1b);
    expect(t.requests()).toHaveLength(2);
  });

  it('refresh looks again whatever was cached (a family registered again has a new id), sharing a lookup not answered yet', async () => {
    const families: Record<string, number> = { IPVS: 0x1c };
    const { t, resolver } = setup(nlctrl(families));
    expect((await resolver.resolve('IPVS')).id).toBe(0x1c);
    families.IPVS = 0x1d;
    expect((await resolver.resolve('IPVS')).id).toBe(0x1c);
    expect(t.requests()).toHaveLength(1);
    const [a, b] = await Promise.all([resolver.refresh('IPVS'), resolver.refresh('IPVS')]);
    expect(a.id).toBe(0x1d);
    expect(b).toBe(a);
    expect(t.requests()).toHaveLength(2);
    // The answer is cached as resolve()'s was.
    expect(await resolver.resolve('IPVS')).toBe(a);
    delete families.IPVS;
    await expect(resolver.refresh('IPVS', 'gone')).rejects.toThrow('generic netlink family "IPVS" not found: gone');
    families.IPVS = 0x1e;
    expect((await resolver.resolve('IPVS')).id).toBe(0x1e);
    expect(t.requests()).toHaveLength(4);
  });

  it('other kernel errors pass through unchanged', async () => {
    const { resolver } = setup((r) => nb.nlmsgerr({ seq: r.seq, errno: 1 }));
    const err = await resolver.resolve('IPVS').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect(err).toMatchObject({ code: 'EPERM', operation: 'resolve generic netlink family', object: 'IPVS' });
  });

  it('an ACK without a family reply is a DecodeError', async () => {
    const { resolver } = setup((r) => nb.ack(r.seq));
    await expect(resolver.resolve('IPVS')).rejects.toBeInstanceOf(DecodeError);
  });
});
