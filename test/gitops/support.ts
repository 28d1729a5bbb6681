/** GitOps test helpers: fixtures copied to a temp dir, the CLI as a child process, and line diffs. */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cleanEnv, ROOT, type Run } from '../support/cli-process.ts';

export const FIXTURES = resolve(import.meta.dirname, 'fixtures');

/** The real main.ts once it registers `rotate`; until then the stand-in with the same error handling. */
const ENTRY = join(ROOT, 'src/cli/main.ts');

export function keyward(args: string[], env: Record<string, string | undefined> = {}, cwd = ROOT): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [ENTRY, ...args], { cwd, env: cleanEnv(env), timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/** A fresh copy of the fixtures directory (or some of its entries). */
export function copyFixtures(...names: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-gitops-'));
  for (const name of names.length ? names : ['.']) cpSync(join(FIXTURES, name), join(dir, name === '.' ? '' : name), { recursive: true });
  return dir;
}

/** `git diff --no-index -U0` of two files: the removed and added lines, without headers. */
export function gitDiff(a: string, b: string): Promise<{ removed: string[]; added: string[]; raw: string }> {
  return new Promise((done, fail) => {
    execFile('git', ['diff', '--no-index', '--no-color', '-U0', a, b], (error, stdout) => {
      if (error && error.code !== 1) return fail(error);
      const lines = stdout.split('\n');
      const body = lines.filter((l) => !l.startsWith('+++') && !l.startsWith('---'));
      done({
        removed: body.filter((l) => l.startsWith('-')).map((l) => l.slice(1)),
        added: body.filter((l) => l.startsWith('+')).map((l) => l.slice(1)),
        raw: stdout,
      });
    });
  });
}
