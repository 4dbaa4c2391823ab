// A small in-memory stand-in for the client with the kernel's errno behaviour, used by the CLI tests
// until the shared fake kernel (src/testing) is available.

import { KernelError, errnoValue } from '../../src/netlink/errors.js';
import type { CliIpvs } from '../../src/cli/context.js';
import { canonicalAddress } from '../../src/rules/addresses.js';
import {
  SCHEDULERS,
  type Daemon,
  type DaemonSpec,
  type DaemonState,
  type Destination,
  type DestinationKey,
  type DestinationSpec,
  type Service,
  type ServiceKey,
  type ServiceSpec,
  type Stats,
  type Timeouts,
} from '../../src/ipvs/types.js';

function zeroStats(): Stats {
  return { conns: 0n, inPackets: 0n, outPackets: 0n, inBytes: 0n, outBytes: 0n, cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };
}

function refuse(code: string, operation: string): never {
  throw new KernelError({ errno: errnoValue(code), operation });
}

function keyText(k: ServiceKey): string {
  return 'fwmark' in k ? `f${k.fwmark}/${k.family ?? 'ipv4'}` : `${k.protocol}/${canonicalAddress(k.address)!.text}/${k.port}`;
}

interface Entry {
  service: Service;
  destinations: Destination[];
}

export class MemoryIpvs {
  readonly entries = new Map<string, Entry>();
  timeoutValues: Timeouts = { tcp: 900, tcpFin: 120, udp: 300 };
  daemonList: Daemon[] = [];
  closedHandles = 0;

  private flagBits(spec: ServiceSpec): number {
    let bits = 0x2;
    for (const f of spec.flags ?? []) bits |= f === 'one-packet' ? 0x4 : f.endsWith('fallback') ? 0x8 : 0x10;
    if (spec.persistence) bits |= 0x1;
    return bits;
  }

  private build(spec: ServiceSpec, stats = zeroStats()): Service {
    if (!(SCHEDULERS as readonly string[]).includes(spec.scheduler ?? 'wlc')) refuse('ENOENT', 'service');
    if (spec.persistenceEngine && spec.persistenceEngine !== 'sip') refuse('ENOENT', 'service');
    const p = spec.persistence && typeof spec.persistence === 'object' ? spec.persistence : spec.persistence ? {} : undefined;
    const family = 'fwmark' in spec ? spec.family ?? 'ipv4' : canonicalAddress(spec.address)!.family;
    const common = {
      family,
      scheduler: spec.scheduler ?? 'wlc',
      flags: [...(spec.flags ?? [])],
      rawFlags: this.flagBits(spec),
      stats,
      ...(p ? { persistence: { timeout: p.timeout ?? 300, netmask: p.netmask ?? (family === 'ipv6' ? 128 : '255.255.255.255') } } : {}),
      ...(spec.persistenceEngine ? { persistenceEngine: spec.persistenceEngine } : {}),
    };
    if ('fwmark' in spec) return { ...common, fwmark: spec.fwmark } as Service;
    return { ...common, protocol: spec.protocol, address: canonicalAddress(spec.address)!.text, port: spec.port } as Service;
  }

  private dest(spec: DestinationSpec, stats = zeroStats()): Destination {
    const a = canonicalAddress(spec.address)!;
    if (spec.lowerThreshold && spec.upperThreshold && spec.lowerThreshold > spec.upperThreshold) refuse('ERANGE', 'dest');
    if (a.family === 'ipv4' && a.bytes[0]! >= 224) refuse('EINVAL', 'dest');
    const d: Destination = {
      address: a.text,
      family: a.family,
      port: spec.port ?? 0,
      forwarding: spec.forwarding ?? 'route',
      weight: spec.weight ?? 1,
      upperThreshold: spec.upperThreshold ?? 0,
      lowerThreshold: spec.lowerThreshold ?? 0,
      activeConns: 0,
      inactiveConns: 0,
      persistentConns: 0,
      stats,
    };
    if (d.forwarding === 'tunnel') {
      d.tunnel = { type: spec.tunnel?.type ?? 'ipip', port: spec.tunnel?.port ?? 0, checksum: spec.tunnel?.checksum ?? 'nocsum' };
    }
    return d;
  }

