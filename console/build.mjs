// Bundles the console (web/) into dist/web with esbuild: hashed, minified JS and CSS, an
// index.html naming them, and a gzip copy of each file. Prints the sizes and fails when the
// assets exceed 300 KB gzipped.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';

const here = import.meta.dirname;
const out = join(here, 'dist', 'web');
const LIMIT = 300 * 1024;

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: [join(here, 'web', 'main.tsx')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  outdir: out,
  entryNames: 'app-[hash]',
  metafile: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  logLevel: 'warning',
});
const files = Object.keys(result.metafile.outputs).map((f) => basename(f));
const js = files.find((f) => f.endsWith('.js'));
const css = files.find((f) => f.endsWith('.css'));
const template = readFileSync(join(here, 'web', 'index.html'), 'utf8');
writeFileSync(
  join(out, 'index.html'),
  template
    .replace('<!--css-->', css ? `<link rel="stylesheet" href="/assets/${css}">` : '')
    .replace('<!--js-->', `<script type="module" src="/assets/${js}"></script>`),
);
let raw = 0;
let gz = 0;
for (const f of readdirSync(out)) {
  const body = readFileSync(join(out, f));
  const z = gzipSync(body, { level: 9 });
  writeFileSync(join(out, `${f}.gz`), z);
  raw += statSync(join(out, f)).size;
  gz += z.length;
  console.log(
    `  console ${f.padEnd(24)} ${(body.length / 1024).toFixed(1).padStart(7)} KB, gzip ${(z.length / 1024).toFixed(1).padStart(6)} KB`,
  );
}
console.log(
  `  console assets: ${(raw / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzip (limit ${LIMIT / 1024} KB gzip)`,
);
if (gz > LIMIT) {
  console.error(`console assets are ${(gz / 1024).toFixed(1)} KB gzip, over the ${LIMIT / 1024} KB budget`);
  process.exit(1);
}
