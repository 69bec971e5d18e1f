// Reads vitest's JSON report and prints one line "N passed, N failed" (CI reads this line).
// Extra failed checks (lint, typecheck) given as the second argument count as failures.
import { existsSync, readFileSync } from 'node:fs';

const [file, extra = '0'] = process.argv.slice(2);
const extraFailed = Number(extra) || 0;
if (!file || !existsSync(file)) {
  console.log(`0 passed, ${1 + extraFailed} failed`);
  process.exit(1);
}
const r = JSON.parse(readFileSync(file, 'utf8'));
const passed = r.numPassedTests ?? 0;
// A suite that failed to load has no tests but is a failure all the same.
const failedSuites = (r.testResults ?? []).filter((s) => s.status === 'failed' && (s.assertionResults ?? []).length === 0).length;
const failed = (r.numFailedTests ?? 0) + failedSuites + extraFailed;
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
