#!/usr/bin/env node
/**
 * Part of `npm run build`: replaces `dist/typebox.js` (a re-export of TypeBox, see
 * src/typebox.ts) with one esbuild bundle of TypeBox, so edgecore and the mappers load one module
 * instead of about 250. Run from the sdk directory, after `tsc -b`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const BUNDLE_MARK = '// @edgetwin/sdk: TypeBox bundled by scripts/bundle-typebox.mjs';

const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'typebox.js');
if (readFileSync(file, 'utf8').startsWith(BUNDLE_MARK)) process.exit(0);
await build({
  entryPoints: [file],
  outfile: file,
  allowOverwrite: true,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  banner: { js: BUNDLE_MARK },
  legalComments: 'inline',
  logLevel: 'warning',
});
