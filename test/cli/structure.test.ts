/**
 * The shape of the `keyward` command as a whole: every command in the
 * catalog (src/cli/commands.ts) builds, has examples in its help and follows
 * the one flag scheme; `--help` loads no command module (lazy loading: a
 * real process with a module-load hook); `keyward help <command>` works;
 * the version is package.json's; `completion bash` completes in real bash.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.ts';
import { CLI_HINTS } from '../../src/cli/failure.ts';
import { API, OPERATION_IDS, type RouteSpec } from '../../src/core/api.ts';
import { AUTHENTICATION_ERRORS, ERROR_CATALOG, type ErrorCode } from '../../src/core/errors.ts';
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
    const clients = (await allLeaves()).filter(({ command }) => command.options.some((o) => o.long === '--api-key'));
    // Most commands talk to the key service: an --api-key renamed away would leave nothing to check here.
    expect(clients.length).toBeGreaterThan(30);
    for (const { path, command } of clients) {
      const flags = command.options.map((o) => o.long);
      expect(flags, path).toEqual(expect.arrayContaining(['--url', '--context']));
      if (flags.includes('--output')) expect(command.options.find((o) => o.long === '--output')!.flags, path).toBe('-o, --output <format>');
    }
  });
});

/** The operations a key can call (the CLI calls with a key): not those for a signed-in person, the sign-in steps or GitHub's signed reports. */
const keyOperations = OPERATION_IDS.filter((id) => {
  const auth = (API[id] as RouteSpec).auth;
  return auth === undefined || auth === 'key';
});

describe('the route table and the CLI', () => {
  it('every operation a key can call has a command: its id is in the operations some command asks clientFor for', () => {
    const dir = join(ROOT, 'src', 'cli');
    const called = new Set<string>();
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
      // clientFor(o, ['getKey', 'updateKey']) names the operations a command calls (and what its key must grant).
      for (const call of readFileSync(join(dir, file), 'utf8').matchAll(/clientFor\(\s*\w+\s*,([^)]*)\)/g)) for (const id of call[1]!.matchAll(/'(\w+)'/g)) called.add(id[1]!);
    }
    expect(keyOperations.length).toBeGreaterThan(30);
    expect(keyOperations.filter((id) => !called.has(id))).toEqual([]);
  });

  it('the hint of every refusal a command can meet names CLI commands and flags, not HTTP calls or body fields', () => {
    const codes = new Set<ErrorCode>([...AUTHENTICATION_ERRORS, 'INSUFFICIENT_PERMISSIONS', 'VALIDATION_FAILED', 'ROUTE_NOT_FOUND', ...keyOperations.flatMap((id) => (API[id] as RouteSpec).errors)]);
    const inHttpTerms = [...codes].filter((code) => /\b(GET|POST|PUT|PATCH|DELETE) \/v1\/|"\w+": |\bdetails\b/.test(CLI_HINTS[code] ?? ERROR_CATALOG[code].hint));
    expect(inHttpTerms).toEqual([]);
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
