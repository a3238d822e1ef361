// Sums vitest JSON reports: one line per report, then every failed test (file, name, the first lines of
// its error, so the end of the CI log says what failed), then every flaky test (CI runs vitest with
// --retry=1: a test that failed once and passed on its second attempt keeps the first attempt's error
// in the report), then the total that CI's last line reports:
// `tests: N passed, N failed, N skipped, N flaky`. Exits 1 when a report is missing or has failures.
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
const flaky = [];
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.log(`${file}: no test report was written`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const s = r.numPendingTests + r.numTodoTests;
  console.log(`${file}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${s} skipped`);
  passed += r.numPassedTests;
  // Failed hooks (beforeAll, afterAll) and file errors, from .ci/hook-errors-reporter.mjs: the JSON
  // report shows such a file as failed with no message and its tests as skipped.
  const hooksFile = file.replace(/\.json$/, '') + '.hooks.json';
  const hooks = existsSync(hooksFile) ? JSON.parse(readFileSync(hooksFile, 'utf8')) : [];
  if (hooks.length > 0) console.log(`${hooksFile}: ${hooks.length} failed hooks or file errors`);
  failed += r.numFailedTests + hooks.length + (r.success === false && r.numFailedTests + hooks.length === 0 ? 1 : 0);
  skipped += s;
  for (const h of hooks)
    failures.push({
      report: file,
      where: h.file,
      name: `(a hook or the file, in "${h.where}")`,
      messages: [h.message],
    });
  for (const suite of r.testResults ?? []) {
    const where = relative(process.cwd(), suite.name);
    const bad = (suite.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of bad) failures.push({ report: file, where, name: t.fullName, messages: t.failureMessages ?? [] });
    for (const t of suite.assertionResults ?? []) {
      if (t.status === 'passed' && (t.failureMessages ?? []).length > 0)
        flaky.push({ report: file, where, name: t.fullName, messages: t.failureMessages });
    }
    // A file that failed outside any test (an import error, a failing hook) has no failed test to show.
    const hooked = hooks.some((h) => h.file !== '(unhandled)' && suite.name.endsWith(h.file));
    if (suite.status === 'failed' && bad.length === 0 && !hooked) {
      failures.push({ report: file, where, name: '(the file itself)', messages: [suite.message ?? ''] });
    }
  }
}
const show = (title, list) => {
  if (list.length === 0) return;
  console.log(`\n${title} (${list.length}):`);
  for (const f of list) {
    console.log(`- ${f.report}: ${f.where} > ${f.name}`);
    const lines = f.messages
      .join('\n')
      .split('\n')
      .filter((l) => l.trim() !== '');
    for (const l of lines.slice(0, 12)) console.log(`    ${l.slice(0, 300)}`);
  }
  console.log('');
};
show('failed', failures);
show('flaky: failed once, passed on the second attempt (their first error below)', flaky);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped, ${flaky.length} flaky`);
process.exit(failed > 0 ? 1 : 0);
