/**
 * Instructions per verify request, counted by valgrind (cachegrind without
 * cache simulation): the one figure of the verify path that a busy machine
 * does not move. The server runs under valgrind; the load generator (this
 * process) does not. Each server is run twice, answering `--warm` requests
 * and then `--warm + --measure`, and exits; the difference of the two
 * totals over `--measure` is the steady-state cost of one request (start-up,
 * warm-up and shutdown cancel out). Baseline, another commit's keyward (A)
 * and this tree's (B) are measured from copies of one store, as in bench:ab.
 *
 *   npm run bench:instructions -- --base main
 *   npm run bench:instructions -- --base main --top 30         # and the functions that differ most
 *   npm run bench:instructions -- --base main --only B
 *
 * It takes a few minutes per server (valgrind runs Node ~50 times slower).
 * The counts include the kernel-facing work in user space (libuv, the socket
 * writes' syscalls are one instruction each) but not the kernel's own, which
 * `npm run bench` pays per response for both servers alike.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import autocannon from 'autocannon';
import { difference, functionTotals, largestChanges, split } from './cachegrind.ts';
import { fmtInt, freePort, HOST, log, requirePinnedNode, type Child } from './util.ts';
import { exportCommit, prepareVerifyStore, writeBaselineData, BASELINE, type VerifyFixture } from './verify-setup.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'src/cli/main.ts');

const { values: flags } = parseArgs({
  options: {
    base: { type: 'string', default: 'main' },
    only: { type: 'string', default: 'baseline,A,B' },
    keys: { type: 'string', default: '200' },
    // Enough warm-up that V8 has compiled the hot path before the first total is taken: at 5,000 its
    // compilers still spent ~27k instructions per request of the measured window (of the baseline's ~125k).
    warm: { type: 'string', default: '20000' },
    measure: { type: 'string', default: '40000' },
    connections: { type: 'string', default: '16' },
    /** Also list the N functions (outside V8's compilers and collector) whose cost per request differs most between A and B. */
    top: { type: 'string', default: '0' },
  },
});
requirePinnedNode('npm run bench:instructions');

const warm = Number(flags.warm);
const measure = Number(flags.measure);
const only = new Set(flags.only.split(','));
const workDir = mkdtempSync(join(tmpdir(), 'keyward-instr-'));
const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
const baseCommit = git('rev-parse', '--short', flags.base);
const thisCode = `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'src') ? ' + uncommitted src/' : ''}`;
log(`A = ${baseCommit} (${flags.base}), B = ${thisCode}; work dir ${workDir}`);

const baseCli = only.has('A') ? exportCommit(ROOT, baseCommit, join(workDir, 'base')) : '';
const { organizationId, store, fixture } = await prepareVerifyStore(CLI, join(workDir, 'setup'), Number(flags.keys));
const baselineData = join(workDir, 'baseline.json');
writeBaselineData(fixture, organizationId, baselineData);

