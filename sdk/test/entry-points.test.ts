import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Every module file reachable by static imports from `entry`, and the bare packages they import. */
function importGraph(entry: string): { files: Set<string>; packages: Set<string>; edges: [string, string][] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const edges: [string, string][] = [];
  const todo = [entry];
  for (let file = todo.pop(); file; file = todo.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        edges.push([file, target]);
        todo.push(target);
      } else packages.add(spec);
    }
  }
  return { files, packages, edges };
}

const require = createRequire(import.meta.url);
const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const folderOf = (file: string) => relative(dist, dirname(file)) || '.';

describe('sdk entry points', () => {
  it('the main entry (schemas and wire codecs) loads no runtime, MQTT client, gRPC or test code', () => {
    const { files, packages } = importGraph(require.resolve('@edgetwin/sdk'));
    // TypeBox comes from dist/typebox.js, which the build made one bundle (no imports left)
    expect([...packages].sort()).toEqual([]);
    expect([...new Set([...files].map(folderOf))].sort()).toEqual(['.', 'hw', 'schema']);
  });

  it('the build bundles TypeBox into one module, which is the one the sdk and edgecore load', async () => {
    const bundle = require.resolve('@edgetwin/sdk/typebox');
    expect(readFileSync(bundle, 'utf8').startsWith('// @edgetwin/sdk: TypeBox bundled')).toBe(true);
    expect(importGraph(require.resolve('@edgetwin/sdk')).files.has(bundle)).toBe(true);
    const { Type, TypeCompiler, Value } = await import('@edgetwin/sdk/typebox');
    const schema = Type.Object({ a: Type.Integer({ minimum: 1 }) });
    expect(TypeCompiler.Compile(schema).Check({ a: 2 })).toBe(true);
    expect(Value.Check(schema, { a: 0 })).toBe(false);
    // a schema of TypeBox's own package works with the bundle's checker (TypeBox's symbols are global)
    const { Type: OwnType } = await import('@sinclair/typebox');
    expect(TypeCompiler.Compile(OwnType.String()).Check('x')).toBe(true);
  });

  it('the mapper entry loads the runtime but never vitest or the testing kit (a mapper process must not)', () => {
    const { files, packages } = importGraph(require.resolve('@edgetwin/sdk/mapper'));
    expect([...packages].filter((p) => p === 'vitest' || p.startsWith('vitest/'))).toEqual([]);
    expect([...files].filter((f) => f.includes('/testing/'))).toEqual([]);
    expect([...files].some((f) => f.endsWith('/mapper/runtime.js'))).toBe(true);
  });

  it('the DMI entry names the proto file the sdk ships', () => {
    const path = require.resolve('@edgetwin/sdk/proto/dmi-v1beta1.proto');
    expect(readFileSync(path, 'utf8')).toContain('service DeviceManagerService');
  });

  it('no loop between the sdk folders (schema/ never imports hw/, mapper/ or testing/)', () => {
    const entries = ['', '/mapper', '/mqtt', '/dmi', '/util', '/testing'].map((e) =>
      require.resolve(`@edgetwin/sdk${e}`),
    );
    const folderEdges = new Set<string>();
    for (const entry of entries) {
      for (const [from, to] of importGraph(entry).edges) {
        if (from.endsWith('/index.js')) continue; // an entry point's barrel, not a module
        const a = folderOf(from);
        const b = folderOf(to);
        if (a !== b) folderEdges.add(`${a} -> ${b}`);
      }
    }
    const edges = [...folderEdges];
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
      edges.some((e) => {
        const [a, b] = e.split(' -> ') as [string, string];
        if (a !== from || seen.has(b)) return false;
        seen.add(b);
        return b === to || reaches(b, to, seen);
      });
    const loops = edges.filter((e) => {
      const [a, b] = e.split(' -> ') as [string, string];
      return reaches(b, a);
    });
    expect(loops).toEqual([]);
  });
});
