/**
 * Keeps the layout (issue 12, point 4): no package imports another's internals, no import cycle
 * between packages or between the folders of a package (src/dmi, sim/emulator, ...). What is read and how:
 * helpers/import-graph.ts. A failure prints the imports that form each cycle.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeCycle, findCycles, readLayout, type Graph } from './helpers/import-graph.js';

const root = join(import.meta.dirname, '..', '..');
const layout = readLayout(root);

function graph(edges: [string, string, string][]): Graph {
  const g: Graph = new Map();
  for (const [from, to, file] of edges) {
    if (!g.has(from)) g.set(from, new Map());
    if (!g.has(to)) g.set(to, new Map());
    g.get(from)!.set(to, { file, spec: `./${to}.js` });
  }
  return g;
}

describe('the import graph checker', () => {
  it('finds a cycle and names the file of every import in it', () => {
    const g = graph([
      ['emulator', 'handlers', 'src/emulator.ts'],
      ['handlers', 'zdo', 'src/handlers.ts'],
      ['zdo', 'emulator', 'src/zdo.ts'],
      ['emulator', 'codec', 'src/emulator.ts'],
    ]);
    const cycles = findCycles(g);
    expect(cycles).toEqual([
      { members: ['emulator', 'handlers', 'zdo'], path: ['emulator', 'handlers', 'zdo', 'emulator'] },
    ]);
    const text = describeCycle(g, cycles[0]!.path);
    for (const f of ['src/emulator.ts', 'src/handlers.ts', 'src/zdo.ts']) expect(text).toContain(f);
    expect(text).not.toContain('codec');
  });

  it('finds no cycle in a graph whose arrows point one way', () => {
    expect(
      findCycles(
        graph([
          ['a', 'b', 'a.ts'],
          ['b', 'c', 'b.ts'],
          ['a', 'c', 'a.ts'],
        ]),
      ),
    ).toEqual([]);
  });

  it('reports imports of internals and cycles between packages in a workspace made for it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgetwin-layout-'));
    const write = (file: string, text: string) => {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), text);
    };
    try {
      write('package.json', JSON.stringify({ workspaces: ['a', 'b'] }));
      write('a/package.json', JSON.stringify({ name: '@edgetwin/a', exports: { '.': './dist/index.js' } }));
      write('b/package.json', JSON.stringify({ name: '@edgetwin/b', exports: { '.': './dist/index.js' } }));
      write('a/src/index.ts', "export { b } from '@edgetwin/b';\n");
      write('b/src/index.ts', "import { y } from '@edgetwin/a/y';\nimport { z } from '../../a/src/z.js';\n");
      const found = readLayout(dir);
      expect(found.internals).toEqual([
        "b/src/index.ts imports '@edgetwin/a/y': @edgetwin/a does not export './y'",
        "b/src/index.ts imports '../../a/src/z.js': a file of @edgetwin/a, not through its exports",
      ]);
      const [cycle] = findCycles(found.packageGraph);
      expect(cycle?.members).toEqual(['@edgetwin/a', '@edgetwin/b']);
      expect(describeCycle(found.packageGraph, cycle!.path)).toContain("a/src/index.ts imports '@edgetwin/b'");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads every workspace package and the imports between them', () => {
    const names = layout.packages.map((p) => p.name);
    for (const n of [
      '@edgetwin/core',
      '@edgetwin/edgecore',
      '@edgetwin/cloudcore',
      '@edgetwin/agent',
      '@edgetwin/cloud-link',
    ])
      expect(names).toContain(n);
    expect([...layout.packageGraph.get('@edgetwin/core')!.keys()]).toContain('@edgetwin/edgecore');
    expect([...layout.packageGraph.get('@edgetwin/edgecore')!.keys()]).toContain('@edgetwin/cloud-link');
  });
});

describe('the workspace layout', () => {
  it('no file imports another package internals (only what its exports name)', () => {
    expect(layout.internals, layout.internals.join('\n')).toEqual([]);
  });

  it('no import cycle between packages', () => {
    const cycles = findCycles(layout.packageGraph).map((c) => describeCycle(layout.packageGraph, c.path));
    expect(cycles, `import cycles between packages:\n${cycles.join('\n\n')}`).toEqual([]);
  });

  it('no import cycle between the folders of a package (src/*, sim/*, test/*, bench/*)', () => {
    const cycles = [...layout.folderGraphs].flatMap(([pkg, g]) =>
      findCycles(g).map((c) => `${pkg}:\n${describeCycle(g, c.path)}`),
    );
    expect(cycles, `import cycles between folders:\n${cycles.join('\n\n')}`).toEqual([]);
  });
});
