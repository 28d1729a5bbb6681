/**
 * `npm run bench:cli`: how fast the `keyward` command starts and answers,
 * beside bare `node -e 0` and `kubectl version --client` in the same run.
 * Each command is a fresh process, started RUNS times in rotation (so load
 * on the machine falls on every command alike); wall time is measured around
 * the process (spawn to exit), peak RSS is GNU time's %M. Against a real
 * `keyward serve` on loopback with 1,000 keys. Target: `keyward --help`
 * within 4× bare Node (median).
 *
 *   npm run bench:cli                  # rewrites the CLI section of docs/benchmarks.md
 *   npm run bench:cli -- --runs 5 --no-write
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KeywardClient } from '../src/client/index.ts';
import { fmt, freePort, HOST, log, machineInfo, pool, requirePinnedNode, runNode, startNode, waitReady, writeGeneratedSection } from './util.ts';

requirePinnedNode('npm run bench:cli');

const ROOT = resolve(import.meta.dirname, '..');
const ENTRY = join(ROOT, 'src/cli/keyward.mjs');
const START = '<!-- bench:cli:start -->';
const END = '<!-- bench:cli:end -->';
const TARGET_HELP_RATIO = 4;

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' }, 'no-write': { type: 'boolean', default: false }, out: { type: 'string', default: join(ROOT, 'docs/benchmarks.md') } } });
const RUNS = Number(values.runs);

interface Case {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  input?: string;
}

interface Sample {
  ms: number;
  rssKiB: number;
}

/** One run of a command under GNU time: wall ms (ours) and peak RSS (its %M), failing on a non-zero exit. */
function measure(c: Case, dir: string, index: number): Promise<Sample> {
  const rssFile = join(dir, `rss-${index}`);
  return new Promise((done, fail) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%M', '-o', rssFile, c.command, ...c.args], { env: { ...process.env, ...c.env }, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdin.end(c.input ?? '');
    child.once('error', fail);
    child.once('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) return fail(new Error(`${c.name} exited ${code}: ${stderr}`));
      done({ ms, rssKiB: Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1)) });
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(0.9 * xs.length) - 1]!;

function kubectl(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) if (existsSync(join(dir, 'kubectl'))) return join(dir, 'kubectl');
  return undefined;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-cli-'));
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  const store = join(dir, 'db.json');
  const bootstrap = JSON.parse(await runNode([ENTRY, 'bootstrap', '--org', 'bench', '--output', 'json'], { KEYWARD_STORE: store })) as { secret: string };
  const server = startNode('keyward serve', [ENTRY, 'serve'], { KEYWARD_STORE: store, KEYWARD_PORT: String(port), KEYWARD_HOST: HOST, KEYWARD_LOG_LEVEL: 'warn', KEYWARD_USAGE_FLUSH_MS: '600000' });
  try {
    await waitReady(server, `${url}/readyz`);
    const client = new KeywardClient({ url, apiKey: bootstrap.secret });
    log('creating 1,000 keys');
    const created = await pool(Array.from({ length: 999 }, (_, i) => i), 16, (i) => client.createKey({ name: `bench key ${i}`, role: 'viewer' }));
    const presented = created[0]!.secret;
    const env = { KEYWARD_URL: url, KEYWARD_API_KEY: bootstrap.secret, KEYWARD_CONFIG: join(dir, 'no-config.yaml') };
    const kube = kubectl();
    const cases: Case[] = [
      { name: 'node -e 0', command: process.execPath, args: ['-e', '0'] },
      ...(kube ? [{ name: 'kubectl version --client', command: kube, args: ['version', '--client'] }] : []),
      { name: 'keyward --help', command: process.execPath, args: [ENTRY, '--help'] },
      { name: 'keyward --help (compile cache off)', command: process.execPath, args: [ENTRY, '--help'], env: { NODE_DISABLE_COMPILE_CACHE: '1' } },
      { name: 'keyward keys list -o json (1,000 keys)', command: process.execPath, args: [ENTRY, 'keys', 'list', '-o', 'json'], env },
      { name: 'keyward verify', command: process.execPath, args: [ENTRY, 'verify', '-q'], env, input: presented },
    ];
    // Warm-up: fills Node's compile cache as a user's first run does.
    for (const c of cases) await measure(c, dir, -1);
    const samples = new Map(cases.map((c) => [c.name, [] as Sample[]]));
    for (let round = 0; round < RUNS; round++) {
      for (const c of round % 2 === 0 ? cases : [...cases].reverse()) samples.get(c.name)!.push(await measure(c, dir, round));
      log(`round ${round + 1}/${RUNS}`);
    }
    const nodeMs = median(samples.get('node -e 0')!.map((s) => s.ms));
    const rows = cases.map((c) => {
      const ms = samples.get(c.name)!.map((s) => s.ms);
      const rss = samples.get(c.name)!.map((s) => s.rssKiB / 1024);
      return `| ${c.name} | ${fmt(median(ms), 0)} | ${fmt(p90(ms), 0)} | ${fmt(median(ms) / nodeMs, 1)}× | ${fmt(median(rss), 0)} |`;
    });
    const helpRatio = median(samples.get('keyward --help')!.map((s) => s.ms)) / nodeMs;
    const machine = machineInfo();
    const generated = [
      START,
      '<!-- generated by bench/cli.ts; edit the prose outside these markers, not the table -->',
      '',
      `${machine.date.slice(0, 10)}, ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ${RUNS} runs of each, in rotation.`,
      '',
      '| command | median ms | p90 ms | × node -e 0 | peak RSS MiB |',
      '|---|---:|---:|---:|---:|',
      ...rows,
      '',
      `Target \`keyward --help\` within ${TARGET_HELP_RATIO}× bare Node: ${helpRatio <= TARGET_HELP_RATIO ? 'met' : 'NOT met'} (${fmt(helpRatio, 1)}×).`,
      END,
    ].join('\n');
    process.stdout.write(`${generated}\n`);
    if (!values['no-write']) {
      writeGeneratedSection(values.out!, generated, { start: START, end: END }, (g) => `# Benchmarks\n\n## CLI\n\n${g}\n`);
      log(`wrote ${values.out}`);
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