/** Starts `node <args>` under cachegrind, writing its totals to `out` when it exits. */
function startUnderValgrind(name: string, args: string[], env: NodeJS.ProcessEnv, out: string, readyLine: RegExp): Child & { ready: Promise<void> } {
  const proc = spawn(
    'valgrind',
    ['--tool=cachegrind', '--cache-sim=no', '--smc-check=all-non-file', `--cachegrind-out-file=${out}`, process.execPath, ...args],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  let onOutput = (): void => {};
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
    onOutput();
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  // Ready when it says so: polling would add a number of requests that depends on how busy the machine is.
  const ready = new Promise<void>((resolve, reject) => {
    onOutput = () => void (readyLine.test(output) && resolve());
    proc.once('exit', () => reject(new Error(`${name} exited before it was ready:\n${output}`)));
  });
  return {
    ready,
    name,
    process: proc,
    pid: proc.pid!,
    output: () => output,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** Sends exactly `amount` verify requests (all must succeed). */
function send(url: string, amount: number, requests: VerifyFixture['requests']): Promise<void> {
  return new Promise((resolve, reject) => {
    let bad = 0;
    const instance = autocannon({ url, connections: Number(flags.connections), amount, timeout: 120, requests }, (error: Error | null, result) => {
      if (error) reject(error);
      else if (bad > 0 || result.errors > 0 || result.timeouts > 0) reject(new Error(`${bad} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`));
      else resolve();
    });
    instance.on('response', (_client: unknown, status: number) => {
      if (status < 200 || status >= 300) bad++;
    });
  });
}

/** Runs one server process under cachegrind until it answered `amount` verify requests; returns its cachegrind file. */
async function instructions(name: string, run: number, amount: number): Promise<string> {
  const port = await freePort();
  const out = join(workDir, `${name}-${run}.cachegrind`);
  let args: string[];
  let env: NodeJS.ProcessEnv;
  let readyLine: RegExp;
  if (name === 'baseline') {
    args = [BASELINE];
    env = { BASELINE_PORT: String(port), BASELINE_DATA: baselineData };
    readyLine = /baseline listening/;
  } else {
    const copy = join(workDir, `${name}-${run}`, 'db.json');
    mkdirSync(join(workDir, `${name}-${run}`));
    copyFileSync(store, copy);
    args = [name === 'A' ? baseCli : CLI, 'serve'];
    // info, for its "listening" line; the verify path logs nothing at info. Usage is flushed (and whenUnused
    // rotations swept) once at shutdown, not every 5 (10) s: time-based work that `npm run bench` spreads over
    // ~25,000 requests a second would fall on the ~50 times fewer requests valgrind serves in a second.
    env = { KEYWARD_PORT: String(port), KEYWARD_HOST: HOST, KEYWARD_STORE: copy, KEYWARD_LOG_LEVEL: 'info', KEYWARD_USAGE_FLUSH_MS: '600000', KEYWARD_RETIREMENT_CHECK_MS: '600000' };
    readyLine = /keyward key service listening/;
  }
  const child = startUnderValgrind(name, args, env, out, readyLine);
  const url = `http://${HOST}:${port}`;
  try {
    await child.ready;
    await send(url, amount, fixture.requests);
  } finally {
    await child.stop();
  }
  if (!/^summary:\s+(\d+)/m.test(readFileSync(out, 'utf8'))) throw new Error(`${name}: no cachegrind summary in ${out}:\n${child.output()}`);
  return out;
}

const fmt = (n: number): string => fmtInt(Math.round(n));
const rows: string[] = [];
const perRequest = new Map<string, Map<string, number>>();
for (const name of ['baseline', 'A', 'B'].filter((n) => only.has(n))) {
  const short = functionTotals(await instructions(name, 1, warm));
  const long = functionTotals(await instructions(name, 2, warm + measure));
  const diff = difference(short, long, measure);
  perRequest.set(name, diff);
  const parts = split(diff);
  const label = name === 'A' ? `A (${baseCommit})` : name === 'B' ? `B (${thisCode})` : 'baseline';
  log(`${label}: ${fmt(parts.total)} instructions per request (mutator ${fmt(parts.mutator)}, collector ${fmt(parts.collector)}, compilers ${fmt(parts.compilers)})`);
  rows.push(`| ${label} | ${fmt(parts.total)} | ${fmt(parts.mutator)} | ${fmt(parts.collector)} | ${fmt(parts.compilers)} |`);
}
process.stdout.write(
  `\n${flags.keys} keys, ${warm} warm-up then ${measure} measured requests, ${flags.connections} connections; per request:\n\n` +
    `| server | instructions | mutator | collector | compilers |\n|---|---:|---:|---:|---:|\n${rows.join('\n')}\n`,
);
// B against A, or against the baseline when A was not run.
const refName = perRequest.has('A') ? 'A' : 'baseline';
const [a, b] = [perRequest.get(refName), perRequest.get('B')];
if (Number(flags.top) > 0 && a && b) {
  process.stdout.write(
    `\nLargest differences per request outside the compilers and collector (B - ${refName}; JIT code is "???"):\n\n| ${refName} | B | B - ${refName} | function |\n|---:|---:|---:|---|\n`,
  );
  for (const c of largestChanges(a, b, Number(flags.top))) process.stdout.write(`| ${fmt(c.a)} | ${fmt(c.b)} | ${fmt(c.b - c.a)} | \`${c.fn.slice(0, 120).replace(/\|/g, '\\|')}\` |\n`);
}
