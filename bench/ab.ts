/**
 * A/B for the verify path: this tree's keyward (B) against another commit's
 * (A), and the bare node:http baseline, on the same keys. All three run for
 * the whole round and are measured in alternating slices (slices.ts, as
 * `npm run bench` does), the order rotating from round to round, so the
 * host's swings over seconds hit each alike. The figures that matter are
 * per round: each keyward against the baseline and against the other
 * keyward measured beside it, and CPU per request from /proc.
 *
 *   npm run bench:ab -- --base main                  # 4 rounds of 6 slices of 3 s per server
 *   npm run bench:ab -- --base 3327f02 --rounds 8 --profile
 *
 * With --pin, servers run on one CPU and the load generator on the others,
 * as `npm run bench -- --pin` does.
 *
 * Each round starts fresh processes (--no-restart keeps the first ones): a
 * process settles at its own cost per request, some microseconds apart from
 * the next one of the same code, so one process per side would compare two
 * draws instead of two versions. With --profile every process writes a CPU
 * profile (profile-summary.ts; the run prints how many requests each
 * served, to read its times per request).
 *
 * The other commit's src/ and package.json are exported with `git archive`
 * into the temp dir and run with this tree's node_modules. Both keywards
 * start from copies of one store (made by this tree), and must answer every
 * key identically before anything is measured.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { meanInterval } from './report.ts';
import { measureInSlices, type SlicedResult, type SliceTarget } from './slices.ts';
import { fmt, fmtInt, log, pinCpus, requirePinnedNode, startKeywardServer } from './util.ts';
import { checkSameAnswers, exportCommit, prepareVerifyStore, startBaseline } from './verify-setup.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'src/cli/main.ts');

const { values: flags } = parseArgs({
  options: {
    base: { type: 'string', default: 'main' },
    rounds: { type: 'string', default: '4' },
    slices: { type: 'string', default: '6' },
    slice: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '4' },
    keys: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '64' },
    profile: { type: 'boolean', default: false },
    'no-restart': { type: 'boolean', default: false },
    pin: { type: 'boolean', default: false },
  },
});
requirePinnedNode('npm run bench:ab');

// --pin: servers on one CPU, this process (the load generator) on the rest, as `npm run bench -- --pin` does.
const PIN = flags.pin ? pinCpus() : null;
const rounds = Number(flags.rounds);
const slices = Number(flags.slices);
const sliceS = Number(flags.slice);
const warmupS = Number(flags.warmup);
const connections = Number(flags.connections);
const workDir = mkdtempSync(join(tmpdir(), 'keyward-ab-'));
const profileDir = join(workDir, 'profiles');
const profileArgs = (name: string): string[] => (flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []);

const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
const baseCommit = git('rev-parse', '--short', flags.base);
const thisCode = `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'src') ? ' + uncommitted src/' : ''}`;

// The other commit's code, beside this tree's dependencies.
const baseCli = exportCommit(ROOT, baseCommit, join(workDir, 'base'));
log(`A = ${baseCommit} (${flags.base}), B = ${thisCode}; ${PIN ? `servers on CPU ${PIN.server}, load generator on CPU ${PIN.load}` : 'not pinned to CPUs'}; work dir ${workDir}`);

// One store, made and filled by this tree; each keyward gets its own copy (a lowdb store has one owner).
const { organizationId, store: storeB, fixture } = await prepareVerifyStore(CLI, join(workDir, 'b'), Number(flags.keys));
const storeA = join(workDir, 'a', 'db.json');
mkdirSync(join(workDir, 'a'));
copyFileSync(storeB, storeA);
const baselineStore = join(workDir, 'baseline.json');

type Name = 'A' | 'B' | 'baseline';
const NAMES: readonly Name[] = ['A', 'B', 'baseline'];
const keyward = { A: { cli: baseCli, store: storeA }, B: { cli: CLI, store: storeB } };
async function start(name: Name, round: number): Promise<SliceTarget> {
  if (name === 'baseline') return startBaseline(fixture, organizationId, baselineStore, profileArgs(`baseline-${round}`), PIN?.server);
  const side = keyward[name];
  const started = await startKeywardServer(side.cli, `keyward-${name}`, side.store, profileArgs(`keyward-${name.toLowerCase()}-${round}`), PIN?.server);
  await checkSameAnswers(started.url, fixture, name === 'A' ? `A (${baseCommit})` : 'B (this tree)');
  return started;
}
const plan = { connections, warmupS, slices, sliceS, requests: fixture.requests };
const runs: { name: Name; round: number; stats: SlicedResult }[] = [];
let targets = new Map<Name, SliceTarget>();
for (let round = 1; round <= rounds; round++) {
  // Rotate the order: each server goes first, second and third in turn (the slices then run forwards and backwards).
  const order = NAMES.map((_, i) => NAMES[(i + round - 1) % NAMES.length]!);
  // Fresh processes each round (--no-restart keeps the first ones): a process settles at its own cost per request.
  if (round === 1 || !flags['no-restart']) for (const name of order) targets.set(name, await start(name, round));
  const results = await measureInSlices(order, targets, plan, (name) => log(`round ${round}/${rounds} ${name}: warm-up ${warmupS} s`));
  for (const name of order) {
    const stats = results.get(name)!;
    runs.push({ name, round, stats });
    log(
      `round ${round} ${name.padEnd(8)} ${fmtInt(stats.perSecond).padStart(7)} req/s  ${fmt(stats.serverUsPerRequest, 1).padStart(5)} µs/req  ` +
        `p50 ${fmt(stats.p50, 2)} ms  idle CPU ${fmt(stats.idleCpu * 100, 1)}%  other processes ${fmt(stats.otherCpu * 100, 0)}%  served ${fmtInt(stats.served)}`,
    );
  }
  if (!flags['no-restart'] || round === rounds) {
    for (const target of targets.values()) await target.child.stop();
    targets = new Map();
  }
}

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
const of = (name: Name, round: number) => runs.find((r) => r.name === name && r.round === round)!.stats;
const perRound = Array.from({ length: rounds }, (_, i) => {
  const [a, b, base] = [of('A', i + 1), of('B', i + 1), of('baseline', i + 1)];
  return { a, b, base, aRatio: a.perSecond / base.perSecond, bRatio: b.perSecond / base.perSecond, bOverA: b.perSecond / a.perSecond };
});
const lines = [
  `| round | A req/s | B req/s | baseline req/s | A / baseline | B / baseline | B / A | A µs/req | B µs/req | baseline µs/req | A idle CPU | B idle CPU | other processes (mean) |`,
  `|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
  ...perRound.map(
    ({ a, b, base, aRatio, bRatio, bOverA }, i) =>
      `| ${i + 1} | ${fmtInt(a.perSecond)} | ${fmtInt(b.perSecond)} | ${fmtInt(base.perSecond)} | ${fmt(aRatio, 2)} | ${fmt(bRatio, 2)} | ${fmt(bOverA, 2)} | ` +
      `${fmt(a.serverUsPerRequest, 1)} | ${fmt(b.serverUsPerRequest, 1)} | ${fmt(base.serverUsPerRequest, 1)} | ${fmt(a.idleCpu * 100, 1)}% | ${fmt(b.idleCpu * 100, 1)}% | ` +
      `${fmt(mean([a, b, base].map((s) => s.otherCpu)) * 100, 0)}% |`,
  ),
];
const summary = (label: string, xs: number[]): string => {
  const { mean: m, interval } = meanInterval(xs);
  return `| ${label} | ${xs.map((x) => fmt(x, 2)).join(', ')} | **${fmt(m, 2)}** | ${interval ? `${fmt(interval[0], 2)}–${fmt(interval[1], 2)}` : 'n/a'} |`;
};
const us = (pick: (r: (typeof perRound)[number]) => SlicedResult): number => mean(perRound.map((r) => pick(r).serverUsPerRequest));
process.stdout.write(
  [
    '',
    `A = ${baseCommit} (${flags.base}), B = ${thisCode}; ${rounds} rounds of ${slices} alternating slices of ${sliceS} s per server, ${connections} connections, ${flags.keys} keys`,
    '',
    ...lines,
    '',
    '| per-round ratio of req/s | rounds | mean | 95% interval |',
    '|---|---|---:|---:|',
    summary('A / baseline', perRound.map((r) => r.aRatio)),
    summary('B / baseline', perRound.map((r) => r.bRatio)),
    summary('B / A', perRound.map((r) => r.bOverA)),
    '',
    `Server CPU per request, mean over rounds: A ${fmt(us((r) => r.a), 1)} µs, B ${fmt(us((r) => r.b), 1)} µs, baseline ${fmt(us((r) => r.base), 1)} µs; ` +
      `B uses ${fmt(us((r) => r.b) - us((r) => r.a), 1)} µs per request more than A (negative: less).`,
    '',
  ].join('\n'),
);
if (flags.profile) log(`CPU profiles: ${profileDir} (summarise with: npx node bench/profile-summary.ts <file>)`);
