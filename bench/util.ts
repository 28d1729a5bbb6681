/** Helpers for the benchmarks: child processes, free ports, /proc readings, statistics. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { cpus, totalmem } from 'node:os';

export const HOST = '127.0.0.1';

export function log(message: string): void {
  const t = new Date().toISOString().slice(11, 19);
  process.stdout.write(`[bench ${t}] ${message}\n`);
}

import { freePort } from '../src/devcluster/ports.ts';

export { freePort };

/** Benchmarks measure the pinned Node 24; under another Node, say how to run them and stop. */
export function requirePinnedNode(command: string): void {
  if (Number(process.versions.node.split('.')[0]) < 24) {
    process.stderr.write(`bench: needs the pinned Node 24 (this is ${process.version}); run it as \`${command}\` from the repository.\n`);
    process.exit(1);
  }
}

/**
 * Replaces the generated section of `file` (between the `start` and `end`
 * markers, which `generated` carries), keeping the prose around it; creates
 * the file from `template` when it does not exist.
 */
export function writeGeneratedSection(file: string, generated: string, markers: { start: string; end: string }, template: (generated: string) => string): void {
  mkdirSync(dirname(file), { recursive: true });
  if (!existsSync(file)) {
    writeFileSync(file, template(generated));
    return;
  }
  const current = readFileSync(file, 'utf8');
  const start = current.indexOf(markers.start);
  const end = current.indexOf(markers.end);
  if (start < 0 || end < start) {
    writeFileSync(file, `${current.trimEnd()}\n\n${generated}\n`);
    return;
  }
  writeFileSync(file, current.slice(0, start) + generated + current.slice(end + markers.end.length));
}

export interface Child {
  name: string;
  process: ChildProcess;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

const children = new Set<Child>();
process.on('exit', () => {
  for (const child of children) child.process.kill('SIGKILL');
});

/**
 * Which CPUs the benchmark's processes run on, with --pin: the servers on the
 * last CPU, the load generator (this process, every thread) on the others, so
 * the scheduler never puts both on one core. Measured on this project's 2-core
 * VM it did not narrow the process-to-process scatter (docs/benchmarks.md) and
 * lowered both servers' throughput, so it is not the default. null when the
 * machine has one CPU or no `taskset`.
 */
export interface CpuPinning {
  server: string;
  load: string;
}

export function pinCpus(): CpuPinning | null {
  const count = cpus().length;
  if (count < 2) return null;
  const pinning = { server: String(count - 1), load: count === 2 ? '0' : `0-${count - 2}` };
  try {
    execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', pinning.load, String(process.pid)], { stdio: 'ignore' });
  } catch {
    return null;
  }
  return pinning;
}

/** Starts `node <args>` (the same Node binary as this process, on `cpus` when given) and keeps its output for diagnostics. */
export function startNode(name: string, args: string[], env: NodeJS.ProcessEnv, cpus?: string): Child {
  // taskset execs node, so the child's pid is node's.
  const [command, argv] = cpus === undefined ? [process.execPath, args] : ['taskset', ['--cpu-list', cpus, process.execPath, ...args]];
  const proc = spawn(command, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const child: Child = {
    name,
    process: proc,
    pid: proc.pid!,
    output: () => out,
    async stop() {
      children.delete(child);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  children.add(child);
  return child;
}

/** Starts `keyward serve` (the CLI at `cli`) on a free loopback port with a lowdb store, and waits until it answers. */
export async function startKeywardServer(cli: string, name: string, storeFile: string, nodeArgs: string[] = [], cpus?: string): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const child = startNode(
    name,
    [...nodeArgs, cli, 'serve'],
    {
      KEYWARD_PORT: String(port),
      KEYWARD_HOST: HOST,
      KEYWARD_STORE: storeFile,
      KEYWARD_LOG_LEVEL: 'warn',
    },
    cpus,
  );
  const url = `http://${HOST}:${port}`;
  await waitReady(child, `${url}/healthz`, 180_000);
  return { child, url };
}

/** Runs `node <args>` to completion and returns its stdout. */
export function runNode(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`node ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
  });
}

/** Polls `url` until it answers 200 (or the child dies / time runs out). */
export async function waitReady(child: Child, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited early:\n${child.output()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${child.name} not ready after ${timeoutMs} ms:\n${child.output()}`);
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** Whole-machine CPU counters (busy, total) in clock ticks, from /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
    const busy = user! + nice! + system! + irq! + softirq! + steal!;
    return { busy: busy / CLOCK_TICKS, total: (busy + idle! + iowait!) / CLOCK_TICKS };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

/** Resident set size in MiB, from /proc/<pid>/status. */
export function rssMiB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Growable list of latency samples (ms). */
export class Samples {
  #data = new Float64Array(1 << 16);
  #n = 0;
  add(value: number): void {
    if (this.#n === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#n++] = value;
  }
  get count(): number {
    return this.#n;
  }
  /** Exact percentiles (nearest rank) of the samples. */
  percentiles(...ps: number[]): number[] {
    return this.percentilesFrom(0, ...ps);
  }
  /** The same over the samples added from index `from` on (one run's part of a shared collector). */
  percentilesFrom(from: number, ...ps: number[]): number[] {
    const sorted = this.#data.slice(from, this.#n).sort();
    return ps.map((p) => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!));
  }
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  date: string;
}

export function machineInfo(): MachineInfo {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match?.[1]) cpuModel = match[1].trim();
  } catch {
    // not Linux
  }
  let kernel = '';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // not Linux
  }
  return {
    cpuModel,
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}${kernel ? ` (kernel ${kernel})` : ''}`,
    date: new Date().toISOString(),
  };
}

export const fmt = (value: number, digits = 1): string =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
export const fmtInt = (value: number): string => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a');

/** Runs `work` on `items` with at most `concurrency` in flight. */
export async function pool<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
