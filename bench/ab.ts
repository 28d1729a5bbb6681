/**
 * A/B for the verify path: this tree's keyward against another commit's, and
 * the bare node:http baseline, on the same keys, interleaved. For a shared
 * machine, where a full `npm run bench` measures mostly the neighbours: the
 * three servers take turns in rotating order, so load drifting over minutes
 * hits each alike, and the figures that matter are per round (each server
 * against the baseline measured next to it) and CPU per request from /proc.
 *
 *   npm run bench:ab -- --base main              # 4 rounds of 10 s each
 *   npm run bench:ab -- --base 3327f02 --rounds 6 --duration 8 --profile
 *
 * With --pin, servers run on one CPU and the load generator on the others,
 * as `npm run bench -- --pin` does.
 *
 * Each round starts fresh keyward processes (--no-restart keeps one each):
 * a process settles at its own cost per request, some microseconds apart
 * from the next one of the same code, so one process per side would compare
 * two draws instead of two versions. With --profile every keyward process
 * writes a CPU profile (profile-summary.ts; the run prints how many requests
 * each served, to read its times per request).
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
import { load, type LoadStats } from './load.ts';
import { fmt, fmtInt, log, pinCpus, requirePinnedNode, startKeywardServer, type Child } from './util.ts';
import { checkSameAnswers, exportCommit, prepareVerifyStore, startBaseline } from './verify-setup.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'src/cli/main.ts');

const { values: flags } = parseArgs({
  options: {
    base: { type: 'string', default: 'main' },
    rounds: { type: 'string', default: '4' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
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
const durationS = Number(flags.duration);
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
const baseline = await startBaseline(fixture, organizationId, join(workDir, 'baseline.json'), profileArgs('baseline'), PIN?.server);

type Name = 'A' | 'B' | 'baseline';
interface Server {
  name: Name;
  url: string;
  child: Child;
  /** Requests it answered, warm-ups and checks included (to read a profile per request). */
  served: number;
}
const keyward = { A: { cli: baseCli, store: storeA }, B: { cli: CLI, store: storeB } };
async function startSide(name: 'A' | 'B', round: number): Promise<Server> {
  const side = keyward[name];
  const started = await startKeywardServer(side.cli, `keyward-${name}`, side.store, profileArgs(`keyward-${name.toLowerCase()}-${round}`), PIN?.server);
  await checkSameAnswers(started.url, fixture, name === 'A' ? `A (${baseCommit})` : 'B (this tree)');
  return { name, ...started, served: fixture.secrets.length };
}
const servers: Server[] = [await startSide('A', 1), await startSide('B', 1), { name: 'baseline', ...baseline, served: fixture.secrets.length }];
const runs: { name: Name; round: number; stats: LoadStats }[] = [];
for (let round = 1; round <= rounds; round++) {
  if (round > 1 && !flags['no-restart']) {
    for (const [i, server] of servers.entries()) {
      if (server.name === 'baseline') continue;
      log(`${server.name} (round ${round - 1}) served ${fmtInt(server.served)} requests`);
      await server.child.stop();
      servers[i] = await startSide(server.name, round);
    }
  }
  // Rotate the order: each server goes first, second and third in turn.
  const order = servers.map((_, i) => servers[(i + round - 1) % servers.length]!);
  for (const server of order) {
    const warm = await load({ url: server.url, connections, duration: warmupS, requests: fixture.requests }, server.child.pid);
    const stats = await load({ url: server.url, connections, duration: durationS, timeout: 30, requests: fixture.requests }, server.child.pid);
    if (stats.other > 0 || stats.errors > 0) throw new Error(`${server.name}: ${stats.other} non-2xx, ${stats.errors} errors; its output:\n${server.child.output().slice(-4000)}`);
    server.served += warm.ok + stats.ok;
    runs.push({ name: server.name, round, stats });
    log(
      `round ${round} ${server.name.padEnd(8)} ${fmtInt(stats.perSecond).padStart(7)} req/s  ${fmt(stats.serverUsPerRequest, 1).padStart(5)} µs/req  ` +
        `p50 ${fmt(stats.p50, 2)} ms  other processes ${fmt(stats.otherCpu * 100, 0)}%`,
    );
  }
}
for (const server of servers) {
  log(`${server.name} (last round) served ${fmtInt(server.served)} requests`);
  await server.child.stop();
}

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const of = (name: Name, round: number) => runs.find((r) => r.name === name && r.round === round)!.stats;
const lines = [
  `| round | A req/s | B req/s | baseline req/s | A / baseline | B / baseline | A µs/req | B µs/req | baseline µs/req | other processes (mean) |`,
  `|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
];
const ratio = { A: [] as number[], B: [] as number[] };
const us = { A: [] as number[], B: [] as number[], baseline: [] as number[] };
for (let round = 1; round <= rounds; round++) {
  const [sa, sb, sbase] = [of('A', round), of('B', round), of('baseline', round)];
  ratio.A.push(sa.perSecond / sbase.perSecond);
  ratio.B.push(sb.perSecond / sbase.perSecond);
  us.A.push(sa.serverUsPerRequest);
  us.B.push(sb.serverUsPerRequest);
  us.baseline.push(sbase.serverUsPerRequest);
  const other = mean([sa, sb, sbase].map((s) => s.otherCpu));
  lines.push(
    `| ${round} | ${fmtInt(sa.perSecond)} | ${fmtInt(sb.perSecond)} | ${fmtInt(sbase.perSecond)} | ${fmt(ratio.A.at(-1)!, 2)} | ${fmt(ratio.B.at(-1)!, 2)} | ` +
      `${fmt(sa.serverUsPerRequest, 1)} | ${fmt(sb.serverUsPerRequest, 1)} | ${fmt(sbase.serverUsPerRequest, 1)} | ${fmt(other * 100, 0)}% |`,
  );
}
lines.push(
  `| **median** | | | | **${fmt(median(ratio.A), 2)}** | **${fmt(median(ratio.B), 2)}** | **${fmt(median(us.A), 1)}** | **${fmt(median(us.B), 1)}** | **${fmt(median(us.baseline), 1)}** | |`,
);
process.stdout.write(`\nA = ${baseCommit} (${flags.base}), B = ${thisCode}; ${rounds} rounds, ${durationS} s each, ${connections} connections, ${flags.keys} keys\n\n${lines.join('\n')}\n\n`);
process.stdout.write(
  `CPU efficiency (baseline µs / keyward µs, medians): A ${fmt(median(us.baseline) / median(us.A), 2)}, B ${fmt(median(us.baseline) / median(us.B), 2)}; ` +
    `B uses ${fmt(median(us.B) - median(us.A), 1)} µs per request more than A (negative: less).\n`,
);
if (flags.profile) log(`CPU profiles: ${profileDir} (summarise with: npx node bench/profile-summary.ts <file>)`);
