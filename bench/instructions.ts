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
 *   npm run bench:instructions -- --base main --only B --measure 40000
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
import { fmtInt, freePort, HOST, log, requirePinnedNode, type Child } from './util.ts';
import { exportCommit, prepareVerifyStore, writeBaselineData, BASELINE, type VerifyFixture } from './verify-setup.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'src/cli/main.ts');

const { values: flags } = parseArgs({
  options: {
    base: { type: 'string', default: 'main' },
    only: { type: 'string', default: 'baseline,A,B' },
    keys: { type: 'string', default: '200' },
    warm: { type: 'string', default: '5000' },
    measure: { type: 'string', default: '20000' },
    connections: { type: 'string', default: '16' },
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

/** Total instructions of one server process that answered `amount` verify requests. */
async function instructions(name: string, run: number, amount: number): Promise<number> {
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
    // info, for its "listening" line; the verify path logs nothing at info.
    env = { KEYWARD_PORT: String(port), KEYWARD_HOST: HOST, KEYWARD_STORE: copy, KEYWARD_LOG_LEVEL: 'info' };
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
  const summary = /^summary:\s+(\d+)/m.exec(readFileSync(out, 'utf8'));
  if (!summary) throw new Error(`${name}: no cachegrind summary in ${out}:\n${child.output()}`);
  return Number(summary[1]);
}

const results: string[] = [];
for (const name of ['baseline', 'A', 'B'].filter((n) => only.has(n))) {
  const short = await instructions(name, 1, warm);
  const long = await instructions(name, 2, warm + measure);
  const perRequest = (long - short) / measure;
  const label = name === 'A' ? `A (${baseCommit})` : name === 'B' ? `B (${thisCode})` : 'baseline';
  log(`${label}: ${fmtInt(short)} → ${fmtInt(long)} instructions; ${fmtInt(perRequest)} per request`);
  results.push(`| ${label} | ${fmtInt(perRequest)} |`);
}
process.stdout.write(
  `\n${flags.keys} keys, ${warm} warm-up then ${measure} measured requests, ${flags.connections} connections\n\n| server | instructions per request |\n|---|---:|\n${results.join('\n')}\n`,
);
