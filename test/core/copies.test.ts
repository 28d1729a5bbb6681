/**
 * Values the core declares once are not copied: the dashboard spells no
 * built-in role id, environment, default duration or Secret data key as a
 * string literal (it imports them from src/core, or asks the service: an
 * organization's rotation days), and nothing outside the permission catalog
 * writes out the list of built-in roles. The code of the service, the stores,
 * the operator, the CLI and the client names a built-in role or an
 * environment through core's constants too (its examples and help texts
 * may show one). A copy would drift the day the declaration changes; this
 * test fails the day a copy is made.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DATA_KEYS } from '../../src/core/data-keys.ts';
import { ALL_PERMISSIONS, BUILTIN_PERMISSIONS, BUILTIN_ROLE_IDS } from '../../src/core/permissions.ts';
import { DEFAULT_QUIET_PERIOD } from '../../src/core/retirement.ts';
import { DEFAULT_ENVIRONMENT, DEFAULT_ROTATION_OVERLAP, ENVIRONMENTS } from '../../src/core/rotation.ts';

const SRC = path.join(import.meta.dirname, '..', '..', 'src');
const sources = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f));

/** Every string literal of a file (quoted or a template without substitutions), with its line. */
function literals(file: string): { text: string; line: number }[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: { text: string; line: number }[] = [];
  const visit = (node: ts.Node): void => {
    // Import specifiers are module paths, not values.
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return;
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      found.push({ text: node.text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('one declaration, no copies', () => {
  it('the dashboard copies no built-in role id, environment, default duration or data key (src/core declares them)', () => {
    const declared = new Map<string, string>([
      ...BUILTIN_ROLE_IDS.map((id): [string, string] => [id, 'a built-in role id (core/permissions.ts)']),
      ...ENVIRONMENTS.map((env): [string, string] => [env, 'an environment (core/rotation.ts ENVIRONMENTS)']),
      [DEFAULT_ENVIRONMENT, 'DEFAULT_ENVIRONMENT'],
      [DEFAULT_ROTATION_OVERLAP, 'DEFAULT_ROTATION_OVERLAP'],
      [DEFAULT_QUIET_PERIOD, 'DEFAULT_QUIET_PERIOD'],
      [DEFAULT_DATA_KEYS.secret, 'DEFAULT_DATA_KEYS.secret'],
      [DEFAULT_DATA_KEYS.keyId, 'DEFAULT_DATA_KEYS.keyId'],
    ]);
    const copies: string[] = [];
    for (const file of sources(path.join(SRC, 'dashboard'))) {
      for (const { text, line } of literals(file)) {
        const what = declared.get(text);
        if (what) copies.push(`${path.relative(SRC, file)}:${line}: '${text}' is ${what}`);
      }
    }
    expect(copies).toEqual([]);
  });

  it('the dashboard spells no permission: what a caller may do is asked of the route table (ctx.mayCall(operationId))', () => {
    const names = new Set<string>([...Object.keys(BUILTIN_PERMISSIONS), ALL_PERMISSIONS]);
    const copies: string[] = [];
    for (const file of sources(path.join(SRC, 'dashboard'))) {
      for (const { text, line } of literals(file)) if (names.has(text)) copies.push(`${path.relative(SRC, file)}:${line}: '${text}'`);
    }
    expect(copies).toEqual([]);
  });

  it('the service, stores, operator, CLI, client and GitOps code name built-in roles and environments through core (examples aside)', () => {
    const declared = new Set<string>([...BUILTIN_ROLE_IDS, ...ENVIRONMENTS]);
    // Example values for people to read, not defaults: the OpenAPI document's examples.
    const examples = new Set([path.join('server', 'openapi-examples.ts')]);
    const copies: string[] = [];
    for (const dir of ['server', 'store', 'operator', 'cli', 'client', 'gitops']) {
      for (const file of sources(path.join(SRC, dir))) {
        const relative = path.relative(SRC, file);
        // Released migrations are never edited (their CHECK constraints spell the environments of their day).
        if (examples.has(relative) || relative.includes(path.join('postgres', 'migrations'))) continue;
        const lines = readFileSync(file, 'utf8').split('\n');
        for (const { text, line } of literals(file)) {
          // NODE_ENV's 'production' is Node's convention, not a key's environment.
          if (declared.has(text) && !/\bnodeEnv\b/.test(lines[line - 1]!)) copies.push(`${relative}:${line}: '${text}'`);
        }
      }
    }
    expect(copies).toEqual([]);
  });

  it('only the permission catalog lists the built-in roles; descriptions and help join BUILTIN_ROLE_IDS', () => {
    const list = BUILTIN_ROLE_IDS.join(', ');
    const copies = sources(SRC)
      .filter((file) => !file.endsWith(path.join('core', 'permissions.ts')))
      .filter((file) => readFileSync(file, 'utf8').includes(list))
      .map((file) => path.relative(SRC, file));
    expect(copies).toEqual([]);
  });
});
