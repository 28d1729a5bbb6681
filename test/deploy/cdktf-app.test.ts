/**
 * `cdktf synth` as a cdktf user types it, in the repo with its own cdktf.json:
 * `npx cdktf synth`, and cdktf-cli run by the machine's Node the way a
 * globally installed `cdktf` is, with PATH holding only the machine's Node
 * (20 on these machines: no type stripping) and the Terraform-compatible CLI
 * that synth's validation asks for its version. cdktf.json's app must run
 * the TypeScript stack on the project's pinned Node, whatever `node` is on
 * PATH.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPO_ROOT, isExecutable } from '../../src/devcluster/binaries.ts';
import { createTofuToolchain, describeTofu, type TofuToolchain } from '../support/tofu.ts';

const EXAMPLE_STACK = 'keyward-example';

/** The first `node` on PATH that is not the project's (node_modules/.bin), i.e. the machine's; else the pinned one. */
function machineNode(): string {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d && !path.resolve(d).startsWith(path.join(REPO_ROOT, 'node_modules')));
  return dirs.map((d) => path.join(d, 'node')).find(isExecutable) ?? process.execPath;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 128, output: Buffer.concat(chunks).toString('utf8') }));
  });
}

describeTofu('cdktf synth as users type it', { provider: false }, () => {
  let tc: TofuToolchain;
  let work: string;
  let node: string;
  let env: (out: string) => NodeJS.ProcessEnv;

  beforeAll(() => {
    tc = createTofuToolchain({ kubernetesProvider: null });
    work = mkdtempSync(path.join(tmpdir(), 'keyward-cdktf-app-'));
    node = machineNode();
    // PATH: a dir with only the machine's node (and npx, which runs on it), tofu's dir, and /bin for sh.
    const machineBin = path.join(work, 'machine-bin');
    mkdirSync(machineBin);
    symlinkSync(node, path.join(machineBin, 'node'));
    const npx = path.join(path.dirname(node), 'npx');
    if (isExecutable(npx)) symlinkSync(npx, path.join(machineBin, 'npx'));
    console.log(`[cdktf-app] machine Node: ${node} ${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()}`);
    env = (out) => ({
      HOME: process.env.HOME,
      PATH: [machineBin, path.dirname(tc.binary), '/bin'].join(path.delimiter),
      TERRAFORM_BINARY_NAME: 'tofu',
      CHECKPOINT_DISABLE: '1',
      DISABLE_VERSION_CHECK: '1',
      CDKTF_HOME: path.join(out, 'cdktf-home'),
      CI: '1',
      NO_COLOR: '1',
      // npx's own cache, off the shared ~/.npm; nothing is installed (--no-install).
      npm_config_cache: path.join(work, 'npm-cache'),
    });
  });
  afterAll(() => {
    tc?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const synthesized = (out: string) => JSON.parse(readFileSync(path.join(out, 'stacks', EXAMPLE_STACK, 'cdk.tf.json'), 'utf8'));

  it('cdktf.json runs the stack on the pinned Node by path, never the `node` on PATH', () => {
    const { app } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdktf.json'), 'utf8')) as { app: string };
    const [launcher] = app.split(/\s+/);
    expect(path.resolve(REPO_ROOT, launcher!)).toBe(path.join(REPO_ROOT, 'node_modules', '.bin', 'node'));
  });

  it('cdktf-cli run by the machine Node (as a global `cdktf`): synth writes the example stack', async () => {
    const out = path.join(work, 'global');
    const res = await run(node, [path.join(REPO_ROOT, 'node_modules', 'cdktf-cli', 'bundle', 'bin', 'cdktf'), 'synth', '--output', out], env(out));
    expect(res.output).not.toMatch(/ERR_UNKNOWN_FILE_EXTENSION/);
    expect(res.code, res.output).toBe(0);
    const json = synthesized(out);
    expect(Object.keys(json.resource.kubernetes_manifest)).toHaveLength(2);
  }, 120_000);

  it('npx cdktf synth (the machine npx, no install) writes the example stack', async () => {
    // npx puts node_modules/.bin (the pinned node) first on PATH for what it runs, so this case would pass
    // with a bare `node` app too: it shows `npx cdktf synth` works; the case above shows PATH does not matter.
    const npx = path.join(path.dirname(node), 'npx');
    expect(isExecutable(npx), `no npx next to ${node}`).toBe(true);
    const out = path.join(work, 'npx');
    const res = await run(npx, ['--no-install', 'cdktf', 'synth', '--output', out], env(out));
    expect(res.output).not.toMatch(/ERR_UNKNOWN_FILE_EXTENSION/);
    expect(res.code, res.output).toBe(0);
    expect(Object.keys(synthesized(out).resource.kubernetes_manifest)).toHaveLength(2);
  }, 120_000);
});
