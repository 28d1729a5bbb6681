/**
 * `keyward synth-manifests`: the ApiKey resources of a CDKTF app as plain
 * YAML, for GitOps repositories (Argo CD, Flux) and `kubectl apply` without
 * Terraform. Same validation as `cdktf synth` (the constructs run), no
 * Terraform, no provider, no network.
 *
 *   keyward synth-manifests examples/cdktf/main.ts                 # YAML on stdout
 *   keyward synth-manifests examples/cdktf/main.ts -d deploy/keys  # one file per key
 *   keyward synth-manifests cdktf.out                              # from an earlier cdktf synth
 *
 * <source> is a module exporting `buildApp(app?: App): App` (or a default
 * export doing the same), a synthesized cdk.tf.json, or a cdktf.out directory.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, Option } from 'commander';
import { examples, summaryOf } from './commands.ts';
import { CliUsageError } from './errors.ts';

interface Options {
  outDir?: string;
  stack?: string[];
  prune?: boolean;
  output: 'yaml' | 'json';
}

interface Found {
  stack: string;
  manifest: import('../constructs/kubernetes/api-key.ts').ApiKeyManifest;
}

async function fromModule(path: string): Promise<Found[]> {
  const [{ App, TerraformStack }, { collectApiKeyManifests }] = await Promise.all([import('cdktf'), import('../constructs/manifests.ts')]);
  const module = (await import(pathToFileURL(path).href)) as { buildApp?: unknown; default?: unknown };
  const build = typeof module.buildApp === 'function' ? module.buildApp : typeof module.default === 'function' ? module.default : undefined;
  if (!build) {
    throw new CliUsageError(
      `${path} exports no buildApp(app?: App): App (nor a default function): export one and call app.synth() only under "if (import.meta.main)" (see examples/cdktf/main.ts), or pass a synthesized cdktf.out directory`,
    );
  }
  // App creates its outdir; keep that out of the user's tree. Nothing is synthesized.
  const outdir = mkdtempSync(join(tmpdir(), 'keyward-synth-manifests-'));
  try {
    const given = new App({ outdir, skipValidation: true });
    const app = ((await (build as (app: unknown) => unknown)(given)) ?? given) as InstanceType<typeof App>;
    const found: Found[] = [];
    for (const stack of app.node.children.filter((c) => TerraformStack.isStack(c))) {
      for (const manifest of collectApiKeyManifests(stack)) found.push({ stack: stack.node.id, manifest });
    }
    return found;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

async function fromTerraformJson(path: string): Promise<Found[]> {
  const { manifestsFromTerraformJson } = await import('../constructs/manifests.ts');
  const files: { stack: string; file: string }[] = [];
  if (statSync(path).isDirectory()) {
    const stacks = join(path, 'stacks');
    if (!existsSync(stacks)) throw new CliUsageError(`${path} is not a cdktf.out directory (no stacks/ in it)`);
    for (const stack of readdirSync(stacks).sort()) {
      const file = join(stacks, stack, 'cdk.tf.json');
      if (existsSync(file)) files.push({ stack, file });
    }
  } else {
    files.push({ stack: basename(resolve(path, '..')), file: path });
  }
  return files.flatMap(({ stack, file }) => {
    let document: unknown;
    try {
      document = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new CliUsageError(`${file} is not JSON: ${(error as Error).message}`);
    }
    return manifestsFromTerraformJson(document).map((manifest) => ({ stack, manifest }));
  });
}

export function synthManifestsCommand(): Command {
  return examples(new Command('synth-manifests'), [
    'keyward synth-manifests examples/cdktf/main.ts',
    'keyward synth-manifests examples/cdktf/main.ts -d deploy/keys --prune',
  ])
    .description(summaryOf('synth-manifests'))
    .argument('<source>', 'module exporting buildApp() (e.g. examples/cdktf/main.ts), a cdk.tf.json, or a cdktf.out directory')
    .option('-d, --out-dir <dir>', 'write one file per key (<namespace>.<name>.apikey.yaml) into this directory instead of stdout')
    .option('--stack <name...>', 'only these stacks')
    .option('--prune', 'with --out-dir: delete *.apikey.yaml files there that no key produced this time')
    .addOption(new Option('-o, --output <format>', 'stdout format: YAML documents, or JSON (the manifests, or with --out-dir the files written)').choices(['yaml', 'json']).default('yaml'))
    .action(async (source: string, o: Options) => {
      const path = resolve(source);
      if (!existsSync(path)) throw new CliUsageError(`${source}: no such file or directory`);
      if (o.prune && !o.outDir) throw new CliUsageError('--prune needs --out-dir');
      const isJson = statSync(path).isDirectory() || path.endsWith('.json');
      let found = isJson ? await fromTerraformJson(path) : await fromModule(path);
      if (o.stack?.length) {
        const wanted = new Set(o.stack);
        const known = new Set(found.map((f) => f.stack));
        const unknown = o.stack.filter((s) => !known.has(s));
        if (unknown.length > 0) throw new CliUsageError(`no ApiKey in stack(s) ${unknown.join(', ')}; stacks with keys: ${[...known].join(', ') || 'none'}`);
        found = found.filter((f) => wanted.has(f.stack));
      }
      if (found.length === 0) throw new Error(`no ApiKey resources in ${source}`);
      const { manifestFileName, toYaml } = await import('../constructs/manifests.ts');

      const seen = new Map<string, string>();
      for (const { stack, manifest } of found) {
        const name = manifestFileName(manifest);
        const other = seen.get(name);
        if (other !== undefined) throw new Error(`ApiKey ${manifest.metadata.namespace}/${manifest.metadata.name} is declared twice (stacks ${other} and ${stack})`);
        seen.set(name, stack);
      }

      if (!o.outDir) {
        const manifests = found.map((f) => f.manifest);
        process.stdout.write(o.output === 'json' ? `${JSON.stringify(manifests, null, 2)}\n` : toYaml(manifests));
        return;
      }
      const dir = resolve(o.outDir);
      mkdirSync(dir, { recursive: true });
      const written: string[] = [];
      for (const { manifest } of found) {
        const file = join(dir, manifestFileName(manifest));
        writeFileSync(file, `# Generated by keyward synth-manifests from ${source}; edit the stack, not this file.\n${toYaml([manifest])}`);
        written.push(file);
      }
      const pruned: string[] = [];
      if (o.prune) {
        const keep = new Set(written.map((file) => basename(file)));
        for (const name of readdirSync(dir)) {
          if (name.endsWith('.apikey.yaml') && !keep.has(name)) {
            unlinkSync(join(dir, name));
            pruned.push(join(dir, name));
          }
        }
      }
      if (o.output === 'json') process.stdout.write(`${JSON.stringify({ written, pruned }, null, 2)}\n`);
      else for (const file of written) process.stdout.write(`wrote ${file}\n`);
      if (o.output !== 'json') for (const file of pruned) process.stdout.write(`pruned ${file}\n`);
    });
}
