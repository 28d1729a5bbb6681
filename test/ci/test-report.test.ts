/**
 * CI fails on any skipped test and prints the counts: scripts/test-report.ts
 * judged on the JSON report of a real vitest run (the project's vitest, on a
 * small project written here) with passing, failing, skipped and todo tests.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli-process.ts';

const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
const REPORT_SCRIPT = join(ROOT, 'scripts', 'test-report.ts');
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** The environment without this run's vitest and keyward switches (the inner run is a project of its own). */
const env = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST') && !name.startsWith('KEYWARD_') && name !== 'NODE_OPTIONS'));

const exec = (args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((done) => {
    execFile(process.execPath, args, { cwd, env: env(), timeout: 120_000 }, (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });

/** Runs vitest on `files` as CI runs npm test (default + json reporters), then the report check. */
async function ciRun(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-ci-report-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'vitest.config.mjs'), "export default { test: { globals: true, include: ['*.test.mjs'] } };\n");
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const report = join(dir, 'report.json');
  const vitest = await exec([VITEST, 'run', '--root', dir, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`], dir);
  const check = await exec([REPORT_SCRIPT, report], dir);
  return { vitest, check };
}

describe('CI test report (scripts/test-report.ts)', () => {
  it('all passing: exit 0, with the counts', async () => {
    const { vitest, check } = await ciRun({ 'a.test.mjs': "it('one', () => expect(1).toBe(1));\nit('two', () => expect(2).toBe(2));\n" });
    expect(vitest.code, vitest.stderr).toBe(0);
    expect(check.stdout).toContain('tests: 2 passed, 0 failed, 0 skipped, 0 todo (1 files)');
    expect(check.code).toBe(0);
  }, 120_000);

  it('a skipped test fails CI even though vitest passes, and is named; so are todos and conditionally skipped suites', async () => {
    const { vitest, check } = await ciRun({
      'a.test.mjs': "it('runs', () => expect(1).toBe(1));\nit.skip('is skipped', () => {});\nit.todo('is a todo');\n",
      'b.test.mjs': "describe.skipIf(true)('needs a tool', () => { it('cannot run here', () => {}); });\n",
    });
    expect(vitest.code, vitest.stderr).toBe(0); // vitest itself is happy with skips
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('tests: 1 passed, 0 failed, 2 skipped, 1 todo (2 files)');
    expect(check.stdout).toContain('skipped: a.test.mjs > is skipped');
    expect(check.stdout).toContain('todo: a.test.mjs > is a todo');
    expect(check.stdout).toContain('skipped: b.test.mjs > needs a tool cannot run here');
  }, 120_000);

  it('a failure, a file that fails in a hook, and a file with no test are reported and fail CI', async () => {
    const { vitest, check } = await ciRun({
      'a.test.mjs': "it('breaks', () => expect(1).toBe(2));\n",
      'b.test.mjs': "beforeAll(() => { throw new Error('no database'); });\nit('needs the database', () => {});\n",
      'c.test.mjs': '// nothing registered\n',
    });
    expect(vitest.code).not.toBe(0);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/tests: 0 passed, 1 failed, 1 skipped, 0 todo \(3 files\)/);
    expect(check.stdout).toContain('failed: a.test.mjs > breaks');
    expect(check.stdout).toContain('b.test.mjs: failed outside its tests: no database');
    expect(check.stdout).toContain('c.test.mjs: registers no test');
  }, 120_000);

  it('no report (vitest did not get that far) fails CI', async () => {
    const check = await exec([REPORT_SCRIPT, join(tmpdir(), 'keyward-no-such-report.json')], ROOT);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('cannot read');
  });
});
