/**
 * Summarises a V8 .cpuprofile (from `npm run bench -- --profile`, which runs
 * keyward with --cpu-prof): self time by function and by source file/package,
 * and inclusive ("total") time for keyward's own functions.
 *
 * Usage: npx node bench/profile-summary.ts <file.cpuprofile> [top=25] [requests]
 * With `requests` (how many the process answered: bench/ab.ts prints it),
 * each line also shows microseconds per request.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, topArg, requestsArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/profile-summary.ts <file.cpuprofile> [top] [requests]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const requests = requestsArg === undefined ? undefined : Number(requestsArg.replace(/[,_]/g, ''));
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);

const shortUrl = (url: string): string => {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '');
};
const label = (f: CallFrame): string => `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
const pkg = (f: CallFrame): string => {
  const u = shortUrl(f.url);
  if (u.startsWith('src/')) return u;
  if (u.startsWith('node:')) return u;
  if (u === '(native)') return f.functionName.startsWith('(') ? f.functionName : '(native/builtin)';
  return u.startsWith('@') ? u.split('/').slice(0, 2).join('/') : u.split('/')[0]!;
};

const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
const selfByFunction = new Map<string, number>();
const selfByFile = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id)!;
  add(selfByFunction, label(node.callFrame), us);
  add(selfByFile, pkg(node.callFrame), us);
  // Inclusive time: every distinct frame on the stack gets this sample's time.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const frame = byId.get(cur)!.callFrame;
    const key = label(frame);
    if (!seen.has(key)) {
      seen.add(key);
      add(inclusive, key, us);
    }
  }
}

const print = (title: string, m: Map<string, number>, filter: (k: string) => boolean = () => true) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, us] of [...m].filter(([k]) => filter(k)).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const perRequest = requests ? `  ${(us / requests).toFixed(2).padStart(6)} µs/req` : '';
    process.stdout.write(`${((100 * us) / totalUs).toFixed(1).padStart(6)}%  ${(us / 1000).toFixed(0).padStart(7)} ms${perRequest}  ${k}\n`);
  }
};
const busyUs = totalUs - [...selfUs].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((sum, [, us]) => sum + us, 0);
process.stdout.write(`${file}: ${(totalUs / 1e6).toFixed(1)} s sampled, ${(busyUs / 1e6).toFixed(1)} s not idle${requests ? ` (${(busyUs / requests).toFixed(1)} µs per request over ${requests} requests, profiler overhead included)` : ''}\n`);
print('self time by file / package', selfByFile);
print('self time by function', selfByFunction);
print('inclusive time, keyward code (src/)', inclusive, (k) => k.includes(' src/'));
print('inclusive time, everything', inclusive, (k) => !k.startsWith('(root)') && !k.startsWith('(program)'));
