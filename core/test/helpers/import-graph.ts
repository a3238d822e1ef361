/**
 * The workspace's import graph, read from the TypeScript sources (src/, test/, bench/ of every
 * workspace package, and sim/ where a mapper keeps its simulator) with TypeScript's own pre-processor (`ts.preProcessFile`: static imports,
 * re-exports, `import()` and `import '...'`; comments and strings are not imports).
 *
 * Checked by core/test/layout.test.ts:
 * - no file imports another package's internals: `@edgetwin/x/sub` must be a key of x's `exports`,
 *   and a relative import must stay inside its own package. One exception, for tests only: a
 *   file under a package's `test/` may import another package's `test/helpers/` (shared test
 *   helpers are not published); that import counts as a dependency between the two packages.
 * - no cycle between packages (every import counts, tests and benches too);
 * - no cycle between the folders of one package: the top-level folders of its `src/`, `sim/`,
 *   `test/` and `bench/` (`src/dmi`, `sim/emulator`, ...; a file directly in one of them, such as
 *   src/index.ts, is a node of its own).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

export interface WorkspacePackage {
  name: string;
  /** Absolute directory. */
  dir: string;
  /** Keys of `exports`, e.g. `.`, `./testing`. */
  exports: Set<string>;
}

/** One import: `from` (a file, relative to the repository) imports `spec`. */
export interface ImportSite {
  file: string;
  spec: string;
}

/** A directed graph whose edges remember one import that made them. */
export type Graph = Map<string, Map<string, ImportSite>>;

export interface Layout {
  packages: WorkspacePackage[];
  /** Imports of another package's internals, as readable lines. */
  internals: string[];
  /** package name -> package name. */
  packageGraph: Graph;
  /** package name -> (folder -> folder), folders named like `src/dmi`. */
  folderGraphs: Map<string, Graph>;
}

const SOURCE_DIRS = ['src', 'sim', 'test', 'bench'];

export function workspacePackages(root: string): WorkspacePackage[] {
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  return rootPkg.workspaces.map((w) => {
    const dir = resolve(root, w);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      exports?: Record<string, unknown>;
    };
    return { name: pkg.name, dir, exports: new Set(Object.keys(pkg.exports ?? { '.': '' })) };
  });
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|tsx|mts)$/.test(entry) && !entry.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function addEdge(graph: Graph, from: string, to: string, site: ImportSite): void {
  let edges = graph.get(from);
  if (!edges) graph.set(from, (edges = new Map<string, ImportSite>()));
  if (!edges.has(to)) edges.set(to, site);
  if (!graph.has(to)) graph.set(to, new Map());
}

/** The package whose directory holds `path` (the deepest one: core/edgecore, not core). */
function ownerOf(packages: WorkspacePackage[], path: string): WorkspacePackage | undefined {
  let best: WorkspacePackage | undefined;
  for (const p of packages)
    if ((path === p.dir || path.startsWith(p.dir + sep)) && (!best || p.dir.length > best.dir.length)) best = p;
  return best;
}

/** `src/<folder>/...` -> `src/<folder>`; `src/index.ts` -> `src/index.ts`; elsewhere -> undefined. */
function topFolder(pkg: WorkspacePackage, file: string): string | undefined {
  const parts = relative(pkg.dir, file).split(sep);
  if (!SOURCE_DIRS.includes(parts[0]!) || parts.length < 2) return undefined;
  return `${parts[0]}/${parts[1]}`;
}

export function readLayout(root: string): Layout {
  const packages = workspacePackages(root);
  const byName = new Map(packages.map((p) => [p.name, p]));
  const internals: string[] = [];
  const packageGraph: Graph = new Map(packages.map((p) => [p.name, new Map()]));
  const folderGraphs = new Map<string, Graph>();
  for (const pkg of packages) {
    const folders: Graph = new Map();
    folderGraphs.set(pkg.name, folders);
    for (const file of SOURCE_DIRS.flatMap((d) => sourceFiles(join(pkg.dir, d)))) {
      const rel = relative(root, file);
      const isTest = relative(pkg.dir, file).split(sep)[0] === 'test';
      const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      for (const { fileName: spec } of info.importedFiles) {
        const site = { file: rel, spec };
        if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec);
          const owner = ownerOf(packages, target);
          if (owner && owner !== pkg) {
            const intoHelpers = relative(owner.dir, target).split(sep).slice(0, 2).join('/') === 'test/helpers';
            if (!(isTest && intoHelpers))
              internals.push(`${rel} imports '${spec}': a file of ${owner.name}, not through its exports`);
            addEdge(packageGraph, pkg.name, owner.name, site);
            continue;
          }
          const from = topFolder(pkg, file);
          const to = topFolder(pkg, target);
          if (from && to && from !== to) addEdge(folders, from, to, site);
          continue;
        }
        const m = /^(@edgetwin\/[^/]+)(\/.*)?$/.exec(spec);
        const target = m?.[1] ? byName.get(m[1]) : undefined;
        if (!m || !target) continue;
        const sub = m[2] ? `.${m[2]}` : '.';
        if (!target.exports.has(sub))
          internals.push(`${rel} imports '${spec}': ${target.name} does not export '${sub}'`);
        if (target !== pkg) addEdge(packageGraph, pkg.name, target.name, site);
      }
    }
  }
  return { packages, internals, packageGraph, folderGraphs };
}

/** A strongly connected component, and one closed path through it (first node repeated last). */
export interface Cycle {
  members: string[];
  path: string[];
}

/**
 * Every strongly connected component of more than one node (Tarjan), each with one closed path
 * through it, so a failure can name the files that form it.
 */
export function findCycles(graph: Graph): Cycle[] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return components.map((c) => ({ members: c.sort(), path: closedPath(graph, new Set(c)) }));
}

/** A shortest closed path inside `members`, from its first member (sorted) back to it. */
function closedPath(graph: Graph, members: Set<string>): string[] {
  const start = [...members].sort()[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u: string | undefined = v; u !== start && u !== undefined; u = prev.get(u)) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** `a -> b (file imports 'spec') -> ... -> a`, one edge a line. */
export function describeCycle(graph: Graph, path: string[]): string {
  const lines = [path[0]!];
  for (let i = 1; i < path.length; i++) {
    const site = graph.get(path[i - 1]!)?.get(path[i]!);
    lines.push(`  -> ${path[i]}   (${site?.file} imports '${site?.spec}')`);
  }
  return lines.join('\n');
}
