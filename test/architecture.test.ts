// The layering rule of CONTRIBUTING.md (and README, Layout), checked on every run: each folder imports only the layers below it.
// A type-only import upward is allowed where it describes a seam (native implements the netlink Transport;
// reconcile and health describe the client they drive) because it leaves no runtime edge.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

type Layer = 'native' | 'netlink' | 'ipvs' | 'testing' | 'client' | 'index' | 'rules' | 'reconcile' | 'health' | 'cli';

/** Runtime imports each layer may make (besides its own folder and node: or npm packages). */
const ALLOWED: Record<Layer, readonly Layer[]> = {
  native: [],
  netlink: [],
  ipvs: ['netlink'],
  testing: ['netlink', 'ipvs'],
  rules: ['netlink', 'ipvs'],
  reconcile: ['netlink', 'ipvs', 'rules'],
  client: ['native', 'netlink', 'ipvs', 'reconcile', 'rules'],
  health: ['netlink', 'ipvs', 'rules', 'reconcile', 'client'],
  cli: ['native', 'netlink', 'ipvs', 'rules', 'reconcile', 'health', 'client'],
  index: ['native', 'netlink', 'ipvs', 'rules', 'reconcile', 'health', 'client'],
};

/** Type-only imports allowed on top of ALLOWED. */
const TYPE_ONLY: Partial<Record<Layer, readonly Layer[]>> = {
  native: ['netlink'],
  reconcile: ['client'],
};

function layerOf(file: string): Layer | undefined {
  const rel = relative(root, file).split('\\').join('/');
  if (rel.startsWith('native/')) return 'native';
  if (rel === 'src/client.ts') return 'client';
  if (rel === 'src/index.ts') return 'index';
  const m = /^src\/([a-z]+)\//.exec(rel);
  return m ? (m[1] as Layer) : undefined;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function importsOf(file: string): Edge[] {
  const text = readFileSync(file, 'utf8');
  const edges: Edge[] = [];
  const re = /^(import|export)\s+(type\s+)?[^'";]*?from\s+'(\.[^']+)'/gms;
  for (const m of text.matchAll(re)) {
    const target = resolve(dirname(file), m[3]!.replace(/\.js$/, '.ts'));
    edges.push({ from: file, to: target, typeOnly: Boolean(m[2]) });
  }
  for (const m of text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)) {
    edges.push({ from: file, to: resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')), typeOnly: false });
  }
  return edges;
}

describe('layering', () => {
  const files = [...sources(join(root, 'native')), ...sources(join(root, 'src'))];

  it('finds the sources', () => {
    expect(files.length).toBeGreaterThan(50);
    const clientEdges = importsOf(join(root, 'src/client.ts')).map((e) => layerOf(e.to));
    expect(clientEdges).toContain('native');
    expect(clientEdges).toContain('ipvs');
  });

  it('every layer imports only downward', () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      if (!from) continue;
      for (const edge of importsOf(file)) {
        const to = layerOf(edge.to);
        if (!to || to === from) continue;
        const ok = ALLOWED[from].includes(to) || (edge.typeOnly && (TYPE_ONLY[from] ?? []).includes(to));
        if (!ok) violations.push(`${relative(root, file)} -> ${relative(root, edge.to)}${edge.typeOnly ? ' (type)' : ''}`);
      }
    }
    expect(violations).toEqual([]);
  });
});
