// A vitest reporter for CI: the errors of failed hooks (beforeAll, afterAll) and of whole files.
// vitest's JSON report leaves them out: a file whose beforeAll fails shows as "failed" with an
// empty message and its tests as "skipped". This writes them beside the JSON report (FILE.json ->
// FILE.hooks.json) as [{ file, where, message }], for .ci/summary.mjs to print at the end of the log.
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';

export default class HookErrorsReporter {
  onInit(ctx) {
    this.ctx = ctx;
  }

  onTestRunEnd(testModules, unhandledErrors) {
    const json = this.ctx?.config?.outputFile?.json;
    if (typeof json !== 'string') return;
    const first = (e) => `${e.name ? `${e.name}: ` : ''}${e.message ?? ''}`.split('\n').slice(0, 12).join('\n');
    const out = [];
    for (const m of testModules) {
      const file = relative(this.ctx.config.root, m.moduleId);
      for (const e of m.errors()) out.push({ file, where: '(the file)', message: first(e) });
      for (const s of m.children.allSuites())
        for (const e of s.errors()) out.push({ file, where: s.fullName ?? s.name, message: first(e) });
    }
    for (const e of unhandledErrors) out.push({ file: '(unhandled)', where: '(outside any test)', message: first(e) });
    writeFileSync(json.replace(/\.json$/, '') + '.hooks.json', JSON.stringify(out, null, 1));
  }
}
