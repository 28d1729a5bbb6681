// OpenTofu (or HashiCorp Terraform) for `cdktf deploy` end to end, offline.
//
// A toolchain is a temp dir holding:
//   bin/tofu                 -> the built OpenTofu (testbin family "tofu"),
//                               or bin/terraform -> an installed Terraform
//   providers/<host>/hashicorp/kubernetes/<ver>/linux_amd64/terraform-provider-kubernetes_v<ver>
//                            -> the provider executable (an unpacked filesystem mirror)
//   tofurc                   the CLI config (TF_CLI_CONFIG_FILE): install only
//                            from that mirror; there is no direct {} block, so
//                            no registry is ever asked
//   cdktf-home/              CDKTF_HOME (cdktf-cli's config), kept out of ~
//   logs/                    TF_LOG=trace output of every run (TF_LOG_PATH)
//
// and runs `tofu …` and `cdktf deploy|destroy|diff|synth` (cdktf-cli with
// TERRAFORM_BINARY_NAME=tofu or terraform) in it: non-interactive,
// --auto-approve, --skip-provider-lock (cdktf would otherwise run
// `tofu providers lock`, which asks the origin registry, not the mirror),
// progress streamed line by line to `log`.
//
// Test support only (the deploy and tofu-validate suites): test/support/tofu.ts adapts it to vitest.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT, providerExecutableName, providerMirrorSubdir, resolveTerraform, resolveTofu, type ProviderPin } from '../../src/devcluster/binaries.ts';

/** Which Terraform-compatible CLI a toolchain runs (and cdktf-cli's TERRAFORM_BINARY_NAME). */
export type TerraformCli = 'tofu' | 'terraform';

export interface TofuToolchainOptions {
  /** The CLI to run (default "tofu"). */
  cli?: TerraformCli;
  /** Its binary; default: resolveTofu() (TEST_ASSET_TOFU, else the testbin cache), or resolveTerraform() (TEST_ASSET_TERRAFORM, else PATH). */
  binary?: string;
  /**
   * The hashicorp/kubernetes provider executable of the pinned version; default:
   * resolveTofu(). `null`: lay out no provider (only what needs none).
   */
  kubernetesProvider?: string | null;
  /** Parent of the temp dir (default os.tmpdir()). */
  tmpRoot?: string;
  /** Progress lines (default: stderr, prefixed). */
  log?: (line: string) => void;
  /** Keep the temp dir after cleanup() (debugging). Default: env KEYWARD_TOFU_KEEP=1. */
  keep?: boolean;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Resolve with a non-zero exit code instead of throwing. */
  allowFailure?: boolean;
  /** Kill after this long (default 5 min). */
  timeoutMs?: number;
  /** Run inside a fresh network namespace with no interfaces up (`unshare -rn`): proves no network is needed. */
  offline?: boolean;
  /** Prefix of progress lines (default: the command). Progress is off when `quiet`. */
  label?: string;
  quiet?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** TF_LOG=trace output of every tofu process of this run (for "what did it install from where" checks). */
  tofuLog: string;
}

export interface CdktfOptions extends RunOptions {
  /** The cdktf project dir: where cdktf.json, cdktf.out/ and terraform.<stack>.tfstate live. */
  projectDir: string;
  /** Stacks (default: all). */
  stacks?: string[];
}

