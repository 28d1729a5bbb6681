/**
 * The shape of the `keyward` command as a whole: every command in the
 * catalog (src/cli/commands.ts) builds, has examples in its help and follows
 * the one flag scheme; `--help` loads no command module (lazy loading: a
 * real process with a module-load hook); `keyward help <command>` works;
 * the version is package.json's; `completion bash` completes in real bash.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.ts';
import { MAIN, ROOT, cleanEnv, run } from '../support/cli-process.ts';

const leaves = (command: Command, path: string[] = []): { path: string; command: Command }[] =>
  command.commands.length === 0 ? [{ path: path.join(' '), command }] : command.commands.flatMap((sub) => leaves(sub, [...path, sub.name()]));

async function allLeaves() {
  const out: { path: string; command: Command }[] = [];
  for (const entry of COMMANDS) {
    const command = (await entry.load())();
    expect(command.name(), entry.name).toBe(entry.name);
    expect(command.description(), entry.name).toBe(entry.summary);
    out.push(...leaves(command, [entry.name]));
  }
  return out;
}

const helpOf = (command: Command): string => {
  let text = '';
  command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  command.outputHelp();
  return text;
};

describe('the command tree', { timeout: 120_000 }, () => {
  it('every command has an "Examples:" section that runs keyward itself', async () => {
    const found = await allLeaves();
    expect(found.length).toBeGreaterThan(35);
    for (const { path, command } of found) {
      const help = helpOf(command);
      expect(help, path).toMatch(/\nExamples:\n {2}\$ /);
      const examples = help.slice(help.indexOf('\nExamples:\n')).split('\n').filter((line) => line.startsWith('  $ '));
      expect(examples.some((line) => line.includes(`keyward ${path}`)), `${path}: ${examples.join(' | ')}`).toBe(true);
    }
  });

  it('client commands share one flag scheme: --url, --api-key, --context, and -o where they print resources', async () => {
    for (const { path, command } of await allLeaves()) {
      const flags = command.options.map((o) => o.long);
      if (!flags.includes('--api-key')) continue;
      expect(flags, path).toEqual(expect.arrayContaining(['--url', '--context']));
      if (flags.includes('--output')) expect(command.options.find((o) => o.long === '--output')!.flags, path).toBe('-o, --output <format>');
    }
  });
});

describe('keyward --help is lazy', () => {
  const loaded = (args: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-modules-'));
    const file = join(dir, 'modules.txt');
    try {
      execFileSync(process.execPath, ['--import', join(import.meta.dirname, 'fixtures', 'record-modules.mjs'), MAIN, ...args], {
        cwd: ROOT,
        env: cleanEnv({ KEYWARD_RECORD_MODULES: file }),
        stdio: 'ignore',
      });
      return readFileSync(file, 'utf8').split('\n').filter(Boolean);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('the top-level help loads commander and the catalog, no command module, no zod', () => {
    const modules = loaded(['--help']);
    const ours = modules.filter((url) => url.includes('/src/')).map((url) => url.slice(url.indexOf('/src/') + 1));
    expect(ours.sort()).toEqual(['src/cli/commands.ts', 'src/cli/main.ts', 'src/version.ts']);
    expect(modules.some((url) => url.includes('/node_modules/zod/'))).toBe(false);
  });

  it('a command loads its own module and not the others', () => {
    const modules = loaded(['roles', 'list', '--help']);
    expect(modules.some((url) => url.endsWith('/src/cli/roles.ts'))).toBe(true);
    for (const other of ['/src/cli/keys.ts', '/src/cli/serve.ts', '/src/cli/rotate.ts', '/src/server/', '/src/operator/', '/node_modules/pg/', '/node_modules/@kubernetes/']) {
      expect(modules.some((url) => url.includes(other)), other).toBe(false);
    }
  });
});

describe('help, version, completion', { timeout: 120_000 }, () => {
  it('`keyward help <command>` prints that command’s help; --version is package.json’s', async () => {
    const [help, flag, version] = await Promise.all([run(['help', 'roles']), run(['roles', '--help']), run(['--version'])]);
    expect(help.code).toBe(0);
    expect(help.stdout).toBe(flag.stdout);
    expect(help.stdout).toContain('Usage: keyward roles');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version.stdout).toBe(`${pkg.version}\n`);
  });

  it('`keyward completion bash` completes commands, subcommands and flags in bash', async () => {
    const script = await run(['completion', 'bash']);
    expect(script.code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'keyward-completion-'));
    try {
      writeFileSync(join(dir, 'keyward.bash'), script.stdout);
      const complete = (...words: string[]) =>
        execFileSync('bash', ['-c', `source ${join(dir, 'keyward.bash')}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _keyward; echo "\${COMPREPLY[*]}"`], {
          encoding: 'utf8',
        }).trim();
      expect(complete('keyward', 'ro')).toBe('roles rotate rotation');
      expect(complete('keyward', 'keys', 're')).toBe('revoke');
      expect(complete('keyward', 'keys', 'create', '--ex')).toBe('--expires-in --expires-at');
      expect(complete('keyward', 'help', 'allow')).toBe('allowlist');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const zsh = await run(['completion', 'zsh']);
    expect(zsh.stdout.split('\n')[0]).toBe('autoload -U +X bashcompinit && bashcompinit');
    const fish = await run(['completion', 'fish']);
    expect(fish.code).toBe(2);
  });
});
