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
  return env;
}

/** Runs `keyward …` to completion, asynchronously (a service may run in this process). */
export function run(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [MAIN, ...args], { cwd: ROOT, env: cleanEnv(env), timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      done({ code, stdout, stderr });
    });
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