export interface TofuToolchain {
  readonly dir: string;
  /** "tofu" or "terraform". */
  readonly cli: TerraformCli;
  /** bin/<cli> in the toolchain dir. */
  readonly binary: string;
  readonly kubernetesProvider: string | undefined;
  readonly pin: ProviderPin;
  /** The provider mirror root (`filesystem_mirror.path`). */
  readonly mirrorDir: string;
  /** The CLI config file (TF_CLI_CONFIG_FILE). */
  readonly cliConfigFile: string;
  /** Environment for tofu and cdktf-cli. */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** Run the CLI (tofu or terraform). */
  run(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** Run cdktf-cli (`deploy`, `destroy`, `diff`, `synth`, …) with the CLI as its Terraform. */
  cdktf(command: string, opts: CdktfOptions, extraArgs?: string[]): Promise<RunResult>;
  /** Remove the temp dir (idempotent). */
  cleanup(): void;
}

/** Text of a CLI config that installs providers only from `mirror` (no direct installation). */
export function offlineCliConfig(mirror: string): string {
  return [
    '# keyward: providers come only from the local filesystem mirror.',
    '# There is deliberately no direct {} block: no registry is ever contacted.',
    'provider_installation {',
    '  filesystem_mirror {',
    `    path = ${JSON.stringify(mirror)}`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** What a CLI config allows, read back from its text (for assertions). */
export function describeCliConfig(text: string): { filesystemMirrors: string[]; direct: boolean; networkMirror: boolean } {
  const code = text.replace(/#.*$/gm, '').replace(/\/\/.*$/gm, '');
  const filesystemMirrors = [...code.matchAll(/filesystem_mirror\s*\{[^}]*?path\s*=\s*"([^"]*)"/g)].map((m) => m[1]!);
  return { filesystemMirrors, direct: /\bdirect\s*\{/.test(code), networkMirror: /\bnetwork_mirror\s*\{/.test(code) };
}

function cdktfBin(): string {
  return path.join(REPO_ROOT, 'node_modules', '.bin', 'cdktf');
}

/** The CLI's binary as resolved by default, or an error saying where it was looked for. */
function defaultBinary(cli: TerraformCli, resolved: ReturnType<typeof resolveTofu>): string {
  if (cli === 'terraform') {
    const found = resolveTerraform();
    if (!found.terraform) throw new Error(`terraform not found (${found.looked})`);
    return found.terraform;
  }
  if (!resolved.tofu) throw new Error(`tofu not found (${resolved.missing.find((m) => m.name === 'tofu')?.looked}): run \`npm run testbin\``);
  return resolved.tofu;
}

/** Set up a toolchain in a fresh temp dir. Throws (saying what is missing) when the CLI, or a required provider, is not there. */
export function createTofuToolchain(opts: TofuToolchainOptions = {}): TofuToolchain {
  const resolved = resolveTofu();
  const cli = opts.cli ?? 'tofu';
  const cliBinary = opts.binary ?? defaultBinary(cli, resolved);
  const provider = opts.kubernetesProvider === null ? undefined : (opts.kubernetesProvider ?? resolved.kubernetesProvider);
  const pin = resolved.pin;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const keep = opts.keep ?? process.env.KEYWARD_TOFU_KEEP === '1';

  const dir = mkdtempSync(path.join(opts.tmpRoot ?? tmpdir(), 'keyward-tofu-'));
  const bin = path.join(dir, 'bin');
  const mirrorDir = path.join(dir, 'providers');
  const cliConfigFile = path.join(dir, 'tofurc');
  const logs = path.join(dir, 'logs');
  for (const d of [bin, mirrorDir, logs, path.join(dir, 'cdktf-home')]) mkdirSync(d, { recursive: true });
  symlinkSync(path.resolve(cliBinary), path.join(bin, cli));
  if (provider) {
    for (const hostname of pin.hostnames) {
      const sub = path.join(mirrorDir, providerMirrorSubdir(pin, hostname));
      mkdirSync(sub, { recursive: true });
      symlinkSync(path.resolve(provider), path.join(sub, providerExecutableName(pin)));
    }
  }
  writeFileSync(cliConfigFile, offlineCliConfig(mirrorDir));

  let runs = 0;
  let cleaned = false;

  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
    const base: NodeJS.ProcessEnv = { ...process.env };
    // The parent's choices must not leak in (another CLI config, a plugin cache, a color TTY).
    for (const k of Object.keys(base)) if (k.startsWith('TF_') || k === 'TERRAFORM_BINARY_NAME') delete base[k];
    return {
      ...base,
      // bin/ first (the CLI), then the project's node_modules/.bin (the pinned Node 24 and cdktf).
      PATH: [bin, path.join(REPO_ROOT, 'node_modules', '.bin'), process.env.PATH ?? ''].join(path.delimiter),
      TERRAFORM_BINARY_NAME: cli,
      TF_CLI_CONFIG_FILE: cliConfigFile,
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
      DISABLE_VERSION_CHECK: '1',
      // cdktf-cli would set TF_PLUGIN_CACHE_DIR under CDKTF_HOME; keep installs to the mirror alone.
      CDKTF_DISABLE_PLUGIN_CACHE_ENV: '1',
      CDKTF_HOME: path.join(dir, 'cdktf-home'),
      CI: '1',
      FORCE_COLOR: '0',
      NO_COLOR: '1',
      ...extra,
    };
  };

  const exec = (file: string, args: string[], o: RunOptions, label: string): Promise<RunResult> => {
    const logFile = path.join(logs, `run-${++runs}.log`);
    const childEnv = env({ TF_LOG: 'trace', TF_LOG_PATH: logFile, ...o.env });
    const argv = o.offline ? ['-rn', '--', file, ...args] : args;
    const cmd = o.offline ? 'unshare' : file;
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, argv, { cwd: o.cwd ?? dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let partial = { stdout: '', stderr: '' };
      const progress = (stream: 'stdout' | 'stderr', chunk: Buffer) => {
        if (o.quiet) return;
        const text = partial[stream] + chunk.toString('utf8');
        const lines = text.split('\n');
        partial[stream] = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) log(`[${o.label ?? label}] ${line}`);
      };
      child.stdout.on('data', (c: Buffer) => {
        out.push(c);
        progress('stdout', c);
      });
      child.stderr.on('data', (c: Buffer) => {
        err.push(c);
        progress('stderr', c);
      });
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, o.timeoutMs ?? 300_000);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (!o.quiet) for (const s of ['stdout', 'stderr'] as const) if (partial[s].trim()) log(`[${o.label ?? label}] ${partial[s]}`);
        const result: RunResult = {
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          exitCode: code ?? 128,
          tofuLog: existsSync(logFile) ? readFileSync(logFile, 'utf8') : '',
        };
        if (result.exitCode !== 0 && !o.allowFailure) {
          const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-30).join('\n');
          reject(new Error(`${label} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${tail}`));
        } else resolve(result);
      });
    });
  };

  return {
    dir,
    cli,
    binary: path.join(bin, cli),
    kubernetesProvider: provider,
    pin,
    mirrorDir,
    cliConfigFile,
    env,
    run: (args, o = {}) => exec(path.join(bin, cli), args, o, cli),
    cdktf: (command, o, extraArgs = []) => {
      const args = [command, ...(o.stacks ?? [])];
      if (command === 'deploy' || command === 'destroy') args.push('--auto-approve');
      if (command === 'deploy' || command === 'destroy' || command === 'diff') args.push('--skip-provider-lock', '--no-color');
      // A fresh output dir per run would re-init; keep cdktf.out in the project dir.
      return exec(cdktfBin(), [...args, ...extraArgs], { label: `cdktf ${command}`, ...o, cwd: o.projectDir, timeoutMs: o.timeoutMs ?? 600_000 }, 'cdktf');
    },
    cleanup() {
      if (cleaned) return;
      cleaned = true;
      if (keep) log(`[tofu] keeping ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}
