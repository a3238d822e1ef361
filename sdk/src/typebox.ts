/**
 * TypeBox's run-time values (`Type`, `TypeCompiler`, `Value`), re-exported so that EdgeTwin loads
 * TypeBox as one module.
 *
 * TypeBox's ESM build is about 250 small files. Node resolves, reads and compiles each one, which took
 * about 120 ms of edgecore's start on Node 20 (`npm run bench:startup`), more than its devices did.
 * So the build (`npm run build`, `scripts/bundle-typebox.mjs`) replaces this module's output,
 * `dist/typebox.js`, with one file holding TypeBox. It then loads in about 15 ms. Types still
 * come from `@sinclair/typebox` (import them from there with `import type`). A schema built with
 * this `Type` and checked by TypeBox's own `Value` (or the reverse) works, because TypeBox marks
 * its schemas with global symbols.
 *
 * If `tsc -b` emits this file again (when it changes), the output is a plain re-export again: it
 * still works, only start-up is slower until the next `npm run build`. `npm run bench:startup`
 * says so when that happens.
 */
export { Type } from '@sinclair/typebox';
export { TypeCompiler } from '@sinclair/typebox/compiler';
export { Value } from '@sinclair/typebox/value';
