/**
 * The `keyward` command as a child process: one-shot runs (`run`), and
 * long-running services (`startKeyward`, `serve`) that are killed when the
 * test file ends (`killAll` in afterAll).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const MAIN = join(ROOT, 'src/cli/main.ts');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Child {
  process: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: Child[] = [];

/** Environment without any KEYWARD_* setting of the machine running the tests. */
export function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('KEYWARD_')) env[name] = value;
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) env[name] = value;
  env.NO_COLOR = '1';
  // No test reads the contexts of whoever runs it: a config file that does not exist, unless the test picks one.
  if (!('KEYWARD_CONFIG' in extra || 'HOME' in extra || 'XDG_CONFIG_HOME' in extra)) env.KEYWARD_CONFIG = join(ROOT, 'test-results', 'no-keyward-config', 'config.yaml');
  return env;
}

/** Runs `keyward …` to completion, asynchronously (a service may run in this process); `input` is its stdin (else stdin is closed at once). */
export function run(args: string[], env: Record<string, string | undefined> = {}, input = ''): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(process.execPath, [MAIN, ...args], { cwd: ROOT, env: cleanEnv(env), timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      done({ code, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}

/** Starts `keyward …` and keeps it running. */
export function startKeyward(args: string[], env: Record<string, string>): Child {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env: cleanEnv({ KEYWARD_LOG_LEVEL: 'warn', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  const handle: Child = {
    process: child,
    stdout: '',
    stderr: '',
    exited: new Promise((done) => child.once('exit', (code, signal) => done({ code, signal }))),
  };
  child.stdout!.on('data', (chunk: Buffer) => (handle.stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (handle.stderr += chunk.toString('utf8')));
  children.push(handle);
  return handle;
}

export { freePort } from '../../src/devcluster/ports.ts';


/** Waits until the child answers /readyz, or fails with its output if it exits first. */
export async function waitReady(child: Child, url: string): Promise<void> {
  let exited = false;
  void child.exited.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`keyward serve exited before it was ready:\n${child.stderr}${child.stdout}`);
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `keyward serve` on a store file and port, ready to answer. */
export async function serve(storeFile: string, port: number, env: Record<string, string> = {}): Promise<Child> {
  const child = startKeyward(['serve'], { KEYWARD_STORE: storeFile, KEYWARD_PORT: String(port), KEYWARD_HOST: '127.0.0.1', ...env });
  await waitReady(child, `http://127.0.0.1:${port}`);
  return child;
}

/** For afterAll: no child outlives its test file. */
export async function killAll(): Promise<void> {
  for (const child of children) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  await Promise.all(children.map((child) => child.exited));
  children.length = 0;
}

const shellQuote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `keyward …` on a pseudo-terminal (util-linux `script`), as a person
 * at a terminal does: stdin and stdout are a TTY. Each answer is typed once
 * the output so far contains its `after` text (typed earlier, the terminal
 * would echo it before the program could turn echo off). The result's
 * stdout is the terminal's whole output; colours stay on unless `env` sets
 * NO_COLOR.
 */
export function runInTerminal(args: string[], env: Record<string, string | undefined>, answers: { after: string; send: string }[] = []): Promise<Run> {
  const command = [process.execPath, MAIN, ...args].map(shellQuote).join(' ');
  const environment = cleanEnv(env);
  if (env.NO_COLOR === undefined) delete environment.NO_COLOR;
  environment.TERM = 'xterm';
  return new Promise((done, fail) => {
    const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd: ROOT, env: environment, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let stderr = '';
    let seen = 0;
    const pending = [...answers];
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const next = pending[0];
      if (next && output.indexOf(next.after, seen) >= 0) {
        seen = output.indexOf(next.after, seen) + next.after.length;
        pending.shift();
        child.stdin.write(next.send);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', fail);
    child.once('exit', (code) => {
      clearTimeout(timer);
      child.stdin.end();
      done({ code, stdout: output, stderr });
    });
  });
}
