// Prints one line "N passed, N failed" (CI reads this line) from vitest's JSON report, plus:
//   --extra-failed N   checks that failed (lint, typecheck, promtool, ...)
//   --extra-passed N   checks that passed
//   --suite FILE       another test suite's counts, a JSON {passed, failed, skipped} (the Python
//                      client's); a missing or unreadable file counts as one failure.
// A second positional argument is read as --extra-failed (the older form).
import { existsSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const file = args[0];
let extraFailed = 0;
let extraPassed = 0;
const suites = [];
for (let i = 1; i < args.length; i++) {
  const a = args[i];
  if (a === '--extra-failed') extraFailed += Number(args[++i]) || 0;
  else if (a === '--extra-passed') extraPassed += Number(args[++i]) || 0;
  else if (a === '--suite') suites.push(args[++i]);
  else extraFailed += Number(a) || 0;
}

let passed = extraPassed;
let failed = extraFailed;
let skipped = 0;
if (!file || !existsSync(file)) {
  failed += 1;
} else {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests ?? 0;
  // A suite that failed to load has no tests but is a failure all the same.
  const failedSuites = (r.testResults ?? []).filter((s) => s.status === 'failed' && (s.assertionResults ?? []).length === 0).length;
  failed += (r.numFailedTests ?? 0) + failedSuites;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
}
for (const s of suites) {
  try {
    const r = JSON.parse(readFileSync(s, 'utf8'));
    passed += Number(r.passed) || 0;
    failed += Number(r.failed) || 0;
    skipped += Number(r.skipped) || 0;
    if (!(Number(r.passed) > 0)) failed += 1; // a suite that ran nothing has failed
  } catch {
    process.stderr.write(`ci-summary: no results in ${s}\n`);
    failed += 1;
  }
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
