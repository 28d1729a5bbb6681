/**
 * CI's verdict on a vitest JSON report (`npm test -- --reporter=json
 * --outputFile.json=FILE`): prints the counts (passed, failed, skipped, todo)
 * and fails when any test failed, was skipped or is a todo, when a test file
 * failed outside its tests (a hook, an import) or registered no test, or when
 * no test ran at all. In CI every suite is mandatory, so a skip is a failure
 * with its name printed, not a quiet hole.
 *
 *   node scripts/test-report.ts FILE      exit 0 all ran and passed, 1 otherwise
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface AssertionResult {
  fullName: string;
  status: 'passed' | 'failed' | 'skipped' | 'pending' | 'todo' | 'disabled';
}
interface FileResult {
  name: string;
  status: 'passed' | 'failed';
  message: string;
  assertionResults: AssertionResult[];
}
interface Report {
  numTotalTests: number;
  testResults: FileResult[];
}

export interface Verdict {
  counts: { passed: number; failed: number; skipped: number; todo: number; files: number };
  problems: string[];
}

/** The pure part: what the report says, and what is wrong with it. */
export function judge(report: Report, root = process.cwd()): Verdict {
  const counts = { passed: 0, failed: 0, skipped: 0, todo: 0, files: report.testResults.length };
  const problems: string[] = [];
  for (const file of report.testResults) {
    const name = relative(root, file.name);
    if (file.assertionResults.length === 0) problems.push(`${name}: registers no test${file.message ? ` (${file.message})` : ''}`);
    else if (file.status === 'failed' && file.assertionResults.every((t) => t.status !== 'failed')) problems.push(`${name}: failed outside its tests: ${file.message || 'see the output above'}`);
    for (const test of file.assertionResults) {
      if (test.status === 'passed') counts.passed++;
      else if (test.status === 'failed') {
        counts.failed++;
        problems.push(`failed: ${name} > ${test.fullName}`);
      } else if (test.status === 'todo') {
        counts.todo++;
        problems.push(`todo: ${name} > ${test.fullName}`);
      } else {
        counts.skipped++;
        problems.push(`skipped: ${name} > ${test.fullName}`);
      }
    }
  }
  if (counts.files === 0) problems.push('no test file ran');
  return { counts, problems };
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node scripts/test-report.ts <vitest JSON report>\n');
    process.exit(2);
  }
  let report: Report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8')) as Report;
  } catch (error) {
    process.stderr.write(`test report: cannot read ${file}: ${(error as Error).message} (did vitest run?)\n`);
    process.exit(1);
  }
  const { counts, problems } = judge(report);
  process.stdout.write(`\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped, ${counts.todo} todo (${counts.files} files)\n`);
  if (problems.length > 0) {
    process.stdout.write(`${problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.stdout.write('CI runs every suite: a skipped test is a failure here (set up what it needs; see docs/testing.md).\n');
    process.exit(1);
  }
  process.stdout.write('every test ran and passed\n');
}
