import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Every module file reachable by static imports from `entry`, and the bare packages they import. */
function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [entry];
  for (let file = todo.pop(); file; file = todo.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) todo.push(resolve(dirname(file), spec));
      else packages.add(spec);
    }
  }
  return { files, packages };
}

describe('sdk entry points', () => {
  const require = createRequire(import.meta.url);
  it('the main entry never loads vitest or the testing kit (a mapper process must not)', () => {
    const { files, packages } = importGraph(require.resolve('@edgetwin/sdk'));
    expect([...packages].filter((p) => p === 'vitest' || p.startsWith('vitest/'))).toEqual([]);
    expect([...files].filter((f) => f.includes('/testing/'))).toEqual([]);
    expect([...files].some((f) => f.endsWith('/mapper/runtime.js'))).toBe(true);
  });
});
