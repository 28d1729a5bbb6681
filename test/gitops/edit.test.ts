/**
 * `keyward rotate`: in-place edits. Golden files pin the exact output; a
 * `git diff --no-index` of each fixture against its edited copy shows only
 * the token (and overlap, annotation) lines. Guard rails: nothing is written
 * when any file or document is wrong.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ApiKeySpec } from '../../src/core/apikey.ts';
import { collectFiles } from '../../src/gitops/files.ts';
import { GitopsError } from '../../src/gitops/manifests.ts';
import { planRotation } from '../../src/gitops/rotate.ts';
import { formatScalar, isSafePlain, setScalarIn, YamlEditError } from '../../src/gitops/yaml-edit.ts';
import { copyFixtures, FIXTURES, gitDiff, keyward } from './support.ts';

const NOW = new Date('2026-11-27T10:00:00.000Z');
const AT = '"2026-11-27T10:00:00.000Z"';

function golden(name: string, actual: string): void {
  const file = join(FIXTURES, 'golden', name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

function snapshotDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[path] = readFileSync(path, 'utf8');
    }
  };
  walk(dir);
  return out;
}

describe('rotate: golden files', () => {
  for (const name of ['payments.yaml', 'styles.yaml', 'crlf.yaml', 'keyward-rotation.json']) {
    it(`${name}: the edited text matches its golden file`, () => {
      const files = collectFiles([join(FIXTURES, name)]);
      const plan = planRotation(files, { selection: { selectors: [] }, now: NOW });
      golden(name, plan.edits.get(files[0]!.path)!);
    });
  }

  it('--now on one key of a multi-document file: token, overlap and annotation, nothing else', () => {
    const files = collectFiles([join(FIXTURES, 'payments.yaml')]);
    const plan = planRotation(files, { selection: { selectors: [[{ key: 'name', op: '=', value: 'payments-api' }]] }, immediate: true, now: NOW });
    expect(plan.changes).toMatchObject([{ name: 'payments-api', previousToken: '2026-01-05-1', token: '2026-11-27-1', overlap: '0', immediate: true }]);
    golden('payments.now.yaml', plan.edits.get(files[0]!.path)!);
  });
});

describe('rotate: the CLI edits in place; git diff shows exactly the token and annotation lines', () => {
  it('a Deployment and two ApiKeys with comments and flow maps', async () => {
    const dir = copyFixtures('payments.yaml');
    const result = await keyward(['rotate', join(dir, 'payments.yaml'), '--token', 'pr-42']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('rotated payments/payments-api');
    const diff = await gitDiff(join(FIXTURES, 'payments.yaml'), join(dir, 'payments.yaml'));
    expect(diff.removed).toEqual(['    token: "2026-01-05-1" # bump me']);
    expect(diff.added).toHaveLength(7);
    expect(diff.added[0]).toBe('  annotations:');
    expect(diff.added[1]).toMatch(/^    keyward\.dev\/rotated-at: "\d{4}-\d\d-\d\dT[\d:.]+Z"$/);
    expect(diff.added.slice(2)).toEqual([
      '    token: "pr-42" # bump me',
      '  annotations:',
      diff.added[1],
      '  rotation:',
      '    token: "pr-42"',
    ]);
    // The Deployment document is byte for byte the same.
    const docs = (text: string) => parseAllDocuments(text).map((d) => text.slice(d.range[0], d.range[2]));
    expect(docs(readFileSync(join(dir, 'payments.yaml'), 'utf8'))[0]).toBe(docs(readFileSync(join(FIXTURES, 'payments.yaml'), 'utf8'))[0]);
  });

  it('quoting styles, four-space indentation, flow maps, "..." and a file without a final newline; CRLF stays CRLF', async () => {
    const dir = copyFixtures('styles.yaml', 'crlf.yaml');
    const result = await keyward(['rotate', dir, '--selector', 'namespace=styles', '--selector', 'name=windows', '--token', 't-9']);
    expect(result.code, result.stderr).toBe(0);
    const styles = await gitDiff(join(FIXTURES, 'styles.yaml'), join(dir, 'styles.yaml'));
    const stamp = /\d{4}-\d\d-\d\dT[\d:.]+Z/;
    expect(styles.removed.map((l) => l.replace(stamp, 'T'))).toEqual([
      "        keyward.dev/rotated-at: 'T'",
      "        token: 'old-token'   # single quotes stay single",
      'metadata: {name: plain-token, namespace: styles}',
      '        token: t-1',
      '    annotations: {}',
      '    rotation: {interval: 30d, token: "f-1"}',
      '    deletionPolicy: Retain',
    ]);
    expect(styles.added.map((l) => l.replace(stamp, 'T'))).toEqual([
      "        keyward.dev/rotated-at: 'T'",
      "        token: 't-9'   # single quotes stay single",
      'metadata: {name: plain-token, namespace: styles, annotations: {keyward.dev/rotated-at: "T"}}',
      '        token: t-9',
      '    annotations: {keyward.dev/rotated-at: "T"}',
      '    rotation: {interval: 30d, token: "t-9"}',
      '        keyward.dev/rotated-at: "T"',
      '    deletionPolicy: Retain',
      '    rotation:',
      '        token: "t-9"',
    ]);
    const crlf = readFileSync(join(dir, 'crlf.yaml'), 'utf8');
    expect(crlf.replaceAll('\r\n', '')).not.toContain('\n');
    const diff = await gitDiff(join(FIXTURES, 'crlf.yaml'), join(dir, 'crlf.yaml'));
    expect(diff.removed).toEqual(['    token: "w-1"\r']);
    expect(diff.added.map((l) => l.replace(stamp, 'T'))).toEqual(['  annotations:\r', '    keyward.dev/rotated-at: "T"\r', '    token: "t-9"\r']);
  });

  it('keyward-rotation.json: bumps the named key; an explicit file gets a first entry for a new key', async () => {
    const dir = copyFixtures('keyward-rotation.json');
    const file = join(dir, 'keyward-rotation.json');
    const result = await keyward(['rotate', file, '-l', 'name=billing', '-l', 'name=search', '-o', 'json']);
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.changes.map((c: { name: string; previousToken: string | null }) => [c.name, c.previousToken])).toEqual([
      ['billing', 'b-7'],
      ['search', null],
    ]);
    const diff = await gitDiff(join(FIXTURES, 'keyward-rotation.json'), file);
    expect(diff.removed).toEqual(['    "billing": "b-7"']);
    expect(diff.added).toEqual([expect.stringMatching(/^    "billing": "\d{4}-\d\d-\d\d-1",$/), expect.stringMatching(/^    "search": "\d{4}-\d\d-\d\d-1"$/)]);
  });

  it('--now says it is an immediate revocation, in text and in the pull-request body', async () => {
    const dir = copyFixtures('payments.yaml');
    const text = await keyward(['rotate', join(dir, 'payments.yaml'), '-l', 'name=payments-api', '--now', '--dry-run']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('IMMEDIATE REVOCATION: overlap 0');
    expect(readFileSync(join(dir, 'payments.yaml'), 'utf8')).toBe(readFileSync(join(FIXTURES, 'payments.yaml'), 'utf8'));
    const md = await keyward(['rotate', join(dir, 'payments.yaml'), '-l', 'name=payments-api', '--now', '-o', 'markdown']);
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/^# Immediately rotate 1 API key \(compromised: immediate revocation\)/);
    expect(md.stdout).toContain('**Immediate revocation** (overlap 0)');
    expect(md.stdout).toContain('`Deployment/payments`');
    const diff = await gitDiff(join(FIXTURES, 'payments.yaml'), join(dir, 'payments.yaml'));
    expect(diff.removed).toEqual(['    token: "2026-01-05-1" # bump me', '    overlap: 24h']);
    expect(diff.added.slice(2)).toEqual([expect.stringMatching(/^    token: "\d{4}-\d\d-\d\d-1" # bump me$/), '    overlap: "0"']);
  });
});

describe('rotate --overlap', () => {
  it('sets spec.rotation.overlap with the token (replacing one, adding one), says so, and the edited manifests are valid ApiKeys', async () => {
    const dir = copyFixtures('payments.yaml', 'keyward-rotation.json');
    const file = join(dir, 'payments.yaml');
    const result = await keyward(['rotate', file, '--overlap', '1h']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.match(/the old key keeps working for 1h after the rotation/g)).toHaveLength(2);
    const diff = await gitDiff(join(FIXTURES, 'payments.yaml'), file);
    // payments-api had "overlap: 24h" (replaced in place); payments-reporting had no rotation block (added).
    expect(diff.removed).toEqual(['    token: "2026-01-05-1" # bump me', '    overlap: 24h']);
    expect(diff.added.filter((line) => !/annotations:|keyward\.dev\/rotated-at/.test(line))).toEqual([
      expect.stringMatching(/^    token: "\d{4}-\d\d-\d\d-1" # bump me$/),
      '    overlap: 1h',
      '  rotation:',
      expect.stringMatching(/^    token: "\d{4}-\d\d-\d\d-1"$/),
      '    overlap: "1h"',
    ]);
    // What the operator will read: both ApiKeys now rotate with a 1h overlap.
    const keys = parseAllDocuments(readFileSync(file, 'utf8'))
      .map((doc) => doc.toJS() as { kind: string; metadata: { name: string }; spec: unknown })
      .filter((doc) => doc.kind === 'ApiKey');
    expect(keys.map((doc) => [doc.metadata.name, ApiKeySpec.parse(doc.spec).rotation?.overlap])).toEqual([
      ['payments-api', '1h'],
      ['payments-reporting', '1h'],
    ]);
    // The pull-request body names the overlap.
    const again = await keyward(['rotate', file, '-l', 'name=payments-api', '--overlap', '2h', '-o', 'markdown']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('The previous key keeps working for **2h** (the overlap)');
    // A CDKTF rotation-token file holds no overlap: the token is bumped and the command says where the overlap goes.
    const tokens = await keyward(['rotate', join(dir, 'keyward-rotation.json'), '-l', 'name=billing', '--overlap', '1h']);
    expect(tokens.code, tokens.stderr).toBe(0);
    expect(tokens.stdout).toMatch(/warning: .*"billing": a rotation-token file holds no overlap; set the key's rotation overlap to "1h" in the CDKTF stack/);
  });
});

describe('rotate: guard rails (clear error naming file and document; no file touched)', () => {
  const cases: [string, string[], RegExp, number][] = [
    ['a file that does not parse', ['broken/bad.yaml', 'payments.yaml'], /broken\/bad\.yaml: does not parse as YAML: document 2 \(line \d+\)/, 1],
    ['an ApiKey whose spec is invalid', ['broken/invalid-spec.yaml', 'payments.yaml'], /invalid-spec\.yaml: document 2 \(line 6\): ApiKey payments\/bad-interval: invalid spec: rotation\.interval/, 1],
    ['a file named explicitly that holds no ApiKey', ['broken/no-apikey.yaml', 'payments.yaml'], /no-apikey\.yaml: holds no ApiKey/, 1],
    ['a selector that matches nothing', ['payments.yaml', '-l', 'name=nope'], /the selector \(name=nope\) matches none of the 2 ApiKey\(s\) in 1 file\(s\): payments\/payments-api, payments\/payments-reporting/, 1],
    ['a token the key already has', ['payments.yaml', '-l', 'name=payments-api', '--token', '2026-01-05-1'], /payments\.yaml: document 2 \(line 20\): ApiKey payments\/payments-api already has rotation token "2026-01-05-1"/, 1],
    ['a missing path', ['nope.yaml'], /nope\.yaml: no such file or directory/, 1],
    ['a selector that is not key=value', ['payments.yaml', '-l', 'payments-api'], /is not key=value/, 2],
    ['--now with a non-zero --overlap', ['payments.yaml', '--now', '--overlap', '1h'], /--now revokes the old key immediately/, 2],
    ['an --overlap that is not a duration', ['payments.yaml', '--overlap', 'soon'], /--overlap: "soon" is not a duration/, 2],
  ];
  for (const [what, args, message, code] of cases) {
    it(what, async () => {
      const dir = copyFixtures('.');
      const before = snapshotDir(dir);
      const result = await keyward(['rotate', ...args.map((a) => (/\.(ya?ml|json)$/.test(a) ? join(dir, a) : a))]);
      expect(result.code, result.stdout).toBe(code);
      expect(result.stderr).toMatch(message);
      expect(snapshotDir(dir)).toEqual(before);
    });
  }

  it('a directory walk skips files without ApiKeys but still refuses files that do not parse', async () => {
    const dir = copyFixtures('.');
    const before = snapshotDir(dir);
    const result = await keyward(['rotate', dir, '--dry-run']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/bad\.yaml: does not parse/);
    expect(result.stderr).toMatch(/invalid-spec\.yaml: document 2/);
    expect(result.stderr).not.toMatch(/no-apikey/);
    expect(snapshotDir(dir)).toEqual(before);
  });

  it('the pure planner collects every problem before failing', () => {
    const files = collectFiles([join(FIXTURES, 'broken/bad.yaml'), join(FIXTURES, 'broken/invalid-spec.yaml')]);
    try {
      planRotation(files, { selection: { selectors: [] }, now: NOW });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(GitopsError);
      expect((error as GitopsError).problems).toHaveLength(2);
    }
  });
});

describe('yaml-edit', () => {
  it('opens a map under a key with no value, keeps a trailing comment, fills an empty value', () => {
    const text = 'spec:\n  role: viewer\n  rotation: # later\n  deletionPolicy: Retain\nmetadata:\n  name: x\n  annotations:\n';
    // `rotation:` null is not a valid spec, but the editor itself handles it.
    expect(setScalarIn(text, 0, ['spec', 'rotation', 'token'], 't')).toBe(
      'spec:\n  role: viewer\n  rotation: # later\n    token: "t"\n  deletionPolicy: Retain\nmetadata:\n  name: x\n  annotations:\n',
    );
    expect(setScalarIn(text, 0, ['metadata', 'annotations', 'a'], 'b')).toBe(text.replace('  annotations:\n', `  annotations:\n    a: "b"\n`));
    expect(setScalarIn('a:\n  token:\n', 0, ['a', 'token'], 'x')).toBe('a:\n  token: "x"\n');
    expect(setScalarIn('a: {}\n', 0, ['a', 'b', 'c'], 'x')).toBe('a: {b: {c: "x"}}\n');
    expect(setScalarIn('a: { }\n', 0, ['a', 'b'], 'x')).toBe('a: { b: "x" }\n');
  });

  it('refuses what it cannot edit cleanly', () => {
    expect(() => setScalarIn('a: [1]\n', 0, ['a', 'b'], 'x')).toThrow(YamlEditError);
    expect(() => setScalarIn('a:\n  b: {c: 1}\n', 0, ['a', 'b'], 'x')).toThrow(/not a scalar/);
    expect(() => setScalarIn('a: 1\n', 3, ['a'], 'x')).toThrow(/no document 4/);
  });

  it('plain only where YAML 1.1 and 1.2 both read the same string', () => {
    expect(isSafePlain('2026-11-27-1')).toBe(true);
    expect(isSafePlain('2026-11-27')).toBe(false); // a date in YAML 1.1
    expect(isSafePlain('2026-11-27T10:00:00Z')).toBe(false);
    expect(isSafePlain('yes')).toBe(false);
    expect(isSafePlain('0')).toBe(false);
    expect(formatScalar("it's", 'QUOTE_SINGLE')).toBe("'it''s'");
    expect(formatScalar('0', 'PLAIN')).toBe('"0"');
  });

  it(`the golden files carry the fixed clock (${AT})`, () => {
    expect(readFileSync(join(FIXTURES, 'golden', 'payments.yaml'), 'utf8')).toContain(AT);
  });
});