  handle(): CliIpvs {
    const k = this;
    const find = (key: ServiceKey): Entry | undefined => k.entries.get(keyText(key));
    return {
      async info() {
        return { version: '1.2.1', versionCode: 0x010201, connectionTableSize: 4096 };
      },
      async services() {
        return [...k.entries.values()].map((e) => e.service);
      },
      async service(key) {
        const e = find(key);
        if (!e) refuse('ESRCH', 'get service');
        return e.service;
      },
      async destinations(key) {
        const e = find(key);
        if (!e) refuse('ESRCH', 'get dests');
        return [...e.destinations];
      },
      async addService(spec) {
        if (find(spec)) refuse('EEXIST', 'add');
        k.entries.set(keyText(spec), { service: k.build(spec), destinations: [] });
      },
      async updateService(spec) {
        const e = find(spec);
        if (!e) refuse('ESRCH', 'edit');
        e.service = k.build(spec, e.service.stats);
      },
      async deleteService(key) {
        if (!find(key)) refuse('ESRCH', 'del');
        k.entries.delete(keyText(key));
      },
      async addDestination(key, spec) {
        const e = find(key);
        if (!e) refuse('ESRCH', 'add dest');
        const d = k.dest(spec);
        if (e.destinations.some((x) => x.address === d.address && x.port === d.port)) refuse('EEXIST', 'add dest');
        e.destinations.push(d);
      },
      async updateDestination(key, spec) {
        const e = find(key);
        if (!e) refuse('ESRCH', 'edit dest');
        const d = k.dest(spec);
        const i = e.destinations.findIndex((x) => x.address === d.address && x.port === d.port);
        if (i < 0) refuse('ENOENT', 'edit dest');
        e.destinations[i] = d;
      },
      async deleteDestination(key, dk: DestinationKey) {
        const e = find(key);
        if (!e) refuse('ESRCH', 'del dest');
        const a = canonicalAddress(dk.address)!.text;
        const i = e.destinations.findIndex((x) => x.address === a && x.port === (dk.port ?? 0));
        if (i < 0) refuse('ENOENT', 'del dest');
        e.destinations.splice(i, 1);
      },
      async zero(key?: ServiceKey) {
        if (key && !find(key)) refuse('ESRCH', 'zero');
      },
      async flush() {
        k.entries.clear();
      },
      async timeouts() {
        return { ...k.timeoutValues };
      },
      async setTimeouts(t: Partial<Timeouts>) {
        k.timeoutValues = {
          tcp: t.tcp || k.timeoutValues.tcp,
          tcpFin: t.tcpFin || k.timeoutValues.tcpFin,
          udp: t.udp || k.timeoutValues.udp,
        };
      },
      async daemons() {
        return [...k.daemonList];
      },
      async startDaemon(spec: DaemonSpec) {
        if (k.daemonList.some((d) => d.state === spec.state)) refuse('EEXIST', 'daemon');
        if (spec.interface === 'nosuchif0') refuse('ENODEV', 'daemon');
        k.daemonList.push({
          state: spec.state,
          interface: spec.interface,
          syncId: spec.syncId ?? 0,
          syncMaxLen: spec.syncMaxLen ?? 1472,
          mcastGroup: spec.mcastGroup ?? '224.0.0.81',
          mcastPort: spec.mcastPort ?? 8848,
          mcastTtl: spec.mcastTtl ?? 1,
        });
        k.daemonList.sort((a, b) => (a.state === 'master' ? -1 : b.state === 'master' ? 1 : 0));
      },
      async stopDaemon(state: DaemonState) {
        if (!k.daemonList.some((d) => d.state === state)) refuse('ESRCH', 'daemon');
        k.daemonList = k.daemonList.filter((d) => d.state !== state);
      },
      async close() {
        k.closedHandles++;
      },
    };
  }
}
